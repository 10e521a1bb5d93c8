package redis

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
)

func benchStore(b *testing.B, rdb goredis.UniversalClient, prefix string) {
	s := NewStore(rdb, Options{Prefix: prefix})
	ctx := context.Background()
	data := make([]byte, 180)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		conv := fmt.Sprint("c", i%1000)
		sess, err := s.Load(ctx, conv, "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Save(ctx, conv, sess.Version, data, fmt.Sprint("u", i), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadSave is one turn's store work: HMGET, then the Lua CAS.
func BenchmarkLoadSave(b *testing.B) {
	b.Run("miniredis", func(b *testing.B) {
		mr := miniredis.RunT(b)
		c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
		defer c.Close()
		benchStore(b, c, "bench:")
	})
	b.Run("redis", func(b *testing.B) {
		url := os.Getenv("REDIS_URL")
		if url == "" {
			b.Skip("REDIS_URL not set")
		}
		c, closeFn, err := Connect(url)
		if err != nil {
			b.Fatal(err)
		}
		defer closeFn()
		prefix := fmt.Sprintf("parcelbot-bench:%d:", os.Getpid())
		ctx := context.Background()
		before, ok := CommandStats(ctx, c)
		cpu0, cpuOK := ServerCPU(ctx, c)
		benchStore(b, c, prefix)
		if after, ok2 := CommandStats(ctx, c); ok && ok2 {
			// Redis's time for the commands of a turn (INFO commandstats:
			// one HMGET, one EVALSHA), the figure loadtest prints as
			// redis_us_per_turn
			b.ReportMetric(ClientMicros(before, after, map[string]int64{"hmget": int64(b.N), "evalsha": int64(b.N)})/float64(b.N), "redis-µs/op")
		}
		if cpu1, ok2 := ServerCPU(ctx, c); cpuOK && ok2 {
			// the redis-server process's CPU (INFO cpu), network included
			b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "redis-cpu-µs/op")
		}
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
	})
}
