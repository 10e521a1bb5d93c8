package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fields parses the key=value pairs of the machine-readable line of name
// (its first key is first).
func fields(t *testing.T, out, name, first string) map[string]string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, name+": "); ok && strings.HasPrefix(rest, first+"=") {
			m := map[string]string{}
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				m[k] = v
			}
			return m
		}
	}
	t.Fatalf("no %s line in:\n%s", name, out)
	return nil
}

func num(t *testing.T, m map[string]string, k string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(m[k], 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", k, m[k], err)
	}
	return v
}

// The load test runs the service in a separate process on a real Redis and
// reports what it measured there: every turn answered, Redis's time for
// the commands sent and its CPU, the service's CPU and memory; under -rate
// also the loadtest-rate line. Without REDIS_URL the service runs beside
// the generator on an in-process Redis, and the Redis figures are unknown.
func TestLoadtestLines(t *testing.T) {
	rs := startRedisServer(t)
	bin := filepath.Join(t.TempDir(), "parcelbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := func(redisURL string, args ...string) string {
		cmd := exec.Command(bin, append([]string{"loadtest", "-conversations", "8", "-duration", "20s", "-turns", "300"}, args...)...)
		cmd.Env = append(os.Environ(), "REDIS_URL="+redisURL, "PARCELBOT_CONFIG=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("loadtest %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tracePath := filepath.Join(t.TempDir(), "trace.txt")
	out := run(fmt.Sprintf("redis://127.0.0.1:%d/0", rs.port), "-rate", "2000", "-trace", tracePath)
	lt := fields(t, out, "loadtest", "conversations")
	if lt["generator"] != "process" || lt["failures"] != "0" || num(t, lt, "turns") < 300 {
		t.Fatalf("separate process: %v", lt)
	}
	for _, k := range []string{"p50_us", "p99_us", "p999_us", "redis_us_per_turn", "redis_cpu_us_per_turn", "cpu_us_per_turn", "rss_mb", "session_bytes"} {
		if num(t, lt, k) <= 0 {
			t.Errorf("%s=%s, want a measured value", k, lt[k])
		}
	}
	if num(t, lt, "p50_us") > num(t, lt, "p99_us") || num(t, lt, "p99_us") > num(t, lt, "p999_us") {
		t.Errorf("quantiles out of order: %v", lt)
	}
	rate := fields(t, out, "loadtest-rate", "offered")
	if rate["offered"] != "2000" || rate["failures"] != "0" || num(t, rate, "achieved") <= 0 {
		t.Fatalf("rate line: %v", rate)
	}
	// the trace holds every measured turn, and its line counts the slow ones
	tr := fields(t, out, "trace", "file")
	b, err := os.ReadFile(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	turns, slow := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var end, us int64
		if n, _ := fmt.Sscanf(line, "turn %d %d", &end, &us); n == 2 {
			turns++
			if us > 5000 {
				slow++
			}
		} else if n, _ := fmt.Sscanf(line, "gc %d", &end); n != 1 {
			t.Fatalf("trace line %q", line)
		}
	}
	if float64(turns) != num(t, lt, "turns") || num(t, tr, "turns") != float64(turns) || num(t, tr, "slow_turns") != float64(slow) {
		t.Fatalf("trace line %v: the file has %d turns, %d slow; the run %v turns", tr, turns, slow, lt["turns"])
	}
	in := fields(t, run(""), "loadtest", "conversations")
	if in["generator"] != "in-process" || in["failures"] != "0" || in["redis_us_per_turn"] != "-1.0" || num(t, in, "cpu_us_per_turn") <= 0 {
		t.Fatalf("in-process: %v", in)
	}
}

// A slow turn is beside a collection when it ended within 50 ms of the
// collection's end, before or after.
func TestTraceCountsSlowTurnsBesideCollections(t *testing.T) {
	gcs := []int64{1_000_000, 3_000_000}
	turns := [][2]int64{
		{960_000, 6_000},   // slow, 40 ms before the first collection's end
		{1_000_500, 100},   // fast
		{1_040_000, 7_000}, // slow, 40 ms after
		{1_200_000, 9_000}, // slow, 200 ms after: not beside
		{3_049_000, 5_001}, // slow, 49 ms after the second
		{3_051_000, 5_000}, // not slow (5 ms is the target)
	}
	tr := traceOf(turns, gcs)
	if tr.slow != 4 || tr.besideGC != 3 {
		t.Fatalf("slow %d, beside a collection %d; want 4 and 3", tr.slow, tr.besideGC)
	}
}

// gcEnds reports the collections since a count, when each ended.
func TestGCEnds(t *testing.T) {
	n := gcCount()
	from := time.Now().UnixMicro()
	runtime.GC()
	runtime.GC()
	to := time.Now().UnixMicro()
	ends := gcEnds(n)
	if len(ends) < 2 {
		t.Fatalf("%d collections reported after two", len(ends))
	}
	for _, e := range ends[len(ends)-2:] {
		if e < from || e > to {
			t.Errorf("a collection ended at %d, outside %d–%d", e, from, to)
		}
	}
	if got := parseGCs(formatGCs(ends)); !slices.Equal(got, ends) {
		t.Errorf("report line round trip: %v, want %v", got, ends)
	}
	if got := parseGCs(formatGCs(nil)); len(got) != 0 {
		t.Errorf("no collections came back as %v", got)
	}
}
