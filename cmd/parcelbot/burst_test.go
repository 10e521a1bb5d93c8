package main

import (
	"context"
	"testing"
	"time"
)

// A burst of 5,000 replies to 1,000 chats goes out through the real
// channel against a fake Bot API that enforces the limits: everything
// arrives, in order per chat, and no faster than the rate allows. The rates
// are scaled up 20× (600/s overall, one per 100 ms per chat) so that the
// test takes about 9 s; `parcelbot loadtest -telegram-burst` runs
// Telegram's own (185 s). Whether a call keeps its slot is the limiter's
// property and is checked exactly on a simulated clock
// (adapters/telegram/limit_test.go); here, on the wall clock of a busy
// machine, calls can arrive bunched and draw a 429, which the channel must
// then absorb without losing or reordering anything.
func TestTelegramBurstKeepsTheLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 9 seconds")
	}
	r, err := telegramBurst(context.Background(), 1000, 5, 600, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !r.InOrder {
		t.Fatalf("%+v", r)
	}
	if min := time.Duration(float64(r.Replies-1) / 600 * float64(time.Second)); r.Took < min {
		t.Fatalf("%d replies in %s: faster than the limit allows (%s)", r.Replies, r.Took, min)
	}
	t.Logf("%d replies in %s, %d answered 429 by the fake", r.Replies, r.Took, r.TooMany)
}
