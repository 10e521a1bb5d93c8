package redis_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

func newRecords(t *testing.T) (*redis.Records, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return redis.NewRecords(rdb, "pb:", 0), mr
}

// A case written from a stale copy is refused, not overwritten.
func TestCaseCompareAndSet(t *testing.T) {
	rec, _ := newRecords(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	c := &domain.Case{ID: "PB-AAAAAA", Kind: domain.CaseMissing, Status: domain.CaseInvestigating, CustomerID: "C-1", Conversation: "t:1", Created: now}
	if err := rec.PutCase(ctx, c); err != nil || c.Version != 1 {
		t.Fatalf("create: version %d, %v", c.Version, err)
	}
	a, _ := rec.Case(ctx, c.ID)
	b, _ := rec.Case(ctx, c.ID)
	a.Status = domain.CaseResolved
	if err := rec.PutCase(ctx, a); err != nil {
		t.Fatal(err)
	}
	b.Status = domain.CaseClosed
	if err := rec.PutCase(ctx, b); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("stale write: %v, want a conflict", err)
	}
	got, _ := rec.Case(ctx, c.ID)
	if got.Status != domain.CaseResolved || got.Version != 2 {
		t.Fatalf("case %s at version %d", got.Status, got.Version)
	}
	// a second create of the same case conflicts too
	if err := rec.PutCase(ctx, &domain.Case{ID: c.ID}); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("second create: %v", err)
	}
	list, err := rec.Cases(ctx, "C-1", "")
	if err != nil || len(list) != 1 {
		t.Fatalf("index: %d cases, %v", len(list), err)
	}
}

// Eight writers adding a note to one case at once: every note is kept. A
// writer conflicts only when another one succeeded, so with no more writers
// than UpdateCase's tries (8) every one of them gets through, however the
// machine schedules them.
func TestUpdateCaseKeepsEveryConcurrentChange(t *testing.T) {
	rec, _ := newRecords(t)
	ctx := context.Background()
	if err := rec.PutCase(ctx, &domain.Case{ID: "PB-BBBBBB", Status: domain.CaseAwaitingAgent}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := bot.UpdateCase(ctx, rec, "PB-BBBBBB", func(cs *domain.Case) (*domain.Case, error) {
				cs.Notes = append(cs.Notes, domain.CaseEvent{Who: fmt.Sprint("agent", i), What: "note"})
				return cs, nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := rec.Case(ctx, "PB-BBBBBB")
	if len(got.Notes) != 8 || got.Version != 9 {
		t.Fatalf("%d notes at version %d, want 8 at 9", len(got.Notes), got.Version)
	}
}

// Cases written by the previous layout (a JSON string) are still read.
func TestCaseOfThePreviousLayoutIsRead(t *testing.T) {
	rec, mr := newRecords(t)
	mr.Set("pb:case:PB-CCCCCC", `{"id":"PB-CCCCCC","kind":"missing","status":"investigating","order":"302-1","created":"2026-11-20T10:00:00Z","updated":"2026-11-20T10:00:00Z"}`)
	ctx := context.Background()
	c, err := rec.Case(ctx, "PB-CCCCCC")
	if err != nil || c.Order != "302-1" || c.Version != 0 {
		t.Fatalf("%+v %v", c, err)
	}
	c.Status = domain.CaseResolved
	if err := rec.PutCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := rec.Case(ctx, "PB-CCCCCC"); got.Status != domain.CaseResolved || got.Version != 1 {
		t.Fatalf("after the move: %+v", got)
	}
}

// A write refused by a server still loading its data after a restart
// leaves nothing unread on the connection: the next command on it reads
// its own answer. (go-redis stops reading a transaction's replies at a
// refused MULTI and keeps the connection; the replies it did not read,
// already in its buffer, were then taken for the next commands' answers.
// The writes are single scripts since.)
func TestRefusedWritesLeaveTheConnectionClean(t *testing.T) {
	srv := newLoadingServer(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.addr, PoolSize: 1, MaxRetries: -1, Protocol: 2})
	t.Cleanup(func() { rdb.Close() })
	rec := redis.NewRecords(rdb, "pb:", 0)
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	writes := map[string]func() error{
		"AddClaim":   func() error { return rec.AddClaim(ctx, "C-1", "PB-1", at) },
		"Fail":       func() error { _, err := rec.Fail(ctx, "lookup:c", time.Hour); return err },
		"SetContact": func() error { return rec.SetContact(ctx, "C-1", bot.Contact{Conv: "tg:1", Notify: "on"}) },
	}
	for name, write := range writes {
		if err := write(); err == nil {
			t.Fatalf("%s while loading: no error", name)
		}
		for i := range 3 {
			if n, err := rec.Failures(ctx, "lookup:c"); err != nil || n != 7 {
				t.Fatalf("after a refused %s, read %d: failures %d, %v; want 7", name, i, n, err)
			}
		}
		// pipelines (the saves of concurrent turns) have a pool of their own
		cmds, err := rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for range 4 {
				p.Get(ctx, "pb:fail:lookup:c")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("a pipeline after a refused %s: %v", name, err)
		}
		for i, c := range cmds {
			if v, err := c.(*goredis.StringCmd).Result(); err != nil || v != "7" {
				t.Fatalf("a pipeline after a refused %s, reply %d: %q, %v; want 7", name, i, v, err)
			}
		}
	}
}

// loadingServer is a Redis that answers GET with 7 and refuses every
// write with LOADING. Of a refused MULTI … EXEC it sends MULTI's reply at
// once and the others only with the answer to the next command, as a
// server's replies may come in two segments: go-redis's check for unread
// data when a connection goes back to its pool does not see them then.
type loadingServer struct{ addr string }

func newLoadingServer(t *testing.T) *loadingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveLoading(c)
		}
	}()
	return &loadingServer{addr: ln.Addr().String()}
}

func serveLoading(c net.Conn) {
	defer c.Close()
	const loading = "-LOADING Redis is loading the dataset in memory\r\n"
	rd := bufio.NewReader(c)
	var out, held []byte
	tx := false
	for {
		args, err := readCommand(rd)
		if err != nil {
			return
		}
		switch name := strings.ToUpper(args[0]); {
		case name == "MULTI":
			out, tx = append(out, loading...), true
		case tx:
			held = append(held, loading...)
			tx = name != "EXEC"
		case name == "GET":
			out = append(append(out, held...), "$1\r\n7\r\n"...)
			held = held[:0]
		case name == "CLIENT" || name == "PING":
			out = append(out, "+OK\r\n"...)
		default: // a write, a script
			out = append(append(out, held...), loading...)
			held = held[:0]
		}
		if rd.Buffered() == 0 && len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
	}
}

// readCommand reads one RESP array of bulk strings.
func readCommand(rd *bufio.Reader) ([]string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || line[0] != '*' || n < 1 {
		return nil, fmt.Errorf("bad command %q", line)
	}
	args := make([]string, n)
	for i := range args {
		h, err := rd.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(h[1:]))
		if err != nil || h[0] != '$' {
			return nil, fmt.Errorf("bad argument %q", h)
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:size])
	}
	return args, nil
}
