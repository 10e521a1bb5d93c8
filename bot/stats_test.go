package bot_test

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

// The support lead's report from what the service observed: journeys by
// language (contained = started − handed over), agent times, satisfaction,
// order news and the share answered; two replicas' counts add up.
func TestReportFromObservations(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	store := redis.NewStats(rdb, "")
	ctx := context.Background()
	for range 2 { // two replicas
		s := bot.NewStats(store, nil, nil)
		for range 5 {
			s.Journey("track", "de", "started")
		}
		s.Journey("missing", "en", "started")
		s.Journey("missing", "en", "finished") // not a conversation
		s.Escalation("approval", "missing", "en")
		s.Agent("first_reply", 90*time.Second)
		s.Satisfaction("missing", "en", 4)
		s.Satisfaction("late", "de", 5)
		s.Proactive("delayed", "sent")
		s.Proactive("delayed", "sent")
		s.Proactive("delayed", "held")
		s.Proactive("delayed", "answered")
		s.Proactive("delivered", "opted_out")
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := bot.ReadDays(ctx, store, time.Now().AddDate(0, 0, -7), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	bot.WriteReport(&b, "report", counts)
	out := b.String()
	for _, want := range [][]string{
		{"track", "de", "10", "10", "0", "100.0%"},
		{"missing", "en", "2", "0", "2", "0.0%"},
		{"all", "12", "10", "2", "83.3%"},
		{"time to first agent reply", "2", "1m30s"},
		{"missing", "en", "2", "4.00"},
		{"all", "4", "4.50"},
		{"delayed", "4", "2", "2", "50.0%", "0"},
		{"delivered", "0", "0", "0", "-", "2"},
	} {
		if !hasRow(out, want) {
			t.Errorf("no row %v in\n%s", want, out)
		}
	}
}

// hasRow reports whether a line of out has exactly these cells in order.
func hasRow(out string, cells []string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(line), " ") == strings.Join(cells, " ") {
			return true
		}
	}
	return false
}

// Counts a failed write kept are written by the next flush, not lost.
func TestStatsSurviveARedisOutage(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	store := redis.NewStats(rdb, "")
	s := bot.NewStats(store, nil, nil)
	s.Journey("track", "it", "started")
	mr.SetError("LOADING")
	if err := s.Flush(context.Background()); err == nil {
		t.Fatal("flush during an outage reported no error")
	}
	mr.SetError("")
	s.Journey("track", "it", "started")
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	counts, _ := bot.ReadDays(context.Background(), store, time.Now().AddDate(0, 0, -1), time.Now().AddDate(0, 0, 1))
	if counts["j|track|it|started"] != 2 {
		t.Fatalf("counts after the outage: %v", counts)
	}
}
