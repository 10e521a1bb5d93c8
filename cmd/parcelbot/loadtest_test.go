package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
	out := run(fmt.Sprintf("redis://127.0.0.1:%d/0", rs.port), "-rate", "2000")
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
	in := fields(t, run(""), "loadtest", "conversations")
	if in["generator"] != "in-process" || in["failures"] != "0" || in["redis_us_per_turn"] != "-1.0" || num(t, in, "cpu_us_per_turn") <= 0 {
		t.Fatalf("in-process: %v", in)
	}
}
