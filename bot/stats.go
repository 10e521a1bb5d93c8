package bot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// StatsStore keeps day counters for `parcelbot report` (Redis: one hash
// a day). Counts are added, never set, so replicas add up.
type StatsStore interface {
	AddStats(ctx context.Context, day string, counts map[string]int64) error
	ReadStats(ctx context.Context, day string) (map[string]int64, error)
}

// Stats is an Observer that counts what a support lead asks about, per
// UTC day, and passes every observation on to next (the metrics). Counts
// are kept in memory and written by Flush (Run calls it every few
// seconds), so a turn costs no Redis work; a crash loses at most the last
// few seconds of counts.
type Stats struct {
	next  Observer
	store StatsStore
	now   func() time.Time
	log   *slog.Logger
	mu    sync.Mutex
	days  map[string]map[string]int64
}

// NewStats returns a Stats writing to store and passing on to next (nil:
// nothing).
func NewStats(store StatsStore, next Observer, log *slog.Logger) *Stats {
	if next == nil {
		next = nopObserver{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stats{next: next, store: store, now: time.Now, log: log, days: map[string]map[string]int64{}}
}

// Day is the stats day of t: its UTC date.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// add counts n for key on today's counters.
func (s *Stats) add(key string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	day := Day(s.now())
	m := s.days[day]
	if m == nil {
		m = map[string]int64{}
		s.days[day] = m
	}
	m[key] += n
}

// Turn implements Observer.
func (s *Stats) Turn(journey, lang string, took time.Duration, failed bool) {
	s.next.Turn(journey, lang, took, failed)
}

// Journey implements Observer: journeys started are the conversations.
func (s *Stats) Journey(journey, lang, what string) {
	s.next.Journey(journey, lang, what)
	if what == "started" {
		s.add("j|"+journey+"|"+lang+"|started", 1)
	}
}

// Escalation implements Observer.
func (s *Stats) Escalation(reason, journey, lang string) {
	s.next.Escalation(reason, journey, lang)
	s.add("j|"+journey+"|"+lang+"|handed", 1)
}

// Compensation implements Observer.
func (s *Stats) Compensation() {
	s.next.Compensation()
	s.add("comp", 1)
}

// Agent implements Observer.
func (s *Stats) Agent(what string, took time.Duration) {
	s.next.Agent(what, took)
	s.add("agent|"+what+"|n", 1)
	s.add("agent|"+what+"|s", int64(took/time.Second))
}

// Satisfaction implements Observer.
func (s *Stats) Satisfaction(kind, lang string, rating int) {
	s.next.Satisfaction(kind, lang, rating)
	s.add("sat|"+kind+"|"+lang+"|n", 1)
	s.add("sat|"+kind+"|"+lang+"|sum", int64(rating))
}

// Proactive implements Observer.
func (s *Stats) Proactive(kind, outcome string) {
	s.next.Proactive(kind, outcome)
	s.add("p|"+kind+"|"+outcome, 1)
}

// Flush writes the counts gathered so far; on failure they are kept for
// the next flush.
func (s *Stats) Flush(ctx context.Context) error {
	s.mu.Lock()
	days := s.days
	s.days = map[string]map[string]int64{}
	s.mu.Unlock()
	var first error
	for day, m := range days {
		if err := s.store.AddStats(ctx, day, m); err != nil {
			if first == nil {
				first = fmt.Errorf("stats %s: %w", day, err)
			}
			s.mu.Lock()
			keep := s.days[day]
			if keep == nil {
				keep = map[string]int64{}
				s.days[day] = keep
			}
			for k, v := range m {
				keep[k] += v
			}
			s.mu.Unlock()
		}
	}
	return first
}

// Run flushes every interval until ctx ends, and once more then.
func (s *Stats) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.Flush(fctx); err != nil {
				s.log.Warn("stats not written at shutdown", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.Flush(ctx); err != nil {
				s.log.Warn("stats not written; kept for the next try", "err", err)
			}
		}
	}
}

// ReadDays sums the stats of the days from since to until (UTC dates).
func ReadDays(ctx context.Context, store StatsStore, since, until time.Time) (map[string]int64, error) {
	sum := map[string]int64{}
	for d := since.UTC(); !d.After(until.UTC()); d = d.AddDate(0, 0, 1) {
		m, err := store.ReadStats(ctx, Day(d))
		if err != nil {
			return nil, fmt.Errorf("read stats %s: %w", Day(d), err)
		}
		for k, v := range m {
			sum[k] += v
		}
	}
	return sum, nil
}

// WriteReport prints the counts as the support lead's tables: journeys by
// language (conversations, contained without an agent, handed over), time
// to an agent, satisfaction, and the bot's own messages.
func WriteReport(w io.Writer, title string, c map[string]int64) {
	fmt.Fprintf(w, "%s\n\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	type row struct{ journey, lang string }
	rows := map[row][2]int64{} // started, handed
	for k, v := range c {
		p := strings.Split(k, "|")
		if len(p) == 4 && p[0] == "j" {
			r := rows[row{p[1], p[2]}]
			if p[3] == "started" {
				r[0] += v
			} else {
				r[1] += v
			}
			rows[row{p[1], p[2]}] = r
		}
	}
	keys := make([]row, 0, len(rows))
	for r := range rows {
		keys = append(keys, r)
	}
	slices.SortFunc(keys, func(a, b row) int { return strings.Compare(a.journey+"|"+a.lang, b.journey+"|"+b.lang) })
	fmt.Fprintln(tw, "journey\tlang\tconversations\tcontained\thanded over\tcontained %\t")
	var total [2]int64
	for _, r := range keys {
		v := rows[r]
		total[0] += v[0]
		total[1] += v[1]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t\n", r.journey, r.lang, v[0], max(v[0]-v[1], 0), v[1], pct(max(v[0]-v[1], 0), v[0]))
	}
	fmt.Fprintf(tw, "all\t\t%d\t%d\t%d\t%s\t\n", total[0], max(total[0]-total[1], 0), total[1], pct(max(total[0]-total[1], 0), total[0]))
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "agents\tcases\taverage\t")
	for _, what := range []string{"claim", "first_reply", "handoff"} {
		n, secs := c["agent|"+what+"|n"], c["agent|"+what+"|s"]
		avg := "-"
		if n > 0 {
			avg = (time.Duration(secs/n) * time.Second).String()
		}
		label := map[string]string{"claim": "time to claim", "first_reply": "time to first agent reply", "handoff": "time to close"}[what]
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", label, n, avg)
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "satisfaction\tlang\tratings\taverage (1-5)\t")
	sat := map[string][2]int64{}
	for k, v := range c {
		p := strings.Split(k, "|")
		if len(p) == 4 && p[0] == "sat" {
			x := sat[p[1]+"\t"+p[2]]
			if p[3] == "n" {
				x[0] += v
			} else {
				x[1] += v
			}
			sat[p[1]+"\t"+p[2]] = x
		}
	}
	var sn, ssum int64
	for _, k := range slices.Sorted(maps.Keys(sat)) {
		x := sat[k]
		sn, ssum = sn+x[0], ssum+x[1]
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", k, x[0], avg(x[1], x[0]))
	}
	fmt.Fprintf(tw, "all\t\t%d\t%s\t\n", sn, avg(ssum, sn))
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "order news\tsent\theld (quiet hours)\tanswered\tled to a conversation\tnot sent (off, unlinked, limit)\t")
	pro := map[string]map[string]int64{}
	for k, v := range c {
		p := strings.Split(k, "|")
		if len(p) == 3 && p[0] == "p" {
			if pro[p[1]] == nil {
				pro[p[1]] = map[string]int64{}
			}
			pro[p[1]][p[2]] += v
		}
	}
	var tot = map[string]int64{}
	for _, kind := range slices.Sorted(maps.Keys(pro)) {
		o := pro[kind]
		for k, v := range o {
			tot[k] += v
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t\n", kind, o["sent"], o["held"], o["answered"], pct(o["answered"], o["sent"]), o["opted_out"]+o["not_linked"]+o["limited"]+o["gone"])
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\t%s\t%d\t\n", tot["sent"], tot["held"], tot["answered"], pct(tot["answered"], tot["sent"]), tot["opted_out"]+tot["not_linked"]+tot["limited"]+tot["gone"])
	tw.Flush()
}

func pct(part, whole int64) string {
	if whole == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64) + "%"
}

func avg(sum, n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(sum)/float64(n), 'f', 2, 64)
}
