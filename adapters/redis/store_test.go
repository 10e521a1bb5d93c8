package redis

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/bot/bottest"
)

var _ bot.SessionStore = (*Store)(nil)

func TestContractMiniredis(t *testing.T) {
	bottest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
		mr := miniredis.RunT(t)
		c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { c.Close() })
		return NewStore(c, Options{})
	})
}

var prefixN atomic.Int64

// TestContractRealRedis runs the contract on the server at REDIS_URL (CI
// starts one); each subtest gets its own key prefix, removed afterwards.
func TestContractRealRedis(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Skip("REDIS_URL not set: the contract ran on miniredis above")
	}
	rdb, closeFn, err := Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("REDIS_URL=%s does not answer: %v", url, err)
	}
	bottest.TestSessionStore(t, func(t *testing.T) bot.SessionStore {
		prefix := fmt.Sprintf("parcelbot-test:%d:%d:", os.Getpid(), prefixN.Add(1))
		t.Cleanup(func() {
			ctx := context.Background()
			keys, _ := rdb.Keys(ctx, prefix+"*").Result()
			if len(keys) > 0 {
				rdb.Del(ctx, keys...)
			}
		})
		return NewStore(rdb, Options{Prefix: prefix})
	})
}

func TestIdleTTL(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	s := NewStore(c, Options{IdleTTL: time.Hour})
	ctx := context.Background()
	if _, err := s.Save(ctx, "c", 0, []byte("x"), "u1", nil, nil); err != nil {
		t.Fatal(err)
	}
	mr.FastForward(59 * time.Minute)
	if _, err := s.Save(ctx, "c", 1, []byte("y"), "u2", nil, nil); err != nil {
		t.Fatal(err)
	}
	mr.FastForward(59 * time.Minute) // a turn renews the TTL
	if got, _ := s.Load(ctx, "c", ""); string(got.Data) != "y" {
		t.Fatalf("session expired although it was active: %q", got.Data)
	}
	mr.FastForward(2 * time.Minute)
	if got, _ := s.Load(ctx, "c", ""); got.Data != nil {
		t.Fatalf("idle session not forgotten: %q", got.Data)
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
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	s := NewStore(c, Options{Prefix: "shop1:"})
	if _, err := s.Save(context.Background(), "tg:42", 0, []byte("x"), "u", []string{"customer: hi"}, nil); err != nil {
		t.Fatal(err)
	}
	if !mr.Exists("shop1:s:{tg:42}") || !mr.Exists("shop1:t:{tg:42}") {
		t.Fatalf("keys: %v", mr.Keys())
	}
}

var _ bot.BatchDoner = (*Store)(nil)

func TestMarkDoneBatch(t *testing.T) {
	mr := miniredis.RunT(t)
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	s := NewStore(c, Options{})
	ctx := context.Background()
	for _, conv := range []string{"a", "b"} {
		if _, err := s.Save(ctx, conv, 0, []byte("x"), "u1", nil, []byte("work")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkDoneBatch(ctx, []bot.Done{{Conv: "a", InputID: "u1"}, {Conv: "b", InputID: "other"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(ctx, "a", "u1"); len(got.Pending) != 0 {
		t.Error("a: still pending")
	}
	if got, _ := s.Load(ctx, "b", "u1"); string(got.Pending) != "work" {
		t.Error("b: a mark for another input cleared the work")
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
