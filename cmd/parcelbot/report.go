package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
)

// report prints the support lead's tables for the last days, from the day
// counters serve keeps in Redis.
func (a *app) report(ctx context.Context, args []string) int {
	fl := flag.NewFlagSet("report", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	since := fl.String("since", "7d", "how far back: 7d, 30d, 24h (whole UTC days, today included)")
	redisURL := fl.String("redis", a.env.RedisURL, "the Redis serve writes to (REDIS_URL)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	d, err := parseSince(*since)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot report: --since %q: %v\n", *since, err)
		return 2
	}
	if *redisURL == "" {
		fmt.Fprintln(a.stderr, "parcelbot report: set REDIS_URL (or --redis) to the Redis serve writes to; the in-process one of chat and tests keeps nothing")
		return 2
	}
	rdb, closeRedis, err := redis.Connect(*redisURL)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot report: %v\n", err)
		return 1
	}
	defer closeRedis()
	now := time.Now()
	from := now.Add(-d)
	counts, err := bot.ReadDays(ctx, redis.NewStats(rdb, a.env.RedisPrefix), from, now)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot report: %v\n", err)
		return 1
	}
	bot.WriteReport(a.stdout, fmt.Sprintf("parcelbot report, %s to %s (UTC days)", bot.Day(from), bot.Day(now)), counts)
	return 0
}

// parseSince reads "7d" (days) or a Go duration ("36h").
func parseSince(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 400 {
			return 0, fmt.Errorf("want days such as 7d")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want 7d or a duration such as 36h")
	}
	return d, nil
}
