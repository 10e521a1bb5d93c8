package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

// EventQueue is bot.EventQueue on Redis. Every key carries the hash tag
// {ev}, so the scripts that touch several stay in one slot of a Cluster:
//
//	<prefix>{ev}:q             stream of queued events (consumer group "deliver")
//	<prefix>{ev}:held          sorted set of held events by release time (ms)
//	<prefix>{ev}:seen:<id>     an event id seen (7 days): a retry is a duplicate
//	<prefix>{ev}:rate:<cust>   the customer's proactive count in its window
type EventQueue struct {
	rdb    goredis.UniversalClient
	prefix string
	mu     sync.Mutex
	ready  bool // the consumer group exists
}

// NewEventQueue returns the queue under prefix ("parcelbot:" when empty).
func NewEventQueue(rdb goredis.UniversalClient, prefix string) *EventQueue {
	if prefix == "" {
		prefix = "parcelbot:"
	}
	return &EventQueue{rdb: rdb, prefix: prefix}
}

var _ bot.EventQueue = (*EventQueue)(nil)

const (
	eventGroup   = "deliver"
	eventSeenTTL = 7 * 24 * time.Hour
)

func (q *EventQueue) key(part string) string { return q.prefix + "{ev}:" + part }

// eventWire is an event as stored.
type eventWire struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Order    string `json:"order"`
	At       int64  `json:"at,omitzero"`
	Expected string `json:"expected,omitzero"`
	Customer string `json:"customer"`
	Rank     int    `json:"rank,omitzero"`
	Held     bool   `json:"held,omitzero"`
}

func toWire(ev bot.QueuedEvent) eventWire {
	w := eventWire{ID: ev.ID, Type: string(ev.Type), Order: ev.Order, Customer: ev.Customer, Rank: ev.Rank, Held: ev.Held}
	if !ev.At.IsZero() {
		w.At = ev.At.Unix()
	}
	if !ev.Expected.IsZero() {
		w.Expected = ev.Expected.Format(time.DateOnly)
	}
	return w
}

func fromWire(ref string, w eventWire) bot.QueuedEvent {
	ev := bot.QueuedEvent{Ref: ref, Customer: w.Customer, Rank: w.Rank, Held: w.Held}
	ev.ID, ev.Type, ev.Order = w.ID, domain.EventType(w.Type), w.Order
	if w.At != 0 {
		ev.At = time.Unix(w.At, 0)
	}
	if w.Expected != "" {
		ev.Expected, _ = time.Parse(time.DateOnly, w.Expected)
	}
	return ev
}

// eventAddScript: seen-check, rank, enqueue, atomically (one slot).
// KEYS: seen, rate, stream. ARGV: seen ttl ms, window ms, payload.
var eventAddScript = goredis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
redis.call('XADD', KEYS[3], '*', 'e', ARGV[3], 'r', n)
return n
`)

// Add implements bot.EventQueue.
func (q *EventQueue) Add(ctx context.Context, ev bot.QueuedEvent, window time.Duration) (bool, error) {
	b, err := json.Marshal(toWire(ev))
	if err != nil {
		return false, fmt.Errorf("queue event %s: %w", ev.ID, err)
	}
	n, err := eventAddScript.Run(ctx, q.rdb, []string{q.key("seen:" + ev.ID), q.key("rate:" + ev.Customer), q.key("q")},
		eventSeenTTL.Milliseconds(), window.Milliseconds(), b).Int64()
	if err != nil {
		return false, unavailable(fmt.Errorf("queue event %s: %w", ev.ID, err))
	}
	return n > 0, nil
}

func (q *EventQueue) ensureGroup(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ready {
		return nil
	}
	err := q.rdb.XGroupCreateMkStream(ctx, q.key("q"), eventGroup, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return unavailable(fmt.Errorf("event queue group: %w", err))
	}
	q.ready = true
	return nil
}

// Take implements bot.EventQueue: abandoned entries first (XAUTOCLAIM
// after the lease), then new ones.
func (q *EventQueue) Take(ctx context.Context, consumer string, n int, lease time.Duration) ([]bot.QueuedEvent, error) {
	if err := q.ensureGroup(ctx); err != nil {
		return nil, err
	}
	key := q.key("q")
	msgs, _, err := q.rdb.XAutoClaim(ctx, &goredis.XAutoClaimArgs{Stream: key, Group: eventGroup, Consumer: consumer, MinIdle: lease, Start: "0-0", Count: int64(n)}).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, unavailable(fmt.Errorf("event queue claim: %w", err))
	}
	if len(msgs) < n {
		res, err := q.rdb.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: eventGroup, Consumer: consumer, Streams: []string{key, ">"}, Count: int64(n - len(msgs)), Block: -1}).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return nil, unavailable(fmt.Errorf("event queue read: %w", err))
		}
		for _, s := range res {
			msgs = append(msgs, s.Messages...)
		}
	}
	out := make([]bot.QueuedEvent, 0, len(msgs))
	for _, m := range msgs {
		var w eventWire
		raw, _ := m.Values["e"].(string)
		if err := json.Unmarshal([]byte(raw), &w); err != nil {
			// not ours to read: drop it rather than retry it forever
			q.rdb.XAck(ctx, key, eventGroup, m.ID)
			q.rdb.XDel(ctx, key, m.ID)
			continue
		}
		if r, ok := m.Values["r"].(string); ok {
			w.Rank, _ = strconv.Atoi(r)
		}
		out = append(out, fromWire(m.ID, w))
	}
	return out, nil
}

// eventDoneScript acknowledges and deletes a stream entry. KEYS: stream. ARGV: id, group.
var eventDoneScript = goredis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[2], ARGV[1])
return redis.call('XDEL', KEYS[1], ARGV[1])
`)

// Done implements bot.EventQueue.
func (q *EventQueue) Done(ctx context.Context, ev bot.QueuedEvent) error {
	if err := eventDoneScript.Run(ctx, q.rdb, []string{q.key("q")}, ev.Ref, eventGroup).Err(); err != nil {
		return unavailable(fmt.Errorf("event %s done: %w", ev.ID, err))
	}
	return nil
}

// eventHoldScript moves an entry to the held set. KEYS: stream, held. ARGV: id, group, until ms, payload.
var eventHoldScript = goredis.NewScript(`
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('XACK', KEYS[1], ARGV[2], ARGV[1])
return redis.call('XDEL', KEYS[1], ARGV[1])
`)

// Hold implements bot.EventQueue.
func (q *EventQueue) Hold(ctx context.Context, ev bot.QueuedEvent, until time.Time) error {
	w := toWire(ev)
	w.Held = true
	b, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("hold event %s: %w", ev.ID, err)
	}
	if err := eventHoldScript.Run(ctx, q.rdb, []string{q.key("q"), q.key("held")}, ev.Ref, eventGroup, until.UnixMilli(), b).Err(); err != nil {
		return unavailable(fmt.Errorf("hold event %s: %w", ev.ID, err))
	}
	return nil
}

// eventReleaseScript queues held events due by ARGV[1] (ms), 100 at a time.
// KEYS: held, stream.
var eventReleaseScript = goredis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, e in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'e', e)
  redis.call('ZREM', KEYS[1], e)
end
return #due
`)

// Release implements bot.EventQueue.
func (q *EventQueue) Release(ctx context.Context, now time.Time) (int, error) {
	n, err := eventReleaseScript.Run(ctx, q.rdb, []string{q.key("held"), q.key("q")}, now.UnixMilli()).Int()
	if err != nil {
		return 0, unavailable(fmt.Errorf("release held events: %w", err))
	}
	return n, nil
}
