package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
)

// gateHook holds the first command until release is closed, and counts
// the saves of each pipeline.
type gateHook struct {
	first   sync.Once
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
		h.first.Do(func() {
			close(h.held)
			<-h.release
		})
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

// Saves that arrive while the writers are busy go out together, as one
// pipeline, and each gets its own answer: a new version, a duplicate, a
// conflict.
func TestConcurrentSavesShareAPipeline(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	s := NewStore(c, Options{Pipelines: 1})
	ctx := context.Background()
	for _, conv := range []string{"dup", "old"} {
		if _, err := s.Save(ctx, conv, 0, []byte("x"), "u1", nil, nil); err != nil {
			t.Fatal(err)
		}
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
		v, err := s.Save(ctx, conv, expect, []byte("y"), id, []string{"customer: hi"}, []byte("work"))
		results <- result{conv, v, err}
	}
	for i := range 10 {
		wg.Add(1)
		go save(fmt.Sprint("c", i), 0, "u1")
	}
	wg.Add(2)
	go save("dup", 1, "u1") // redelivered
	go save("old", 0, "u2") // stale copy
	for {                   // wait until all twelve are queued behind the held writer
		s.pipe.mu.Lock()
		n := len(s.pipe.queue)
		s.pipe.mu.Unlock()
		if n == 12 {
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
		case r.err != nil || r.v != 1:
			t.Errorf("%s: version %d, %v", r.conv, r.v, r.err)
		}
	}
	if len(h.pipes) != 1 || h.pipes[0] != 12 {
		t.Fatalf("pipelines %v, want one of 12 saves", h.pipes)
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
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	s := NewStore(c, Options{Pipelines: 1})
	ctx := context.Background()
	if _, err := s.Save(ctx, "a", 0, []byte("x"), "u1", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// a batch of several, as EVALSHA
	calls := make([]*scriptCall, 3)
	for i := range calls {
		calls[i] = &scriptCall{done: make(chan struct{}, 1), keys: []string{s.key(fmt.Sprint("b", i)), s.tkey(fmt.Sprint("b", i))},
			args: saveArgs(nil, s, 0, []byte("x"), "u1", nil, nil)}
	}
	s.pipe.mu.Lock()
	s.pipe.queue = append(s.pipe.queue, calls...)
	s.pipe.running++
	s.pipe.mu.Unlock()
	s.pipe.write()
	for i, call := range calls {
		<-call.done
		if call.err != nil || call.n != 1 {
			t.Fatalf("save %d after the flush: %d, %v", i, call.n, call.err)
		}
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
				for i := range 20 {
					if v, err := s.Save(ctx, conv, uint64(i), []byte("x"), fmt.Sprint("u", i), []string{"customer: hi"}, nil); err != nil || v != uint64(i+1) {
						t.Errorf("%s save %d: %d, %v", conv, i, v, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for g := range 64 {
			if got, _ := s.Load(ctx, fmt.Sprint("p", g), "u19"); got.Version != 20 || !got.Seen {
				t.Fatalf("p%d: %+v", g, got)
			}
		}
	})
}
