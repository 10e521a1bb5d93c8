package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
)

// `parcelbot report` reads the day counters serve writes and prints the
// tables; without a Redis to read it says what to set.
func TestReportCommand(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	store := redis.NewStats(rdb, "")
	old := time.Now().AddDate(0, 0, -10)
	if err := store.AddStats(context.Background(), bot.Day(old), map[string]int64{"j|track|en|started": 100}); err != nil {
		t.Fatal(err)
	}
	if err := store.AddStats(context.Background(), bot.Day(time.Now()), map[string]int64{"j|track|en|started": 7, "j|track|en|handed": 1}); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCmd(t, "", map[string]string{"REDIS_URL": "redis://" + mr.Addr()}, "report", "--since", "7d")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "conversations") || !hasCells(out, "track", "en", "7", "6", "1", "85.7%") {
		t.Fatalf("report (the day 10 days ago must not count):\n%s", out)
	}
	if code, _, errs := runCmd(t, "", nil, "report"); code != 2 || !strings.Contains(errs, "REDIS_URL") {
		t.Fatalf("without Redis: exit %d %s", code, errs)
	}
	if code, _, _ := runCmd(t, "", nil, "report", "--since", "a week"); code != 2 {
		t.Fatalf("bad --since: exit %d", code)
	}
}

func hasCells(out string, cells ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(cells, " ") {
			return true
		}
	}
	return false
}
