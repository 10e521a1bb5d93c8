// Package redis keeps parcelbot's conversation state and records in Redis
// through go-redis's UniversalClient (a single server, Sentinel or Cluster).
// Each conversation is one hash, <prefix>s:{<conversation>}, with fields v
// (the version: random for a new session, see firstVersion), d (the
// encoded dialog state), s and o (the ids of the last inputs processed,
// the newest few and those before, see seenCopy; n the count in s) and
// p:<input id> (a stored turn's work not yet carried out), which expires
// after the idle TTL, and a transcript
// list <prefix>t:{<conversation>} kept for the transcript retention after
// the last message. The braces put both keys in one Cluster hash slot.
// Saving is one Lua script: a compare-and-set on v that writes the state,
// the processed ids and the pending work and appends the transcript
// (trimmed only when it outgrows its cap). Whether an input was processed
// already is decided here against the store's copy of the list at the
// version the save expects (seenCopies); the compare-and-set makes that
// copy exact. A turn costs one round trip when the service holds a copy of
// the session (EVALSHA to save), two otherwise (HMGET to load first).
package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
)

// Options configure a Store.
type Options struct {
	Prefix        string           // key prefix, default "parcelbot:"
	IdleTTL       time.Duration    // a conversation untouched this long is forgotten, default 30 days
	Seen          int              // input ids remembered per conversation, default 64 (up to 7 more)
	TranscriptTTL time.Duration    // transcripts are kept this long after the last message, default 90 days
	TranscriptMax int              // lines kept per conversation, default 200 (up to an eighth more between two trims)
	Now           func() time.Time // the clock that decides when the TTLs are renewed; default time.Now
	// Pipelines is how many pipelines of concurrent saves may be in flight
	// at once (see pipeliner), default 4; -1 sends each save on its own.
	Pipelines int
	// Copies is how many recently saved conversations' processed-input
	// lists the store keeps a copy of (see seenCopies), default 10,000 (the
	// service's session cache); -1 none: each save then reads the list
	// first.
	Copies int
}

// Store is a bot.SessionStore on Redis.
type Store struct {
	rdb    goredis.UniversalClient
	prefix string
	period int64 // ms: the TTLs are renewed once in each
	now    func() time.Time
	keep   int // processed ids remembered
	script *goredis.Script
	sha    string
	pipe   *pipeliner // nil: each save on its own
	seen   *seenCopies
}

// saveSrc is the save script; the TTLs and the transcript's cap are
// written into it (saveScript). KEYS[1] session, KEYS[2] transcript; ARGV:
// [1] the expected version ("0": none), [2] the new version, [3] the state,
// [4] the recent processed ids after this save ('s', see seenCopy; "" when
// unchanged), [5] their count ('n'), [6] the older ids ('o'; "" when
// unchanged), [7] the field of this input's pending work ("" when none),
// [8] the pending work, [9] the current TTL period, then the transcript
// lines.
// It returns 1, or -2 for a version conflict (then nothing is written).
//
// Every value goes in as the caller made it, and none is built here: in
// Redis's Lua each string a script makes, arguments included, is interned
// (and hashed), and a number written to Redis is formatted with snprintf.
// Each argument costs about 2,000 instructions of Redis's (parsing it,
// making it a Lua string, putting it in ARGV, making it a Redis string
// again), more than its bytes do: see docs/performance.md.
//
// The pending work is the field 'p:<input id>', with the flag 'pf' naming
// it; MarkDone deletes both with a plain HDEL. A save that finds the flag
// deletes the field it names, work whose mark was lost, and the field 'p'
// of the layout before ("<input id>\n<work>"). A flag '1' is of the layouts
// before 8 December, which named no field: then every 'p:' field goes.
// (Should a mark delete the flag of a newer turn of the same conversation,
// a race of two replicas, that turn's work stays until the session expires
// if its own mark is lost: Load still finds work by input id, so nothing is
// repeated that was done.)
const saveSrc = `
local cur = redis.call('HMGET', KEYS[1], 'v', 'pf', 'x')
if (cur[1] or '0') ~= ARGV[1] then return -2 end
if cur[2] then
  if cur[2] == '1' then
    for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
      if string.sub(f, 1, 2) == 'p:' then redis.call('HDEL', KEYS[1], f) end
    end
  end
  redis.call('HDEL', KEYS[1], 'p', 'pf', cur[2])
end
-- the TTLs are renewed once a period (ARGV[9]): 'x' is the last period
-- both were, so it is set only by a save that appends to the transcript
local renew = cur[3] ~= ARGV[9]
if ARGV[4] == '' then
  if ARGV[7] == '' then
    redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
  else
    redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], ARGV[7], ARGV[8], 'pf', ARGV[7])
  end
elseif ARGV[7] == '' then
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 's', ARGV[4], 'n', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 's', ARGV[4], 'n', ARGV[5], ARGV[7], ARGV[8], 'pf', ARGV[7])
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'o', ARGV[6])
end
if renew and #ARGV > 9 then
  redis.call('HSET', KEYS[1], 'x', ARGV[9])
end
if renew then
  redis.call('PEXPIRE', KEYS[1], '%[1]d')
end
if #ARGV > 9 then
  local len = redis.call('RPUSH', KEYS[2], unpack(ARGV, 10))
  if len > %[3]d then
    redis.call('LTRIM', KEYS[2], '-%[4]d', '-1')
  end
  if renew or len == #ARGV - 9 then -- a new list has no TTL yet
    redis.call('PEXPIRE', KEYS[2], '%[2]d')
  end
end
return 1
`

// saveScript is the save script with the session's TTL, the transcript's
// TTL and the transcript's cap (ms, ms, lines) written in.
func saveScript(ttl, transcriptTTL time.Duration, transcriptMax int) *goredis.Script {
	return goredis.NewScript(fmt.Sprintf(saveSrc, ttl.Milliseconds(), transcriptTTL.Milliseconds(),
		transcriptMax+transcriptMax/8, transcriptMax))
}

// NewStore returns a store on rdb.
func NewStore(rdb goredis.UniversalClient, o Options) *Store {
	if o.Prefix == "" {
		o.Prefix = "parcelbot:"
	}
	if o.IdleTTL <= 0 {
		o.IdleTTL = 30 * 24 * time.Hour
	}
	if o.Seen <= 0 {
		o.Seen = 64
	}
	if o.TranscriptTTL <= 0 {
		o.TranscriptTTL = 90 * 24 * time.Hour
	}
	if o.TranscriptMax <= 0 {
		o.TranscriptMax = 200
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// the TTLs are renewed once a period (a thirtieth of the idle TTL: a day
	// for 30 days) and set a period longer, so a session lives at least the
	// idle TTL after its last turn and at most a period more
	period := max(o.IdleTTL/30, time.Second)
	script := saveScript(o.IdleTTL+period, o.TranscriptTTL+period, o.TranscriptMax)
	s := &Store{rdb: rdb, prefix: o.Prefix, period: period.Milliseconds(), now: o.Now, keep: o.Seen,
		script: script, sha: script.Hash()}
	if o.Pipelines == 0 {
		o.Pipelines = 4
	}
	if o.Pipelines > 0 {
		s.pipe = newPipeliner(rdb, script, o.Pipelines)
	}
	if o.Copies == 0 {
		o.Copies = 10000
	}
	s.seen = newSeenCopies(o.Copies)
	return s
}

// A conversation's keys: its session and its transcript, in one hash slot.
const (
	sessionKey    = "s:{"
	transcriptKey = "t:{"
)

func (s *Store) key(conv string) string  { return s.prefix + sessionKey + conv + "}" }
func (s *Store) tkey(conv string) string { return s.prefix + transcriptKey + conv + "}" }

// appendKey appends key(conv) (kind sessionKey) or tkey(conv) (kind
// transcriptKey) to b, for a pipelined call, without a string.
func (s *Store) appendKey(b []byte, kind, conv string) []byte {
	return append(append(append(append(b, s.prefix...), kind...), conv...), '}')
}

// call returns a call to build: pooled when saves are pipelined.
func (s *Store) call() *scriptCall {
	if s.pipe != nil {
		return s.pipe.get()
	}
	return &scriptCall{}
}

// do sends c, with other turns' calls when saves are pipelined, and waits
// for its result.
func (s *Store) do(ctx context.Context, c *scriptCall) (int64, error) {
	if s.pipe != nil {
		return s.pipe.run(c)
	}
	sendCall(ctx, s.rdb, s.script, c)
	return c.n, c.err
}

// Load implements bot.SessionStore.
func (s *Store) Load(ctx context.Context, conv, inputID string) (bot.Session, error) {
	fields := []string{"v", "d", "s", "o", "p"}
	if inputID != "" {
		fields = append(fields, "p:"+inputID)
	}
	vals, err := s.rdb.HMGet(ctx, s.key(conv), fields...).Result()
	if err != nil {
		return bot.Session{}, fmt.Errorf("redis load %s: %w", conv, err)
	}
	cp, err := seenCopyOf(conv, vals[0], vals[2], vals[3])
	if err != nil {
		return bot.Session{}, fmt.Errorf("redis load %s: %w", conv, err)
	}
	sess := bot.Session{Version: cp.version}
	if d, ok := vals[1].(string); ok {
		sess.Data = []byte(d)
	}
	if inputID != "" {
		sess.Seen = cp.contains(inputID)
	}
	s.seen.put(conv, cp)
	if !sess.Seen {
		return sess, nil
	}
	if work, ok := vals[5].(string); ok {
		sess.Pending = []byte(work)
	} else if p, ok := vals[4].(string); ok { // the layout before
		if id, work, found := strings.Cut(p, "\n"); found && id == inputID {
			sess.Pending = []byte(work)
		}
	}
	return sess, nil
}

// MarkDone implements bot.SessionStore: HDEL of the input's pending field,
// sent with other turns' saves.
func (s *Store) MarkDone(ctx context.Context, conv, inputID string) error {
	c := s.call()
	c.hdelPending(func(b []byte) []byte { return s.appendKey(b, sessionKey, conv) }, inputID)
	if _, err := s.do(ctx, c); err != nil {
		return fmt.Errorf("redis mark done %s: %w", conv, err)
	}
	return nil
}

// Save implements bot.SessionStore.
func (s *Store) Save(ctx context.Context, conv string, expect uint64, data []byte, inputID string, transcript [][]byte, pending []byte) (uint64, error) {
	if strings.ContainsAny(inputID, "\n") {
		return 0, fmt.Errorf("redis save %s: input id contains a newline", conv)
	}
	cp := s.seen.take(conv) // the save's own until it is answered
	if cp != nil && cp.version != expect {
		s.seen.letGo(conv, cp) // stale, or the caller's copy is
		cp = nil
	}
	taken := cp != nil
	switch {
	case cp != nil:
	case expect == 0:
		// a new conversation has no list; should it exist after all, the
		// compare-and-set refuses the save
		cp = &seenCopy{}
	default:
		var err error
		if cp, err = s.loadSeen(ctx, conv); err != nil {
			return 0, fmt.Errorf("redis save %s: %w", conv, err)
		}
	}
	done := func() {
		if taken {
			s.seen.keep(cp)
		} else {
			s.seen.put(conv, cp)
		}
	}
	if inputID != "" && cp.contains(inputID) {
		done()
		return 0, bot.ErrDuplicate
	}
	if cp.version != expect {
		done()
		return 0, bot.ErrConflict
	}
	next := expect + 1
	if expect == 0 {
		next = firstVersion()
	}
	c := s.call()
	c.evalsha(s.sha, "2")
	c.built(func(b []byte) []byte { return s.appendKey(b, sessionKey, conv) })
	c.built(func(b []byte) []byte { return s.appendKey(b, transcriptKey, conv) })
	c.built(func(b []byte) []byte { return strconv.AppendUint(b, expect, 10) })
	c.built(func(b []byte) []byte { return strconv.AppendUint(b, next, 10) })
	c.bytes(data)
	if inputID == "" {
		c.str("")
		c.str("")
		c.str("")
	} else {
		// the lists change in place: cp is dropped if the save fails
		n, moved := cp.add(inputID, s.keep)
		c.bytes(cp.recent)
		c.built(func(b []byte) []byte { return strconv.AppendInt(b, int64(n), 10) })
		switch {
		case !moved:
			c.str("")
		case len(cp.older) == 0:
			c.str("\n") // an empty list (keep 1)
		default:
			c.bytes(cp.older)
		}
	}
	if inputID == "" || len(pending) == 0 {
		c.str("")
		c.str("")
	} else {
		c.built(func(b []byte) []byte { return append(append(b, "p:"...), inputID...) })
		c.bytes(pending)
	}
	c.built(func(b []byte) []byte { return strconv.AppendInt(b, s.now().UnixMilli()/s.period, 10) })
	for _, l := range transcript {
		c.bytes(l)
	}
	n, err := s.do(ctx, c)
	if err != nil {
		s.seen.letGo(conv, cp)
		return 0, fmt.Errorf("redis save %s: %w", conv, err)
	}
	if n == -2 {
		s.seen.letGo(conv, cp)
		return 0, bot.ErrConflict
	}
	cp.version = next
	done()
	return next, nil
}

// firstVersion is the version of a new session: a random number, not 1.
// A replica's copy of a session (the service's cache, the store's copy of
// its ids) is trusted while its version matches the stored one; were a
// session erased (/forget) or expired and begun again from 1, a copy of
// the old one would match the new one's version after as many turns, and
// its save would bring the forgotten state back. Random, the new
// session's versions meet an old copy's with a chance of about one in
// 2^39. They stay below 2^40 (and any number of turns after): the save
// script of the release before counts versions in Lua's doubles, and
// Redis writes a Lua number as an integer only while it is exact, so a
// replica still running it during a rolling upgrade goes on counting them.
func firstVersion() uint64 {
	return 1<<20 + rand.Uint64N(1<<39)
}

// loadSeen reads conv's version and processed-input list (a save with no
// copy of them at the version it expects).
func (s *Store) loadSeen(ctx context.Context, conv string) (*seenCopy, error) {
	vals, err := s.rdb.HMGet(ctx, s.key(conv), "v", "s", "o").Result()
	if err != nil {
		return nil, err
	}
	return seenCopyOf(conv, vals[0], vals[1], vals[2])
}

// seenCopyOf makes a copy of the ids from the values of the fields v, s and
// o as HMGET returns them.
func seenCopyOf(conv string, v, recent, older any) (*seenCopy, error) {
	cp := &seenCopy{}
	if v, ok := v.(string); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad version %q of %s", v, conv)
		}
		cp.version = n
	}
	if l, ok := recent.(string); ok && l != "\n" {
		cp.recent = []byte(l)
	}
	if l, ok := older.(string); ok && l != "\n" {
		cp.older = []byte(l)
	}
	cp.resum()
	return cp, nil
}

// MarkDoneLater implements bot.LazyDoner: the mark goes with the next
// pipeline of saves, or within half a millisecond.
func (s *Store) MarkDoneLater(conv, inputID string) {
	if s.pipe == nil {
		_ = s.MarkDone(context.Background(), conv, inputID)
		return
	}
	c := s.pipe.get()
	c.hdelPending(func(b []byte) []byte { return s.appendKey(b, sessionKey, conv) }, inputID)
	s.pipe.later(c)
}

// Flush writes the done marks still on their way (at shutdown, before the
// client is closed).
func (s *Store) Flush(ctx context.Context) error {
	if s.pipe == nil {
		return nil
	}
	if err := s.pipe.flush(ctx); err != nil {
		return fmt.Errorf("redis flush: %w", err)
	}
	return nil
}

// MarkingDone implements bot.LazyDoner.
func (s *Store) MarkingDone(conv, inputID string) bool {
	return s.pipe != nil && s.pipe.queuedHDel(s.key(conv), "p:"+inputID)
}

// Transcript implements bot.SessionStore.
func (s *Store) Transcript(ctx context.Context, conv string, n int) ([]string, error) {
	lines, err := s.rdb.LRange(ctx, s.tkey(conv), int64(-n), -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis transcript %s: %w", conv, err)
	}
	return lines, nil
}

// Delete implements bot.SessionStore.
func (s *Store) Delete(ctx context.Context, conv string) error {
	s.seen.drop(conv)
	if err := s.rdb.Del(ctx, s.key(conv), s.tkey(conv)).Err(); err != nil {
		return fmt.Errorf("redis delete %s: %w", conv, err)
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// protocol is RESP2 for every client: parcelbot uses no RESP3 feature
// (push notifications, client-side caching), and with RESP3 go-redis peeks
// for pending push notifications around every command (5% of the CPU of a
// load test's service process).
const protocol = 2

// Connect returns a client for url, or, when url is empty, a client of an
// in-process miniredis that close stops:
//
//	redis://[:password@]host:6379/0        one server (rediss:// for TLS)
//	redis-sentinel://h1:26379,h2:26379/mymaster[?db=0&password=...]   Sentinel
//	h1:6379,h2:6379,h3:6379               Cluster
func Connect(url string) (rdb goredis.UniversalClient, close func(), err error) {
	if rest, ok := strings.CutPrefix(url, "redis-sentinel://"); ok {
		hosts, tail, _ := strings.Cut(rest, "/")
		master, query, _ := strings.Cut(tail, "?")
		if hosts == "" || master == "" {
			return nil, nil, errors.New("REDIS_URL: redis-sentinel://host:26379,host:26379/<master name>")
		}
		opts := &goredis.UniversalOptions{Addrs: strings.Split(hosts, ","), MasterName: master, Protocol: protocol}
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "db":
				opts.DB, _ = strconv.Atoi(v)
			case "password":
				opts.Password = v
			case "sentinel_password":
				opts.SentinelPassword = v
			}
		}
		c := goredis.NewUniversalClient(opts)
		return c, func() { c.Close() }, nil
	}
	return connect(url)
}

func connect(url string) (rdb goredis.UniversalClient, close func(), err error) {
	if url == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return nil, nil, fmt.Errorf("start in-process redis: %w", err)
		}
		c := goredis.NewClient(&goredis.Options{Addr: mr.Addr(), Protocol: protocol})
		return c, func() { c.Close(); mr.Close() }, nil
	}
	if rest, ok := strings.CutPrefix(url, "redis+cluster://"); ok {
		// redis+cluster://[user:password@]host:port[,host:port...]
		opts := &goredis.ClusterOptions{Protocol: protocol}
		if cred, hosts, ok := strings.Cut(rest, "@"); ok {
			user, pass, _ := strings.Cut(cred, ":")
			opts.Username, opts.Password, rest = user, pass, hosts
		}
		rest, _, _ = strings.Cut(rest, "/")
		for _, a := range strings.Split(rest, ",") {
			if a != "" {
				opts.Addrs = append(opts.Addrs, a)
			}
		}
		if len(opts.Addrs) == 0 {
			return nil, nil, errors.New("REDIS_URL: redis+cluster://host:port[,host:port...]")
		}
		c := goredis.NewClusterClient(opts)
		return c, func() { c.Close() }, nil
	}
	var opts *goredis.UniversalOptions
	if strings.Contains(url, "://") {
		o, err := goredis.ParseURL(url)
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		opts = &goredis.UniversalOptions{Addrs: []string{o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig, Protocol: protocol}
	} else {
		opts = &goredis.UniversalOptions{Addrs: strings.Split(url, ","), Protocol: protocol}
	}
	if len(opts.Addrs) == 0 || opts.Addrs[0] == "" {
		return nil, nil, errors.New("REDIS_URL: no address")
	}
	if len(opts.Addrs) == 1 && isClusterNode(opts) {
		// one node of a cluster: a plain client would fail with MOVED on
		// every key another node owns
		opts.IsClusterMode = true
	}
	c := goredis.NewUniversalClient(opts)
	return c, func() { c.Close() }, nil
}

// isClusterNode asks a single address whether it is a node of a Redis
// Cluster (INFO cluster: cluster_enabled:1). A server that does not answer
// is taken as a plain one; the store reports it as unavailable later.
func isClusterNode(opts *goredis.UniversalOptions) bool {
	c := goredis.NewClient(&goredis.Options{Addr: opts.Addrs[0], Username: opts.Username, Password: opts.Password, TLSConfig: opts.TLSConfig,
		DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "cluster").Result()
	return err == nil && strings.Contains(info, "cluster_enabled:1")
}

// CommandStat is one command's line of INFO commandstats.
type CommandStat struct{ Calls, Usec int64 }

// infoOfMasters returns INFO section of the server, or of every master of a
// cluster; false when one does not answer.
func infoOfMasters(ctx context.Context, rdb goredis.UniversalClient, section string) ([]string, bool) {
	switch c := rdb.(type) {
	case *goredis.Client:
		info, err := c.Info(ctx, section).Result()
		return []string{info}, err == nil
	case *goredis.ClusterClient:
		var mu sync.Mutex
		var out []string
		ok := true
		_ = c.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
			info, err := m.Info(ctx, section).Result()
			mu.Lock()
			out, ok = append(out, info), ok && err == nil
			mu.Unlock()
			return nil
		})
		return out, ok
	}
	return nil, false
}

// CommandStats reads INFO commandstats, summed over every master of a
// cluster; false when the server does not report it (miniredis). Redis
// counts a command a script runs both in its own line and in the script's
// time: see ClientMicros.
func CommandStats(ctx context.Context, rdb goredis.UniversalClient) (map[string]CommandStat, bool) {
	infos, ok := infoOfMasters(ctx, rdb, "commandstats")
	stats := map[string]CommandStat{}
	for _, info := range infos {
		ok = ok && strings.Contains(info, "cmdstat_")
		for _, line := range strings.Split(info, "\n") {
			name, rest, found := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":")
			if !found || !strings.HasPrefix(line, "cmdstat_") {
				continue
			}
			var st CommandStat
			for _, kv := range strings.Split(rest, ",") {
				k, v, _ := strings.Cut(kv, "=")
				n, _ := strconv.ParseInt(v, 10, 64)
				switch k {
				case "calls":
					st.Calls = n
				case "usec":
					st.Usec = n
				}
			}
			sum := stats[name]
			stats[name] = CommandStat{sum.Calls + st.Calls, sum.Usec + st.Usec}
		}
	}
	return stats, ok
}

// ClientMicros is the server time, in µs, of the commands one client sent
// between two readings of CommandStats: for each command name, the number
// sent times that command's time per call over the interval. A script's
// time includes the commands it ran; those are not counted again.
func ClientMicros(before, after map[string]CommandStat, sent map[string]int64) float64 {
	total := 0.0
	for name, n := range sent {
		a, b := after[name], before[name]
		if calls := a.Calls - b.Calls; calls > 0 && n > 0 {
			total += float64(n) * float64(a.Usec-b.Usec) / float64(calls)
		}
	}
	return total
}

// ServerCPU is the CPU time the Redis server processes used so far (INFO
// cpu, user and system, summed over every master of a cluster); false when
// the server does not report it.
func ServerCPU(ctx context.Context, rdb goredis.UniversalClient) (time.Duration, bool) {
	infos, ok := infoOfMasters(ctx, rdb, "cpu")
	var total float64
	for _, info := range infos {
		ok = ok && strings.Contains(info, "used_cpu_user:")
		for _, line := range strings.Split(info, "\n") {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			if k == "used_cpu_user" || k == "used_cpu_sys" {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
	}
	return time.Duration(total * float64(time.Second)), ok
}
