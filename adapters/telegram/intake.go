package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/parcelbot/parcelbot/dialog"
)

// Spool keeps the updates the poller has taken from Telegram until their
// turns are done. An update is put in the spool before the getUpdates
// offset passes it, so one chat's backlog never holds back the others'
// updates, and an update taken but not yet handled when the process dies
// is handled on the next start. Updates that can never be handled go to a
// dead-letter record with the reason. adapters/redis implements it; without
// one the channel keeps its spool in memory (nothing survives a crash).
type Spool interface {
	Put(ctx context.Context, id int64, raw []byte) error
	Done(ctx context.Context, id int64) error
	Pending(ctx context.Context) (map[int64][]byte, error)
	DeadLetter(ctx context.Context, id, chat int64, reason string) error
}

// Events counted by the channel (Config.Count), for /metrics.
const (
	EventFloodDropped = "flood_dropped" // a message of a flooding chat, not handled
	EventFloodNotice  = "flood_notice"  // the notice sent to a flooding chat
	EventDeadLetter   = "dead_letter"   // an update given up, in the dead-letter record
	EventUnsupported  = "unsupported"   // a sticker, photo, voice, edit...: answered, not handled
	EventGroup        = "group"         // a message from a group chat
)

// undeliverable is a Bot API refusal that retrying cannot change (400: chat
// not found, message too long, bad markup).
type undeliverable struct{ err error }

func (u *undeliverable) Error() string { return u.err.Error() }
func (u *undeliverable) Unwrap() error { return u.err }

// permanent reports whether err is a refusal that retrying cannot change,
// and a short reason for the dead-letter record.
func permanent(err error) (string, bool) {
	var u *undeliverable
	if errors.As(err, &u) {
		return reasonOf(u.err), true
	}
	return reasonOf(err), false
}

// reasonOf shortens an error for the dead-letter record: the Bot API's
// description, at most 200 bytes.
func reasonOf(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "Bad Request: "); i >= 0 {
		s = s[i:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// flood admits at most max messages per chat in any window; the first
// message refused in a window earns the chat one notice.
type flood struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	chats  map[int64]*floodChat
	n      int
}

type floodChat struct {
	times   []time.Time // admitted messages in the window, oldest first
	ids     []int64     // their update ids
	noticed time.Time
}

func newFlood(max int, window time.Duration) *flood {
	return &flood{max: max, window: window, chats: map[int64]*floodChat{}}
}

// admit reports whether chat's message (update id) at now is handled, and
// when it is not, whether the chat is to be told (once a window). An update
// admitted before (delivered again after a failure) is admitted again
// without counting twice.
func (f *flood) admit(chat, id int64, now time.Time) (ok, notice bool) {
	if f.max <= 0 || chat == 0 {
		return true, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n++; f.n%4096 == 0 {
		for id, c := range f.chats {
			if len(c.times) == 0 || now.Sub(c.times[len(c.times)-1]) > f.window && now.Sub(c.noticed) > f.window {
				delete(f.chats, id)
			}
		}
	}
	c := f.chats[chat]
	if c == nil {
		c = &floodChat{}
		f.chats[chat] = c
	}
	drop := 0
	for drop < len(c.times) && now.Sub(c.times[drop]) >= f.window {
		drop++
	}
	c.times, c.ids = c.times[drop:], c.ids[drop:]
	for _, x := range c.ids {
		if x == id && id != 0 {
			return true, false
		}
	}
	if len(c.times) < f.max {
		c.times, c.ids = append(c.times, now), append(c.ids, id)
		return true, false
	}
	if c.noticed.IsZero() || now.Sub(c.noticed) >= f.window {
		c.noticed = now
		return false, true
	}
	return false, false
}

// memSpool is the spool without Redis: in memory only.
type memSpool struct {
	mu   sync.Mutex
	ups  map[int64][]byte
	dead []string
}

func newMemSpool() *memSpool { return &memSpool{ups: map[int64][]byte{}} }

func (m *memSpool) Put(_ context.Context, id int64, raw []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ups[id] = raw
	return nil
}

func (m *memSpool) Done(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.ups, id)
	return nil
}

func (m *memSpool) Pending(context.Context) (map[int64][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[int64][]byte, len(m.ups))
	for k, v := range m.ups {
		out[k] = v
	}
	return out, nil
}

func (m *memSpool) DeadLetter(_ context.Context, id, chat int64, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.dead) >= 1000 {
		m.dead = m.dead[1:]
	}
	m.dead = append(m.dead, fmt.Sprintf("%d %d %s", id, chat, reason))
	return nil
}

// intake runs polled updates: one queue per chat, in order; at most
// Workers turns at once; a failed update is retried in its own chat's
// queue with back-off, never holding up other chats, and given up (dead
// letter) after a bounded number of tries.
type intake struct {
	c     *Channel
	spool Spool
	sem   chan struct{}
	wg    sync.WaitGroup
	stop  <-chan struct{} // closed when the poller stops: no new turn starts
	mu    sync.Mutex
	chats map[int64][]models.Update
	known map[int64]bool // spooled, not yet done
	space chan struct{}  // signalled when a queued update finished
}

// maxQueued bounds the updates taken but not finished: beyond it the
// poller waits (Telegram keeps the rest).
const maxQueued = 2000

func newIntake(c *Channel, stop <-chan struct{}) *intake {
	return &intake{c: c, spool: c.cfg.Spool, sem: make(chan struct{}, c.cfg.Workers), stop: stop,
		chats: map[int64][]models.Update{}, known: map[int64]bool{}, space: make(chan struct{}, 1)}
}

func (in *intake) queued() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.known)
}

func (in *intake) seen(id int64) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.known[id]
}

// recover queues the spooled updates a previous run left, in update order.
func (in *intake) recover(ctx context.Context) error {
	pending, err := in.spool.Pending(ctx)
	if err != nil {
		return fmt.Errorf("telegram spool: %w", err)
	}
	ids := make([]int64, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		var u models.Update
		if err := json.Unmarshal(pending[id], &u); err != nil {
			in.c.log.Warn("unreadable spooled update dropped", "update", id)
			_ = in.spool.Done(ctx, id)
			continue
		}
		in.enqueue(u)
	}
	if len(ids) > 0 {
		in.c.log.Info("spooled updates resumed", "updates", len(ids))
	}
	return nil
}

// take spools an update and queues it in its chat.
func (in *intake) take(ctx context.Context, u models.Update) error {
	raw, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("encode update %d: %w", u.ID, err)
	}
	if err := in.spool.Put(ctx, u.ID, raw); err != nil {
		return fmt.Errorf("spool update %d: %w", u.ID, err)
	}
	in.enqueue(u)
	return nil
}

func (in *intake) enqueue(u models.Update) {
	chat := chatOf(&u)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.known[u.ID] = true
	q, running := in.chats[chat]
	in.chats[chat] = append(q, u)
	if !running {
		in.wg.Add(1)
		go in.drain(chat)
	}
}

// drain runs a chat's queue until it is empty or the poller stops (what is
// left stays in the spool for the next start).
func (in *intake) drain(chat int64) {
	defer in.wg.Done()
	work := context.WithoutCancel(context.Background())
	for {
		in.mu.Lock()
		q := in.chats[chat]
		stopped := false
		select {
		case <-in.stop:
			stopped = true
		default:
		}
		if len(q) == 0 || stopped {
			delete(in.chats, chat)
			in.mu.Unlock()
			return
		}
		u := q[0]
		in.mu.Unlock()

		select {
		case in.sem <- struct{}{}:
		case <-in.stop:
			in.mu.Lock()
			delete(in.chats, chat)
			in.mu.Unlock()
			return
		}
		done := in.run(work, &u)
		<-in.sem
		if !done {
			in.mu.Lock()
			delete(in.chats, chat)
			in.mu.Unlock()
			return // stopped while retrying: the update stays spooled
		}
		if err := in.spool.Done(work, u.ID); err != nil {
			in.c.log.Warn("could not clear a spooled update; it may be handled again (the session drops repeats)", "update", u.ID, "err", err)
		}
		in.mu.Lock()
		delete(in.known, u.ID)
		in.chats[chat] = in.chats[chat][1:]
		in.mu.Unlock()
		select {
		case in.space <- struct{}{}:
		default:
		}
	}
}

// Tries before an update is given up: a refusal Telegram will repeat
// (permanent) gets one more try; anything else (Redis or the Bot API
// briefly down) keeps trying with back-off for about three minutes.
const (
	permanentTries = 2
	transientTries = 10
)

// errStopped: the wait between two tries ended because the channel stops.
var errStopped = errors.New("telegram: stopped while retrying an update")

// handleWithRetry handles an update with the retry policy: a permanent
// refusal is dead-lettered after permanentTries; a transient failure is
// tried up to transient times, then dead-lettered — or, with transient 1
// (webhook mode), returned at once for Telegram to deliver again. nil means
// done (handled or dead-lettered). wait sleeps between tries and reports
// false when the channel stops (errStopped).
func (c *Channel) handleWithRetry(ctx context.Context, u *models.Update, transient int, wait func(time.Duration) bool) error {
	backoff := c.cfg.RetryBase
	for try := 1; ; try++ {
		err := c.handleUpdate(ctx, u)
		if err == nil {
			return nil
		}
		reason, perm := permanent(err)
		switch {
		case perm && try >= permanentTries, !perm && transient > 1 && try >= transient:
			c.deadLetter(ctx, u, try, reason)
			return nil
		case !perm && try >= transient:
			return err
		}
		if !wait(backoff) {
			return errStopped
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// run handles one polled update. It returns false when the poller stopped
// before the update was done.
func (in *intake) run(ctx context.Context, u *models.Update) bool {
	return in.c.handleWithRetry(ctx, u, transientTries, func(d time.Duration) bool {
		select {
		case <-in.stop:
			return false
		case <-time.After(d):
			return true
		}
	}) == nil
}

// deadLetter records an update given up, with the reason, and counts it.
func (c *Channel) deadLetter(ctx context.Context, u *models.Update, tries int, reason string) {
	chat := chatOf(u)
	c.log.Warn("update given up; written to the dead-letter record", "chat", chat, "update", u.ID, "tries", tries, "reason", reason)
	if err := c.cfg.Spool.DeadLetter(ctx, u.ID, chat, fmt.Sprintf("%s (after %d tries)", reason, tries)); err != nil {
		c.log.Error("could not write the dead-letter record", "update", u.ID, "err", err)
	}
	c.count(EventDeadLetter)
}

func (c *Channel) count(event string) {
	if c.cfg.Count != nil {
		c.cfg.Count(event)
	}
}

// admit applies the flood limit to an update; a refused one is counted and
// its chat told once a window.
func (c *Channel) admit(ctx context.Context, u *models.Update) bool {
	chat := chatOf(u)
	ok, notice := c.flood.admit(chat, u.ID, c.cfg.Now())
	if ok {
		return true
	}
	c.count(EventFloodDropped)
	if notice {
		c.count(EventFloodNotice)
		c.log.Warn("chat sends faster than a person can; its extra messages are dropped", "chat", chat)
		c.notify(ctx, chat, langOf(u), "channel.flood")
	}
	return false
}

// notify sends a one-line notice from the channel itself, in the
// background (it is not part of a turn).
func (c *Channel) notify(ctx context.Context, chat int64, lang, key string) {
	text := c.cfg.Catalog.Text(dialog.NormalizeLang(lang), key, nil)
	go func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := c.sendText(sctx, chat, text); err != nil {
			c.log.Debug("could not send a notice", "chat", chat, "key", key, "err", err)
		}
	}()
}

func (c *Channel) sendText(ctx context.Context, chat int64, text string) error {
	body, err := json.Marshal(sendMessage{ChatID: chat, Text: text})
	if err != nil {
		return err
	}
	return c.send(ctx, chat, func(ctx context.Context) error { return c.callJSON(ctx, "sendMessage", body) })
}

// langOf is the language Telegram reports for the update's sender.
func langOf(u *models.Update) string {
	switch {
	case u.Message != nil && u.Message.From != nil:
		return u.Message.From.LanguageCode
	case u.EditedMessage != nil && u.EditedMessage.From != nil:
		return u.EditedMessage.From.LanguageCode
	case u.CallbackQuery != nil:
		return u.CallbackQuery.From.LanguageCode
	}
	return ""
}
