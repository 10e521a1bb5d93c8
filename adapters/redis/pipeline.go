package redis

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// pipeliner sends the saves of concurrent turns to Redis together: each
// save waits in a queue, and up to max writers each take everything queued
// and send it as one pipeline (one write and one read for the batch,
// instead of one each per save, on both sides). A save is sent at once,
// from the caller's goroutine, when nothing is queued and fewer than max
// are being sent, so a lone save waits for nobody; batches form only
// while the writers are busy, that is under load. A writer waits for work
// for a second before it ends (a goroutine started per save would grow its
// stack each time).
//
// A lazy call (a turn's done mark, when nobody waits for it) starts no
// writer, and lazy calls alone are not sent when a save is answered: they
// go with the next save's pipeline, or after lazyAfter (at 10,000 turns a
// second this took Redis from 1.25 round trips a turn to 0.9). A batch's
// lazy calls land before its savers are answered, so a caller told that
// its save is done finds the marks sent with it done too.
//
// Ordering per conversation is unchanged: a conversation has one turn in
// flight (the service locks it), so two saves of one conversation are
// never in a queue together.
type pipeliner struct {
	rdb    goredis.UniversalClient
	script *goredis.Script
	max    int
	wake   chan struct{} // one token per idle writer woken

	mu        sync.Mutex
	queue     []*scriptCall
	flying    []*scriptCall // lazy calls taken by a writer, not yet answered
	running   int           // writers alive
	idle      int           // of which waiting for work
	armed     bool          // the lazy timer is set
	lazyTimer *time.Timer   // made at the first arming, then reset
	due       bool          // the lazy calls queued are to go now (their wait is over, or a flush)
	lazyAfter time.Duration // lazyAfter; a test holds lazy calls longer
	pool      sync.Pool
}

// scriptCall is one queued command (the save script's EVALSHA, or, with
// hdel, an HDEL) and, once done has a value, its result. Its arguments are
// kept in the call, which is pooled: each string goes to go-redis as a
// *string and each byte slice as a *arg (an encoding.BinaryMarshaler),
// pointers that need no allocation to become an interface value, where a
// string or []byte would take one each per argument and turn.
type scriptCall struct {
	hdel    bool
	lazy    bool // nobody waits: the writer puts it back in the pool
	args    []arg
	cmd     []any  // the command handed to go-redis: pointers into args
	scratch []byte // the bytes of arguments built here (numbers, fields)
	n       int64
	err     error
	done    chan struct{}
}

// arg is one argument of a call: a string, or bytes when bin.
type arg struct {
	s   string
	b   []byte
	bin bool
}

// MarshalBinary gives go-redis an argument's bytes without a copy.
func (a *arg) MarshalBinary() ([]byte, error) { return a.b, nil }

// String is the argument as go-redis reads a key to route a command in a
// Cluster (fmt.Sprint of the argument).
func (a *arg) String() string {
	if a.bin {
		return string(a.b)
	}
	return a.s
}

func (c *scriptCall) str(s string)   { c.args = append(c.args, arg{s: s}) }
func (c *scriptCall) bytes(b []byte) { c.args = append(c.args, arg{b: b, bin: true}) }

// built appends to the call's scratch bytes what add writes and makes it an
// argument.
func (c *scriptCall) built(add func([]byte) []byte) {
	n := len(c.scratch)
	c.scratch = add(c.scratch)
	c.bytes(c.scratch[n:len(c.scratch):len(c.scratch)])
}

// command is the call as go-redis arguments. The args must not change
// (nor grow) until the call is answered.
func (c *scriptCall) command() []any {
	c.cmd = c.cmd[:0]
	for i := range c.args {
		if a := &c.args[i]; a.bin {
			c.cmd = append(c.cmd, a)
		} else {
			c.cmd = append(c.cmd, &a.s)
		}
	}
	return c.cmd
}

// keysAndArgs are the script's keys and arguments of an EVALSHA call, for
// Script.Run (allocated: only after a NOSCRIPT).
func (c *scriptCall) keysAndArgs() ([]string, []any) {
	nk, _ := strconv.Atoi(c.args[2].s)
	var keys []string
	var args []any
	for i := 3; i < len(c.args); i++ {
		a := c.args[i]
		switch {
		case i < 3+nk:
			keys = append(keys, a.String())
		case a.bin:
			args = append(args, slices.Clone(a.b))
		default:
			args = append(args, a.s)
		}
	}
	return keys, args
}

const (
	maxBatch  = 256                    // calls in one pipeline at most
	idleFor   = time.Second            // a writer without work ends after this
	lazyAfter = 500 * time.Microsecond // a lazy call waits this long for company at most
)

func newPipeliner(rdb goredis.UniversalClient, script *goredis.Script, max int) *pipeliner {
	p := &pipeliner{rdb: rdb, script: script, max: max, wake: make(chan struct{}, max), lazyAfter: lazyAfter}
	p.pool.New = func() any { return &scriptCall{done: make(chan struct{}, 1)} }
	return p
}

// get returns a call to fill in; run gives it back.
func (p *pipeliner) get() *scriptCall { return p.pool.Get().(*scriptCall) }

// put clears c and puts it back in the pool: no reference to the caller's
// buffers stays there.
func (p *pipeliner) put(c *scriptCall) {
	clear(c.args)
	clear(c.cmd)
	c.hdel, c.lazy, c.args, c.cmd, c.scratch, c.err = false, false, c.args[:0], c.cmd[:0], c.scratch[:0], nil
	p.pool.Put(c)
}

// evalsha starts c as a call of the script with this sha on nkeys keys;
// the caller adds the keys, then the script's arguments.
func (c *scriptCall) evalsha(sha, nkeys string) {
	c.str("evalsha")
	c.str(sha)
	c.str(nkeys)
}

// hdelPending starts c as the HDEL of the fields "p:"+id and "pf" (an
// input's pending work and its flag) of the key that key appends.
func (c *scriptCall) hdelPending(key func([]byte) []byte, id string) {
	c.hdel = true
	c.str("hdel")
	c.built(key)
	c.built(func(b []byte) []byte { return append(append(b, "p:"...), id...) })
	c.str("pf")
}

// sendCall sends c on its own; an EVALSHA that finds the script gone (a
// restart, a fail-over) is sent again by Script.Run, which loads it.
func sendCall(ctx context.Context, rdb goredis.UniversalClient, script *goredis.Script, c *scriptCall) {
	c.n, c.err = rdb.Do(ctx, c.command()...).Int64()
	reloadIfGone(ctx, rdb, script, c)
}

// reloadIfGone sends c again through Script.Run when its EVALSHA failed
// with NOSCRIPT (the server lost its scripts: a restart, a fail-over).
func reloadIfGone(ctx context.Context, rdb goredis.UniversalClient, script *goredis.Script, c *scriptCall) {
	if c.err != nil && !c.hdel && goredis.HasErrorPrefix(c.err, "NOSCRIPT") {
		keys, args := c.keysAndArgs()
		c.n, c.err = script.Run(ctx, rdb, keys, args...).Int64()
	}
}

// run queues c and waits for its result, also when the caller's context
// ends first: the call's arguments are the caller's buffers, which must
// not be reused while a writer may still send them. The wait is bounded by
// the client's read and write timeouts.
func (p *pipeliner) run(c *scriptCall) (int64, error) {
	p.mu.Lock()
	if len(p.queue) == 0 && p.running-p.idle < p.max {
		// nothing waiting and a writer's place free: send it from here,
		// without handing it to a writer and back
		p.running++
		p.mu.Unlock()
		sendCall(context.Background(), p.rdb, p.script, c)
		p.mu.Lock()
		p.running--
		p.kickLocked()
		p.mu.Unlock()
		n, err := c.n, c.err
		p.put(c)
		return n, err
	}
	p.queue = append(p.queue, c)
	p.startLocked()
	p.mu.Unlock()
	<-c.done
	n, err := c.n, c.err
	p.put(c)
	return n, err
}

// later queues c without waiting for it; its arguments must not be
// buffers the caller reuses.
func (p *pipeliner) later(c *scriptCall) {
	c.lazy = true
	p.mu.Lock()
	p.queue = append(p.queue, c)
	p.armLocked()
	p.mu.Unlock()
}

// armLocked sets the lazy timer, unless it is set: when it fires, the lazy
// calls still queued go.
func (p *pipeliner) armLocked() {
	if p.armed {
		return
	}
	p.armed = true
	if p.lazyTimer == nil {
		p.lazyTimer = time.AfterFunc(p.lazyAfter, p.lazyDue)
	} else {
		p.lazyTimer.Reset(p.lazyAfter) // it fired: armed was false
	}
}

// lazyDue is the lazy timer's function: the lazy calls still queued go.
func (p *pipeliner) lazyDue() {
	p.mu.Lock()
	p.armed = false
	if len(p.queue) > 0 {
		p.due = true
		p.startLocked()
	}
	p.mu.Unlock()
}

// kickLocked starts a writer for what is queued; lazy calls alone wait for
// the next save to go with, or for the lazy timer.
func (p *pipeliner) kickLocked() {
	switch {
	case len(p.queue) == 0:
	case p.due || !p.onlyLazyLocked():
		p.startLocked()
	default:
		p.armLocked()
	}
}

// onlyLazyLocked reports whether every queued call is lazy.
func (p *pipeliner) onlyLazyLocked() bool {
	for _, c := range p.queue {
		if !c.lazy {
			return false
		}
	}
	return true
}

// startLocked wakes an idle writer or starts one, unless max are busy.
func (p *pipeliner) startLocked() {
	switch {
	case p.idle > 0:
		p.idle--
		p.wake <- struct{}{} // never blocks: at most max tokens
	case p.running < p.max:
		p.running++
		go p.write()
	}
}

// write sends batches; when the queue is empty it waits for work for
// idleFor, then ends.
func (p *pipeliner) write() {
	ctx := context.Background()
	var batch, lazies, waiters []*scriptCall
	cmds := make([]*goredis.Cmd, 0, 16)
	pipe := p.rdb.Pipeline() // Exec empties it: one for the writer's life
	timer := time.NewTimer(idleFor)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if len(p.queue) == 0 || (!p.due && p.onlyLazyLocked()) {
			if len(p.queue) > 0 {
				p.armLocked()
			}
			p.idle++
			p.mu.Unlock()
			timer.Reset(idleFor)
			select {
			case <-p.wake:
				continue
			case <-timer.C:
			}
			p.mu.Lock()
			select {
			case <-p.wake: // woken just as the wait ended: work to do
				p.mu.Unlock()
				continue
			default:
			}
			p.idle--
			p.running--
			p.mu.Unlock()
			return
		}
		p.due = false
		n := min(len(p.queue), maxBatch)
		batch = append(batch[:0], p.queue[:n]...)
		rest := copy(p.queue, p.queue[n:])
		clear(p.queue[rest:])
		p.queue = p.queue[:rest]
		for _, c := range batch {
			if c.lazy {
				p.flying = append(p.flying, c)
				lazies = append(lazies, c)
			} else {
				waiters = append(waiters, c)
			}
		}
		p.mu.Unlock()

		if len(batch) == 1 {
			sendCall(ctx, p.rdb, p.script, batch[0])
			p.answer(lazies, waiters)
			lazies, waiters = lazies[:0], waiters[:0]
			continue
		}
		cmds = cmds[:0]
		for _, c := range batch {
			cmds = append(cmds, pipe.Do(ctx, c.command()...))
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		for i, c := range batch {
			c.n, c.err = cmds[i].Int64()
			reloadIfGone(ctx, p.rdb, p.script, c)
		}
		p.answer(lazies, waiters)
		lazies, waiters = lazies[:0], waiters[:0]
		clear(batch)
	}
}

// answer ends a sent batch: the lazy calls land first (a caller told its
// save is done then finds its conversation's mark done too), then each
// waiting caller gets its result.
func (p *pipeliner) answer(lazies, waiters []*scriptCall) {
	if len(lazies) > 0 {
		p.land(lazies)
	}
	for _, c := range waiters {
		c.done <- struct{}{}
	}
	clear(waiters)
}

// land takes lazy calls off the flying list, done, and puts them back.
func (p *pipeliner) land(lazies []*scriptCall) {
	p.mu.Lock()
	p.flying = slices.DeleteFunc(p.flying, func(c *scriptCall) bool { return slices.Contains(lazies, c) })
	p.mu.Unlock()
	for _, c := range lazies {
		p.put(c)
	}
	clear(lazies)
}

// queuedHDel reports whether a lazy HDEL of field on key is queued or
// being sent.
func (p *pipeliner) queuedHDel(key, field string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, list := range [][]*scriptCall{p.queue, p.flying} {
		for _, c := range list {
			if c.hdel && c.lazy && len(c.args) > 2 && string(c.args[1].b) == key && string(c.args[2].b) == field {
				return true
			}
		}
	}
	return false
}

// flush sends what is queued, lazy calls included, and waits until every
// call taken is answered, or ctx ends.
func (p *pipeliner) flush(ctx context.Context) error {
	for {
		p.mu.Lock()
		if len(p.queue) > 0 && p.running-p.idle < p.max {
			p.due = true
			p.startLocked()
		}
		done := len(p.queue) == 0 && len(p.flying) == 0 && p.running == p.idle
		p.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}
