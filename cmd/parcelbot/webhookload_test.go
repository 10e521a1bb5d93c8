package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The webhook load generator drives a real serve process end to end: every
// update it posts is answered at the fake Bot API, none lost.
func TestWebhookLoadGenerator(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "parcelbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, replies := range []bool{false, true} { // replies in the webhook's answer
		r, err := webhookLoad(context.Background(), bin, "", webhookLoadOptions{Chats: 5, Dur: 500 * time.Millisecond, Warmup: 100 * time.Millisecond, Replies: replies})
		if err != nil {
			t.Fatal(err)
		}
		if r.Updates < 5 || r.Errors != 0 || len(r.Lat) != r.Updates || len(r.Sent) != r.Updates {
			t.Fatalf("replies in the answer %v: %d updates answered, %d errors", replies, r.Updates, r.Errors)
		}
	}
	// open loop: 5 chats at 40 updates a second in all, 500 ms measured:
	// each chat sends one every 125 ms, so at most 4 each are measured,
	// whatever the speed of the service
	r, err := webhookLoad(context.Background(), bin, "", webhookLoadOptions{Chats: 5, Dur: 500 * time.Millisecond, Warmup: 100 * time.Millisecond, Rate: 40})
	if err != nil {
		t.Fatal(err)
	}
	if r.Updates < 1 || r.Updates > 20 || r.Errors != 0 || len(r.Lat) != r.Updates {
		t.Fatalf("open loop at 40/s for 500 ms: %d updates measured (want at most 20), %d errors", r.Updates, r.Errors)
	}
}
