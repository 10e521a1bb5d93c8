package bot

import (
	"hash/maphash"
	"sync"
)

// stripes serialises work per conversation inside one process: turns of one
// chat never overlap, while different chats run in parallel (two chats may
// share a stripe; that only costs a little parallelism). Arrival order is the
// channel's business (each channel feeds a chat's messages one at a time);
// across processes the store's compare-and-set keeps state consistent.
// Memory is fixed whatever the number of conversations.
type stripes struct {
	seed maphash.Seed
	mu   [1024]sync.Mutex
}

func newStripes() *stripes { return &stripes{seed: maphash.MakeSeed()} }

func (s *stripes) lock(key string) *sync.Mutex {
	m := &s.mu[maphash.String(s.seed, key)%uint64(len(s.mu))]
	m.Lock()
	return m
}
