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
	r, err := webhookLoad(context.Background(), bin, "", 5, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.Updates < 5 || r.Errors != 0 || len(r.Lat) != r.Updates {
		t.Fatalf("%d updates answered, %d errors", r.Updates, r.Errors)
	}
}
