package redis

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

// eventQueueContract is what bot.Events relies on: an id is queued once,
// ranks count per customer, a taken entry that is not done comes back
// after its lease, done entries do not, held entries come back when due.
func eventQueueContract(t *testing.T, q *EventQueue) {
	ctx := context.Background()
	ev := func(id, cust string) bot.QueuedEvent {
		return bot.QueuedEvent{ShopEvent: domain.ShopEvent{ID: id, Type: domain.EventDelivered, Order: "302-1", Expected: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)}, Customer: cust}
	}
	for _, e := range []bot.QueuedEvent{ev("a", "C-1"), ev("b", "C-1"), ev("c", "C-2")} {
		if first, err := q.Add(ctx, e, time.Hour); err != nil || !first {
			t.Fatalf("add %s: %v %v", e.ID, first, err)
		}
	}
	if first, err := q.Add(ctx, ev("a", "C-1"), time.Hour); err != nil || first {
		t.Fatalf("the same id again: first=%v %v", first, err)
	}
	got, err := q.Take(ctx, "one", 10, time.Hour)
	if err != nil || len(got) != 3 {
		t.Fatalf("take: %v %v", got, err)
	}
	ranks := map[string]int{}
	for _, e := range got {
		ranks[e.ID] = e.Rank
	}
	if ranks["a"] != 1 || ranks["b"] != 2 || ranks["c"] != 1 {
		t.Fatalf("ranks per customer: %v", ranks)
	}
	if !got[0].Expected.Equal(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)) || got[0].Customer != "C-1" {
		t.Fatalf("round trip: %+v", got[0])
	}
	// nothing new, and the lease (an hour) keeps them with "one"
	if more, err := q.Take(ctx, "two", 10, time.Hour); err != nil || len(more) != 0 {
		t.Fatalf("taken twice within the lease: %v %v", more, err)
	}
	if err := q.Done(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if err := q.Hold(ctx, got[1], time.Unix(2000, 0)); err != nil {
		t.Fatal(err)
	}
	// "one" died holding c: after the lease another consumer takes it
	again, err := q.Take(ctx, "two", 10, 0)
	if err != nil || len(again) != 1 || again[0].ID != "c" {
		t.Fatalf("abandoned entry not taken over: %v %v", again, err)
	}
	if err := q.Done(ctx, again[0]); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Release(ctx, time.Unix(1999, 0)); err != nil || n != 0 {
		t.Fatalf("released before its time: %d %v", n, err)
	}
	if n, err := q.Release(ctx, time.Unix(2000, 0)); err != nil || n != 1 {
		t.Fatalf("release: %d %v", n, err)
	}
	back, err := q.Take(ctx, "two", 10, time.Hour)
	if err != nil || len(back) != 1 || back[0].ID != "b" || !back[0].Held || back[0].Rank != 2 {
		t.Fatalf("held event back: %+v %v", back, err)
	}
	if err := q.Done(ctx, back[0]); err != nil {
		t.Fatal(err)
	}
	if rest, err := q.Take(ctx, "two", 10, 0); err != nil || len(rest) != 0 {
		t.Fatalf("left over: %v %v", rest, err)
	}
}

func TestEventQueue(t *testing.T) {
	_, rdb := miniClient(t)
	eventQueueContract(t, NewEventQueue(rdb, ""))
}

// TestEventQueueOnRealRedis runs the contract on a real server and on a
// Redis Cluster (its scripts touch several keys: one slot by {ev}).
func TestEventQueueOnRealRedis(t *testing.T) {
	onRealRedis(t, "the contract ran on miniredis in TestEventQueue", func(t *testing.T, rdb goredis.UniversalClient) {
		eventQueueContract(t, NewEventQueue(rdb, testPrefix(t, rdb)))
	})
}
