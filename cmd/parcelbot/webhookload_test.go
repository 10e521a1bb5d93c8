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
		r, err := webhookLoad(context.Background(), bin, "", 5, 500*time.Millisecond, replies)
		if err != nil {
			t.Fatal(err)
		}
		if r.Updates < 5 || r.Errors != 0 || len(r.Lat) != r.Updates || len(r.Sent) != r.Updates {
			t.Fatalf("replies in the answer %v: %d updates answered, %d errors", replies, r.Updates, r.Errors)
		}
	}
}
