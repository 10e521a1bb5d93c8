package main

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
)

// loadtest drives simulated customers through the real service and the
// real Redis session store, and reports throughput, latency, Redis round
// trips per turn, session size and memory. The last line is
// machine-readable.
func (a *app) loadtest(ctx context.Context, args []string) int {
	fl := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fl.SetOutput(a.stderr)
	convs := fl.Int("conversations", 1000, "concurrent conversations")
	dur := fl.Duration("duration", 10*time.Second, "how long to run")
	maxTurns := fl.Int("turns", 0, "stop after this many turns (0: run for -duration)")
	warmup := fl.Duration("warmup", time.Second, "first run the customers this long unmeasured (sessions created, caches filled), then measure for -duration")
	idle := fl.Int("idle", 0, "first start this many conversations and leave them idle (memory check)")
	cache := fl.Int("cache", 0, "session cache size (0: the default 10,000; -1: none)")
	rate := fl.Float64("rate", 0, "offered turns a second over all conversations, each pacing itself (0: flat out, no pause between a reply and the next message)")
	cpuprofile := fl.String("cpuprofile", "", "write a CPU profile of the service's process to this file (with -webhook: of the generator's, the customers' and the fake Bot API's)")
	memprofile := fl.String("memprofile", "", "write an allocation profile of the service's process to this file")
	burst := fl.Bool("telegram-burst", false, "instead: send 5,000 replies to 1,000 chats through the Telegram channel to a fake Bot API enforcing the limits, and report the time")
	tgRate := fl.Float64("telegram-rate", 30, "with -telegram-burst: messages a second overall")
	tgChat := fl.Duration("telegram-chat-interval", time.Second, "with -telegram-burst: between two messages to one chat")
	tracePath := fl.String("trace", "", "write each measured turn's end time and latency and the service's garbage collections to this file (µs), and print how many slow turns (over 5 ms) ended beside a collection (not with -webhook)")
	webhookReplies := fl.Bool("webhook-replies", false, "with -webhook: the child puts one-message replies in the webhook's answer (TELEGRAM_WEBHOOK_REPLIES)")
	inProcess := fl.Bool("in-process", false, "run the service in this process, beside the generator (default: a separate process, when REDIS_URL is set; -idle always runs in this process)")
	child := fl.Bool("child", false, "internal: be the service side of a load test, on stdin and stdout")
	prefixFlag := fl.String("prefix", "pblt:", "internal, with -child: the key prefix")
	webhook := fl.Bool("webhook", false, "instead: drive a separate `serve --demo` process in webhook mode end to end through a fake Bot API, -conversations chats for -duration (on REDIS_URL, else serve's in-process Redis); prints a webhook: line")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *webhook {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err != nil {
				fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
				return 1
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
				return 1
			}
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
		r, err := webhookLoad(ctx, exe, a.env.RedisURL, webhookLoadOptions{Chats: *convs, Dur: *dur, Warmup: *warmup, Rate: *rate, Replies: *webhookReplies, Log: a.stderr})
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		offered := "" // closed loop
		if *rate > 0 {
			offered = fmt.Sprintf(" offered=%.0f", *rate)
		}
		fmt.Fprintf(a.stdout, "webhook: chats=%d%s updates_per_s=%.1f p50_ms=%s p99_ms=%s p999_ms=%s errors=%d connections=%d p50_sent_ms=%s p99_sent_ms=%s replies_in_answer=%v\n", *convs, offered,
			float64(r.Updates)/r.Took.Seconds(), quantileMS(r.Lat, 0.50), quantileMS(r.Lat, 0.99), quantileMS(r.Lat, 0.999), r.Errors, webhookConnections, quantileMS(r.Sent, 0.50), quantileMS(r.Sent, 0.99), *webhookReplies)
		if r.Errors > 0 {
			return 1
		}
		return 0
	}
	if *burst {
		fmt.Fprintf(a.stdout, "telegram burst: 5000 replies to 1000 chats at %.0f/s overall, one per %s per chat (takes about %.0f s)\n", *tgRate, *tgChat, 5000 / *tgRate)
		r, err := telegramBurst(ctx, 1000, 5, *tgRate, *tgChat)
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		fmt.Fprintf(a.stdout, "telegram burst: %d replies in %s (%.1f/s), 429 answers: %d, every chat in order: %v\n",
			r.Replies, r.Took.Round(time.Millisecond), float64(r.Replies)/r.Took.Seconds(), r.TooMany, r.InOrder)
		if r.TooMany > 0 || !r.InOrder {
			return 1
		}
		return 0
	}
	separate := !*child && !*inProcess && *idle == 0 && a.env.RedisURL != ""
	if *cpuprofile != "" && !separate { // else the service's process writes it
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *memprofile != "" && !separate {
		runtime.MemProfileRate = 4096
		defer func() {
			if f, err := os.Create(*memprofile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if *child {
		if err := a.loadChild(ctx, a.stdin, a.stdout, *prefixFlag, *cache, *convs); err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		return 0
	}
	rdb, closeRedis, err := redis.Connect(a.env.RedisURL)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
		return 1
	}
	defer closeRedis()
	where := a.env.RedisURL
	if where == "" {
		where = "in-process Redis (miniredis; set REDIS_URL for a real one)"
	}
	// a run's own keys, deleted afterwards; about as long as the default
	// prefix ("parcelbot:"), since a key's bytes are part of a turn's cost
	prefix := "pblt:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	defer cleanupPrefix(rdb, prefix)
	var target loadTarget
	var local *loadService
	var kid *childTarget
	if separate {
		exe, err := os.Executable()
		if err == nil {
			kid, err = startChild(ctx, exe, prefix, *cache, *convs, *cpuprofile, *memprofile, a.stderr)
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		target = kid
	} else {
		local, err = a.newLoadService(rdb, prefix, *cache)
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		target = local
	}
	generator := "separate process"
	if !separate {
		generator = "in this process"
	}
	mode := "flat out"
	if *rate > 0 {
		mode = fmt.Sprintf("%.0f turns/s offered", *rate)
	}
	fmt.Fprintf(a.stdout, "loadtest: %d conversations, %s, %s, Redis: %s, GOMAXPROCS=%d, generator %s\n", *convs, *dur, mode, where, runtime.GOMAXPROCS(0), generator)
	if *idle > 0 {
		rssBefore := rssMB()
		idleStart(ctx, local.svc, *idle)
		runtime.GC()
		fmt.Fprintf(a.stdout, "idle: %d conversations started and left idle; RSS %.1f MB before, %.1f MB after\n", *idle, rssBefore, rssMB())
	}
	custs := make([]*customer, *convs)
	for i := range custs {
		custs[i] = newCustomer(i)
	}
	if local != nil {
		local.ch.keep = true
	}
	if *warmup > 0 && *maxTurns == 0 {
		if w := drive(ctx, target, custs, *warmup, 0, *rate, false, a.stderr); w.failures > 0 {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %d turns failed in the warm-up\n", w.failures)
		}
	}
	if local != nil {
		local.cmd.reset()
	} else {
		kid.start()
	}
	statsBefore, statsOK := redis.CommandStats(ctx, rdb)
	cpuBefore, cpuOK := redis.ServerCPU(ctx, rdb)
	selfBefore := processCPU()
	allocBefore := allocated()
	gcBefore := gcCount()
	r := drive(ctx, target, custs, *dur, *maxTurns, *rate, *tracePath != "", a.stderr)
	selfCPU := processCPU() - selfBefore
	var rep childReport
	if kid != nil {
		if rep, err = kid.finish(); err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
	} else {
		rep.rt, rep.names = local.cmd.snapshot()
		rep.cpu = selfCPU
		rep.alloc = allocated() - allocBefore
		rep.gcs = gcEnds(gcBefore)
	}
	n := float64(max(r.turns, 1))
	redisUS, redisCPU := -1.0, -1.0 // unknown: the server does not report them
	if after, ok := redis.CommandStats(ctx, rdb); ok && statsOK && r.turns > 0 {
		redisUS = redis.ClientMicros(statsBefore, after, rep.names) / n
	}
	if after, ok := redis.ServerCPU(ctx, rdb); ok && cpuOK && r.turns > 0 {
		redisCPU = float64((after - cpuBefore).Microseconds()) / n
	}
	sess := sessionBytes(ctx, rdb, prefix)
	if local != nil {
		runtime.GC()
		rep.rss, rep.hwm = procStatus("VmRSS"), procStatus("VmHWM")
	}
	tps := float64(r.turns) / r.took.Seconds()
	pct := r.quantile
	fmt.Fprintf(a.stdout, "turns: %d in %s: %.0f turns/s\n", r.turns, r.took.Round(time.Millisecond), tps)
	fmt.Fprintf(a.stdout, "latency per turn: p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, max %.0f µs\n", pct(0.50), pct(0.99), pct(0.999), pct(1))
	fmt.Fprintf(a.stdout, "Redis round trips per turn: %.2f (pipelines count once)\n", float64(rep.rt)/n)
	if redisUS >= 0 {
		fmt.Fprintf(a.stdout, "Redis per turn: %.1f µs for the commands parcelbot sent (INFO commandstats), %.1f µs of redis-server CPU (INFO cpu, network included)\n", redisUS, redisCPU)
	}
	fmt.Fprintf(a.stdout, "parcelbot CPU per turn: %.1f µs (%s); the generator: %.1f µs\n", float64(rep.cpu.Microseconds())/n, generator, float64(selfCPU.Microseconds())/n)
	fmt.Fprintf(a.stdout, "allocated per turn: %.0f bytes (%s)\n", float64(rep.alloc)/n, generator)
	fmt.Fprintf(a.stdout, "stored session: %d bytes (state field, mean of a sample)\n", sess)
	fmt.Fprintf(a.stdout, "parcelbot RSS: %.1f MB at the end, %.1f MB at most\n", rep.rss, rep.hwm)
	fmt.Fprintf(a.stdout, "failed turns: %d\n", r.failures)
	fmt.Fprintf(a.stdout, "loadtest: conversations=%d turns=%d turns_per_s=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f redis_rt_per_turn=%.2f redis_us_per_turn=%.1f failures=%d session_bytes=%d rss_mb=%.1f redis_cpu_us_per_turn=%.1f cpu_us_per_turn=%.1f rss_peak_mb=%.1f alloc_bytes_per_turn=%.0f generator=%s\n",
		*convs, r.turns, tps, pct(0.50), pct(0.99), pct(0.999), float64(rep.rt)/n, redisUS, r.failures, sess, rep.rss, redisCPU, float64(rep.cpu.Microseconds())/n, rep.hwm, float64(rep.alloc)/n, map[bool]string{true: "process", false: "in-process"}[separate])
	if *rate > 0 {
		fmt.Fprintf(a.stdout, "loadtest-rate: offered=%.0f achieved=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f failures=%d\n", *rate, tps, pct(0.50), pct(0.99), pct(0.999), r.failures)
	}
	if *tracePath != "" {
		t := traceOf(r.trace, rep.gcs)
		if err := t.write(*tracePath); err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		fmt.Fprintf(a.stdout, "trace: file=%s turns=%d slow_turns=%d slow_beside_gc=%d gcs=%d gc_every_ms=%.0f\n",
			*tracePath, len(t.turns), t.slow, t.besideGC, len(t.gcs), r.took.Seconds()*1000/float64(max(len(t.gcs), 1)))
	}
	if r.failures > 0 {
		fmt.Fprintf(a.stderr, "parcelbot loadtest: %d turns failed\n", r.failures)
		return 1
	}
	return 0
}

// driveResult is what the simulated customers measured.
type driveResult struct {
	turns, failures int64
	took            time.Duration
	lat             []int64    // µs per turn, sorted
	trace           [][2]int64 // with trace: each turn's end (unix µs) and latency (µs), by end
}

// quantile returns the q-quantile of the latencies in µs.
func (r driveResult) quantile(q float64) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	return float64(r.lat[min(len(r.lat)-1, int(q*float64(len(r.lat))))])
}

// pacer keeps one of n simulated customers to its schedule in an open
// loop: rate messages a second over all n, the customers' starts spread
// over one interval. Every message keeps its slot: one that is late
// because the previous answer was late is sent at once, and its latency
// counts from its slot, not from when it could be sent (no coordinated
// omission).
type pacer struct {
	every time.Duration // 0: a closed loop
	next  time.Time
}

func newPacer(i, n int, rate float64) pacer {
	if rate <= 0 {
		return pacer{}
	}
	every := time.Duration(float64(n) / rate * float64(time.Second))
	return pacer{every: every, next: time.Now().Add(time.Duration(i) * every / time.Duration(n))}
}

// wait sleeps until the next message is due and returns when it was due;
// in a closed loop, at once, with the zero time.
func (p *pacer) wait() time.Time {
	if p.every == 0 {
		return time.Time{}
	}
	if d := time.Until(p.next); d > 0 {
		time.Sleep(d)
	}
	due := p.next
	p.next = p.next.Add(p.every)
	return due
}

// drive runs convs simulated customers against target for dur (or
// maxTurns turns): flat out, each sending its next message as soon as its
// last was answered, or, with rate, each keeping to its own schedule.
func drive(ctx context.Context, target loadTarget, custs []*customer, dur time.Duration, maxTurns int, rate float64, trace bool, stderr io.Writer) driveResult {
	convs := len(custs)
	var turns, failures atomic.Int64
	lat := make([][]int64, convs)
	ends := make([][]int64, convs) // with trace: when each turn ended, unix µs
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < convs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := custs[i]
			pace := newPacer(i, convs, rate)
			for {
				sched := pace.wait() // when this message is due (open loop)
				if ctx.Err() != nil || time.Now().After(deadline) || (maxTurns > 0 && turns.Load() >= int64(maxTurns)) {
					return
				}
				m := c.next()
				t0 := time.Now()
				if !sched.IsZero() {
					t0 = sched
				}
				b, err := target.turn(ctx, m)
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					// counted, and the customer goes on: a load test that
					// hides failures measures nothing
					if failures.Add(1) <= 5 {
						fmt.Fprintf(stderr, "turn failed: %v\n", err)
					}
					continue
				}
				c.button = b
				now := time.Now()
				lat[i] = append(lat[i], now.Sub(t0).Microseconds())
				if trace {
					ends[i] = append(ends[i], now.UnixMicro())
				}
				turns.Add(1)
			}
		}()
	}
	wg.Wait()
	r := driveResult{turns: turns.Load(), failures: failures.Load(), took: time.Since(start)}
	for i, l := range lat {
		r.lat = append(r.lat, l...)
		for j, end := range ends[i] {
			r.trace = append(r.trace, [2]int64{end, l[j]})
		}
	}
	slices.Sort(r.lat)
	slices.SortFunc(r.trace, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	return r
}

// customer is one simulated customer: a language, and journeys walked in
// turn with buttons pressed as a person would.
type customer struct {
	conv, lang, order, postcode string
	button                      string // the first button of the last reply with buttons
	id                          int
	step                        int // of the cycle, next
}

// Telegram-like identifiers: a private chat's id is its user's (ten digits
// today), and an input's is "u" and the bot's update id, one counter over
// all chats; the store handles them as strings, so their length is part
// of what a turn costs.
const (
	loadChatBase    = 6_000_000_000
	loadFirstUpdate = 700_000_000
)

// loadUpdates counts the updates the simulated customers sent.
var loadUpdates atomic.Int64

var loadMarkets = []struct{ lang, prefix, postcode, track string }{
	{"en", "206", "SW1A 1AA", "where is my parcel"},
	{"de", "302", "10115", "wo bleibt mein Paket"},
	{"fr", "403", "75011", "où est mon colis"},
	{"it", "405", "20121", "dov'è il mio pacco"},
}

func newCustomer(i int) *customer {
	m := loadMarkets[i%4]
	// each starts at another step of the cycle: in lockstep, every customer
	// would take the same (heavier or lighter) step in the same tenth of a
	// second, a load no population of customers makes
	return &customer{conv: "lt:" + strconv.Itoa(loadChatBase+i), lang: m.lang, order: m.prefix + "-1001111-4007777", postcode: m.postcode, step: i % 9}
}

// next returns the customer's next message: a 9-turn cycle of the menu, a
// button, an order number, a postcode, free text with an order number in
// it, a postcode, a language change and the menu again.
func (c *customer) next() bot.Message {
	n := c.step
	c.step++
	c.id++
	m := bot.Message{Conversation: c.conv, ID: "u" + strconv.FormatInt(loadFirstUpdate+loadUpdates.Add(1), 10), Input: dialog.Input{LangHint: c.lang}}
	switch n % 9 {
	case 0:
		m.Input.Text = "/start"
	case 1:
		m.Input.Button = c.pressed() // "Where is my parcel?"
	case 2:
		m.Input.Text = c.order
	case 3:
		m.Input.Text = c.postcode
	case 4:
		m.Input.Text = loadMarkets[(c.id/9)%4].track + " " + c.order
	case 5:
		m.Input.Text = c.postcode
	case 6:
		m.Input.Text = "/language"
	case 7:
		m.Input.Button = c.pressed() // English, then back by the channel's hint
		m.Input.LangHint = ""
	default:
		m.Input.Text = "hello"
	}
	return m
}

// pressed is the button the customer presses: the first one offered.
func (c *customer) pressed() string {
	if c.button == "" {
		return "0.0"
	}
	return c.button
}

// loadChannel keeps each conversation's last buttons, to press them.
type loadChannel struct {
	mu   sync.Mutex
	last map[string][]dialog.Button
	keep bool
}

func (l *loadChannel) Name() string { return "lt" }

func (l *loadChannel) Send(_ context.Context, chat, _ string, rs []dialog.Reply) error {
	if !l.keep {
		return nil
	}
	for i := len(rs) - 1; i >= 0; i-- {
		if len(rs[i].Buttons) > 0 {
			l.mu.Lock()
			if l.last == nil {
				l.last = map[string][]dialog.Button{}
			}
			l.last["lt:"+chat] = append(l.last["lt:"+chat][:0], rs[i].Buttons...)
			l.mu.Unlock()
			break
		}
	}
	return nil
}

func (l *loadChannel) button(conv string, i int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.last[conv]; i < len(b) {
		return b[i].Data
	}
	return ""
}

type nopDesk struct{}

func (nopDesk) Escalate(context.Context, bot.Escalation) error { return nil }
func (nopDesk) Relay(context.Context, string, string) error    { return nil }

// idleStart gives n conversations one turn each, 64 at a time.
func idleStart(ctx context.Context, svc *bot.Service, n int) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) || ctx.Err() != nil {
					return
				}
				_ = svc.Handle(ctx, bot.Message{Conversation: "lt:idle" + strconv.FormatInt(i, 10), ID: "1", Input: dialog.Input{Text: "hello"}})
			}
		}()
	}
	wg.Wait()
}

func sessionBytes(ctx context.Context, rdb goredis.UniversalClient, prefix string) int {
	var keys []string
	_ = scanKeys(ctx, rdb, prefix+"s:*", func(k string) bool {
		keys = append(keys, k)
		return len(keys) < 200
	})
	if len(keys) == 0 {
		return 0
	}
	total, n := 0, 0
	for _, k := range keys {
		if d, err := rdb.HGet(ctx, k, "d").Result(); err == nil {
			total += len(d)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return total / n
}

// scanKeys calls fn for the keys matching pattern, on every master of a
// Redis Cluster (SCAN sees one node only), until fn returns false.
func scanKeys(ctx context.Context, rdb goredis.UniversalClient, pattern string, fn func(string) bool) error {
	scan := func(ctx context.Context, c goredis.UniversalClient) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			if !fn(iter.Val()) {
				return nil
			}
		}
		return iter.Err()
	}
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		var mu sync.Mutex
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return scan(ctx, c)
		})
	}
	return scan(ctx, rdb)
}

// cleanupPrefix deletes the load test's keys, one key a command (keys of
// a Redis Cluster live on different nodes), pipelined.
func cleanupPrefix(rdb goredis.UniversalClient, prefix string) {
	ctx := context.Background()
	pipe := rdb.Pipeline()
	_ = scanKeys(ctx, rdb, prefix+"*", func(k string) bool {
		pipe.Unlink(ctx, k)
		if pipe.Len() >= 1000 {
			_, _ = pipe.Exec(ctx)
		}
		return true
	})
	_, _ = pipe.Exec(ctx)
}

// rssMB reads the resident set size from /proc (Linux); 0 elsewhere.
func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
