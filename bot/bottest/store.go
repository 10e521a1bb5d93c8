// Package bottest holds test helpers for the bot package and its adapters:
// the contract every SessionStore must pass, and a recording channel and
// desk.
package bottest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/parcelbot/parcelbot/bot"
)

// TestSessionStore runs the SessionStore contract against stores made by
// newStore. Each call of newStore must return an empty store (or one with a
// fresh key prefix).
func TestSessionStore(t *testing.T, newStore func(t *testing.T) bot.SessionStore) {
	ctx := context.Background()
	t.Run("new conversation is empty", func(t *testing.T) {
		s := newStore(t)
		got, err := s.Load(ctx, "tg:1", "u1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Data != nil || got.Version != 0 || got.Seen {
			t.Fatalf("got %+v, want an empty session", got)
		}
	})
	t.Run("save then load", func(t *testing.T) {
		s := newStore(t)
		v, err := s.Save(ctx, "tg:1", 0, []byte("state-1"), "u1", nil, nil)
		if err != nil || v == 0 {
			t.Fatalf("Save = %d, %v; want a version, nil", v, err)
		}
		got, err := s.Load(ctx, "tg:1", "u2")
		if err != nil || string(got.Data) != "state-1" || got.Version != v || got.Seen {
			t.Fatalf("Load = %+v, %v; want version %d", got, err, v)
		}
		v2, err := s.Save(ctx, "tg:1", v, []byte("state-2"), "u2", nil, nil)
		if err != nil || v2 == v || v2 == 0 {
			t.Fatalf("the next Save = %d, %v; want a new version", v2, err)
		}
		if _, err := s.Save(ctx, "tg:1", v, []byte("stale"), "u3", nil, nil); !errors.Is(err, bot.ErrConflict) {
			t.Fatalf("a save expecting the version before: %v, want ErrConflict", err)
		}
		if other, _ := s.Load(ctx, "tg:2", ""); other.Data != nil {
			t.Fatalf("another conversation sees %q", other.Data)
		}
	})
	t.Run("binary data survives", func(t *testing.T) {
		s := newStore(t)
		data := []byte{0, 1, 2, 0xff, '\n', 'x', 0}
		if _, err := s.Save(ctx, "c", 0, data, "", nil, nil); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Load(ctx, "c", "")
		if string(got.Data) != string(data) {
			t.Fatalf("got %q, want %q", got.Data, data)
		}
	})
	t.Run("stale version conflicts and writes nothing", func(t *testing.T) {
		s := newStore(t)
		mustSave(t, s, "c", 0, "a", "u1")
		if _, err := s.Save(ctx, "c", 0, []byte("b"), "u2", nil, nil); !errors.Is(err, bot.ErrConflict) {
			t.Fatalf("got %v, want ErrConflict", err)
		}
		got, _ := s.Load(ctx, "c", "u2")
		if string(got.Data) != "a" || got.Seen {
			t.Fatalf("after conflict: %+v", got)
		}
	})
	t.Run("an input is processed once", func(t *testing.T) {
		s := newStore(t)
		v := mustSave(t, s, "c", 0, "a", "u1")
		if got, _ := s.Load(ctx, "c", "u1"); !got.Seen {
			t.Fatal("Load does not report a processed input")
		}
		if _, err := s.Save(ctx, "c", v, []byte("b"), "u1", nil, nil); !errors.Is(err, bot.ErrDuplicate) {
			t.Fatalf("got %v, want ErrDuplicate", err)
		}
		if got, _ := s.Load(ctx, "c", ""); string(got.Data) != "a" {
			t.Fatalf("duplicate overwrote the state: %q", got.Data)
		}
		// an id that is a prefix of a processed one is a different input
		mustSave(t, s, "c", v, "b", "u")
	})
	t.Run("processed ids are remembered for many turns", func(t *testing.T) {
		s := newStore(t)
		var v uint64
		for i := 0; i < 40; i++ {
			v = mustSave(t, s, "c", v, "x", "u"+strconv.Itoa(i))
		}
		for _, i := range []int{0, 20, 39} {
			if got, _ := s.Load(ctx, "c", "u"+strconv.Itoa(i)); !got.Seen {
				t.Errorf("input u%d forgotten after 40 turns", i)
			}
		}
	})
	t.Run("transcript is appended with the save, oldest first", func(t *testing.T) {
		s := newStore(t)
		v, err := s.Save(ctx, "c", 0, []byte("a"), "u1", Lines("customer: hi", "bot: hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Save(ctx, "c", v, []byte("b"), "u1", Lines("customer: again"), nil); !errors.Is(err, bot.ErrDuplicate) {
			t.Fatal(err)
		}
		if _, err := s.Save(ctx, "c", 0, []byte("b"), "u2", Lines("customer: stale"), nil); !errors.Is(err, bot.ErrConflict) {
			t.Fatal(err)
		}
		v = mustSave(t, s, "c", v, "c", "u3")
		if _, err := s.Save(ctx, "c", v, []byte("d"), "u4", Lines("customer: bye"), nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.Transcript(ctx, "c", 10)
		if err != nil || strings.Join(got, "|") != "customer: hi|bot: hello|customer: bye" {
			t.Fatalf("transcript %q, %v (a refused save must not append)", got, err)
		}
		if last, _ := s.Transcript(ctx, "c", 1); len(last) != 1 || last[0] != "customer: bye" {
			t.Fatalf("last line: %q", last)
		}
	})
	t.Run("transcript lines come back byte for byte", func(t *testing.T) {
		// a redelivered turn's replies are read back from its lines
		s := newStore(t)
		lines := []string{"customer: wo ist mein Paket?", "bot: Bestellung 1:\nunterwegs — ü\t\"x\"", "bot: ", "bot: \x00\xff"}
		if _, err := s.Save(ctx, "c", 0, []byte("a"), "u1", Lines(lines...), nil); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Transcript(ctx, "c", len(lines)); err != nil || !slices.Equal(got, lines) {
			t.Fatalf("transcript %q, %v; want %q", got, err, lines)
		}
	})
	t.Run("a save keeps none of the caller's buffers", func(t *testing.T) {
		// the service writes each turn into the buffers of the one before
		s := newStore(t)
		data, text, pending := []byte("state one"), []byte("customer: one"), []byte("work one")
		if _, err := s.Save(ctx, "c", 0, data, "u1", [][]byte{text}, pending); err != nil {
			t.Fatal(err)
		}
		copy(data, "STATE TWO")
		copy(text, "CUSTOMER: TWO")
		copy(pending, "WORK TWO")
		got, err := s.Load(ctx, "c", "u1")
		if err != nil || string(got.Data) != "state one" || string(got.Pending) != "work one" {
			t.Fatalf("loaded %q with pending %q (%v): the store kept the caller's buffers", got.Data, got.Pending, err)
		}
		if lines, err := s.Transcript(ctx, "c", 10); err != nil || strings.Join(lines, "|") != "customer: one" {
			t.Fatalf("transcript %q, %v: the store kept the caller's buffer", lines, err)
		}
	})
	t.Run("pending work is kept until done, for the input that left it", func(t *testing.T) {
		s := newStore(t)
		v, err := s.Save(ctx, "c", 0, []byte("a"), "u1", nil, []byte("send hello"))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := s.Load(ctx, "c", "u1")
		if !got.Seen || string(got.Pending) != "send hello" {
			t.Fatalf("redelivered u1: %+v", got)
		}
		if other, _ := s.Load(ctx, "c", "u2"); other.Pending != nil {
			t.Fatalf("another input sees u1's pending work: %q", other.Pending)
		}
		if err := s.MarkDone(ctx, "c", "u0"); err != nil { // not the pending input: no effect
			t.Fatal(err)
		}
		if got, _ := s.Load(ctx, "c", "u1"); string(got.Pending) != "send hello" {
			t.Fatal("MarkDone of another input cleared the pending work")
		}
		if err := s.MarkDone(ctx, "c", "u1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Load(ctx, "c", "u1"); !got.Seen || len(got.Pending) != 0 {
			t.Fatalf("after MarkDone: %+v", got)
		}
		// the next turn replaces the pending work
		if _, err := s.Save(ctx, "c", v, []byte("b"), "u2", nil, []byte("send bye")); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Load(ctx, "c", "u1"); len(got.Pending) != 0 {
			t.Fatal("u1 still pending after u2's turn")
		}
	})
	t.Run("delete forgets", func(t *testing.T) {
		s := newStore(t)
		old, err := s.Save(ctx, "c", 0, []byte("a"), "u1", Lines("customer: my address is ..."), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Load(ctx, "c", "u1"); got.Data != nil || got.Version != 0 || got.Seen {
			t.Fatalf("after delete: %+v", got)
		}
		// the conversation begun again: a copy of the old session (another
		// replica's) must not match the new one's version
		if v, err := s.Save(ctx, "c", 0, []byte("b"), "u2", nil, nil); err != nil || v == old {
			t.Fatalf("the new session's first save: version %d, %v; the old one's was %d", v, err, old)
		}
		if _, err := s.Save(ctx, "c", old, []byte("stale"), "u3", nil, nil); !errors.Is(err, bot.ErrConflict) {
			t.Fatalf("a save from a copy of the deleted session: %v, want ErrConflict", err)
		}
		if tr, _ := s.Transcript(ctx, "c", 10); len(tr) != 0 {
			t.Fatalf("transcript survived delete: %q", tr)
		}
	})
	t.Run("concurrent writers lose nothing", func(t *testing.T) {
		s := newStore(t)
		const writers, each = 8, 25
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					id := fmt.Sprintf("w%d-%d", w, i)
					for {
						cur, err := s.Load(ctx, "c", id)
						if err != nil {
							t.Error(err)
							return
						}
						n, _ := strconv.Atoi(string(cur.Data))
						_, err = s.Save(ctx, "c", cur.Version, []byte(strconv.Itoa(n+1)), id, nil, nil)
						if errors.Is(err, bot.ErrConflict) {
							continue
						}
						if err != nil {
							t.Error(err)
						}
						break
					}
				}
			}()
		}
		wg.Wait()
		got, _ := s.Load(ctx, "c", "")
		if string(got.Data) != strconv.Itoa(writers*each) {
			t.Fatalf("got counter %s, want %d", got.Data, writers*each)
		}
	})
}

// mustSave saves and returns the new version.
func mustSave(t *testing.T, s bot.SessionStore, conv string, expect uint64, data, id string) uint64 {
	t.Helper()
	v, err := s.Save(context.Background(), conv, expect, []byte(data), id, nil, nil)
	if err != nil {
		t.Fatalf("Save(%s, %d, %s): %v", conv, expect, id, err)
	}
	return v
}

// Lines is a turn's transcript lines as SessionStore.Save takes them.
func Lines(ls ...string) [][]byte {
	out := make([][]byte, len(ls))
	for i, l := range ls {
		out[i] = []byte(l)
	}
	return out
}
