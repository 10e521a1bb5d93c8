package redis

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/bot/bottest"
	"github.com/parcelbot/parcelbot/domain"
)

var _ bot.SessionStore = (*Store)(nil)

func TestContractMiniredis(t *testing.T) {
	bottest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
		_, c := miniClient(t)
		return NewStore(c, Options{})
	})
}

var prefixN atomic.Int64

// TestContractRealRedis runs the contract on the server at REDIS_URL (CI
// starts one) and on the Redis Cluster at PARCELBOT_TEST_REDIS (CI starts
// one with .ci/with-redis-cluster); each subtest gets its own key prefix,
// removed afterwards.
func TestContractRealRedis(t *testing.T) {
	onRealRedis(t, "the contract ran on miniredis above", func(t *testing.T, rdb goredis.UniversalClient) {
		bottest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
			return NewStore(rdb, Options{Prefix: testPrefix(t, rdb)})
		})
	})
}

// miniClient starts a miniredis for the test and returns it with a client
// on it; the client is closed when the test ends.
func miniClient(t testing.TB) (*miniredis.Miniredis, *goredis.Client) {
	t.Helper()
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { c.Close() })
	return mr, c
}

// onRealRedis runs fn as a subtest on the server at REDIS_URL and on the
// Redis Cluster at PARCELBOT_TEST_REDIS, each when set; without either the
// test is skipped (saying where it ran instead).
func onRealRedis(t *testing.T, instead string, fn func(t *testing.T, rdb goredis.UniversalClient)) {
	urls := map[string]string{"server": os.Getenv("REDIS_URL"), "cluster": os.Getenv("PARCELBOT_TEST_REDIS")}
	if urls["server"] == "" && urls["cluster"] == "" {
		t.Skip("neither REDIS_URL nor PARCELBOT_TEST_REDIS set: " + instead)
	}
	for name, url := range urls {
		if url != "" {
			t.Run(name, func(t *testing.T) { fn(t, realRedis(t, url)) })
		}
	}
}

// realRedis connects to url for a test.
func realRedis(t *testing.T, url string) goredis.UniversalClient {
	t.Helper()
	rdb, closeFn, err := Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("%s does not answer: %v", url, err)
	}
	return rdb
}

// testPrefix is a key prefix of the test's own; its keys are deleted
// afterwards, on every master of a cluster, one key a command.
func testPrefix(t *testing.T, rdb goredis.UniversalClient) string {
	prefix := fmt.Sprintf("parcelbot-test:%d:%d:", os.Getpid(), prefixN.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		del := func(ctx context.Context, c *goredis.Client) error {
			keys, _ := c.Keys(ctx, prefix+"*").Result()
			for _, k := range keys {
				c.Del(ctx, k)
			}
			return nil
		}
		switch c := rdb.(type) {
		case *goredis.ClusterClient:
			c.ForEachMaster(ctx, del)
		case *goredis.Client:
			del(ctx, c)
		}
	})
	return prefix
}

func TestIdleTTL(t *testing.T) {
	mr, c := miniClient(t)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	forward := func(d time.Duration) { now = now.Add(d); mr.FastForward(d) }
	s := NewStore(c, Options{IdleTTL: time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	v, err := s.Save(ctx, "c", 0, []byte("x"), "u1", bottest.Lines("customer: hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	forward(59 * time.Minute)
	if _, err := s.Save(ctx, "c", v, []byte("y"), "u2", bottest.Lines("customer: again"), nil); err != nil {
		t.Fatal(err)
	}
	forward(59 * time.Minute) // a turn renews the TTL
	if got, _ := s.Load(ctx, "c", ""); string(got.Data) != "y" {
		t.Fatalf("session expired although it was active: %q", got.Data)
	}
	forward(4 * time.Minute) // at most a period (2 minutes for an hour) longer
	if got, _ := s.Load(ctx, "c", ""); got.Data != nil {
		t.Fatalf("idle session not forgotten: %q", got.Data)
	}
}

// The TTLs are renewed once a period (a thirtieth of the idle TTL), not on
// every save, and a new transcript gets its TTL at once.
func TestTTLsRenewedOnceAPeriod(t *testing.T) {
	mr, c := miniClient(t)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	forward := func(d time.Duration) { now = now.Add(d); mr.FastForward(d) }
	s := NewStore(c, Options{IdleTTL: 30 * time.Hour, TranscriptTTL: 90 * time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	turn := 0
	save := func(expect uint64) uint64 {
		t.Helper()
		turn++
		v, err := s.Save(ctx, "c", expect, []byte("x"), fmt.Sprint("u", turn), bottest.Lines("customer: hi"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := save(0)
	if mr.TTL("parcelbot:s:{c}") != 31*time.Hour || mr.TTL("parcelbot:t:{c}") != 91*time.Hour {
		t.Fatalf("first TTLs %s %s", mr.TTL("parcelbot:s:{c}"), mr.TTL("parcelbot:t:{c}"))
	}
	forward(10 * time.Minute) // the same hour: not renewed
	v = save(v)
	if mr.TTL("parcelbot:s:{c}") != 31*time.Hour-10*time.Minute {
		t.Fatalf("renewed within the period: %s", mr.TTL("parcelbot:s:{c}"))
	}
	forward(time.Hour) // the next period
	save(v)
	if mr.TTL("parcelbot:s:{c}") != 31*time.Hour || mr.TTL("parcelbot:t:{c}") != 91*time.Hour {
		t.Fatalf("not renewed in the next period: %s %s", mr.TTL("parcelbot:s:{c}"), mr.TTL("parcelbot:t:{c}"))
	}
	if err := s.Delete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	save(0) // a new conversation in the same period
	if mr.TTL("parcelbot:t:{c}") != 91*time.Hour || mr.TTL("parcelbot:s:{c}") != 31*time.Hour {
		t.Fatalf("new keys without TTL: %s %s", mr.TTL("parcelbot:s:{c}"), mr.TTL("parcelbot:t:{c}"))
	}
}

func TestRedisDownIsAnError(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr(), MaxRetries: -1})
	defer c.Close()
	s := NewStore(c, Options{})
	mr.Close()
	ctx := context.Background()
	if _, err := s.Load(ctx, "c", ""); err == nil {
		t.Fatal("Load with Redis down returned no error")
	}
	if _, err := s.Save(ctx, "c", 0, []byte("x"), "u", nil, nil); err == nil {
		t.Fatal("Save with Redis down returned no error")
	}
}

func TestKeyLayout(t *testing.T) {
	mr, c := miniClient(t)
	s := NewStore(c, Options{Prefix: "shop1:"})
	if _, err := s.Save(context.Background(), "tg:42", 0, []byte("x"), "u", bottest.Lines("customer: hi"), nil); err != nil {
		t.Fatal(err)
	}
	if !mr.Exists("shop1:s:{tg:42}") || !mr.Exists("shop1:t:{tg:42}") {
		t.Fatalf("keys: %v", mr.Keys())
	}
}

// The transcript keeps the last TranscriptMax lines; it is trimmed only when
// a save makes it outgrow the cap by more than an eighth (no LTRIM on the
// saves before), and Transcript(n) gives the last n lines either way.
func TestTranscriptKeepsTheLastLines(t *testing.T) {
	_, c := miniClient(t)
	s := NewStore(c, Options{TranscriptMax: 16})
	ctx := context.Background()
	var v uint64
	for i := range 10 {
		var err error
		if v, err = s.Save(ctx, "a", v, []byte("x"), fmt.Sprint("u", i), bottest.Lines(fmt.Sprint("customer: ", i), fmt.Sprint("bot: ", i)), nil); err != nil {
			t.Fatal(err)
		}
		all, _ := s.Transcript(ctx, "a", 100)
		want := 2 * (i + 1)
		if want > 18 {
			want = 16 // 20 lines outgrow 16 by more than 2: trimmed to 16
		}
		if len(all) != want || all[len(all)-1] != fmt.Sprint("bot: ", i) {
			t.Fatalf("after save %d: %d lines %q", i, len(all), all)
		}
	}
	if got, _ := s.Transcript(ctx, "a", 4); strings.Join(got, "|") != "customer: 8|bot: 8|customer: 9|bot: 9" {
		t.Fatalf("last 4: %q", got)
	}
}

func TestConnectURLs(t *testing.T) {
	for _, u := range []string{"redis-sentinel://", "redis-sentinel://h:26379", "redis-sentinel:///master", "redis://[bad"} {
		if _, _, err := Connect(u); err == nil {
			t.Errorf("Connect(%q) accepted", u)
		}
	}
	c, closeFn, err := Connect("redis-sentinel://127.0.0.1:1,127.0.0.1:2/mymaster?db=2")
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if _, ok := c.(*goredis.Client); !ok { // a failover client is a *Client
		t.Errorf("sentinel URL gave %T", c)
	}
	cl, closeCl, err := Connect("127.0.0.1:7000,127.0.0.1:7001")
	if err != nil {
		t.Fatal(err)
	}
	defer closeCl()
	if _, ok := cl.(*goredis.ClusterClient); !ok {
		t.Errorf("a host list gave %T, want a cluster client", cl)
	}
}

// TestRecordsOnRealRedis writes, updates and lists cases on a real server
// and on a Redis Cluster: the case hash and its indexes are written without
// any multi-key command that spans hash slots.
func TestRecordsOnRealRedis(t *testing.T) {
	onRealRedis(t, "records ran on miniredis in records_test.go", func(t *testing.T, rdb goredis.UniversalClient) {
		rec := NewRecords(rdb, testPrefix(t, rdb), time.Hour)
		ctx := context.Background()
		for i := range 20 { // ids spread over many slots
			c := &domain.Case{ID: fmt.Sprintf("PB-T%05d", i), Kind: domain.CaseMissing, Status: domain.CaseAwaitingAgent, CustomerID: "C-9", Conversation: "t:9", Created: time.Now()}
			if err := rec.PutCase(ctx, c); err != nil {
				t.Fatalf("create %s: %v", c.ID, err)
			}
			if _, err := bot.UpdateCase(ctx, rec, c.ID, func(cs *domain.Case) (*domain.Case, error) {
				cs.Status = domain.CaseResolved
				return cs, nil
			}); err != nil {
				t.Fatalf("update %s: %v", c.ID, err)
			}
		}
		for _, q := range [][2]string{{"C-9", ""}, {"", "t:9"}} {
			list, err := rec.Cases(ctx, q[0], q[1])
			if err != nil || len(list) != 20 {
				t.Fatalf("cases of %v: %d, %v", q, len(list), err)
			}
			for _, c := range list {
				if c.Status != domain.CaseResolved || c.Version != 2 {
					t.Fatalf("%s: %s at version %d", c.ID, c.Status, c.Version)
				}
			}
		}
		if _, first, err := rec.Once(ctx, "k", "v"); err != nil || !first {
			t.Fatalf("once: %v %v", first, err)
		}
		if err := rec.AddClaim(ctx, "C-9", "PB-T00001", time.Now()); err != nil {
			t.Fatal(err)
		}
		if n, err := rec.Claims(ctx, "C-9", time.Now().Add(-time.Hour)); err != nil || n != 1 {
			t.Fatalf("claims %d, %v", n, err)
		}
	})
}

// MarkDone runs as EVALSHA; on a server that lost its scripts (restart,
// fail-over) it is sent again as EVAL, and nothing is left pending.
func TestMarkDoneAfterScriptFlush(t *testing.T) {
	_, c := miniClient(t)
	s := NewStore(c, Options{})
	ctx := context.Background()
	var v uint64
	for i, id := range []string{"u1", "u2"} {
		var err error
		if v, err = s.Save(ctx, "a", v, []byte("x"), id, nil, []byte("work")); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := c.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MarkDone(ctx, "a", id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if got, _ := s.Load(ctx, "a", id); !got.Seen || len(got.Pending) != 0 {
			t.Fatalf("%s: %+v", id, got)
		}
	}
}

// A session saved before the processed-id count was kept ('n') goes on:
// its list is counted once, repeats are still refused, and the list stays
// at its bound.
func TestSeenListOfThePreviousLayout(t *testing.T) {
	mr, c := miniClient(t)
	s := NewStore(c, Options{Seen: 3})
	ctx := context.Background()
	mr.HSet("parcelbot:s:{a}", "v", "5", "d", "x", "s", "\nu1\nu2\nu3\n", "p", "")
	if _, err := s.Save(ctx, "a", 5, []byte("y"), "u2", nil, nil); err != bot.ErrDuplicate {
		t.Fatalf("repeat of an old-layout id: %v", err)
	}
	if _, err := s.Save(ctx, "a", 5, []byte("y"), "u4", nil, nil); err != nil {
		t.Fatal(err)
	}
	// the whole list was in 's': it moves to the older ids, the last 2 kept
	if got := mr.HGet("parcelbot:s:{a}", "s"); got != "\nu4\n" || mr.HGet("parcelbot:s:{a}", "n") != "1" || mr.HGet("parcelbot:s:{a}", "o") != "\nu2\nu3\n" {
		t.Fatalf("seen %q n %q older %q", got, mr.HGet("parcelbot:s:{a}", "n"), mr.HGet("parcelbot:s:{a}", "o"))
	}
	for i := 5; i < 20; i++ {
		if _, err := s.Save(ctx, "a", uint64(i+1), []byte("z"), fmt.Sprintf("u%d", i), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := mr.HGet("parcelbot:s:{a}", "o") + mr.HGet("parcelbot:s:{a}", "s"); got != "\nu17\nu18\n\nu19\n" {
		t.Fatalf("seen %q after many saves", got)
	}
}

// The last 64 processed ids are remembered however many came before (the
// list used to collapse to nothing when it overflowed, forgetting them
// all).
func TestSeenWindowHoldsTheLast64(t *testing.T) {
	_, c := miniClient(t)
	s := NewStore(c, Options{})
	ctx := context.Background()
	var v uint64
	for i := 0; i < 100; i++ {
		var err error
		if v, err = s.Save(ctx, "a", v, []byte("x"), fmt.Sprintf("u%d", i), nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{36, 60, 99} {
		if _, err := s.Save(ctx, "a", v, []byte("x"), fmt.Sprintf("u%d", i), nil, nil); err != bot.ErrDuplicate {
			t.Errorf("u%d (among the last 64) not refused: %v", i, err)
		}
	}
}

// Pending work lives in its input's field until MarkDone; work whose mark
// was lost (a crash after the replies) is deleted by the next save, and so
// are the single field 'p' of the layout before and work flagged by the
// layout before 8 December (a flag that names no field).
func TestPendingFields(t *testing.T) {
	mr, c := miniClient(t)
	s := NewStore(c, Options{})
	ctx := context.Background()
	key := "parcelbot:s:{a}"
	fields := func() []string { k, _ := mr.HKeys(key); return k }
	mr.HSet(key, "v", "1", "d", "x", "s", "\nu0\n", "n", "1", "p", "u0\nold work")
	if got, _ := s.Load(ctx, "a", "u0"); string(got.Pending) != "old work" {
		t.Fatalf("the layout before: %+v", got)
	}
	mr.HSet(key, "p:u0", "flagged work", "pf", "1")
	if _, err := s.Save(ctx, "a", 1, []byte("x"), "u1", nil, []byte("work 1")); err != nil {
		t.Fatal(err)
	}
	if mr.HGet(key, "p:u1") != "work 1" || mr.HGet(key, "pf") != "p:u1" || mr.HGet(key, "p:u0") != "" || mr.HGet(key, "p") != "" {
		t.Fatalf("fields %v", fields())
	}
	// u1's mark is lost; u2's save deletes its work (and the old field)
	if _, err := s.Save(ctx, "a", 2, []byte("x"), "u2", nil, []byte("work 2")); err != nil {
		t.Fatal(err)
	}
	if mr.HGet(key, "p:u1") != "" || mr.HGet(key, "p") != "" || mr.HGet(key, "p:u2") != "work 2" {
		t.Fatalf("after u2: fields %v", fields())
	}
	if err := s.MarkDone(ctx, "a", "u2"); err != nil {
		t.Fatal(err)
	}
	if mr.HGet(key, "p:u2") != "" || mr.HGet(key, "pf") != "" {
		t.Fatalf("after the mark: fields %v", fields())
	}
	if got, _ := s.Load(ctx, "a", "u2"); !got.Seen || got.Pending != nil {
		t.Fatalf("u2 redelivered: %+v", got)
	}
}

// ClientMicros counts a script's time once: the commands it runs inside
// are in its time, and in their own lines, but were not sent by the client.
func TestClientMicros(t *testing.T) {
	before := map[string]CommandStat{"evalsha": {Calls: 10, Usec: 100}, "hset": {Calls: 10, Usec: 20}}
	after := map[string]CommandStat{"evalsha": {Calls: 20, Usec: 300}, "hset": {Calls: 30, Usec: 60}, "get": {Calls: 5, Usec: 5}}
	// 10 EVALSHA sent (20 µs each, HSET inside), 10 HSET sent directly (2 µs each)
	if got := ClientMicros(before, after, map[string]int64{"evalsha": 10, "hset": 10}); got != 220 {
		t.Fatalf("ClientMicros = %v, want 220", got)
	}
}

func TestCommandStatsOnRealRedis(t *testing.T) {
	onRealRedis(t, "commandstats need a real server", func(t *testing.T, rdb goredis.UniversalClient) {
		ctx := context.Background()
		if _, ok := CommandStats(ctx, rdb); !ok {
			t.Fatal("no commandstats")
		}
		if cpu, ok := ServerCPU(ctx, rdb); !ok || cpu <= 0 {
			t.Fatalf("server CPU %v, %v", cpu, ok)
		}
	})
}

// The contract holds with each save sent on its own (Pipelines -1): the
// same calls, without the pipeliner.
func TestContractUnpipelined(t *testing.T) {
	bottest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
		_, c := miniClient(t)
		return NewStore(c, Options{Pipelines: -1})
	})
}
