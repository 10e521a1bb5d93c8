package redis

import (
	"context"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// pipeliner sends the saves of concurrent turns to Redis together: each
// save waits in a queue, and up to max writers each take everything queued
// and send it as one pipeline (one write and one read for the batch,
// instead of one each per save, on both sides). A writer is started when a
// save arrives and fewer than max are busy, so a lone save goes at once;
// batches form only while writers are busy, that is under load. A writer
// ends when the queue is empty.
//
// Ordering per conversation is unchanged: a conversation has one turn in
// flight (the service locks it), so two saves of one conversation are
// never in a queue together.
type pipeliner struct {
	rdb    goredis.UniversalClient
	script *goredis.Script
	max    int

	mu      sync.Mutex
	queue   []*scriptCall
	running int
	pool    sync.Pool
}

// scriptCall is one queued call of the script (or, with hdel, an HDEL of
// keys[0] args) and, once done has a value, its result.
type scriptCall struct {
	hdel bool
	keys []string
	args []any
	n    int64
	err  error
	done chan struct{}
}

// maxBatch bounds one pipeline.
const maxBatch = 256

func newPipeliner(rdb goredis.UniversalClient, script *goredis.Script, max int) *pipeliner {
	p := &pipeliner{rdb: rdb, script: script, max: max}
	p.pool.New = func() any { return &scriptCall{done: make(chan struct{}, 1)} }
	return p
}

// get returns a call to fill in; run gives it back.
func (p *pipeliner) get() *scriptCall { return p.pool.Get().(*scriptCall) }

// run queues c and waits for its result, also when ctx ends first: the
// call's arguments are the caller's buffers, which must not be reused while
// a writer may still send them. The wait is bounded by the client's read
// and write timeouts.
func (p *pipeliner) run(c *scriptCall) (int64, error) {
	p.mu.Lock()
	p.queue = append(p.queue, c)
	start := p.running < p.max
	if start {
		p.running++
	}
	p.mu.Unlock()
	if start {
		go p.write()
	}
	<-c.done
	n, err := c.n, c.err
	clear(c.args) // no reference to the caller's buffers stays in the pool
	c.hdel, c.keys, c.args, c.err = false, c.keys[:0], c.args[:0], nil
	p.pool.Put(c)
	return n, err
}

// write sends batches until the queue is empty.
func (p *pipeliner) write() {
	ctx := context.Background()
	var batch []*scriptCall
	cmds := make([]*goredis.Cmd, 0, 16)
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.running--
			p.mu.Unlock()
			return
		}
		n := min(len(p.queue), maxBatch)
		batch = append(batch[:0], p.queue[:n]...)
		rest := copy(p.queue, p.queue[n:])
		clear(p.queue[rest:])
		p.queue = p.queue[:rest]
		p.mu.Unlock()

		if len(batch) == 1 {
			c := batch[0]
			if c.hdel {
				c.n, c.err = p.rdb.Do(ctx, hdelArgs(c)...).Int64()
			} else {
				c.n, c.err = p.script.Run(ctx, p.rdb, c.keys, c.args...).Int64()
			}
			c.done <- struct{}{}
			continue
		}
		pipe := p.rdb.Pipeline()
		cmds = cmds[:0]
		for _, c := range batch {
			if c.hdel {
				cmds = append(cmds, pipe.Do(ctx, hdelArgs(c)...))
			} else {
				cmds = append(cmds, p.script.EvalSha(ctx, pipe, c.keys, c.args...))
			}
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		for i, c := range batch {
			c.n, c.err = cmds[i].Int64()
			if c.err != nil && !c.hdel && goredis.HasErrorPrefix(c.err, "NOSCRIPT") {
				// a server that lost its scripts (a restart, a fail-over):
				// Run loads it again
				c.n, c.err = p.script.Run(ctx, p.rdb, c.keys, c.args...).Int64()
			}
			c.done <- struct{}{}
		}
	}
}

// hdelArgs is the HDEL command of c.
func hdelArgs(c *scriptCall) []any {
	return append([]any{"hdel", c.keys[0]}, c.args...)
}
