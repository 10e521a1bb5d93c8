package redis

import (
	"strings"
	"sync"
	"unsafe"
)

// seenCopies keeps the store's copy of recently saved conversations'
// processed-input lists (the session field 's') at their version. A save at
// that version checks a repeated input against the copy and sends the new
// list whole, so the save script neither reads, scans nor rebuilds the
// list: in Redis's Lua every string a script makes is hashed byte by byte
// when it is made, and the list was read, extended and cut each turn (three
// strings of up to 64 ids, about 800 bytes with Telegram's update ids). The
// script's compare-and-set on the version keeps the copy exact: a save whose
// version no longer matches writes nothing, and its copy is dropped.
//
// A copy is taken out while its conversation is being saved (take), so that
// its buffer, which the save sends, is the save's alone; the save puts it
// back once the script has answered. Its size is bounded: past max copies, an
// arbitrary other one goes, and that conversation's next save reads its list
// from Redis first (one HMGET).
type seenCopies struct {
	shards [seenShards]seenShard
	max    int // copies per shard; 0: none kept
}

const seenShards = 16

type seenShard struct {
	mu sync.Mutex
	m  map[string]*seenCopy
}

// seenCopy is a conversation's processed-input list as stored: a newline,
// then each id followed by a newline, oldest first ("\nu1\nu2\n"); empty
// when none.
type seenCopy struct {
	version uint64
	list    []byte
}

func newSeenCopies(max int) *seenCopies {
	c := &seenCopies{max: (max + seenShards - 1) / seenShards}
	for i := range c.shards {
		c.shards[i].m = map[string]*seenCopy{}
	}
	return c
}

func (c *seenCopies) shard(conv string) *seenShard {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(conv); i++ {
		h = (h ^ uint32(conv[i])) * 16777619
	}
	return &c.shards[h%seenShards]
}

// take removes conv's copy and returns it; nil when there is none.
func (c *seenCopies) take(conv string) *seenCopy {
	if c.max <= 0 {
		return nil
	}
	sh := c.shard(conv)
	sh.mu.Lock()
	cp := sh.m[conv]
	if cp != nil {
		delete(sh.m, conv)
	}
	sh.mu.Unlock()
	return cp
}

// put keeps cp as conv's copy (replacing one put meanwhile).
func (c *seenCopies) put(conv string, cp *seenCopy) {
	if c.max <= 0 {
		return
	}
	sh := c.shard(conv)
	sh.mu.Lock()
	if _, ok := sh.m[conv]; !ok && len(sh.m) >= c.max {
		for k := range sh.m { // an arbitrary one: map order
			delete(sh.m, k)
			break
		}
	}
	sh.m[conv] = cp
	sh.mu.Unlock()
}

// drop forgets conv's copy.
func (c *seenCopies) drop(conv string) { c.take(conv) }

// contains reports whether id is in the list.
func (cp *seenCopy) contains(id string) bool {
	if id == "" || len(cp.list) == 0 || strings.IndexByte(id, '\n') >= 0 {
		return false
	}
	// a read-only view of the list: it does not change during the call
	l := unsafe.String(unsafe.SliceData(cp.list), len(cp.list))
	for {
		i := strings.Index(l, id)
		if i < 0 {
			return false
		}
		// the list starts with a newline and ends with one
		if i > 0 && l[i-1] == '\n' && i+len(id) < len(l) && l[i+len(id)] == '\n' {
			return true
		}
		l = l[i+1:]
	}
}

// last is the list's newest id ("" when empty).
func (cp *seenCopy) last() []byte {
	l := cp.list
	if len(l) < 2 {
		return nil
	}
	l = l[:len(l)-1]
	i := len(l) - 1
	for i >= 0 && l[i] != '\n' {
		i--
	}
	return l[i+1:]
}

// add appends id and drops the oldest ids beyond keep, in place; it returns
// the number of ids in the list.
func (cp *seenCopy) add(id string, keep int) int {
	if len(cp.list) == 0 {
		cp.list = append(cp.list, '\n')
	}
	cp.list = append(append(cp.list, id...), '\n')
	n := 0
	for _, b := range cp.list[1:] {
		if b == '\n' {
			n++
		}
	}
	for ; n > keep; n-- {
		// drop the oldest: keep from the newline that ends it
		i := 1
		for cp.list[i] != '\n' {
			i++
		}
		cp.list = cp.list[:1+copy(cp.list[1:], cp.list[i+1:])]
	}
	return n
}
