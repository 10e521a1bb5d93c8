package redis

import (
	"hash/maphash"
	"strings"
	"sync"
	"unsafe"
)

// seenCopies keeps the store's copy of recently saved conversations'
// processed-input ids (the session fields 's' and 'o', see seenCopy) at
// their version. A save at that version checks a repeated input against the
// copy and sends what changes, so the save script neither reads, scans nor
// rebuilds a list: in Redis's Lua every string a script makes is hashed byte
// by byte when it is made, and the list of the last 64 ids was read,
// extended and cut each turn (three strings of about 800 bytes with
// Telegram's update ids). The script's compare-and-set on the version keeps
// the copy exact: a save whose version no longer matches writes nothing, and
// its copy is dropped.
//
// A copy is taken out while its conversation is being saved (take), so that
// its buffers, which the save sends, are the save's alone; the save puts it
// back once the script has answered. Their number is bounded: past max
// copies, an arbitrary other one goes, and that conversation's next save
// reads its ids from Redis first (one HMGET).
type seenCopies struct {
	shards [seenShards]seenShard
	max    int // copies per shard; 0: none kept
}

const seenShards = 16

type seenShard struct {
	mu sync.Mutex
	m  map[string]*seenCopy
}

// seenCopy is a conversation's processed-input ids as stored, in two lists
// of the same layout (a newline, then each id followed by a newline, oldest
// first: "\nu1\nu2\n"; empty when none): recent, the field 's', holds the
// newest ids, at most recentIDs of them, and older, the field 'o', those
// before. A save rewrites the short recent list; once it is full, the next
// save moves it into older (keeping keep-1 ids there), and only that save
// writes older: on average a save sends about a fifth of the 64 ids. So at
// least the last keep ids are remembered, and up to recentIDs-1 more.
//
// The recent list is the field the save script before this layout kept the
// whole list in (with its count 'n'): a replica still running that script
// during a rolling upgrade refuses a repeat of any recent id, and appends to
// the field; a longer recent list is moved into older by the next save here.
type seenCopy struct {
	version uint64
	recent  []byte
	older   []byte
	sums    []uint32   // the ids' hashes, oldest first (older, then recent): a repeat is looked for here
	busy    bool       // being saved (see take); under the shard's lock
	sh      *seenShard // set by take
}

// recentIDs is how many ids the recent list holds at most.
const recentIDs = 8

func newSeenCopies(max int) *seenCopies {
	c := &seenCopies{max: (max + seenShards - 1) / seenShards}
	for i := range c.shards {
		c.shards[i].m = map[string]*seenCopy{}
	}
	return c
}

func (c *seenCopies) shard(conv string) *seenShard {
	return &c.shards[sum32(conv)%seenShards]
}

// seenSeed seeds the ids' hashes (this process's own: they are not stored).
var seenSeed = maphash.MakeSeed()

// sum32 is a hash of s (a repeat is confirmed in the list itself).
func sum32(s string) uint32 { return uint32(maphash.String(seenSeed, s)) }

// take returns conv's copy, marked busy until put or let go: a save sends
// its buffers, so no other save may change them meanwhile. It returns nil
// when there is none, or it is busy (a save of the same conversation from
// elsewhere in this process: that one reads the ids from Redis).
func (c *seenCopies) take(conv string) *seenCopy {
	if c.max <= 0 {
		return nil
	}
	sh := c.shard(conv)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cp := sh.m[conv]
	if cp == nil || cp.busy {
		return nil
	}
	cp.busy, cp.sh = true, sh
	return cp
}

// put keeps cp, a copy made from Redis, as conv's copy, unless another
// save of conv holds the one kept (that save's is the newer).
func (c *seenCopies) put(conv string, cp *seenCopy) {
	if c.max <= 0 {
		return
	}
	sh := c.shard(conv)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cp.busy = false
	switch cur := sh.m[conv]; {
	case cur == cp, cur != nil && cur.busy:
	case cur != nil:
		sh.m[conv] = cp
	default:
		if len(sh.m) >= c.max {
			for k, o := range sh.m { // an arbitrary one, map order, not being saved
				if !o.busy {
					delete(sh.m, k)
					break
				}
			}
		}
		sh.m[conv] = cp
	}
}

// keep ends a save of cp, a copy take returned: it stays conv's copy (if
// it still is: an erasure may have dropped it meanwhile). No map lookup: the
// copy's own shard is locked.
func (c *seenCopies) keep(cp *seenCopy) {
	cp.sh.mu.Lock()
	cp.busy = false
	cp.sh.mu.Unlock()
}

// letGo forgets cp, conv's copy, after a save that failed.
func (c *seenCopies) letGo(conv string, cp *seenCopy) { c.remove(conv, cp) }

// drop forgets conv's copy (the conversation was deleted).
func (c *seenCopies) drop(conv string) { c.remove(conv, nil) }

// remove forgets conv's copy; when only is set, only if it is that one.
func (c *seenCopies) remove(conv string, only *seenCopy) {
	if c.max <= 0 {
		return
	}
	sh := c.shard(conv)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if cur := sh.m[conv]; cur != nil && (only == nil || cur == only) {
		delete(sh.m, conv)
	}
}

// contains reports whether id is one of the copy's ids.
func (cp *seenCopy) contains(id string) bool {
	if id == "" || strings.IndexByte(id, '\n') >= 0 {
		return false
	}
	h := sum32(id)
	for _, x := range cp.sums {
		if x == h {
			return listContains(cp.recent, id) || listContains(cp.older, id)
		}
	}
	return false
}

// resum makes the hashes from the lists.
func (cp *seenCopy) resum() {
	cp.sums = cp.sums[:0]
	for _, l := range [][]byte{cp.older, cp.recent} {
		for len(l) > 1 {
			l = l[1:] // the newline before an id
			i := strings.IndexByte(unsafe.String(unsafe.SliceData(l), len(l)), '\n')
			cp.sums = append(cp.sums, sum32(unsafe.String(unsafe.SliceData(l), i)))
			l = l[i:]
		}
	}
}

// listContains reports whether id (not empty, without a newline) is in list.
func listContains(list []byte, id string) bool {
	// a read-only view of the list: it does not change during the call
	l := unsafe.String(unsafe.SliceData(list), len(list))
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

// add appends id, in place, to the recent list; when that was full, it is
// first moved into older, which keeps its newest keep-1 ids (moved reports
// it: older is then to be written too). n is the number of recent ids.
func (cp *seenCopy) add(id string, keep int) (n int, moved bool) {
	if n = count(cp.recent); n >= min(recentIDs, keep) {
		if len(cp.older) == 0 {
			cp.older = append(cp.older, '\n')
		}
		if need := len(cp.older) + len(cp.recent); cap(cp.older) < need {
			// sized to the list, not doubled: a copy is kept per conversation
			cp.older = append(make([]byte, 0, need+need/8), cp.older...)
		}
		cp.older = append(cp.older, cp.recent[1:]...)
		cp.older = cut(cp.older, keep-1)
		cp.recent, n, moved = cp.recent[:0], 0, true
		cp.resum()
	}
	if len(cp.recent) == 0 {
		cp.recent = append(cp.recent, '\n')
	}
	cp.recent = append(append(cp.recent, id...), '\n')
	cp.sums = append(cp.sums, sum32(id))
	return n + 1, moved
}

// count is the number of ids in a list.
func count(l []byte) int {
	if len(l) == 0 {
		return 0
	}
	return strings.Count(unsafe.String(unsafe.SliceData(l), len(l)), "\n") - 1
}

// cut drops the oldest ids of a list beyond keep, in place.
func cut(l []byte, keep int) []byte {
	drop := count(l) - keep
	if drop <= 0 {
		return l
	}
	i := 0 // the newline that ends the last id dropped
	for ; drop > 0; drop-- {
		i += 1 + strings.IndexByte(unsafe.String(unsafe.SliceData(l[i+1:]), len(l)-i-1), '\n')
	}
	if keep <= 0 {
		return l[:0]
	}
	return l[:1+copy(l[1:], l[i+1:])]
}
