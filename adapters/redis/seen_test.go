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
		t.Fatalf("empty: contains u1 %v, last %q", cp.contains("u1"), cp.last())
	}
	steps := []struct {
		add           string
		recent, older string
		n             int
		moved         bool
	}{
		{"u1", "\nu1\n", "", 1, false},
		{"u22", "\nu1\nu22\n", "", 2, false},
		{"u3", "\nu1\nu22\nu3\n", "", 3, false},
		// the recent list is full (keep 3): it moves, older keeps 2
		{"u4", "\nu4\n", "\nu22\nu3\n", 1, true},
		{"agent:slack:17.5:claim", "\nu4\nagent:slack:17.5:claim\n", "\nu22\nu3\n", 2, false},
	}
	for _, st := range steps {
		n, moved := cp.add(st.add, 3)
		if n != st.n || moved != st.moved || string(cp.recent) != st.recent || string(cp.older) != st.older {
			t.Fatalf("add %s: recent %q older %q (%d, %v), want %q %q (%d, %v)", st.add, cp.recent, cp.older, n, moved, st.recent, st.older, st.n, st.moved)
		}
		if string(cp.last()) != st.add || !cp.contains(st.add) {
			t.Fatalf("after adding %s: last %q, contains %v", st.add, cp.last(), cp.contains(st.add))
		}
	}
	for _, id := range []string{"u22", "u3", "u4"} {
		if !cp.contains(id) {
			t.Errorf("%s forgotten: %q %q", id, cp.older, cp.recent)
		}
	}
	for _, id := range []string{"u1", "u", "agent", "agent:slack:17.5", "", "\n"} {
		if cp.contains(id) {
			t.Errorf("contains %q: %q %q", id, cp.older, cp.recent)
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
		cp := &seenCopy{older: []byte(c.list)}
		cp.resum()
		if got := cp.contains(c.id); got != c.want {
			t.Errorf("%q contains %q: %v, want %v", c.list, c.id, got, c.want)
		}
	}
	// a session of the layout before: its whole list in the recent field
	long := &seenCopy{recent: []byte("\na\nb\nc\nd\ne\n")}
	long.resum()
	if n, moved := long.add("f", 3); n != 1 || !moved || string(long.older) != "\nd\ne\n" || string(long.recent) != "\nf\n" {
		t.Fatalf("long list: %q %q (%d, %v)", long.older, long.recent, n, moved)
	}
	one := &seenCopy{}
	for _, id := range []string{"a", "b", "c"} {
		one.add(id, 1)
	}
	if len(one.older) != 0 || string(one.recent) != "\nc\n" || one.contains("b") {
		t.Fatalf("keep 1: %q %q", one.older, one.recent)
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
	mr, c := miniClient(t)
	s := NewStore(c, Options{})
	ctx := context.Background()
	v, err := s.Save(ctx, "a", 0, []byte("x"), "u1", bottest.Lines("customer: hi"), []byte("work"))
	if err != nil {
		t.Fatal(err)
	}
	h := &countHook{}
	c.AddHook(h)
	if v, err = s.Save(ctx, "a", v, []byte("y"), "u2", bottest.Lines("customer: again"), nil); err != nil {
		t.Fatal(err)
	}
	if got := h.n.Load(); got != 1 {
		t.Fatalf("a save sent %d commands, want 1 (the script)", got)
	}
	if _, err := s.Save(ctx, "a", v, []byte("z"), "u1", nil, nil); !errors.Is(err, bot.ErrDuplicate) {
		t.Fatalf("repeat of u1: %v", err)
	}
	if got := h.n.Load(); got != 1 {
		t.Fatalf("a repeat sent %d commands, want none", got)
	}
	if got := mr.HGet("parcelbot:s:{a}", "s"); got != "\nu1\nu2\n" || mr.HGet("parcelbot:s:{a}", "n") != "2" || mr.HGet("parcelbot:s:{a}", "o") != "" {
		t.Fatalf("stored list %q, n %q", got, mr.HGet("parcelbot:s:{a}", "n"))
	}
}

// Without a copy (none kept, or it was let go) a save reads the list
// first, and everything holds as with one.
func TestContractWithoutCopies(t *testing.T) {
	bottest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
		_, c := miniClient(t)
		return NewStore(c, Options{Copies: -1})
	})
}

// Two replicas share a conversation: each one's copy goes stale when the
// other saves, and the compare-and-set catches it.
func TestReplicasCopiesGoStale(t *testing.T) {
	_, c := miniClient(t)
	a, b := NewStore(c, Options{}), NewStore(c, Options{})
	ctx := context.Background()
	v1, err := a.Save(ctx, "x", 0, []byte("1"), "u1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Load(ctx, "x", "u2"); got.Version != v1 || got.Seen {
		t.Fatalf("b loads %+v, want version %d", got, v1)
	}
	v2, err := a.Save(ctx, "x", v1, []byte("2"), "u2", nil, nil) // a's copy is current
	if err != nil {
		t.Fatal(err)
	}
	// b's copy is at the first version, without u2: the script refuses the save
	if _, err := b.Save(ctx, "x", v1, []byte("2'"), "u2", nil, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("b saves over a: %v", err)
	}
	got, _ := b.Load(ctx, "x", "u2")
	if !got.Seen || got.Version != v2 || string(got.Data) != "2" {
		t.Fatalf("b after loading again: %+v", got)
	}
	if _, err := b.Save(ctx, "x", v2, []byte("2'"), "u2", nil, nil); !errors.Is(err, bot.ErrDuplicate) {
		t.Fatalf("b repeats u2: %v", err)
	}
	// after an erasure on b, a's copy is stale too
	if err := b.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Save(ctx, "x", v2, []byte("3"), "u3", nil, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("a saves into an erased conversation: %v", err)
	}
	// and stays stale once the conversation begins again, however many
	// turns the new one takes (its versions start elsewhere)
	v := uint64(0)
	for i := range 3 {
		if v, err = b.Save(ctx, "x", v, []byte("new"), fmt.Sprint("n", i), nil, nil); err != nil {
			t.Fatal(err)
		}
		if v == v1 || v == v2 {
			t.Fatalf("the new conversation's turn %d has the old one's version %d", i, v)
		}
	}
	if _, err := a.Save(ctx, "x", v2, []byte("old"), "u3", nil, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("a saves its copy of the erased conversation over the new one: %v", err)
	}
}

// Past its bound the store lets copies go; their conversations' saves read
// the list again and still refuse repeats.
func TestCopiesLetGo(t *testing.T) {
	_, c := miniClient(t)
	s := NewStore(c, Options{Copies: seenShards})
	ctx := context.Background()
	versions := make([]uint64, 50)
	for round := range 3 {
		for i := range 50 {
			conv, id := fmt.Sprint("c", i), fmt.Sprint("u", round)
			v, err := s.Save(ctx, conv, versions[i], []byte("x"), id, nil, nil)
			if err != nil {
				t.Fatalf("%s round %d: %v", conv, round, err)
			}
			versions[i] = v
			if _, err := s.Save(ctx, conv, v, []byte("x"), "u0", nil, nil); !errors.Is(err, bot.ErrDuplicate) {
				t.Fatalf("%s round %d: repeat of u0: %v", conv, round, err)
			}
		}
	}
}

//go:embed testdata/save-before-copies.lua
var saveBeforeCopies string

// During a rolling upgrade a replica still running the previous save script
// (which kept the whole list in 's') and a current one share conversations:
// the versions stay one, each refuses a repeat of the other's recent inputs,
// the current one moves a list the old one made long into the older ids,
// and work whose mark was lost is cleaned up by either. The old replica
// does not know the older ids (at least the last 8 it does).
func TestRollingUpgradeFromTheScriptBefore(t *testing.T) {
	_, c := miniClient(t)
	rollingUpgrade(t, c, "parcelbot:")
}

// The same on real Redis (miniredis runs its scripts in another Lua): a
// server and a Cluster, when the tests have them.
func TestRollingUpgradeOnRealRedis(t *testing.T) {
	onRealRedis(t, "TestRollingUpgradeFromTheScriptBefore ran on miniredis", func(t *testing.T, rdb goredis.UniversalClient) {
		rollingUpgrade(t, rdb, testPrefix(t, rdb))
	})
}

func rollingUpgrade(t *testing.T, c goredis.UniversalClient, prefix string) {
	ctx := context.Background()
	s := NewStore(c, Options{Seen: 4, Prefix: prefix})
	old := goredis.NewScript(saveBeforeCopies)
	key, tkey := prefix+"s:{a}", prefix+"t:{a}"
	get := func(field string) string { return c.HGet(ctx, key, field).Val() }
	oldSave := func(expect int, id, work string) int64 {
		t.Helper()
		n, err := old.Run(ctx, c, []string{key, tkey}, expect, "old", id, 1000000, 64, 1000000, 200, work, 1, "customer: "+id).Int64()
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
	if _, err := s.Save(ctx, "a", 1, []byte("new"), "u2", bottest.Lines("customer: u2"), []byte("work 2")); err != nil {
		t.Fatal(err)
	}
	if get("p:u1") != "" || get("p:u2") != "work 2" {
		t.Fatalf("pending fields after the current save: %v", c.HKeys(ctx, key).Val())
	}
	if n := oldSave(2, "u2", ""); n != -1 {
		t.Fatalf("old replica repeats u2: %d, want -1", n)
	}
	for i, id := range []string{"u3", "u4", "u5"} {
		if n := oldSave(2+i, id, ""); n != int64(3+i) {
			t.Fatalf("old save of %s: %d", id, n)
		}
	}
	// the current replica's copy (version 2) is stale: refused, then loaded
	if _, err := s.Save(ctx, "a", 2, []byte("new"), "u6", nil, nil); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("stale copy: %v", err)
	}
	if got, _ := s.Load(ctx, "a", "u5"); !got.Seen || got.Version != 5 {
		t.Fatalf("u5 after loading: %+v", got)
	}
	// five ids in 's' (four at most here): the next save moves them
	if _, err := s.Save(ctx, "a", 5, []byte("new"), "u6", nil, nil); err != nil {
		t.Fatal(err)
	}
	if get("s") != "\nu6\n" || get("n") != "1" || get("o") != "\nu3\nu4\nu5\n" {
		t.Fatalf("s %q n %q o %q", get("s"), get("n"), get("o"))
	}
	for _, id := range []string{"u3", "u6"} {
		if _, err := s.Save(ctx, "a", 6, []byte("new"), id, nil, nil); !errors.Is(err, bot.ErrDuplicate) {
			t.Fatalf("current repeats %s: %v", id, err)
		}
	}
	if n := oldSave(6, "u6", ""); n != -1 {
		t.Fatalf("old replica repeats u6: %d", n)
	}
	if n := oldSave(6, "u7", ""); n != 7 {
		t.Fatalf("old save: %d", n)
	}
	if get("s") != "\nu6\nu7\n" || get("o") != "\nu3\nu4\nu5\n" {
		t.Fatalf("after the old save: s %q o %q", get("s"), get("o"))
	}
	if got, _ := s.Load(ctx, "a", "u4"); !got.Seen {
		t.Fatal("u4 forgotten by the current replica")
	}
	if tr, _ := s.Transcript(ctx, "a", 10); strings.Join(tr, "|") != "customer: u1|customer: u2|customer: u3|customer: u4|customer: u5|customer: u7" {
		t.Fatalf("transcript %q", tr)
	}

	// A conversation the current replica begins starts at a random version
	// (below 2^40): the old replica, which counts versions in Lua's
	// numbers, goes on counting it exactly, also at the top of the range.
	for i, top := range []bool{false, true} {
		conv := fmt.Sprint("b", i)
		v, err := s.Save(ctx, conv, 0, []byte("new"), "b1", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v < 1<<20 || v >= 1<<40 {
			t.Fatalf("first version %d out of its range", v)
		}
		bkey := prefix + "s:{" + conv + "}"
		if top {
			v = 1 << 40 // far above the range: room for a long conversation
			c.HSet(ctx, bkey, "v", v)
			s.seen.drop(conv)
		}
		n, err := old.Run(ctx, c, []string{bkey, prefix + "t:{" + conv + "}"}, v, "old", "b2", 1000000, 64, 1000000, 200, "", 1, "customer: b2").Int64()
		if err != nil || n != int64(v+1) {
			t.Fatalf("old save after version %d: %d, %v", v, n, err)
		}
		got, err := s.Load(ctx, conv, "b2")
		if err != nil || !got.Seen || got.Version != v+1 {
			t.Fatalf("after the old save of version %d: %+v, %v (stored %q)", v+1, got, err, c.HGet(ctx, bkey, "v").Val())
		}
		if _, err := s.Save(ctx, conv, v+1, []byte("new"), "b3", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzSeenCopy checks the copy against a plain slice of ids: after any ids
// are added, it holds the last ones, at least keep and fewer than keep plus
// the recent list's size, in the stored layout, and contains finds exactly
// those.
func FuzzSeenCopy(f *testing.F) {
	f.Add("u1 u2 u11 u1", "u1", 3)
	f.Add("a b ab ba", "b", 2)
	f.Add("agent:slack:1.2:claim ev:9 u700000001", "ev:9", 64)
	f.Add("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", "4", 5)
	f.Fuzz(func(t *testing.T, ids, probe string, keep int) {
		keep = 1 + int(uint(keep)%70)
		cp := &seenCopy{}
		all := strings.Fields(ids)
		for _, id := range all {
			cp.add(id, keep)
		}
		var kept []string
		for _, l := range [][]byte{cp.older, cp.recent} {
			if len(l) == 0 {
				continue
			}
			if l[0] != '\n' || l[len(l)-1] != '\n' || len(l) < 3 {
				t.Fatalf("layout: older %q recent %q", cp.older, cp.recent)
			}
			kept = append(kept, strings.Split(string(l[1:len(l)-1]), "\n")...)
		}
		m := len(kept)
		if m > len(all) || !slices.Equal(kept, all[len(all)-m:]) {
			t.Fatalf("kept %q of %q", kept, all)
		}
		if m < min(keep, len(all)) || m > keep+min(recentIDs, keep)-1 {
			t.Fatalf("%d ids kept for keep %d", m, keep)
		}
		if count(cp.recent) > min(recentIDs, keep) {
			t.Fatalf("recent %q over its size", cp.recent)
		}
		for _, id := range append(kept, probe, "") {
			if got, in := cp.contains(id), id != "" && slices.Contains(kept, id); got != in {
				t.Fatalf("contains(%q) = %v in %q %q", id, got, cp.older, cp.recent)
			}
		}
		if m > 0 && string(cp.last()) != kept[m-1] {
			t.Fatalf("last %q, want %q", cp.last(), kept[m-1])
		}
	})
}

// failHook fails the commands sent while on is set.
type failHook struct {
	countHook
	on atomic.Bool
}

func (h *failHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		if h.on.Load() {
			cmd.SetErr(errors.New("injected failure"))
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

// A save that fails lets its copy go: the next save reads the ids from
// Redis once, and the one after uses a copy again (a copy left busy would
// cost every later save of the conversation a round trip).
func TestFailedSaveLetsTheCopyGo(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr(), MaxRetries: -1})
	defer c.Close()
	s := NewStore(c, Options{Pipelines: -1})
	ctx := context.Background()
	v, err := s.Save(ctx, "a", 0, []byte("x"), "u1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &failHook{}
	c.AddHook(h)
	h.on.Store(true)
	if _, err := s.Save(ctx, "a", v, []byte("y"), "u2", nil, nil); err == nil {
		t.Fatal("a failed save reported no error")
	}
	h.on.Store(false)
	for i, want := range []int64{2, 1, 1} { // HMGET and the script, then the script
		before := h.n.Load()
		if v, err = s.Save(ctx, "a", v, []byte("y"), fmt.Sprint("u", 2+i), nil, nil); err != nil {
			t.Fatalf("save %d after the failure: %v", i, err)
		}
		if got := h.n.Load() - before; got != want {
			t.Fatalf("save %d after the failure sent %d commands, want %d", i, got, want)
		}
	}
	if _, err := s.Save(ctx, "a", v, []byte("z"), "u1", nil, nil); !errors.Is(err, bot.ErrDuplicate) {
		t.Fatalf("repeat of u1: %v", err)
	}
}

// last is the newest id (nil when there is none).
func (cp *seenCopy) last() []byte {
	if id := lastOf(cp.recent); id != nil {
		return id
	}
	return lastOf(cp.older)
}

func lastOf(l []byte) []byte {
	if len(l) < 2 {
		return nil
	}
	l = l[:len(l)-1]
	i := len(l) - 1
	for i >= 0 && l[i] != '\n' {
		i--
	}
	return l[i+1:]
}
