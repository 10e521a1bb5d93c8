package bot

import (
	"container/list"
	"sync"
)

// sessionCache keeps the last stored state of recently active
// conversations, so that a turn can skip loading: the save's
// compare-and-set on the version catches a stale copy (another replica
// saved, the session expired or was deleted), and the turn is re-run on the
// fresh state. Its size is bounded: idle conversations fall out and live
// only in Redis.
type sessionCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type cached struct {
	conv    string
	version uint64
	data    []byte
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

// get returns a copy-free view of the cached state; callers must not keep
// data past the next put for conv (turns on one conversation are serial).
func (c *sessionCache) get(conv string) (uint64, []byte, bool) {
	if c == nil || c.max <= 0 {
		return 0, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[conv]
	if !ok {
		return 0, nil, false
	}
	c.ll.MoveToFront(e)
	it := e.Value.(*cached)
	return it.version, it.data, true
}

func (c *sessionCache) put(conv string, version uint64, data []byte) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[conv]; ok {
		it := e.Value.(*cached)
		it.version = version
		it.data = append(it.data[:0], data...)
		c.ll.MoveToFront(e)
		return
	}
	if c.ll.Len() >= c.max {
		// a fresh buffer: a turn of the evicted conversation may still read the old one
		e := c.ll.Back()
		delete(c.items, e.Value.(*cached).conv)
		c.ll.Remove(e)
	}
	c.items[conv] = c.ll.PushFront(&cached{conv: conv, version: version, data: append([]byte(nil), data...)})
}

func (c *sessionCache) drop(conv string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[conv]; ok {
		delete(c.items, conv)
		c.ll.Remove(e)
	}
}
