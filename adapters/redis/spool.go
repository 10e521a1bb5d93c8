package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// TelegramSpool keeps the Telegram updates parcelbot has fetched until their
// turns are done (one hash, field = update id), and a dead-letter stream of
// the updates given up, with the reason (capped at about 10,000 entries).
// Every command touches one key, so it works on a Cluster. It implements
// telegram.Spool.
type TelegramSpool struct {
	rdb  goredis.UniversalClient
	key  string
	dead string
	now  func() time.Time
}

// NewTelegramSpool returns the spool under prefix (keys tg:spool and
// tg:dead).
func NewTelegramSpool(rdb goredis.UniversalClient, prefix string) *TelegramSpool {
	return &TelegramSpool{rdb: rdb, key: prefix + "tg:spool", dead: prefix + "tg:dead", now: time.Now}
}

// DeadKey is the dead-letter stream's key.
func (s *TelegramSpool) DeadKey() string { return s.dead }

// Put stores an update.
func (s *TelegramSpool) Put(ctx context.Context, id int64, raw []byte) error {
	if err := s.rdb.HSet(ctx, s.key, strconv.FormatInt(id, 10), raw).Err(); err != nil {
		return unavailable(fmt.Errorf("redis spool put %d: %w", id, err))
	}
	return nil
}

// Done removes an update.
func (s *TelegramSpool) Done(ctx context.Context, id int64) error {
	if err := s.rdb.HDel(ctx, s.key, strconv.FormatInt(id, 10)).Err(); err != nil {
		return unavailable(fmt.Errorf("redis spool done %d: %w", id, err))
	}
	return nil
}

// Pending returns the stored updates by id.
func (s *TelegramSpool) Pending(ctx context.Context) (map[int64][]byte, error) {
	all, err := s.rdb.HGetAll(ctx, s.key).Result()
	if err != nil {
		return nil, unavailable(fmt.Errorf("redis spool read: %w", err))
	}
	out := make(map[int64][]byte, len(all))
	for k, v := range all {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			continue
		}
		out[id] = []byte(v)
	}
	return out, nil
}

// DeadLetter records an update given up: its id, chat, reason and time
// (never the message text).
func (s *TelegramSpool) DeadLetter(ctx context.Context, id, chat int64, reason string) error {
	err := s.rdb.XAdd(ctx, &goredis.XAddArgs{Stream: s.dead, MaxLen: 10000, Approx: true, Values: map[string]any{
		"update": id, "chat": chat, "reason": reason, "at": s.now().UTC().Format(time.RFC3339)}}).Err()
	if err != nil {
		return unavailable(fmt.Errorf("redis dead letter %d: %w", id, err))
	}
	return nil
}
