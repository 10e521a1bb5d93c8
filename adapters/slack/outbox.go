package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"
)

// outbox is a durable queue in a Redis stream. Entries are delivered in
// order by the one instance holding the lease; an entry is acknowledged
// (and deleted) only after Slack took it, so a crash or a Slack outage
// loses nothing: the next holder reads the pending entries first.
type outbox struct {
	failing atomic.Bool // the last delivery attempt failed (Slack is not answering)
	rdb     goredis.UniversalClient
	stream  string
	lease   string
	me      string
	deliver func(ctx context.Context, kind, caseID, data string) error
	log     *slog.Logger
	// retry pacing; tests shorten it
	minBackoff, maxBackoff time.Duration
	leaseTTL               time.Duration
}

const (
	group    = "desk"
	consumer = "desk" // one logical consumer: the lease makes it one instance
)

func newOutbox(rdb goredis.UniversalClient, prefix string, deliver func(context.Context, string, string, string) error, log *slog.Logger) *outbox {
	return &outbox{rdb: rdb, stream: prefix + "outbox", lease: prefix + "outbox:lease",
		me: strconv.FormatUint(rand.Uint64(), 36), deliver: deliver, log: log,
		minBackoff: 250 * time.Millisecond, maxBackoff: 30 * time.Second, leaseTTL: 15 * time.Second}
}

// add appends an entry.
func (o *outbox) add(ctx context.Context, kind, caseID, data string) error {
	err := o.rdb.XAdd(ctx, &goredis.XAddArgs{Stream: o.stream, Values: map[string]any{"kind": kind, "case": caseID, "data": data}}).Err()
	if err != nil {
		return fmt.Errorf("slack outbox add %s for %s: %w", kind, caseID, err)
	}
	return nil
}

// Len returns how many entries wait (for tests and readiness).
func (o *outbox) len(ctx context.Context) (int64, error) { return o.rdb.XLen(ctx, o.stream).Result() }

var renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// run delivers entries until ctx ends.
func (o *outbox) run(ctx context.Context) error {
	err := o.rdb.XGroupCreateMkStream(ctx, o.stream, group, "0").Err()
	if err != nil && !isBusyGroup(err) && ctx.Err() == nil {
		o.log.Warn("creating the outbox group failed; will retry", "err", err)
	}
	for ctx.Err() == nil {
		ok, err := o.rdb.SetNX(ctx, o.lease, o.me, o.leaseTTL).Result()
		if err != nil || !ok {
			sleep(ctx, 2*time.Second)
			continue
		}
		o.lead(ctx)
	}
	return nil
}

func isBusyGroup(err error) bool {
	return err != nil && len(err.Error()) >= 9 && err.Error()[:9] == "BUSYGROUP"
}

// lead delivers while holding the lease.
func (o *outbox) lead(ctx context.Context) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		t := time.NewTicker(o.leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				n, err := renewScript.Run(lctx, o.rdb, []string{o.lease}, o.me, o.leaseTTL.Milliseconds()).Int64()
				if err != nil || n == 0 {
					cancel() // lost the lease: stop delivering
					return
				}
			}
		}
	}()
	defer o.rdb.Eval(context.WithoutCancel(ctx), `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, []string{o.lease}, o.me)
	_ = o.rdb.XGroupCreateMkStream(lctx, o.stream, group, "0").Err()
	pending := true // first what an earlier holder left unacknowledged
	for lctx.Err() == nil {
		id := ">"
		if pending {
			id = "0"
		}
		res, err := o.rdb.XReadGroup(lctx, &goredis.XReadGroupArgs{Group: group, Consumer: consumer, Streams: []string{o.stream, id}, Count: 50, Block: time.Second}).Result()
		if errors.Is(err, goredis.Nil) {
			pending = false
			continue
		}
		if err != nil {
			if lctx.Err() == nil {
				o.log.Warn("reading the outbox failed", "err", err)
				if isNoGroup(err) {
					_ = o.rdb.XGroupCreateMkStream(lctx, o.stream, group, "0").Err()
				}
				sleep(lctx, time.Second)
			}
			continue
		}
		n := 0
		for _, s := range res {
			for _, m := range s.Messages {
				n++
				if !o.deliverOne(lctx, m) {
					return
				}
			}
		}
		if pending && n == 0 {
			pending = false
		}
	}
}

func isNoGroup(err error) bool {
	return err != nil && len(err.Error()) >= 7 && err.Error()[:7] == "NOGROUP"
}

// ackScript acknowledges a delivered entry (ARGV[2]) for the group
// ARGV[1] and deletes it from the stream. A script, not MULTI … EXEC: a
// transaction refused at MULTI (a server still loading) leaves its other
// replies unread on go-redis's connection for the next pipeline to take.
var ackScript = goredis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
`)

// deliverOne retries an entry until Slack takes it (or ctx ends: false).
func (o *outbox) deliverOne(ctx context.Context, m goredis.XMessage) bool {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	backoff := o.minBackoff
	for attempt := 1; ; attempt++ {
		err := o.deliver(ctx, str("kind"), str("case"), str("data"))
		o.failing.Store(err != nil)
		if err == nil {
			// delivered: acknowledge even if we are being stopped
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			err := ackScript.Run(actx, o.rdb, []string{o.stream}, group, m.ID).Err()
			cancel()
			if err != nil {
				o.log.Warn("acknowledging an outbox entry failed; it may be delivered again", "err", err)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		wait := backoff
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) && rl.RetryAfter > 0 {
			wait = rl.RetryAfter
		} else {
			backoff = min(2*backoff, o.maxBackoff)
		}
		o.log.Warn("slack delivery failed; retrying", "kind", str("kind"), "case", str("case"), "attempt", attempt, "retry_in", wait, "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
