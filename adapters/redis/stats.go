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

// addStatsScript adds ARGV's field/count pairs to the day's hash KEYS[1]
// and sets its TTL (ARGV[1], ms), as one command: all or nothing, and one
// reply. (A MULTI/EXEC pipeline did the same, but after an error such as
// LOADING go-redis could put its connection back with replies unread, and
// the next command on it read "+OK" for an answer: 3% of
// TestStatsSurviveARedisOutage runs failed so.)
var addStatsScript = goredis.NewScript(`
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`)

// AddStats implements bot.StatsStore.
func (s *Stats) AddStats(ctx context.Context, day string, counts map[string]int64) error {
	if len(counts) == 0 {
		return nil
	}
	args := make([]any, 0, 1+2*len(counts))
	args = append(args, statsKeep.Milliseconds())
	for f, v := range counts {
		args = append(args, f, v)
	}
	if err := addStatsScript.Run(ctx, s.rdb, []string{s.prefix + "stats:" + day}, args...).Err(); err != nil {
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
