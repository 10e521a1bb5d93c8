package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/bot/bottest"
)

// gateHook holds the first command until release is closed, and counts
// the saves of each pipeline.
type gateHook struct {
	taken   atomic.Bool
	held    chan struct{} // closed when the first command is held
	release chan struct{}
	mu      sync.Mutex
	pipes   []int // commands per pipeline
}

func (h *gateHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *gateHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if h.taken.CompareAndSwap(false, true) {
			close(h.held)
			<-h.release
		}
		return next(ctx, cmd)
	}
}

func (h *gateHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		n := 0
		for _, c := range cmds {
			if c.Name() == "evalsha" {
				n++
			}
		}
		if n > 0 { // not a connection's set-up (HELLO, CLIENT SETINFO)
			h.mu.Lock()
			h.pipes = append(h.pipes, n)
			h.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

// pipelines returns the saves of each pipeline so far.
func (h *gateHook) pipelines() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.pipes...)
}

// Saves that arrive while the writers are busy go out together, as one
// pipeline, and each gets its own answer: a new version, or a conflict
// when another replica saved first. A redelivered input is refused from the
// store's copy of the processed ids, without waiting for Redis.
func TestConcurrentSavesShareAPipeline(t *testing.T) {
	_, c := miniClient(t)
	s := NewStore(c, Options{Pipelines: 1})
	ctx := context.Background()
	first := map[string]uint64{}
	for _, conv := range []string{"dup", "old"} {
		v, err := s.Save(ctx, conv, 0, []byte("x"), "u1", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		first[conv] = v
	}
	// another replica saves "old": this store's copy (its first version) is stale
	if _, err := NewStore(c, Options{}).Save(ctx, "old", first["old"], []byte("z"), "u9", nil, nil); err != nil {
		t.Fatal(err)
	}
	h := &gateHook{held: make(chan struct{}), release: make(chan struct{})}
	c.AddHook(h) // holds the next command
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the only writer: held in its first save
		defer wg.Done()
		if _, err := s.Save(ctx, "first", 0, []byte("x"), "u1", nil, nil); err != nil {
			t.Error(err)
		}
	}()
	<-h.held
	type result struct {
		conv string
		v    uint64
		err  error
	}
	results := make(chan result, 12)
	save := func(conv string, expect uint64, id string) {
		defer wg.Done()
		v, err := s.Save(ctx, conv, expect, []byte("y"), id, bottest.Lines("customer: hi"), []byte("work"))
		results <- result{conv, v, err}
	}
	for i := range 10 {
		wg.Add(1)
		go save(fmt.Sprint("c", i), 0, "u1")
	}
	wg.Add(2)
	go save("old", first["old"], "u2") // a stale copy
	save("dup", first["dup"], "u1")    // redelivered: answered at once
	for {                              // wait until the eleven are queued behind the held writer
		s.pipe.mu.Lock()
		n := len(s.pipe.queue)
		s.pipe.mu.Unlock()
		if n == 11 {
			break
		}
		runtime.Gosched()
	}
	close(h.release)
	wg.Wait()
	close(results)
	for r := range results {
		switch {
		case r.conv == "dup":
			if !errors.Is(r.err, bot.ErrDuplicate) {
				t.Errorf("redelivered: %v", r.err)
			}
		case r.conv == "old":
			if !errors.Is(r.err, bot.ErrConflict) {
				t.Errorf("stale: %v", r.err)
			}
		case r.err != nil || r.v == 0:
			t.Errorf("%s: version %d, %v", r.conv, r.v, r.err)
		}
	}
	if len(h.pipes) != 1 || h.pipes[0] != 11 {
		t.Fatalf("pipelines %v, want one of 11 saves", h.pipes)
	}
	for i := range 10 {
		if got, _ := s.Load(ctx, fmt.Sprint("c", i), "u1"); !got.Seen || string(got.Data) != "y" || string(got.Pending) != "work" {
			t.Fatalf("c%d: %+v", i, got)
		}
	}
}

// A pipeline sent to a server that lost its scripts (a restart, a
// fail-over) loads the script again: no save is lost.
func TestPipelineAfterScriptFlush(t *testing.T) {
	_, c := miniClient(t)
	s := NewStore(c, Options{Pipelines: 1})
	ctx := context.Background()
	if _, err := s.Save(ctx, "a", 0, []byte("x"), "u1", nil, nil); err != nil {
		t.Fatal(err)
	}
	h := &gateHook{held: make(chan struct{}), release: make(chan struct{})}
	c.AddHook(h)
	marked := make(chan error, 1)
	go func() { marked <- s.MarkDone(ctx, "a", "u1") }() // the only writer, held
	<-h.held
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Save(ctx, fmt.Sprint("b", i), 0, []byte("x"), "u1", nil, nil)
			if err == nil {
				if got, _ := s.Load(ctx, fmt.Sprint("b", i), "u1"); got.Version != v || !got.Seen {
					err = fmt.Errorf("saved as version %d, loaded %+v", v, got)
				}
			}
			errs <- err
		}()
	}
	for { // the three saves wait behind the held writer: one batch of EVALSHA
		s.pipe.mu.Lock()
		n := len(s.pipe.queue)
		s.pipe.mu.Unlock()
		if n == 3 {
			break
		}
		runtime.Gosched()
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	close(h.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a save after the flush: %v", err)
		}
	}
	if err := <-marked; err != nil {
		t.Fatal(err)
	}
	if len(h.pipes) != 1 || h.pipes[0] != 3 {
		t.Fatalf("pipelines %v, want one of 3 saves", h.pipes)
	}
}

// On a real server and a Cluster, saves of many conversations at once
// (spread over the slots) all land.
func TestPipelinedSavesOnRealRedis(t *testing.T) {
	onRealRedis(t, "pipelines ran on miniredis above", func(t *testing.T, rdb goredis.UniversalClient) {
		s := NewStore(rdb, Options{Prefix: testPrefix(t, rdb), Pipelines: 2})
		ctx := context.Background()
		var wg sync.WaitGroup
		for g := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conv := fmt.Sprint("p", g)
				var v uint64
				for i := range 20 {
					next, err := s.Save(ctx, conv, v, []byte("x"), fmt.Sprint("u", i), bottest.Lines("customer: hi"), nil)
					if err != nil || next == v {
						t.Errorf("%s save %d: %d after %d, %v", conv, i, next, v, err)
						return
					}
					v = next
				}
				if got, _ := s.Load(ctx, conv, "u19"); got.Version != v || !got.Seen {
					t.Errorf("%s: %+v, want version %d", conv, got, v)
				}
			}()
		}
		wg.Wait()
	})
}

// A done mark nobody waits for goes with the next pipeline; while it is on
// its way MarkingDone says so (a redelivery in between is a duplicate),
// and it lands by itself when no save comes.
func TestLazyDoneMarks(t *testing.T) {
	_, c := miniClient(t)
	s := NewStore(c, Options{Pipelines: 1})
	ctx := context.Background()
	for _, conv := range []string{"a", "b"} {
		if _, err := s.Save(ctx, conv, 0, []byte("x"), "u1", nil, []byte("work")); err != nil {
			t.Fatal(err)
		}
	}
	h := &gateHook{held: make(chan struct{}), release: make(chan struct{})}
	c.AddHook(h) // holds the next command: the writer is busy
	saved := make(chan error, 1)
	go func() {
		_, err := s.Save(ctx, "c", 0, []byte("x"), "u1", nil, nil)
		saved <- err
	}()
	<-h.held
	s.MarkDoneLater("a", "u1")
	if !s.MarkingDone("a", "u1") || s.MarkingDone("b", "u1") || s.MarkingDone("a", "u2") {
		t.Fatal("MarkingDone does not tell the queued mark")
	}
	close(h.release)
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	for s.MarkingDone("a", "u1") { // the busy writer takes it next
		runtime.Gosched()
	}
	if got, _ := s.Load(ctx, "a", "u1"); !got.Seen || got.Pending != nil {
		t.Fatalf("a after its mark: %+v", got)
	}
	// no writer busy: the mark is sent by itself
	s.MarkDoneLater("b", "u1")
	for s.MarkingDone("b", "u1") {
		runtime.Gosched()
	}
	if got, _ := s.Load(ctx, "b", "u1"); got.Pending != nil {
		t.Fatalf("b after its mark: %+v", got)
	}
}

// Flush writes the lazy marks still queued (at shutdown).
func TestFlushWritesLazyMarks(t *testing.T) {
	mr, c := miniClient(t)
	s := NewStore(c, Options{})
	ctx := context.Background()
	for i := range 20 {
		conv := fmt.Sprint("c", i)
		if _, err := s.Save(ctx, conv, 0, []byte("x"), "u1", nil, []byte("work")); err != nil {
			t.Fatal(err)
		}
		s.MarkDoneLater(conv, "u1")
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if mr.HGet(fmt.Sprint("parcelbot:s:{c", i, "}"), "p:u1") != "" {
			t.Fatalf("c%d: mark not written by Flush", i)
		}
	}
}

// A save sent from its caller takes the queued done marks with it, in one
// pipeline, a conversation's mark before its next save: the save sees the
// mark done, and keeps its own pending work and flag.
func TestSaveTakesQueuedMarks(t *testing.T) {
	mr, c := miniClient(t)
	s := NewStore(c, Options{})
	s.pipe.lazyAfter = time.Hour // the marks wait for a save
	ctx := context.Background()
	v, err := s.Save(ctx, "a", 0, []byte("x"), "u1", nil, []byte("work 1"))
	if err != nil {
		t.Fatal(err)
	}
	s.MarkDoneLater("a", "u1")
	s.MarkDoneLater("b", "u9") // another conversation's
	h := &gateHook{held: make(chan struct{}), release: make(chan struct{})}
	close(h.release)
	c.AddHook(h)
	if _, err := s.Save(ctx, "a", v, []byte("y"), "u2", nil, []byte("work 2")); err != nil {
		t.Fatal(err)
	}
	if s.MarkingDone("a", "u1") || s.MarkingDone("b", "u9") {
		t.Fatal("the marks are still queued after the save")
	}
	if pipes := h.pipelines(); len(pipes) != 1 || pipes[0] != 1 {
		t.Fatalf("saves per pipeline %v, want one pipeline (the marks and the save)", pipes)
	}
	key := "parcelbot:s:{a}"
	if mr.HGet(key, "p:u1") != "" || mr.HGet(key, "p:u2") != "work 2" || mr.HGet(key, "pf") == "" {
		t.Fatalf("after the mark and the save: p:u1 %q, p:u2 %q, pf %q", mr.HGet(key, "p:u1"), mr.HGet(key, "p:u2"), mr.HGet(key, "pf"))
	}
}

// A done mark queued while a lone save is on its way does not go alone
// when that save is answered: it waits for the next save (or the lazy
// timer), so that at a moderate rate marks share the saves' round trips.
func TestMarkWaitsForTheNextSave(t *testing.T) {
	mr, c := miniClient(t)
	s := NewStore(c, Options{})
	s.pipe.lazyAfter = time.Hour
	ctx := context.Background()
	if _, err := s.Save(ctx, "b", 0, []byte("x"), "u1", nil, []byte("work")); err != nil {
		t.Fatal(err)
	}
	h := &gateHook{held: make(chan struct{}), release: make(chan struct{})}
	c.AddHook(h)
	saved := make(chan error, 1)
	go func() {
		_, err := s.Save(ctx, "a", 0, []byte("x"), "u1", nil, nil)
		saved <- err
	}()
	<-h.held // a's save is on its way, from its caller
	s.MarkDoneLater("b", "u1")
	close(h.release)
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	if !s.MarkingDone("b", "u1") {
		t.Fatal("the mark went alone after the save it came during")
	}
	if _, err := s.Save(ctx, "c", 0, []byte("x"), "u1", nil, nil); err != nil {
		t.Fatal(err)
	}
	if s.MarkingDone("b", "u1") || mr.HGet("parcelbot:s:{b}", "p:u1") != "" {
		t.Fatal("the mark did not go with the next save")
	}
	if pipes := h.pipelines(); len(pipes) != 1 || pipes[0] != 1 {
		t.Fatalf("saves per pipeline %v, want the mark and c's save in one", pipes)
	}
}
