package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

// Records is bot.Records on Redis:
//
//	<prefix>case:{<id>}        hash: v (version), d (JSON of the case)
//	<prefix>cases:cust:<id>    sorted set of a customer's case ids (by creation)
//	<prefix>cases:conv:<conv>  sorted set of a conversation's case ids
//
// Every operation touches one key, so it works on a Redis Cluster: a case
// is written with compare-and-set on its version (one script on its own
// key), then added to its indexes, each on its own key and idempotently
// (adding a case id twice changes nothing). Cases written by earlier
// versions as a plain JSON string under <prefix>case:<id> are still read
// and are moved to the hash when next written.
//
//	<prefix>once:<key>         first value stored for an idempotent grant
//	<prefix>claims:<customer>  sorted set of claim case ids by time
//	<prefix>token:<nonce>      a used link token
//	<prefix>fail:<key>         failures counted in a window (abuse limits)
//	<prefix>contact:{<customer>}  hash: conv (the linked chat), notify (on/off)
type Records struct {
	rdb    goredis.UniversalClient
	prefix string
	keep   time.Duration
}

// NewRecords returns records on rdb. Cases and grants are kept for keep
// (default 2 years); claims are counted over 12 months and kept 13.
func NewRecords(rdb goredis.UniversalClient, prefix string, keep time.Duration) *Records {
	if prefix == "" {
		prefix = "parcelbot:"
	}
	if keep <= 0 {
		keep = 2 * 365 * 24 * time.Hour
	}
	return &Records{rdb: rdb, prefix: prefix, keep: keep}
}

// caseJSON is the stored form of a case.
type caseJSON struct {
	ID           string             `json:"id"`
	Kind         domain.CaseKind    `json:"kind"`
	Status       domain.CaseStatus  `json:"status"`
	Order        string             `json:"order,omitempty"`
	CustomerID   string             `json:"customer,omitempty"`
	Conversation string             `json:"conv,omitempty"`
	Lang         string             `json:"lang,omitempty"`
	Theft        bool               `json:"theft,omitempty"`
	PoliceReport string             `json:"police,omitempty"`
	Damage       string             `json:"damage,omitempty"`
	Photos       []string           `json:"photos,omitempty"`
	Resolution   domain.Resolution  `json:"resolution,omitempty"`
	Created      time.Time          `json:"created"`
	Updated      time.Time          `json:"updated"`
	Notes        []domain.CaseEvent `json:"notes,omitempty"`
	Version      int64              `json:"-"`
}

// putCaseScript: KEYS[1] the case hash; ARGV: expected version, JSON,
// TTL ms. Returns the new version, or -1 when the case is at another
// version.
var putCaseScript = goredis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return -1 end
v = v + 1
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return v
`)

func (r *Records) caseKey(id string) string { return r.prefix + "case:{" + id + "}" }

// PutCase implements bot.Records: compare-and-set on the case's version,
// then the indexes.
func (r *Records) PutCase(ctx context.Context, c *domain.Case) error {
	stored := caseJSON(*c)
	stored.Version = 0
	b, err := json.Marshal(stored)
	if err != nil {
		return fmt.Errorf("put case %s: %w", c.ID, err)
	}
	v, err := putCaseScript.Run(ctx, r.rdb, []string{r.caseKey(c.ID)}, c.Version, b, r.keep.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("put case %s: %w", c.ID, unavailable(err))
	}
	if v < 0 {
		return &domain.Error{Code: domain.ECONFLICT, Op: "put case " + c.ID}
	}
	c.Version = v
	score := float64(c.Created.UnixNano())
	pipe := r.rdb.Pipeline() // one key a command: the keys may live on different nodes
	for _, k := range []string{r.prefix + "cases:cust:" + c.CustomerID, r.prefix + "cases:conv:" + c.Conversation} {
		if strings.HasSuffix(k, ":") {
			continue
		}
		pipe.ZAdd(ctx, k, goredis.Z{Score: score, Member: c.ID})
		pipe.Expire(ctx, k, r.keep)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("put case %s indexes: %w", c.ID, unavailable(err))
	}
	return nil
}

// Case implements bot.Records.
func (r *Records) Case(ctx context.Context, id string) (*domain.Case, error) {
	vals, err := r.rdb.HMGet(ctx, r.caseKey(id), "v", "d").Result()
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", id, unavailable(err))
	}
	var b []byte
	var version int64
	if d, ok := vals[1].(string); ok {
		b = []byte(d)
		if v, ok := vals[0].(string); ok {
			version, _ = strconv.ParseInt(v, 10, 64)
		}
	} else {
		// written by an earlier version: a JSON string, read at version 0
		b, err = r.rdb.Get(ctx, r.prefix+"case:"+id).Bytes()
		if errors.Is(err, goredis.Nil) {
			return nil, &domain.Error{Code: domain.ENOTFOUND, Key: "cases.unknown", Op: "case " + id}
		}
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", id, unavailable(err))
		}
	}
	var c caseJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	dc := domain.Case(c)
	dc.Version = version
	return &dc, nil
}

// Cases implements bot.Records.
func (r *Records) Cases(ctx context.Context, customerID, conv string) ([]*domain.Case, error) {
	key := r.prefix + "cases:conv:" + conv
	if customerID != "" {
		key = r.prefix + "cases:cust:" + customerID
	}
	ids, err := r.rdb.ZRevRange(ctx, key, 0, 19).Result()
	if err != nil {
		return nil, fmt.Errorf("cases: %w", unavailable(err))
	}
	var out []*domain.Case
	for _, id := range ids {
		c, err := r.Case(ctx, id)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// ForgetConversation implements bot.Records: the conversation's case
// index goes (its key names the chat).
func (r *Records) ForgetConversation(ctx context.Context, conv string) error {
	if err := r.rdb.Del(ctx, r.prefix+"cases:conv:"+conv).Err(); err != nil {
		return fmt.Errorf("forget case index of %s: %w", conv, unavailable(err))
	}
	return nil
}

// Once implements bot.Records.
func (r *Records) Once(ctx context.Context, key, value string) (string, bool, error) {
	k := r.prefix + "once:" + key
	ok, err := r.rdb.SetNX(ctx, k, value, r.keep).Result()
	if err != nil {
		return "", false, fmt.Errorf("once %s: %w", key, unavailable(err))
	}
	if ok {
		return value, true, nil
	}
	v, err := r.rdb.Get(ctx, k).Result()
	if err != nil {
		return "", false, fmt.Errorf("once %s: %w", key, unavailable(err))
	}
	return v, false, nil
}

// Lookup implements bot.Records.
func (r *Records) Lookup(ctx context.Context, key string) (string, bool, error) {
	v, err := r.rdb.Get(ctx, r.prefix+"once:"+key).Result()
	if errors.Is(err, goredis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("lookup %s: %w", key, unavailable(err))
	}
	return v, true, nil
}

// The writes of two commands on one key are scripts, not MULTI … EXEC: a
// transaction the server refuses at MULTI (LOADING, after a restart) leaves
// its other replies unread on go-redis's connection, and the next pipeline
// on it took them for its own answers
// (TestRefusedWritesLeaveTheConnectionClean). A script is one command with
// one reply, and as atomic.
var (
	// addClaimScript: ZADD NX of ARGV[2] at score ARGV[1], the key kept ARGV[3] s.
	addClaimScript = goredis.NewScript(`
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`)
	// failScript: INCR, the window (ARGV[1] ms) set by the first.
	failScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
`)
	// setContactScript: HSET of the field-value pairs in ARGV[2..], the key
	// kept ARGV[1] s.
	setContactScript = goredis.NewScript(`
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
`)
)

// AddClaim implements bot.Records.
func (r *Records) AddClaim(ctx context.Context, customerID, caseID string, at time.Time) error {
	k := r.prefix + "claims:" + customerID
	err := addClaimScript.Run(ctx, r.rdb, []string{k}, at.Unix(), caseID, int64((13 * 31 * 24 * time.Hour).Seconds())).Err()
	if err != nil {
		return fmt.Errorf("add claim: %w", unavailable(err))
	}
	return nil
}

// Claims implements bot.Records.
func (r *Records) Claims(ctx context.Context, customerID string, since time.Time) (int, error) {
	n, err := r.rdb.ZCount(ctx, r.prefix+"claims:"+customerID, "("+strconv.FormatInt(since.Unix(), 10), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("claims: %w", unavailable(err))
	}
	return int(n), nil
}

// UseToken implements bot.Records.
func (r *Records) UseToken(ctx context.Context, nonce string, ttl time.Duration) (bool, error) {
	ok, err := r.rdb.SetNX(ctx, r.prefix+"token:"+nonce, "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("use token: %w", unavailable(err))
	}
	return ok, nil
}

// Failures implements bot.Records.
func (r *Records) Failures(ctx context.Context, key string) (int, error) {
	n, err := r.rdb.Get(ctx, r.prefix+"fail:"+key).Int()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("failures: %w", unavailable(err))
	}
	return n, nil
}

// Fail implements bot.Records: INCR, and the window set by the first.
func (r *Records) Fail(ctx context.Context, key string, window time.Duration) (int, error) {
	n, err := failScript.Run(ctx, r.rdb, []string{r.prefix + "fail:" + key}, window.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("fail: %w", unavailable(err))
	}
	return n, nil
}

// unavailable marks a Redis failure as EUNAVAILABLE so that the customer is
// told to try again in a minute.
func unavailable(err error) error {
	return &domain.Error{Code: domain.EUNAVAILABLE, Key: "error.unavailable", Err: err}
}

var _ bot.Records = (*Records)(nil)

// contactKey is a customer's contact hash: conv (the linked chat) and
// notify (their choice about order news). One key, one slot.
func (r *Records) contactKey(customerID string) string {
	return r.prefix + "contact:{" + customerID + "}"
}

// Contact implements bot.Records.
func (r *Records) Contact(ctx context.Context, customerID string) (bot.Contact, error) {
	vals, err := r.rdb.HMGet(ctx, r.contactKey(customerID), "conv", "notify").Result()
	if err != nil {
		return bot.Contact{}, fmt.Errorf("contact %s: %w", customerID, unavailable(err))
	}
	var c bot.Contact
	c.Conv, _ = vals[0].(string)
	c.Notify, _ = vals[1].(string)
	return c, nil
}

// SetContact implements bot.Records.
func (r *Records) SetContact(ctx context.Context, customerID string, c bot.Contact) error {
	args := []any{int64(r.keep.Seconds())}
	if c.Conv != "" {
		args = append(args, "conv", c.Conv)
	}
	if c.Notify != "" {
		args = append(args, "notify", c.Notify)
	}
	if len(args) == 1 {
		return nil
	}
	if err := setContactScript.Run(ctx, r.rdb, []string{r.contactKey(customerID)}, args...).Err(); err != nil {
		return fmt.Errorf("set contact %s: %w", customerID, unavailable(err))
	}
	return nil
}

// unlinkScript removes the linked chat only if it is still ARGV[1].
var unlinkScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'conv') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'conv')
  return 1
end
return 0
`)

// Unlink implements bot.Records.
func (r *Records) Unlink(ctx context.Context, customerID, conv string) error {
	if err := unlinkScript.Run(ctx, r.rdb, []string{r.contactKey(customerID)}, conv).Err(); err != nil {
		return fmt.Errorf("unlink %s: %w", customerID, unavailable(err))
	}
	return nil
}
