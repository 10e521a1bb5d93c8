package redis_test

import (
	"context"
	"fmt"
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
