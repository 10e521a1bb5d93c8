// Package redis keeps parcelbot's conversation state in Redis through
// go-redis's UniversalClient (a single server, Sentinel or Cluster). Each
// conversation is one hash, <prefix>s:<conversation>, with fields v (the
// version), d (the encoded dialog state) and s (the ids of the last inputs
// processed); it expires after the idle TTL. Saving is one Lua script: a
// compare-and-set on v that also refuses an input id already in s, so a
// redelivered update is handled once. A turn costs two round trips: HMGET
// to load, EVALSHA to save.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
)

// Options configure a Store.
type Options struct {
	Prefix  string        // key prefix, default "parcelbot:"
	IdleTTL time.Duration // a conversation untouched this long is forgotten, default 30 days
	Seen    int           // input ids remembered per conversation, default 64
}

// Store is a bot.SessionStore on Redis.
type Store struct {
	rdb    goredis.UniversalClient
	prefix string
	ttlMS  string
	seen   string
}

// saveScript: KEYS[1] session; ARGV: expected version, data, input id, ttl
// ms, ids to keep. Returns the new version, -1 for a duplicate input, -2 for
// a version conflict.
var saveScript = goredis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'v', 's')
local v = tonumber(cur[1]) or 0
local seen = cur[2] or '\n'
if seen == '' then seen = '\n' end
local id = ARGV[3]
if id ~= '' and string.find(seen, '\n' .. id .. '\n', 1, true) then return -1 end
if v ~= tonumber(ARGV[1]) then return -2 end
if id ~= '' then
  seen = seen .. id .. '\n'
  local n = select(2, string.gsub(seen, '\n', '')) - 1
  local keep = tonumber(ARGV[5])
  while n > keep do
    seen = string.sub(seen, string.find(seen, '\n', 2, true))
    n = n - 1
  end
end
v = v + 1
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[2], 's', seen)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return v
`)

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
	return &Store{rdb: rdb, prefix: o.Prefix, ttlMS: strconv.FormatInt(o.IdleTTL.Milliseconds(), 10), seen: strconv.Itoa(o.Seen)}
}

func (s *Store) key(conv string) string { return s.prefix + "s:" + conv }

// Load implements bot.SessionStore.
func (s *Store) Load(ctx context.Context, conv, inputID string) (bot.Session, error) {
	vals, err := s.rdb.HMGet(ctx, s.key(conv), "v", "d", "s").Result()
	if err != nil {
		return bot.Session{}, fmt.Errorf("redis load %s: %w", conv, err)
	}
	var sess bot.Session
	if v, ok := vals[0].(string); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return bot.Session{}, fmt.Errorf("redis load %s: bad version %q", conv, v)
		}
		sess.Version = n
	}
	if d, ok := vals[1].(string); ok {
		sess.Data = []byte(d)
	}
	if seen, ok := vals[2].(string); ok && inputID != "" {
		sess.Seen = containsLine(seen, inputID)
	}
	return sess, nil
}

func containsLine(list, id string) bool {
	for len(list) > 0 {
		i := strings.IndexByte(list, '\n')
		if i < 0 {
			return list == id
		}
		if list[:i] == id {
			return true
		}
		list = list[i+1:]
	}
	return false
}

// Save implements bot.SessionStore.
func (s *Store) Save(ctx context.Context, conv string, expect uint64, data []byte, inputID string) (uint64, error) {
	if strings.ContainsAny(inputID, "\n") {
		return 0, fmt.Errorf("redis save %s: input id contains a newline", conv)
	}
	n, err := saveScript.Run(ctx, s.rdb, []string{s.key(conv)},
		strconv.FormatUint(expect, 10), data, inputID, s.ttlMS, s.seen).Int64()
	if err != nil {
		return 0, fmt.Errorf("redis save %s: %w", conv, err)
	}
	switch n {
	case -1:
		return 0, bot.ErrDuplicate
	case -2:
		return 0, bot.ErrConflict
	}
	return uint64(n), nil
}

// Delete implements bot.SessionStore.
func (s *Store) Delete(ctx context.Context, conv string) error {
	if err := s.rdb.Del(ctx, s.key(conv)).Err(); err != nil {
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

// Connect returns a client for url ("redis://host:6379/0", "rediss://...",
// or a comma-separated list of host:port for Cluster), or, when url is
// empty, a client of an in-process miniredis that close stops.
func Connect(url string) (rdb goredis.UniversalClient, close func(), err error) {
	if url == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return nil, nil, fmt.Errorf("start in-process redis: %w", err)
		}
		c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
		return c, func() { c.Close(); mr.Close() }, nil
	}
	var opts *goredis.UniversalOptions
	if strings.Contains(url, "://") {
		o, err := goredis.ParseURL(url)
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		opts = &goredis.UniversalOptions{Addrs: []string{o.Addr}, DB: o.DB, Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig}
	} else {
		opts = &goredis.UniversalOptions{Addrs: strings.Split(url, ",")}
	}
	if len(opts.Addrs) == 0 || opts.Addrs[0] == "" {
		return nil, nil, errors.New("REDIS_URL: no address")
	}
	c := goredis.NewUniversalClient(opts)
	return c, func() { c.Close() }, nil
}
