package telegram

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
)

// A chat's work runs one at a time in arrival order, the first in the
// caller's goroutine; another chat's is not held up; a job that panics
// does not leave its chat stuck.
func TestQueuesRunAChatsWorkInOrder(t *testing.T) {
	q := newQueues()
	ctx := context.Background()
	firstIn, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var order []string
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }

	firstDone := make(chan error)
	go func() {
		firstDone <- q.do(ctx, 1, func() error {
			close(firstIn)
			<-release
			note("1a")
			return errors.New("1a's error")
		})
	}()
	<-firstIn
	// chat 1 is busy: its next jobs wait, in order; chat 2 is not held up
	queued := make(chan error, 2)
	for _, name := range []string{"1b", "1c"} {
		go func() { queued <- q.do(ctx, 1, func() error { note(name); return nil }) }()
		for { // until it is queued behind 1a
			q.mu.Lock()
			n := len(q.chats[1].jobs)
			q.mu.Unlock()
			if n == map[string]int{"1b": 1, "1c": 2}[name] {
				break
			}
			runtime.Gosched()
		}
	}
	if err := q.do(ctx, 2, func() error { note("2a"); return nil }); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-firstDone; err == nil || err.Error() != "1a's error" {
		t.Fatalf("the caller's job returned %v", err)
	}
	for range 2 {
		if err := <-queued; err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	got := order
	mu.Unlock()
	want := []string{"2a", "1a", "1b", "1c"}
	if len(got) != len(want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ran %v, want %v", got, want)
		}
	}

	func() {
		defer func() { _ = recover() }()
		_ = q.do(ctx, 3, func() error { panic("boom") })
	}()
	ran := false
	if err := q.do(ctx, 3, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("after a panic the chat's next job: ran %v, err %v", ran, err)
	}
	q.mu.Lock()
	_, stuck := q.chats[3]
	q.mu.Unlock()
	if stuck {
		t.Fatal("chat 3 still has a queue with nothing in it")
	}
}
