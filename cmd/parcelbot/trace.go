package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// The load test's trace (-trace): each measured turn's end and latency,
// and the end of each of the service's garbage collections, to see whether
// the slow turns sit on the collections (docs/performance.md).

const (
	traceSlowUS   = 5_000  // a slow turn: the open loop's p99 target
	traceBesideUS = 50_000 // a turn ending this near a collection's end is beside it
)

// gcCount is the number of garbage collections this process has completed.
func gcCount() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

// gcEnds returns when the collections after the first since ended (unix
// µs, the end of each one's last pause; the runtime keeps the last 256).
func gcEnds(since uint32) []int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ends []int64
	for n := ms.NumGC; n > since && ms.NumGC-n < uint32(len(ms.PauseEnd)); n-- {
		ends = append(ends, int64(ms.PauseEnd[(n+uint32(len(ms.PauseEnd))-1)%uint32(len(ms.PauseEnd))]/1000))
	}
	slices.Sort(ends)
	return ends
}

// formatGCs and parseGCs carry gcEnds in the child's report line.
func formatGCs(ends []int64) string {
	if len(ends) == 0 {
		return "-"
	}
	parts := make([]string, len(ends))
	for i, e := range ends {
		parts[i] = strconv.FormatInt(e, 10)
	}
	return strings.Join(parts, ",")
}

func parseGCs(s string) []int64 {
	var ends []int64
	for _, p := range strings.Split(s, ",") {
		if e, err := strconv.ParseInt(p, 10, 64); err == nil {
			ends = append(ends, e)
		}
	}
	return ends
}

// loadTrace is a run's trace and what it shows.
type loadTrace struct {
	turns          [][2]int64 // end (unix µs), latency (µs), by end
	gcs            []int64    // collections' ends (unix µs), sorted
	slow, besideGC int        // turns over traceSlowUS; of them, ending beside a collection
}

func traceOf(turns [][2]int64, gcs []int64) loadTrace {
	t := loadTrace{turns: turns, gcs: gcs}
	for _, turn := range turns {
		if turn[1] <= traceSlowUS {
			continue
		}
		t.slow++
		i, _ := slices.BinarySearch(gcs, turn[0])
		beside := i < len(gcs) && gcs[i]-turn[0] <= traceBesideUS
		beside = beside || (i > 0 && turn[0]-gcs[i-1] <= traceBesideUS)
		if beside {
			t.besideGC++
		}
	}
	return t
}

// write writes the trace: "turn <end µs> <latency µs>" and "gc <end µs>"
// lines, by time.
func (t loadTrace) write(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	w := bufio.NewWriter(f)
	g := 0
	for _, turn := range t.turns {
		for ; g < len(t.gcs) && t.gcs[g] <= turn[0]; g++ {
			fmt.Fprintf(w, "gc %d\n", t.gcs[g])
		}
		fmt.Fprintf(w, "turn %d %d\n", turn[0], turn[1])
	}
	for ; g < len(t.gcs); g++ {
		fmt.Fprintf(w, "gc %d\n", t.gcs[g])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("trace: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	return nil
}
