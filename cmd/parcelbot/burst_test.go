package main

import (
	"context"
	"testing"
	"time"
)

// A burst of 5,000 replies to 1,000 chats goes out within the limits the
// fake Bot API enforces (no 429) and in order per chat. The rates are
// scaled up 20× (600/s overall, one per 100 ms per chat) so that the test
// takes about 9 s; `parcelbot loadtest -telegram-burst` runs Telegram's own
// (185 s). More scale makes the test a measure of this machine's
// scheduling hiccups rather than of the limiter.
func TestTelegramBurstKeepsTheLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 9 seconds")
	}
	r, err := telegramBurst(context.Background(), 1000, 5, 600, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.TooMany != 0 || !r.InOrder {
		t.Fatalf("%+v", r)
	}
	if min := time.Duration(float64(r.Replies-1) / 600 * float64(time.Second)); r.Took < min {
		t.Fatalf("%d replies in %s: faster than the limit allows (%s)", r.Replies, r.Took, min)
	}
	t.Logf("%d replies in %s", r.Replies, r.Took)
}
