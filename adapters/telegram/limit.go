package telegram

import (
	"context"
	"sync"
	"time"
)

// limiter spaces sending calls: at most rate a second overall and one per
// chatEvery per chat. Time is cut into global slots every apart and each
// call takes the first free slot no earlier than its chat allows, so a
// chat held back (its own spacing, or a 429's retry_after) never holds up
// the others, and a chat's calls keep their order. Memory is bounded by
// the chats that sent in the last chatEvery and the slots taken ahead.
type limiter struct {
	mu        sync.Mutex
	every     time.Duration // between any two calls
	chatEvery time.Duration
	epoch     time.Time      // slot 0
	frontier  int64          // every slot before it is taken or past
	ahead     map[int64]bool // slots taken beyond the frontier
	chats     map[int64]time.Time
	n         int
}

// headroom: pace at 90% of the limit, so that a call delayed past its slot
// (scheduling, network) cannot put Telegram's one-second window over it.
const headroom = 0.90

func newLimiter(rate float64, chatEvery time.Duration) *limiter {
	return &limiter{every: time.Duration(float64(time.Second) / (rate * headroom)), chatEvery: chatEvery,
		chats: map[int64]time.Time{}, ahead: map[int64]bool{}}
}

// slotAt is the first slot at or after t.
func (l *limiter) slotAt(t time.Time) int64 {
	d := t.Sub(l.epoch)
	if d <= 0 {
		return 0
	}
	return int64((d + l.every - 1) / l.every)
}

// reserve returns how long to wait before a call for chat (0: a call that
// is not to a chat, such as setMyCommands).
func (l *limiter) reserve(chat int64, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epoch.IsZero() {
		l.epoch = now
	}
	if k := l.slotAt(now); k > l.frontier {
		l.frontier = k // idle: the slots in between are past
		for s := range l.ahead {
			if s < k {
				delete(l.ahead, s)
			}
		}
	}
	k := l.frontier
	if chat != 0 {
		if c, ok := l.chats[chat]; ok {
			k = max(k, l.slotAt(c))
		}
	}
	for l.ahead[k] {
		k++
	}
	if k == l.frontier {
		for l.frontier++; l.ahead[l.frontier]; l.frontier++ {
			delete(l.ahead, l.frontier)
		}
	} else {
		l.ahead[k] = true
	}
	t := l.epoch.Add(time.Duration(k) * l.every)
	if t.Before(now) {
		t = now
	}
	if chat != 0 {
		l.chats[chat] = t.Add(l.chatEvery)
	}
	if l.n++; l.n%1024 == 0 {
		for id, c := range l.chats {
			if c.Before(now) {
				delete(l.chats, id)
			}
		}
		for s := range l.ahead {
			if s < l.frontier {
				delete(l.ahead, s)
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
	l.sent(chat, time.Now())
	return ctx.Err()
}

// sent records that a call for chat really went out at at: the chat's next
// call is spaced from then, not from its slot.
func (l *limiter) sent(chat int64, at time.Time) {
	if chat == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if next := at.Add(l.chatEvery); next.After(l.chats[chat]) {
		l.chats[chat] = next
	}
}

// pause holds back a chat (or, for chat 0, everything) for d after a 429.
func (l *limiter) pause(chat int64, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	until := now.Add(d)
	if chat == 0 {
		if l.epoch.IsZero() {
			l.epoch = now
		}
		if k := l.slotAt(until); k > l.frontier {
			l.frontier = k
		}
		return
	}
	if until.After(l.chats[chat]) {
		l.chats[chat] = until
	}
}
