package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// BatchDoner is a SessionStore that can mark many turns done in one round
// trip (the Redis store pipelines them).
type BatchDoner interface {
	MarkDoneBatch(ctx context.Context, done []Done) error
}

// Done names a turn whose pending work was carried out.
type Done struct {
	Conv, InputID string
}

// doneBatcher collects "turn done" marks and writes them every few
// milliseconds in one round trip. A crash before a mark is written makes a
// redelivery of that input repeat its replies (at least once; see
// docs/security.md): the window grows by the flush interval, the cost per
// turn drops by one round trip.
type doneBatcher struct {
	store    BatchDoner
	log      *slog.Logger
	mu       sync.Mutex
	buf      []Done
	inflight []Done // being written
	kick     chan struct{}
	every    time.Duration
	written  chan struct{} // closed when the current buffer is written
}

// has reports whether d is done but its mark not yet written.
func (b *doneBatcher) has(d Done) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, x := range b.buf {
		if x == d {
			return true
		}
	}
	for _, x := range b.inflight {
		if x == d {
			return true
		}
	}
	return false
}

func newDoneBatcher(store BatchDoner, log *slog.Logger, every time.Duration) *doneBatcher {
	return &doneBatcher{store: store, log: log, kick: make(chan struct{}, 1), every: every}
}

// add queues d and returns a channel closed once d's mark is written.
func (b *doneBatcher) add(d Done) <-chan struct{} {
	b.mu.Lock()
	b.buf = append(b.buf, d)
	n := len(b.buf)
	if b.written == nil {
		b.written = make(chan struct{})
	}
	w := b.written
	b.mu.Unlock()
	if n == 1 || n >= 512 {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	return w
}

// run flushes until ctx ends, then once more.
func (b *doneBatcher) run(ctx context.Context) {
	t := time.NewTicker(b.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			b.flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
		case <-b.kick:
			// give concurrent turns a moment to join the batch
			time.Sleep(b.every / 4)
		}
		b.flush(ctx)
	}
}

func (b *doneBatcher) flush(ctx context.Context) {
	b.mu.Lock()
	batch, written := b.buf, b.written
	b.buf, b.inflight, b.written = nil, batch, nil
	b.mu.Unlock()
	if written != nil {
		defer close(written)
	}
	if len(batch) == 0 {
		return
	}
	if err := b.store.MarkDoneBatch(ctx, batch); err != nil {
		b.log.Warn("could not mark turns done; redeliveries of them would repeat replies", "turns", len(batch), "err", err)
	}
	b.mu.Lock()
	b.inflight = nil
	b.mu.Unlock()
}
