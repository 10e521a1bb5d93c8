package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
)

// loadTarget is what the simulated customers talk to: the service in this
// process, or a child process running it (so that the generator's CPU and
// memory are not counted as parcelbot's).
type loadTarget interface {
	// turn hands m to the service and returns, once its turn is done, the
	// data of the first button of its last reply with buttons.
	turn(ctx context.Context, m bot.Message) (button string, err error)
}

// loadService is the service side of a load test: the real engine and
// Redis store, a channel that keeps each chat's last buttons, and counts
// of the Redis commands sent.
type loadService struct {
	svc *bot.Service
	ch  *loadChannel
	rdb goredis.UniversalClient
	cmd *cmdCounter
}

func (l *loadService) turn(ctx context.Context, m bot.Message) (string, error) {
	if err := l.svc.Handle(ctx, m); err != nil {
		return "", err
	}
	return l.ch.button(m.Conversation, 0), nil
}

// newLoadService builds the service on rdb under prefix.
func (a *app) newLoadService(rdb goredis.UniversalClient, prefix string, cache int) (*loadService, error) {
	cnt := &cmdCounter{}
	rdb.AddHook(cnt)
	data, err := a.loadData("", time.Now())
	if err != nil {
		return nil, err
	}
	be := bot.Backends{Shop: data, Writer: data, Records: redis.NewRecords(rdb, prefix, 0)}
	eng, err := a.engine(be, "", "")
	if err != nil {
		return nil, err
	}
	ch := &loadChannel{}
	svc := bot.NewService(bot.Options{Engine: eng, Store: redis.NewStore(rdb, redis.Options{Prefix: prefix}), Backends: be, CacheSize: cache, Desk: nopDesk{}})
	svc.AddChannel(ch)
	return &loadService{svc: svc, ch: ch, rdb: rdb, cmd: cnt}, nil
}

// cmdCounter counts Redis round trips (a command or a pipeline is one) and
// the commands sent by name (each command of a pipeline), so that the
// server's INFO commandstats can be read for the commands this client sent
// and not also for those a script ran inside (which Redis counts both in
// the script's time and in their own).
type cmdCounter struct {
	rt    atomic.Int64
	mu    sync.Mutex
	names map[string]int64
}

func (h *cmdCounter) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *cmdCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.rt.Add(1)
		h.add(cmd)
		return next(ctx, cmd)
	}
}

func (h *cmdCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.rt.Add(1)
		for _, c := range cmds {
			h.add(c)
		}
		return next(ctx, cmds)
	}
}

func (h *cmdCounter) add(c goredis.Cmder) {
	h.mu.Lock()
	if h.names == nil {
		h.names = map[string]int64{}
	}
	h.names[strings.ToLower(c.Name())]++
	h.mu.Unlock()
}

// reset zeroes the counts.
func (h *cmdCounter) reset() {
	h.rt.Store(0)
	h.mu.Lock()
	clear(h.names)
	h.mu.Unlock()
}

// snapshot returns the round trips and the counts by name.
func (h *cmdCounter) snapshot() (int64, map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rt.Load(), maps.Clone(h.names)
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatus reads a "Vm...:" line of /proc/self/status in MB (Linux).
func procStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// The pipe between a load test and its child, one line each:
//
//	child:  ready                               set up (before anything else)
//	parent: S                                   start measuring
//	parent: M <conv> <id> <lang> <text> <button> a message (tab-separated)
//	child:  A <conv> <button> <error>            its turn is done
//	parent closes the pipe; child: R <cpu ns> <rss MB> <peak rss MB> <round trips> <name=count,...> <bytes allocated> <collections' ends, unix µs, comma-separated, or ->
//
// The generator's texts contain no tab or newline.

// loadChild is `parcelbot loadtest -child`: the service side of a load test
// run in its own process, on REDIS_URL (else an in-process Redis), talking
// to the generator on stdin and stdout.
func (a *app) loadChild(ctx context.Context, in io.Reader, out io.Writer, prefix string, cache, workers int) error {
	rdb, closeRedis, err := redis.Connect(a.env.RedisURL)
	if err != nil {
		return err
	}
	defer closeRedis() // the keys stay: the generator samples and deletes them
	ls, err := a.newLoadService(rdb, prefix, cache)
	if err != nil {
		return err
	}
	ls.ch.keep = true
	if _, err := io.WriteString(out, "ready\n"); err != nil { // set up: the classifier is trained
		return err
	}
	replies := make(chan string, 4096)
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		linesOut(out, replies)
	}()
	// a goroutine per conversation in flight, kept (as a server keeps one
	// per connection): one started per message would grow its stack each time
	jobs := make(chan bot.Message, workers)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		go func() {
			for m := range jobs {
				b, err := ls.turn(ctx, m)
				e := ""
				if err != nil {
					e = strings.NewReplacer("\t", " ", "\n", " ").Replace(err.Error())
				}
				replies <- "A\t" + m.Conversation + "\t" + b + "\t" + e
				wg.Done()
			}
		}()
	}
	defer close(jobs)
	var cpu0 time.Duration
	var alloc0 uint64
	var gc0 uint32
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var fields [6]string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "S":
			wg.Wait()
			ls.cmd.reset()
			cpu0 = processCPU()
			alloc0 = allocated()
			gc0 = gcCount()
		case strings.HasPrefix(line, "M\t"):
			f := splitTabs(fields[:0], line)
			if len(f) != 6 {
				return fmt.Errorf("loadtest child: bad line %q", line)
			}
			wg.Add(1)
			jobs <- bot.Message{Conversation: f[1], ID: f[2], Input: dialog.Input{LangHint: f[3], Text: f[4], Button: f[5]}}
		}
	}
	wg.Wait()
	cpu := processCPU() - cpu0
	alloc := allocated() - alloc0
	gcs := gcEnds(gc0)
	runtime.GC()
	rt, names := ls.cmd.snapshot()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(names)) {
		parts = append(parts, k+"="+strconv.FormatInt(names[k], 10))
	}
	replies <- fmt.Sprintf("R\t%d\t%.1f\t%.1f\t%d\t%s\t%d\t%s", cpu.Nanoseconds(), procStatus("VmRSS"), procStatus("VmHWM"), rt, strings.Join(parts, ","), alloc, formatGCs(gcs))
	close(replies)
	writer.Wait()
	return sc.Err()
}

// linesOut writes lines, flushing whenever no more are waiting (after
// letting the goroutines that are about to send one run: fewer, larger
// writes on both sides of the pipe).
func linesOut(w io.Writer, lines <-chan string) {
	bw := bufio.NewWriterSize(w, 64<<10)
	for l := range lines {
		bw.WriteString(l)
		bw.WriteByte('\n')
		if len(lines) == 0 {
			runtime.Gosched()
		}
		if len(lines) == 0 {
			bw.Flush()
		}
	}
	bw.Flush()
}

// childTarget is a loadTarget in a child process.
type childTarget struct {
	cmd     *exec.Cmd
	lines   chan string
	writer  sync.WaitGroup
	mu      sync.Mutex
	waiting map[string]chan childAnswer
	report  chan string
	failed  chan error
}

type childAnswer struct{ button, err string }

// startChild starts `exe loadtest -child` with the environment of this
// process (REDIS_URL included).
func startChild(ctx context.Context, exe, prefix string, cache, convs int, cpuprofile, memprofile string, stderr io.Writer) (*childTarget, error) {
	args := []string{"loadtest", "-child", "-prefix", prefix, "-cache", strconv.Itoa(cache), "-conversations", strconv.Itoa(convs)}
	if cpuprofile != "" {
		args = append(args, "-cpuprofile", cpuprofile)
	}
	if memprofile != "" {
		args = append(args, "-memprofile", memprofile)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "LOG_LEVEL=error", "PARCELBOT_CONFIG=")
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the service process: %w", err)
	}
	t := &childTarget{cmd: cmd, lines: make(chan string, 4096), waiting: map[string]chan childAnswer{}, report: make(chan string, 1), failed: make(chan error, 1)}
	t.writer.Add(1)
	go func() {
		defer t.writer.Done()
		linesOut(stdin, t.lines)
		stdin.Close()
	}()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || sc.Text() != "ready" {
		close(t.lines)
		_ = cmd.Wait()
		return nil, fmt.Errorf("the service process did not start: %v", sc.Err())
	}
	go func() {
		var fields [4]string
		for sc.Scan() {
			f := splitTabs(fields[:0], sc.Text())
			switch f[0] {
			case "A":
				if len(f) != 4 {
					continue
				}
				t.mu.Lock()
				w := t.waiting[f[1]]
				t.mu.Unlock()
				if w != nil {
					w <- childAnswer{f[2], f[3]}
				}
			case "R":
				t.report <- sc.Text()
				return
			}
		}
		t.failed <- fmt.Errorf("the service process ended: %v", sc.Err())
	}()
	return t, nil
}

func (t *childTarget) start() { t.lines <- "S" }

func (t *childTarget) turn(ctx context.Context, m bot.Message) (string, error) {
	t.mu.Lock()
	w := t.waiting[m.Conversation]
	if w == nil {
		w = make(chan childAnswer, 1)
		t.waiting[m.Conversation] = w
	}
	t.mu.Unlock()
	t.lines <- "M\t" + m.Conversation + "\t" + m.ID + "\t" + m.Input.LangHint + "\t" + m.Input.Text + "\t" + m.Input.Button
	select {
	case a := <-w:
		if a.err != "" {
			return "", fmt.Errorf("%s", a.err)
		}
		return a.button, nil
	case err := <-t.failed:
		t.failed <- err
		return "", err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// childReport is what the child measured between S and the end.
type childReport struct {
	cpu      time.Duration
	rss, hwm float64
	rt       int64
	names    map[string]int64
	alloc    uint64  // bytes allocated
	gcs      []int64 // when its garbage collections ended (unix µs)
}

// allocated is the bytes this process has allocated so far.
func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// finish ends the input and returns the child's report.
func (t *childTarget) finish() (childReport, error) {
	close(t.lines)
	t.writer.Wait()
	var r childReport
	var line string
	select {
	case line = <-t.report:
	case err := <-t.failed:
		return r, err
	}
	_ = t.cmd.Wait()
	f := strings.Split(line, "\t")
	if len(f) != 8 {
		return r, fmt.Errorf("bad report %q", line)
	}
	r.gcs = parseGCs(f[7])
	r.alloc, _ = strconv.ParseUint(f[6], 10, 64)
	ns, _ := strconv.ParseInt(f[1], 10, 64)
	r.cpu = time.Duration(ns)
	r.rss, _ = strconv.ParseFloat(f[2], 64)
	r.hwm, _ = strconv.ParseFloat(f[3], 64)
	r.rt, _ = strconv.ParseInt(f[4], 10, 64)
	r.names = map[string]int64{}
	for _, kv := range strings.Split(f[5], ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			r.names[k], _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return r, nil
}

// splitTabs appends line's tab-separated fields to f (the harness's lines:
// no slice allocated per message when f has room).
func splitTabs(f []string, line string) []string {
	for {
		field, rest, ok := strings.Cut(line, "\t")
		f = append(f, field)
		if !ok {
			return f
		}
		line = rest
	}
}
