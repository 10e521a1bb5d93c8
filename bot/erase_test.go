package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/redis"
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

// A replica that handled a chat before /forget still holds a copy of the
// old session. The new session's versions never meet that copy's, so the
// forgotten state does not come back when the chat's next message lands
// on that replica (with versions counted from 1 again it did: the copy's
// version matched the new session's after as many turns).
func TestForgottenSessionStaysForgottenOnAnotherReplica(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := newFixture(t, mr, nil), newFixture(t, mr, nil)
	b.send(t, "1", "u1", "where is my parcel 206-1001111-4007777") // b's copy knows the order
	a.send(t, "1", "u2", "/forget")
	if got := texts(a.send(t, "1", "u3", "yes, delete it")); !strings.Contains(got, "I've forgotten this conversation") {
		t.Fatalf("the confirmation: %s", got)
	}
	a.send(t, "1", "u4", "hello") // the chat starts again, on a
	got := texts(b.send(t, "1", "u5", "where is my parcel"))
	if strings.Contains(got, "206-1001111-4007777") || !strings.Contains(got, "order number") {
		t.Fatalf("after /forget, on the replica that knew the old session: %s", got)
	}
	sess, err := redis.NewStore(a.rdb, redis.Options{}).Load(context.Background(), "t:1", "u1")
	if err != nil || sess.Seen {
		t.Fatalf("the forgotten session's input ids came back: seen %v, %v", sess.Seen, err)
	}
}
