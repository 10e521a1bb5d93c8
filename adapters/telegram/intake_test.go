package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/parcelbot/parcelbot/adapters/telegram/telegramtest"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
)

// echo answers every message with one reply through the channel, as the
// service does: a turn of a chat takes that chat's rate limit.
type echo struct {
	c    *Channel
	mu   sync.Mutex
	seen map[string]int
}

func (e *echo) Handle(ctx context.Context, m bot.Message) error {
	e.mu.Lock()
	e.seen[m.Conversation]++
	e.mu.Unlock()
	chat := strings.TrimPrefix(m.Conversation, "tg:")
	text := "got " + m.Input.Text
	for _, f := range m.Input.Files {
		text += fmt.Sprintf("%s %s %d", f.Kind, f.ID, f.Size)
	}
	return e.c.Send(ctx, chat, "en", []dialog.Reply{{Text: text}})
}

func (e *echo) count(conv string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seen[conv]
}

// counter records the channel's events.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) count(e string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[e]++
}

func (c *counter) get(e string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[e]
}

// floodChannel is a channel with Telegram's real per-chat spacing (one
// message a second per chat) and a frozen flood clock, so that the 200
// messages fall in one window whatever the machine's speed.
func floodChannel(t *testing.T, cfg Config) (*Channel, *telegramtest.Server, *counter, *memSpool) {
	t.Helper()
	cnt := &counter{n: map[string]int{}}
	spool := newMemSpool()
	frozen := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	cfg.GlobalRate, cfg.ChatEvery, cfg.Count, cfg.Now, cfg.RetryBase = 1000, time.Second, cnt.count, func() time.Time { return frozen }, time.Millisecond
	if cfg.Spool == nil {
		cfg.Spool = spool
	}
	c, fake := testChannel(t, cfg)
	return c, fake, cnt, spool
}

// answeredWithin fails unless every chat got a message within d.
func answeredWithin(t *testing.T, fake *telegramtest.Server, chats []int64, d time.Duration, behind string) {
	t.Helper()
	for _, chat := range chats {
		if got := fake.WaitSent(chat, 1, d); len(got) < 1 {
			t.Fatalf("chat %d not answered within %s behind %s", chat, d, behind)
		}
	}
}

func runPolling(t *testing.T, c *Channel, h Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// One chat sends 200 messages at once: it is answered for the first 20 and
// told once to slow down, the other 180 are dropped and counted, and five
// other chats that write after it are answered within 2 seconds although
// the flooding chat's own answers take 20 seconds (one a second).
func TestFloodingChatDoesNotDelayOthersPolling(t *testing.T) {
	c, fake, cnt, _ := floodChannel(t, Config{})
	h := &echo{c: c, seen: map[string]int{}}
	for i := range 200 {
		fake.Text(1, "de", "spam "+strconv.Itoa(i))
	}
	for chat := int64(2); chat <= 6; chat++ {
		fake.Text(chat, "en", "/help")
	}
	runPolling(t, c, h)
	answeredWithin(t, fake, []int64{2, 3, 4, 5, 6}, 2*time.Second, "a flooding chat")
	notice := c.cfg.Catalog.Text("de", "channel.flood", nil)
	if !waitFor(5*time.Second, func() bool { return cnt.get(EventFloodDropped) == 180 && hasText(fake.Sent(1), notice) }) {
		t.Fatalf("dropped %d (want 180), notice sent: %v", cnt.get(EventFloodDropped), hasText(fake.Sent(1), notice))
	}
	if n := cnt.get(EventFloodNotice); n != 1 {
		t.Fatalf("%d notices, want 1", n)
	}
	// the offset passed all 205 updates although chat 1's turns still run
	if !waitFor(5*time.Second, func() bool { return fake.Acked() >= 1205 }) {
		t.Fatalf("offset acknowledged %d, want 1205", fake.Acked())
	}
	if n := h.count("tg:1"); n > 20 {
		t.Fatalf("%d turns of the flooding chat, want at most 20", n)
	}
}

// The same flood through the webhook: the dropped messages are answered
// 200 at once, and the other chats' requests are handled within 2 s.
func TestFloodingChatDoesNotDelayOthersWebhook(t *testing.T) {
	c, fake, cnt, _ := floodChannel(t, Config{WebhookURL: "https://bot.example/tg", WebhookSecret: "whsecret"})
	c.limit = newLimiter(1000, 100*time.Millisecond) // the flooding chat's 20 turns take 2 s, not 20
	h := &echo{c: c, seen: map[string]int{}}
	c.SetHandler(h)
	srv := httptest.NewServer(c.WebhookHandler())
	defer srv.Close()
	post := func(u models.Update) int {
		body, _ := json.Marshal(u)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "whsecret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	text := func(id, chat int64, s string) models.Update {
		return models.Update{ID: id, Message: &models.Message{ID: int(id), Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate},
			From: &models.User{ID: chat, LanguageCode: "en"}, Text: s}}
	}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			post(text(int64(1+i), 1, "spam"))
		}()
	}
	if !waitFor(5*time.Second, func() bool { return cnt.get(EventFloodDropped) == 180 }) {
		t.Fatalf("dropped %d, want 180", cnt.get(EventFloodDropped))
	}
	for chat := int64(2); chat <= 6; chat++ {
		start := make(chan int, 1)
		go func() { start <- post(text(1000+chat, chat, "/help")) }()
		select {
		case code := <-start:
			if code != http.StatusOK {
				t.Fatalf("chat %d: HTTP %d", chat, code)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("chat %d not handled within 2 s behind a flooding chat", chat)
		}
		if len(fake.Sent(chat)) != 1 {
			t.Fatalf("chat %d: %d messages", chat, len(fake.Sent(chat)))
		}
	}
	wg.Wait()
	if n := h.count("tg:1"); n != 20 {
		t.Fatalf("%d turns of the flooding chat, want 20", n)
	}
}

// An update whose answer Telegram always refuses (400 chat not found) is
// given up after two tries, written to the dead-letter record and counted;
// it holds neither the offset nor other chats.
func TestUndeliverableUpdateIsDeadLetteredPolling(t *testing.T) {
	c, fake, cnt, spool := floodChannel(t, Config{})
	fake.Gone(7)
	h := &echo{c: c, seen: map[string]int{}}
	fake.Text(7, "en", "hello?")
	for chat := int64(8); chat <= 12; chat++ {
		fake.Text(chat, "en", "hi")
	}
	runPolling(t, c, h)
	answeredWithin(t, fake, []int64{8, 9, 10, 11, 12}, 2*time.Second, "an undeliverable update")
	if !waitFor(5*time.Second, func() bool { return cnt.get(EventDeadLetter) == 1 }) {
		t.Fatalf("%d dead letters", cnt.get(EventDeadLetter))
	}
	spool.mu.Lock()
	dead := strings.Join(spool.dead, "\n")
	spool.mu.Unlock()
	if !strings.Contains(dead, "chat not found") || !strings.Contains(dead, " 7 ") || !strings.Contains(dead, "after 2 tries") {
		t.Fatalf("dead letter %q", dead)
	}
	if h.count("tg:7") != 2 {
		t.Fatalf("%d tries, want 2", h.count("tg:7"))
	}
	if !waitFor(5*time.Second, func() bool {
		p, _ := spool.Pending(context.Background())
		return fake.Acked() >= 1006 && len(p) == 0
	}) {
		t.Fatalf("offset %d, or the spool not emptied", fake.Acked())
	}
}

// In webhook mode the undeliverable update is answered 200 (Telegram
// would otherwise deliver it forever) and dead-lettered.
func TestUndeliverableUpdateIsDeadLetteredWebhook(t *testing.T) {
	c, fake, cnt, spool := floodChannel(t, Config{WebhookURL: "https://bot.example/tg", WebhookSecret: "whsecret"})
	fake.Gone(7)
	c.SetHandler(&echo{c: c, seen: map[string]int{}})
	body, _ := json.Marshal(models.Update{ID: 55, Message: &models.Message{ID: 1, Chat: models.Chat{ID: 7, Type: models.ChatTypePrivate},
		From: &models.User{ID: 7, LanguageCode: "en"}, Text: "hello?"}})
	req := httptest.NewRequest(http.MethodPost, "/telegram", bytes.NewReader(body))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "whsecret")
	rec := httptest.NewRecorder()
	c.WebhookHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d, want 200 for an undeliverable update", rec.Code)
	}
	spool.mu.Lock()
	dead := strings.Join(spool.dead, "\n")
	spool.mu.Unlock()
	if cnt.get(EventDeadLetter) != 1 || !strings.HasPrefix(dead, "55 7 ") || !strings.Contains(dead, "chat not found") {
		t.Fatalf("dead letters %d: %q", cnt.get(EventDeadLetter), dead)
	}
	// a transient failure is still answered 500, for Telegram to retry
	fake.Fail("sendMessage", 500, 0, 10)
	body, _ = json.Marshal(models.Update{ID: 56, Message: &models.Message{ID: 2, Chat: models.Chat{ID: 9, Type: models.ChatTypePrivate},
		From: &models.User{ID: 9, LanguageCode: "en"}, Text: "hi"}})
	req = httptest.NewRequest(http.MethodPost, "/telegram", bytes.NewReader(body))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "whsecret")
	rec = httptest.NewRecorder()
	c.WebhookHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("HTTP %d for a transient failure, want 500", rec.Code)
	}
}

// Updates spooled by a run that died are handled on the next start, in
// order, before new ones of the same chat.
func TestSpooledUpdatesAreResumed(t *testing.T) {
	spool := newMemSpool()
	for i, text := range []string{"first", "second"} {
		u := models.Update{ID: int64(500 + i), Message: &models.Message{ID: 1 + i, Chat: models.Chat{ID: 3, Type: models.ChatTypePrivate},
			From: &models.User{ID: 3, LanguageCode: "en"}, Text: text}}
		raw, _ := json.Marshal(u)
		spool.Put(context.Background(), u.ID, raw)
	}
	c, fake, _, _ := floodChannel(t, Config{Spool: spool})
	c.cfg.ChatEvery = time.Millisecond
	c.limit = newLimiter(1000, time.Millisecond)
	fake.Text(3, "en", "third")
	runPolling(t, c, &echo{c: c, seen: map[string]int{}})
	got := fake.WaitSent(3, 3, 5*time.Second)
	var texts []string
	for _, g := range got {
		texts = append(texts, g.Params["text"])
	}
	if strings.Join(texts, "|") != "got first|got second|got third" {
		t.Fatalf("sent %q", texts)
	}
	if !waitFor(5*time.Second, func() bool { p, _ := spool.Pending(context.Background()); return len(p) == 0 }) {
		t.Fatal("the spool was not emptied")
	}
}

// Stickers, voice messages and edits get a short answer in the sender's
// language and reach no turn; a photo reaches the turn with its largest
// size (the engine takes it at a photo question, else answers as the
// channel would); a group chat is told once that parcelbot works in
// private chats.
func TestUnsupportedMessagesGetAShortAnswer(t *testing.T) {
	c, fake, cnt, _ := floodChannel(t, Config{})
	c.limit = newLimiter(1000, time.Millisecond)
	h := &echo{c: c, seen: map[string]int{}}
	cat := c.cfg.Catalog
	private := models.Chat{ID: 21, Type: models.ChatTypePrivate}
	fake.Push(models.Update{Message: &models.Message{ID: 1, Chat: private, From: &models.User{ID: 21, LanguageCode: "de"}, Sticker: &models.Sticker{FileID: "s"}}})
	fake.Push(models.Update{Message: &models.Message{ID: 2, Chat: private, From: &models.User{ID: 21, LanguageCode: "fr"}, Photo: []models.PhotoSize{{FileID: "p-small", Width: 90, Height: 90, FileSize: 900}, {FileID: "p", Width: 800, Height: 600, FileSize: 48000}}}})
	fake.Push(models.Update{Message: &models.Message{ID: 3, Chat: private, From: &models.User{ID: 21, LanguageCode: "it"}, Voice: &models.Voice{FileID: "v"}}})
	fake.Push(models.Update{EditedMessage: &models.Message{ID: 4, Chat: private, From: &models.User{ID: 21, LanguageCode: "en"}, Text: "fixed"}})
	group := models.Chat{ID: -100, Type: models.ChatTypeSupergroup}
	fake.Push(models.Update{Message: &models.Message{ID: 5, Chat: group, From: &models.User{ID: 22, LanguageCode: "en"}, Text: "/start"}})
	fake.Push(models.Update{Message: &models.Message{ID: 6, Chat: group, From: &models.User{ID: 23, LanguageCode: "en"}, Text: "/help"}})
	fake.Text(21, "en", "/help") // a barrier: handled after everything above
	runPolling(t, c, h)
	got := fake.WaitSent(21, 5, 5*time.Second)
	// a photo is a turn (the engine decides whether the step takes it),
	// with its largest size; the rest is answered by the channel
	want := []string{cat.Text("de", "channel.unsupported", nil), "got photo p 48000",
		cat.Text("it", "channel.unsupported", nil), cat.Text("en", "channel.edited", nil), "got /help"}
	if len(got) != len(want) {
		t.Fatalf("%d messages to the private chat, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Params["text"] != w {
			t.Errorf("message %d: %q, want %q", i+1, got[i].Params["text"], w)
		}
	}
	if h.count("tg:21") != 2 {
		t.Fatalf("%d turns, want the photo's and the text message's", h.count("tg:21"))
	}
	if !waitFor(5*time.Second, func() bool { return fake.Acked() >= 1007 }) {
		t.Fatal("updates not acknowledged")
	}
	groupMsgs := fake.Sent(-100)
	if len(groupMsgs) != 1 || groupMsgs[0].Params["text"] != cat.Text("en", "channel.private_only", nil) || h.count("tg:-100") != 0 {
		t.Fatalf("group chat got %d messages, %d turns", len(groupMsgs), h.count("tg:-100"))
	}
	if cnt.get(EventUnsupported) != 3 || cnt.get(EventGroup) != 2 {
		t.Fatalf("counted %v", cnt.n)
	}
}

func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasText(calls []telegramtest.Call, text string) bool {
	for _, c := range calls {
		if c.Params["text"] == text {
			return true
		}
	}
	return false
}

// The flood limit on a fake clock: 20 in any 10 s, one notice a window.
func TestFloodLimitWindow(t *testing.T) {
	f := newFlood(20, 10*time.Second)
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for i := range 20 {
		if ok, _ := f.admit(1, int64(i+1), t0.Add(time.Duration(i)*100*time.Millisecond)); !ok {
			t.Fatalf("message %d refused", i+1)
		}
	}
	if ok, _ := f.admit(1, 5, t0.Add(2*time.Second)); !ok {
		t.Fatal("an admitted update delivered again was refused")
	}
	ok, notice := f.admit(1, 21, t0.Add(2*time.Second))
	if ok || !notice {
		t.Fatalf("21st: ok %v notice %v", ok, notice)
	}
	if ok, notice := f.admit(1, 22, t0.Add(3*time.Second)); ok || notice {
		t.Fatalf("22nd: ok %v notice %v (one notice a window)", ok, notice)
	}
	if ok, _ := f.admit(2, 23, t0.Add(3*time.Second)); !ok {
		t.Fatal("another chat refused")
	}
	// 10 s after the first message, one slot is free again
	if ok, _ := f.admit(1, 24, t0.Add(10*time.Second)); !ok {
		t.Fatal("the window did not move on")
	}
	if ok, _ := f.admit(1, 25, t0.Add(10*time.Second)); ok {
		t.Fatal("two slots freed by one message leaving the window")
	}
}

// failingSpool refuses the first puts (Redis down).
type failingSpool struct {
	*memSpool
	mu    sync.Mutex
	fails int
}

func (f *failingSpool) Put(ctx context.Context, id int64, raw []byte) error {
	f.mu.Lock()
	if f.fails > 0 {
		f.fails--
		f.mu.Unlock()
		return errors.New("redis down")
	}
	f.mu.Unlock()
	return f.memSpool.Put(ctx, id, raw)
}

// An update fetched again and again while the spool (Redis) is down is
// counted once by the flood limit: when Redis is back it is handled, not
// dropped as a flood.
func TestSpoolOutageDoesNotLookLikeAFlood(t *testing.T) {
	spool := &failingSpool{memSpool: newMemSpool(), fails: 6}
	c, fake, cnt, _ := floodChannel(t, Config{Spool: spool, FloodMessages: 3})
	c.limit = newLimiter(1000, time.Millisecond)
	h := &echo{c: c, seen: map[string]int{}}
	fake.Text(4, "en", "hello")
	runPolling(t, c, h)
	if got := fake.WaitSent(4, 1, 20*time.Second); len(got) < 1 || got[0].Params["text"] != "got hello" {
		t.Fatalf("the message was not handled after the outage: %v (dropped %d)", got, cnt.get(EventFloodDropped))
	}
	if n := cnt.get(EventFloodDropped); n != 0 {
		t.Fatalf("%d updates dropped as a flood", n)
	}
}
