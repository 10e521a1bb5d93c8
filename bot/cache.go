package bot

import (
	"container/list"
	"sync"

	"github.com/parcelbot/parcelbot/dialog"
)

// sessionCache keeps the last stored state of recently active
// conversations, decoded, so that a turn can skip loading and decoding:
// the save's compare-and-set on the version catches a stale copy (another
// replica saved, the session expired or was deleted), and the turn is
// re-run on the fresh state. Its size is bounded: idle conversations fall
// out and live only in Redis. A state is copied in and out
// (dialog.State.CopyTo), so a turn never changes the cached one. A
// conversation's entry is read and written only by its own turns, which
// the service runs one at a time (Service.locks): the copies are made
// outside mu, which guards the list and the map, not the states.
type sessionCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type cached struct {
	conv    string
	version uint64
	st      dialog.State // shares no list with a turn's state (CopyTo both ways)
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

// get copies conv's cached state into st and returns its version; ok is
// false when the conversation is not cached (st is then unchanged).
func (c *sessionCache) get(conv string, st *dialog.State) (version uint64, ok bool) {
	if c == nil || c.max <= 0 {
		return 0, false
	}
	c.mu.Lock()
	e, ok := c.items[conv]
	if ok {
		c.ll.MoveToFront(e)
	}
	c.mu.Unlock()
	if !ok {
		return 0, false
	}
	it := e.Value.(*cached)
	it.st.CopyTo(st)
	return it.version, true
}

// put caches a copy of st, stored under version.
func (c *sessionCache) put(conv string, version uint64, st *dialog.State) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	e, ok := c.items[conv]
	if ok {
		c.ll.MoveToFront(e)
	}
	c.mu.Unlock()
	if ok {
		it := e.Value.(*cached)
		it.version = version
		st.CopyTo(&it.st)
		return
	}
	it := &cached{conv: conv, version: version}
	st.CopyTo(&it.st)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ll.Len() >= c.max {
		e := c.ll.Back()
		delete(c.items, e.Value.(*cached).conv)
		c.ll.Remove(e)
	}
	c.items[conv] = c.ll.PushFront(it)
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
