package redis

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/bot/bottest"
)

func TestSeenCopyList(t *testing.T) {
	cp := &seenCopy{}
	if cp.contains("u1") || cp.last() != nil {
		t.Fatalf("empty list: contains u1 %v, last %q", cp.contains("u1"), cp.last())
	}
	steps := []struct {
		add  string
		want string
		n    int
	}{
		{"u1", "\nu1\n", 1},
		{"u22", "\nu1\nu22\n", 2},
		{"u3", "\nu1\nu22\nu3\n", 3},
		{"u4", "\nu22\nu3\nu4\n", 3}, // the oldest goes
		{"agent:slack:17.5:claim", "\nu3\nu4\nagent:slack:17.5:claim\n", 3},
	}
	for _, st := range steps {
		if n := cp.add(st.add, 3); n != st.n || string(cp.list) != st.want {
			t.Fatalf("add %s: %q (%d), want %q (%d)", st.add, cp.list, n, st.want, st.n)
		}
		if string(cp.last()) != st.add || !cp.contains(st.add) {
			t.Fatalf("after adding %s: last %q, contains %v", st.add, cp.last(), cp.contains(st.add))
		}
	}
	for _, id := range []string{"u22", "u", "agent", "agent:slack:17.5", "", "\n"} {
		if cp.contains(id) {
			t.Errorf("contains %q in %q", id, cp.list)
		}
	}
	for _, c := range []struct {
		list, id string
		want     bool
	}{
		{"\nu11\nu1\n", "u1", true},
		{"\nu11\nu1\n", "u11", true},
		{"\nxu1\nu1x\n", "u1", false},
		{"\nu1\nu2\n", "1\nu", false},
		{"\nu1\nu2\n", "u1\nu2", false},
		{"\nab\nb\n", "b", true},
	} {
		if got := (&seenCopy{list: []byte(c.list)}).contains(c.id); got != c.want {
			t.Errorf("%q contains %q: %v, want %v", c.list, c.id, got, c.want)
		}
	}
	// a list stored longer than the bound (a smaller Seen since) is cut to it
	long := &seenCopy{list: []byte("\na\nb\nc\nd\ne\n")}
	if n := long.add("f", 2); n != 2 || string(long.list) != "\ne\nf\n" {
		t.Fatalf("long list: %q (%d)", long.list, n)
	}
}

func TestSeenCopiesBounded(t *testing.T) {
	c := newSeenCopies(seenShards) // one a shard
	for i := range 100 {
		c.put(fmt.Sprint("c", i), &seenCopy{version: uint64(i)})
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n > seenShards {
		t.Fatalf("%d copies kept, at most %d", n, seenShards)
	}
	if off := newSeenCopies(-1); off.take("c") != nil {
		t.Fatal("copies kept with Copies -1")
	}
}

// countHook counts the commands sent, one a command of a pipeline.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h *countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// A turn saved with the store's copy of the list costs one command, and a
// redelivered input is refused from the copy without any.
func TestSaveUsesTheCopy(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	s := NewStore(c, Options{})
	ctx := context.Background()
	if _, err := s.Save(ctx, "a", 0, []byte("x"), "u1", []string{"customer: hi"}, []byte("work")); err != nil {
		t.Fatal(err)
	}
	h := &countHook{}
	c.AddHook(h)
	if _, err := s.Save(ctx, "a", 1, []byte("y"), "u2", []string{"customer: again"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := h.n.Load(); got != 1 {
		t.Fatalf("a save sent %d commands, want 1 (the script)", got)
	}
	if _, err := s.Save(ctx, "a", 2, []byte("z"), "u1", nil, nil); !errors.Is(err, bot.ErrDuplicate) {
		t.Fatalf("repeat of u1: %v", err)
	}
	if got := h.n.Load(); got != 1 {
		t.Fatalf("a repeat sent %d commands, want none", got)
	}
	if got := mr.HGet("parcelbot:s:{a}", "s"); got != "\nu1\nu2\n" || mr.HGet("parcelbot:s:{a}", "n") != "2" {
		t.Fatalf("stored list %q, n %q", got, mr.HGet("parcelbot:s:{a}", "n"))
	}
}

// Without a copy (none kept, or it was let go) a save reads the list
// first, and everything holds as with one.
func TestContractWithoutCopies(t *testing.T) {
	bottest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
		mr := miniredis.RunT(t)
		c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { c.Close() })
		return NewStore(c, Options{Copies: -1})
	})
}

// Two replicas share a conversation: each one's copy goes stale when the
// other saves, and the compare-and-set catches it.
func TestReplicasCopiesGoStale(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	a, b := NewStore(c, Options{}), NewStore(c, Options{})
	ctx := context.Background()
	if _, err := a.Save(ctx, "x", 0, []byte("1"), "u1", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Load(ctx, "x", "u2"); got.Version != 1 || got.Seen {
		t.Fatalf("b loads %+v", got)
	}
	if _, err := a.Save(ctx, "x", 1, []byte("2"), "u2", nil, nil); err != nil { // a's copy is current
		t.Fatal(err)
	}
	// b's copy is at version 1, without u2: the script refuses the save
	if _, err := b.Save(ctx, "x", 1, []byte("2'"), "u2", nil, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("b saves over a: %v", err)
	}
	got, _ := b.Load(ctx, "x", "u2")
	if !got.Seen || got.Version != 2 || string(got.Data) != "2" {
		t.Fatalf("b after loading again: %+v", got)
	}
	if _, err := b.Save(ctx, "x", 2, []byte("2'"), "u2", nil, nil); !errors.Is(err, bot.ErrDuplicate) {
		t.Fatalf("b repeats u2: %v", err)
	}
	// after an erasure on b, a's copy (version 2) is stale too
	if err := b.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Save(ctx, "x", 2, []byte("3"), "u3", nil, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("a saves into an erased conversation: %v", err)
	}
}

// Past its bound the store lets copies go; their conversations' saves read
// the list again and still refuse repeats.
func TestCopiesLetGo(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	s := NewStore(c, Options{Copies: seenShards})
	ctx := context.Background()
	for round := range 3 {
		for i := range 50 {
			conv, id := fmt.Sprint("c", i), fmt.Sprint("u", round)
			if _, err := s.Save(ctx, conv, uint64(round), []byte("x"), id, nil, nil); err != nil {
				t.Fatalf("%s round %d: %v", conv, round, err)
			}
			if _, err := s.Save(ctx, conv, uint64(round+1), []byte("x"), "u0", nil, nil); !errors.Is(err, bot.ErrDuplicate) {
				t.Fatalf("%s round %d: repeat of u0: %v", conv, round, err)
			}
		}
	}
}

//go:embed testdata/save-before-copies.lua
var saveBeforeCopies string

// During a rolling upgrade a replica still running the previous save script
// (which kept the list itself) and a current one share conversations: both
// refuse each other's processed inputs, the versions and the list stay
// one, and work whose mark was lost is cleaned up by either.
func TestRollingUpgradeFromTheScriptBefore(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	ctx := context.Background()
	s := NewStore(c, Options{Seen: 4})
	old := goredis.NewScript(saveBeforeCopies)
	key, tkey := "parcelbot:s:{a}", "parcelbot:t:{a}"
	oldSave := func(expect int, id, work string) int64 {
		t.Helper()
		n, err := old.Run(ctx, c, []string{key, tkey}, expect, "old", id, 1000000, 4, 1000000, 200, work, 1, "customer: "+id).Int64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := oldSave(0, "u1", "work 1"); n != 1 {
		t.Fatalf("old save: %d", n)
	}
	// the mark of u1 is lost; the current replica saves next
	if got, _ := s.Load(ctx, "a", "u1"); !got.Seen || got.Version != 1 || string(got.Pending) != "work 1" {
		t.Fatalf("current loads %+v", got)
	}
	if _, err := s.Save(ctx, "a", 1, []byte("new"), "u2", []string{"customer: u2"}, []byte("work 2")); err != nil {
		t.Fatal(err)
	}
	if mr.HGet(key, "p:u1") != "" || mr.HGet(key, "p:u2") != "work 2" {
		t.Fatalf("pending fields after the current save: %v", fields(mr, key))
	}
	if n := oldSave(2, "u2", ""); n != -1 {
		t.Fatalf("old replica repeats u2: %d, want -1", n)
	}
	if n := oldSave(2, "u3", ""); n != 3 {
		t.Fatalf("old save after the current one: %d", n)
	}
	// the current replica's copy (version 2) is stale: refused, then loaded
	if _, err := s.Save(ctx, "a", 2, []byte("new"), "u4", nil, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("stale copy: %v", err)
	}
	if got, _ := s.Load(ctx, "a", "u3"); !got.Seen || got.Version != 3 {
		t.Fatalf("u3 after loading: %+v", got)
	}
	for i, id := range []string{"u4", "u5", "u6"} {
		if _, err := s.Save(ctx, "a", uint64(3+i), []byte("new"), id, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := mr.HGet(key, "s"); got != "\nu3\nu4\nu5\nu6\n" || mr.HGet(key, "n") != "4" {
		t.Fatalf("list %q n %q", got, mr.HGet(key, "n"))
	}
	if n := oldSave(6, "u5", ""); n != -1 {
		t.Fatalf("old replica repeats u5: %d", n)
	}
	if n := oldSave(6, "u7", ""); n != 7 {
		t.Fatalf("old save: %d", n)
	}
	if got := mr.HGet(key, "s"); got != "\nu4\nu5\nu6\nu7\n" {
		t.Fatalf("list after the old save %q", got)
	}
	if tr, _ := s.Transcript(ctx, "a", 10); strings.Join(tr, "|") != "customer: u1|customer: u2|customer: u3|customer: u7" {
		t.Fatalf("transcript %q", tr)
	}
}

func fields(mr *miniredis.Miniredis, key string) []string {
	k, _ := mr.HKeys(key)
	return k
}

// FuzzSeenCopy checks the copy's list against a plain slice of ids: after
// any ids are added, it holds the last keep, in the stored layout, and
// contains finds exactly those.
func FuzzSeenCopy(f *testing.F) {
	f.Add("u1 u2 u11 u1", "u1", 3)
	f.Add("a b ab ba", "b", 2)
	f.Add("agent:slack:1.2:claim ev:9 u700000001", "ev:9", 64)
	f.Fuzz(func(t *testing.T, ids, probe string, keep int) {
		keep = 1 + int(uint(keep)%70)
		cp := &seenCopy{}
		var ref []string
		for _, id := range strings.Fields(ids) {
			cp.add(id, keep)
			ref = append(ref, id)
			if len(ref) > keep {
				ref = ref[1:]
			}
		}
		want := ""
		if len(ref) > 0 {
			want = "\n" + strings.Join(ref, "\n") + "\n"
		}
		if string(cp.list) != want {
			t.Fatalf("list %q, want %q", cp.list, want)
		}
		for _, id := range append(ref, probe) {
			if got, in := cp.contains(id), id != "" && slices.Contains(ref, id); got != in {
				t.Fatalf("contains(%q) = %v in %q", id, got, cp.list)
			}
		}
		if len(ref) > 0 && string(cp.last()) != ref[len(ref)-1] {
			t.Fatalf("last %q, want %q", cp.last(), ref[len(ref)-1])
		}
	})
}
