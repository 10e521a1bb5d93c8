package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
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
	idle := fl.Int("idle", 0, "first start this many conversations and leave them idle (memory check)")
	cache := fl.Int("cache", 0, "session cache size (0: the default 10,000; -1: none)")
	rate := fl.Float64("rate", 0, "offered turns a second over all conversations, each pacing itself (0: flat out, no pause between a reply and the next message)")
	cpuprofile := fl.String("cpuprofile", "", "write a CPU profile of the run to this file")
	burst := fl.Bool("telegram-burst", false, "instead: send 5,000 replies to 1,000 chats through the Telegram channel to a fake Bot API enforcing the limits, and report the time")
	tgRate := fl.Float64("telegram-rate", 30, "with -telegram-burst: messages a second overall")
	tgChat := fl.Duration("telegram-chat-interval", time.Second, "with -telegram-burst: between two messages to one chat")
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
		r, err := webhookLoad(ctx, exe, a.env.RedisURL, *convs, *dur)
		if err != nil {
			fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
			return 1
		}
		fmt.Fprintf(a.stdout, "webhook: chats=%d updates_per_s=%.1f p50_ms=%s p99_ms=%s errors=%d\n", *convs,
			float64(r.Updates)/r.Took.Seconds(), quantileMS(r.Lat, 0.50), quantileMS(r.Lat, 0.99), r.Errors)
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
	if *cpuprofile != "" {
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
	rdb, closeRedis, err := redis.Connect(a.env.RedisURL)
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
		return 1
	}
	defer closeRedis()
	var rt atomic.Int64
	rdb.AddHook(countHook{&rt})
	target := a.env.RedisURL
	if target == "" {
		target = "in-process Redis (miniredis; set REDIS_URL for a real one)"
	}
	prefix := fmt.Sprintf("parcelbot-loadtest:%d:", time.Now().UnixNano())
	defer cleanupPrefix(rdb, prefix)
	data, err := a.loadData("", time.Now())
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
		return 1
	}
	be := bot.Backends{Shop: data, Writer: data, Records: redis.NewRecords(rdb, prefix, 0)}
	eng, err := a.engine(be, "", "")
	if err != nil {
		fmt.Fprintf(a.stderr, "parcelbot loadtest: %v\n", err)
		return 1
	}
	ch := &loadChannel{}
	svc := bot.NewService(bot.Options{Engine: eng, Store: redis.NewStore(rdb, redis.Options{Prefix: prefix}), Backends: be, CacheSize: *cache, Desk: nopDesk{}})
	svc.AddChannel(ch)

	mode := "flat out"
	if *rate > 0 {
		mode = fmt.Sprintf("%.0f turns/s offered", *rate)
	}
	fmt.Fprintf(a.stdout, "loadtest: %d conversations, %s, %s, Redis: %s, GOMAXPROCS=%d\n", *convs, *dur, mode, target, runtime.GOMAXPROCS(0))
	if *idle > 0 {
		rssBefore := rssMB()
		idleStart(ctx, svc, *idle)
		runtime.GC()
		fmt.Fprintf(a.stdout, "idle: %d conversations started and left idle; RSS %.1f MB before, %.1f MB after\n", *idle, rssBefore, rssMB())
	}
	ch.keep = true
	rt.Store(0)
	redisBefore, redisOK := redis.CommandCPU(ctx, rdb)
	var turns, failures atomic.Int64
	lat := make([][]int64, *convs)
	deadline := time.Now().Add(*dur)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *convs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newCustomer(i, ch)
			var every time.Duration
			next := time.Now()
			if *rate > 0 {
				every = time.Duration(float64(*convs) / *rate * float64(time.Second))
				next = next.Add(time.Duration(i) * every / time.Duration(*convs)) // spread the starts
			}
			for n := 0; ; n++ {
				var sched time.Time // when this message is due (open loop)
				if every > 0 {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					// every message keeps its slot: one that is late because
					// the previous answer was late is sent at once, and its
					// latency counts from its slot, not from when it could be
					// sent (no coordinated omission)
					sched = next
					next = next.Add(every)
				}
				if ctx.Err() != nil || time.Now().After(deadline) || (*maxTurns > 0 && turns.Load() >= int64(*maxTurns)) {
					return
				}
				m := c.next(n)
				t0 := time.Now()
				if !sched.IsZero() {
					t0 = sched
				}
				if err := svc.Handle(ctx, m); err != nil {
					if ctx.Err() != nil {
						return
					}
					// counted, and the customer goes on: a load test that
					// hides failures measures nothing
					if failures.Add(1) <= 5 {
						fmt.Fprintf(a.stderr, "turn failed: %v\n", err)
					}
					continue
				}
				lat[i] = append(lat[i], time.Since(t0).Microseconds())
				turns.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []int64
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))])
	}
	n := turns.Load()
	tps := float64(n) / elapsed.Seconds()
	redisPerTurn := -1.0 // unknown: the server does not report commandstats
	if after, ok := redis.CommandCPU(ctx, rdb); ok && redisOK && n > 0 {
		redisPerTurn = float64(after-redisBefore) / float64(n)
	}
	perTurn := float64(rt.Load()) / float64(max(n, 1))
	sess := sessionBytes(ctx, rdb, prefix)
	runtime.GC()
	rss := rssMB()
	fmt.Fprintf(a.stdout, "turns: %d in %s: %.0f turns/s\n", n, elapsed.Round(time.Millisecond), tps)
	fmt.Fprintf(a.stdout, "latency per turn: p50 %.0f µs, p99 %.0f µs, max %.0f µs\n", pct(0.50), pct(0.99), pct(1))
	fmt.Fprintf(a.stdout, "Redis round trips per turn: %.2f (pipelines count once)\n", perTurn)
	if redisPerTurn >= 0 {
		fmt.Fprintf(a.stdout, "Redis CPU per turn: %.1f µs (INFO commandstats, every command of the run)\n", redisPerTurn)
	}
	fmt.Fprintf(a.stdout, "stored session: %d bytes (state field, mean of a sample)\n", sess)
	fmt.Fprintf(a.stdout, "process RSS: %.1f MB\n", rss)
	fails := failures.Load()
	fmt.Fprintf(a.stdout, "failed turns: %d\n", fails)
	fmt.Fprintf(a.stdout, "loadtest: conversations=%d turns=%d turns_per_s=%.1f p50_us=%.1f p99_us=%.1f redis_rt_per_turn=%.2f redis_us_per_turn=%.1f failures=%d session_bytes=%d rss_mb=%.1f\n",
		*convs, n, tps, pct(0.50), pct(0.99), perTurn, redisPerTurn, fails, sess, rss)
	if fails > 0 {
		fmt.Fprintf(a.stderr, "parcelbot loadtest: %d turns failed\n", fails)
		return 1
	}
	return 0
}

// countHook counts Redis round trips: a command or a pipeline is one.
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// customer is one simulated customer: a language, and journeys walked in
// turn with buttons pressed as a person would.
type customer struct {
	conv, lang, order, postcode string
	ch                          *loadChannel
	id                          int
}

var loadMarkets = []struct{ lang, prefix, postcode, track string }{
	{"en", "206", "SW1A 1AA", "where is my parcel"},
	{"de", "302", "10115", "wo bleibt mein Paket"},
	{"fr", "403", "75011", "où est mon colis"},
	{"it", "405", "20121", "dov'è il mio pacco"},
}

func newCustomer(i int, ch *loadChannel) *customer {
	m := loadMarkets[i%4]
	return &customer{conv: "lt:" + strconv.Itoa(i), lang: m.lang, order: m.prefix + "-1001111-4007777", postcode: m.postcode, ch: ch}
}

// next returns the customer's n-th message: a 9-turn cycle of the menu, a
// button, an order number, a postcode, free text with an order number in
// it, a postcode, a language change and the menu again.
func (c *customer) next(n int) bot.Message {
	c.id++
	m := bot.Message{Conversation: c.conv, ID: strconv.Itoa(c.id), Input: dialog.Input{LangHint: c.lang}}
	switch n % 9 {
	case 0:
		m.Input.Text = "/start"
	case 1:
		m.Input.Button = c.ch.button(c.conv, 0) // "Where is my parcel?"
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
		m.Input.Button = c.ch.button(c.conv, 0) // English, then back by the channel's hint
		m.Input.LangHint = ""
	default:
		m.Input.Text = "hello"
	}
	return m
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
	return "0.0"
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
