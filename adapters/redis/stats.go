package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
)

// Stats is bot.StatsStore on Redis: one hash a day, <prefix>stats:<day>,
// kept 400 days (a year's report and a bit). Every command touches that
// one key.
type Stats struct {
	rdb    goredis.UniversalClient
	prefix string
}

// NewStats returns the day counters under prefix ("parcelbot:" when empty).
func NewStats(rdb goredis.UniversalClient, prefix string) *Stats {
	if prefix == "" {
		prefix = "parcelbot:"
	}
	return &Stats{rdb: rdb, prefix: prefix}
}

var _ bot.StatsStore = (*Stats)(nil)

const statsKeep = 400 * 24 * time.Hour

// AddStats implements bot.StatsStore.
func (s *Stats) AddStats(ctx context.Context, day string, counts map[string]int64) error {
	if len(counts) == 0 {
		return nil
	}
	k := s.prefix + "stats:" + day
	pipe := s.rdb.TxPipeline() // one key
	for f, v := range counts {
		pipe.HIncrBy(ctx, k, f, v)
	}
	pipe.Expire(ctx, k, statsKeep)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(fmt.Errorf("add stats %s: %w", day, err))
	}
	return nil
}

// ReadStats implements bot.StatsStore.
func (s *Stats) ReadStats(ctx context.Context, day string) (map[string]int64, error) {
	all, err := s.rdb.HGetAll(ctx, s.prefix+"stats:"+day).Result()
	if err != nil {
		return nil, unavailable(fmt.Errorf("read stats %s: %w", day, err))
	}
	out := make(map[string]int64, len(all))
	for k, v := range all {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}
