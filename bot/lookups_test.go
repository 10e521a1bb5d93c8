package bot_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// hookFunc is a go-redis hook that runs before each command: an error it
// returns fails the command.
type hookFunc func(cmd goredis.Cmder) error

func (h hookFunc) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h hookFunc) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if err := h(cmd); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (h hookFunc) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// keyArg is a command's first key, when it is a plain string.
func keyArg(cmd goredis.Cmder) string {
	if args := cmd.Args(); len(args) > 1 {
		k, _ := args[1].(string)
		return k
	}
	return ""
}

// The lookup-failure counter is read once for a chat that has not failed
// (the session remembers it), and on every lookup while it has failures in
// the window; the limit holds for a session that is new (after /forget).
func TestLookupFailuresAreReadOnlyWhenThereAreSome(t *testing.T) {
	f := newFixture(t, nil, nil)
	var reads atomic.Int64 // of the lookup-failure counters
	f.rdb.AddHook(hookFunc(func(cmd goredis.Cmder) error {
		if cmd.Name() == "get" && strings.Contains(keyArg(cmd), "fail:lookup:") {
			reads.Add(1)
		}
		return nil
	}))
	lookup := func(chat, id, number, postcode string) string {
		return texts(f.send(t, chat, id+"a", "where is "+number)) + texts(f.send(t, chat, id+"b", postcode))
	}
	for i, id := range []string{"u1", "u2", "u3"} {
		if got := lookup("1", id, "206-1001111-4007777", "SW1A 1AA"); !strings.Contains(got, "on its way") {
			t.Fatalf("lookup %d: %s", i, got)
		}
		f.send(t, "1", id+"c", "/start")
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("three lookups without a failure read the counter %d times, want once", n)
	}
	// a wrong number: from now on every lookup in the window reads it
	if got := lookup("1", "u4", "206-1001111-4007770", "SW1A 1AA"); !strings.Contains(got, "couldn't find") {
		t.Fatalf("wrong number: %s", got)
	}
	before := reads.Load()
	lookup("1", "u5", "206-1001111-4007777", "SW1A 1AA")
	if reads.Load() != before+1 {
		t.Fatal("a lookup after a failure in the window did not read the counter")
	}
	// four more failures reach the limit of 5; /forget gives a new session,
	// which does not know them: it reads the counter, and the limit holds
	for i, id := range []string{"u6", "u7", "u8", "u9"} {
		if got := lookup("1", id, "206-1001111-400777"+string(rune('0'+i)), "SW1A 1AA"); strings.Contains(got, "on its way") {
			t.Fatalf("guess %d: %s", i, got)
		}
	}
	if err := f.svc.Forget(context.Background(), "t:1"); err != nil {
		t.Fatal(err)
	}
	if got := lookup("1", "w1", "206-1001111-4007777", "SW1A 1AA"); !strings.Contains(got, "paused order lookups") {
		t.Fatalf("after /forget, at the limit: %s", got)
	}
}
