package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// tuneGC sets the garbage collector for a service whose heap is small and
// short-lived (a turn allocates a few KB): GOGC 200 halves the collections
// of the default 100, and a soft memory limit of 90% of the container's
// memory (cgroup v2 memory.max) makes the collector work harder only when
// memory runs short. GOGC and GOMEMLIMIT in the environment win, as the Go
// runtime documents.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if getenv("GOMEMLIMIT") == "" {
		if limit, ok := cgroupMemory("/sys/fs/cgroup/memory.max"); ok {
			debug.SetMemoryLimit(limit / 10 * 9)
		}
	}
}

// cgroupMemory reads a cgroup v2 memory limit ("max": none).
func cgroupMemory(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil && n > 0
}
