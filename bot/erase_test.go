package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
)

// The customer is told the conversation is forgotten only once it is: an
// erasure that fails sends no "done", and the redelivered confirmation
// carries it out and then says so.
func TestForgetSaysDoneOnlyWhenErased(t *testing.T) {
	f := newFixture(t, nil, nil)
	var failing atomic.Bool // the deletion of the chat's case index
	f.rdb.AddHook(hookFunc(func(cmd goredis.Cmder) error {
		if failing.Load() && cmd.Name() == "del" && strings.Contains(keyArg(cmd), "cases:conv:") {
			return errors.New("injected: del failed")
		}
		return nil
	}))
	f.send(t, "1", "a", "where is 206-1001111-4007777")
	if got := texts(f.send(t, "1", "b", "/forget")); !strings.Contains(got, "Delete everything?") {
		t.Fatalf("/forget: %s", got)
	}
	failing.Store(true)
	confirm := func() error {
		return f.svc.Handle(context.Background(), bot.Message{Conversation: "t:1", ID: "c", Input: dialog.Input{Text: "yes, delete it", LangHint: "en"}})
	}
	if err := confirm(); err == nil {
		t.Fatal("a failed erasure reported success")
	}
	if got := texts(f.rec.Take("1")); strings.Contains(got, "forgotten") {
		t.Fatalf("told the customer it is done while the erasure failed: %s", got)
	}
	failing.Store(false)
	if err := confirm(); err != nil {
		t.Fatal(err)
	}
	if got := texts(f.rec.Take("1")); !strings.Contains(got, "I've forgotten this conversation") {
		t.Fatalf("the redelivered confirmation: %s", got)
	}
	for _, k := range f.mr.Keys() {
		if strings.Contains(k, "t:1") {
			t.Errorf("key %s still names the chat", k)
		}
	}
}
