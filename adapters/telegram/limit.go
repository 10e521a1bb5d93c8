package telegram

import (
	"context"
	"sync"
	"time"
)

// limiter spaces sending calls: at most rate a second overall and one per
// chatEvery per chat. Reservations are first come, first served, so a
// chat's messages keep their order. Memory is bounded by the chats that
// sent in the last chatEvery.
type limiter struct {
	mu        sync.Mutex
	every     time.Duration // between any two calls
	chatEvery time.Duration
	next      time.Time
	chats     map[int64]time.Time
	n         int
}

// headroom: pace at 90% of the limit, so that a call delayed past its slot
// (scheduling, network) cannot put Telegram's one-second window over it.
const headroom = 0.90

func newLimiter(rate float64, chatEvery time.Duration) *limiter {
	return &limiter{every: time.Duration(float64(time.Second) / (rate * headroom)), chatEvery: chatEvery, chats: map[int64]time.Time{}}
}

// reserve returns how long to wait before a call for chat (0: a call that
// is not to a chat, such as setMyCommands).
func (l *limiter) reserve(chat int64, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := now
	if l.next.After(t) {
		t = l.next
	}
	if chat != 0 {
		if c, ok := l.chats[chat]; ok && c.After(t) {
			t = c
		}
		l.chats[chat] = t.Add(l.chatEvery)
	}
	l.next = t.Add(l.every)
	if l.n++; l.n%1024 == 0 {
		for id, c := range l.chats {
			if c.Before(now) {
				delete(l.chats, id)
			}
		}
	}
	return t.Sub(now)
}

// wait blocks until a call for chat may go out. The chat's next call is
// spaced from when this one really goes out, which may be later than its
// slot.
func (l *limiter) wait(ctx context.Context, chat int64) error {
	if d := l.reserve(chat, time.Now()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if chat != 0 {
		l.mu.Lock()
		if next := time.Now().Add(l.chatEvery); next.After(l.chats[chat]) {
			l.chats[chat] = next
		}
		l.mu.Unlock()
	}
	return ctx.Err()
}

// pause holds back a chat (or, for chat 0, everything) for d after a 429.
func (l *limiter) pause(chat int64, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	until := time.Now().Add(d)
	if chat == 0 {
		if until.After(l.next) {
			l.next = until
		}
		return
	}
	if until.After(l.chats[chat]) {
		l.chats[chat] = until
	}
}
