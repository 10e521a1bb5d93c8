package telegram

import (
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
	"unicode/utf8"

	"github.com/go-telegram/bot/models"

	"github.com/parcelbot/parcelbot/adapters/telegram/telegramtest"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/locales"
)

var _ bot.Channel = (*Channel)(nil)

func newTestChannel(t testing.TB, rate float64, every time.Duration) (*Channel, *telegramtest.Server) {
	t.Helper()
	return testChannel(t, Config{GlobalRate: rate, ChatEvery: every})
}

// testChannel is a channel with cfg against a fresh fake Bot API, with the
// real locales and a one-second poll.
func testChannel(t testing.TB, cfg Config) (*Channel, *telegramtest.Server) {
	t.Helper()
	fake := telegramtest.New("1:T")
	t.Cleanup(fake.Close)
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Token, cfg.APIURL, cfg.Catalog, cfg.PollTimeout = "1:T", fake.URL, cat, time.Second
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, fake
}

func TestSplit(t *testing.T) {
	long := strings.Repeat("word ", 2000) // 10,000 characters
	parts := split(long, 4096)
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	for _, p := range parts {
		if n := utf8.RuneCountInString(p); n > 4096 || strings.HasSuffix(p, " ") {
			t.Errorf("part of %d characters ending %q", n, p[len(p)-3:])
		}
	}
	if got := strings.Join(parts, " "); got != strings.TrimSpace(long) {
		t.Error("splitting lost text")
	}
	emoji := strings.Repeat("📦", 5000)
	for _, p := range split(emoji, 4096) {
		if !utf8.ValidString(p) || utf8.RuneCountInString(p) > 4096 {
			t.Error("split a rune or over-long part")
		}
	}
	if p := split("", 4096); len(p) != 1 {
		t.Errorf("empty text: %q", p)
	}
}

func TestSendEscapesMergesAndSplits(t *testing.T) {
	c, fake := newTestChannel(t, 1000, time.Millisecond)
	ctx := context.Background()
	err := c.Send(ctx, "42", "en", []dialog.Reply{
		{Text: "👤 <b>Sam</b> & co"},
		{Text: strings.Repeat("x", 5000), Buttons: []dialog.Button{{Label: "Yes", Data: "3.0"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sent := fake.Sent(42)
	if len(sent) != 2 {
		t.Fatalf("%d messages, want the replies merged and split in two", len(sent))
	}
	if !strings.HasPrefix(sent[0].Params["text"], "👤 &lt;b&gt;Sam&lt;/b&gt; &amp; co") {
		t.Errorf("not escaped: %q", sent[0].Params["text"][:40])
	}
	if len(sent[0].Keyboard()) != 0 || len(sent[1].Keyboard()) != 1 {
		t.Error("the keyboard belongs to the last part only")
	}
	if d, _ := sent[1].Button("Yes"); d != "3.0" {
		t.Errorf("callback data %q", d)
	}
}

func TestRateLimitsPerChatAndOverall(t *testing.T) {
	c, fake := newTestChannel(t, 50, 100*time.Millisecond)
	ctx := context.Background()
	var wg sync.WaitGroup
	start := time.Now()
	for chat := 1; chat <= 5; chat++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				if err := c.Send(ctx, string(rune('0'+chat)), "en", []dialog.Reply{{Text: "hi"}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	calls := fake.Calls("sendMessage")
	if len(calls) != 20 {
		t.Fatalf("%d messages", len(calls))
	}
	// 20 messages at 50/s take at least 380 ms (timers never fire early, so
	// this holds on a busy machine); the spacing of each call is checked on
	// a simulated clock in limit_test.go, not here on the wall clock
	if el := time.Since(start); el < 370*time.Millisecond {
		t.Errorf("20 messages in %v: faster than 50 a second", el)
	}
	per := map[int64]int{}
	for _, call := range calls {
		per[call.ChatID()]++
	}
	for chat := int64(1); chat <= 5; chat++ {
		if per[chat] != 4 {
			t.Errorf("chat %d got %d messages, want 4", chat, per[chat])
		}
	}
}

func TestBlockedChatIsNotRetried(t *testing.T) {
	c, fake := newTestChannel(t, 1000, time.Millisecond)
	fake.Block(9)
	ctx := context.Background()
	if err := c.Send(ctx, "9", "en", []dialog.Reply{{Text: "hello"}}); err != nil {
		t.Fatal(err)
	}
	if !c.Blocked(9) {
		t.Fatal("403 did not mark the chat")
	}
	for i := 0; i < 5; i++ {
		_ = c.Send(ctx, "9", "en", []dialog.Reply{{Text: "again"}})
	}
	if n := len(fake.Sent(9)); n != 1 {
		t.Fatalf("%d attempts to a chat that blocked the bot, want 1", n)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	c, fake := newTestChannel(t, 1000, time.Millisecond)
	fake.Fail("sendMessage", 500, 0, 2)
	if err := c.Send(context.Background(), "5", "en", []dialog.Reply{{Text: "hello"}}); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Sent(5)); n != 3 {
		t.Fatalf("%d attempts, want 2 failures and a success", n)
	}
}

// flaky fails the first turns of chat 2 (Redis down), then works.
type flaky struct {
	mu    sync.Mutex
	fails int
	seen  []string
}

func (f *flaky) Handle(_ context.Context, m bot.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.Conversation == "tg:2" && f.fails > 0 {
		f.fails--
		return errors.New("redis down")
	}
	f.seen = append(f.seen, m.Conversation+"/"+m.Input.Text)
	return nil
}

// An update whose turn failed (Redis down) is tried again in its chat's
// queue, and that chat's later updates wait for it; other chats go on.
func TestFailedUpdateIsDeliveredAgainInOrder(t *testing.T) {
	c, fake := newTestChannel(t, 1000, time.Millisecond)
	h := &flaky{fails: 2}
	fake.Text(1, "en", "a1")
	fake.Text(2, "en", "b1")
	fake.Text(2, "en", "b2")
	fake.Text(1, "en", "a2")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx, h) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.seen)
		h.mu.Unlock()
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	got := strings.Join(h.seen, " ")
	if !strings.Contains(got, "tg:2/b1") || strings.Index(got, "tg:2/b1") > strings.Index(got, "tg:2/b2") {
		t.Fatalf("handled %q: b1 must come again and before b2", got)
	}
	if strings.Count(got, "tg:1/a1") != 1 || !strings.Contains(got, "tg:2/b2") {
		t.Fatalf("handled %q: a1 once (it was acknowledged), b2 after b1", got)
	}
}

// A burst of replies to many chats reuses keep-alive connections: far
// fewer connections are opened than messages sent (http.DefaultTransport
// keeps two idle per host, so a burst dials nearly one per message).
func TestBurstReusesConnections(t *testing.T) {
	c, fake := newTestChannel(t, 10000, time.Millisecond)
	before := fake.Conns()
	var wg sync.WaitGroup
	for chat := 1; chat <= 32; chat++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				_ = c.Send(context.Background(), strconv.Itoa(chat), "en", []dialog.Reply{{Text: "hi"}})
			}
		}()
	}
	wg.Wait()
	if n := len(fake.Calls("sendMessage")); n != 320 {
		t.Fatalf("%d messages", n)
	}
	// at most two per sender: a request waiting for a connection may
	// dial one more while another is freed, which depends on scheduling;
	// the default transport opened 151 here
	if n := fake.Conns() - before; n > 64 {
		t.Fatalf("%d connections opened for 320 messages from 32 senders, want at most two per sender", n)
	}
}

// Sentence labels get a row each; a rating's 1 to 5 share one row.
func TestKeyboardRows(t *testing.T) {
	kb := keyboard([]dialog.Button{{Label: "1"}, {Label: "2"}, {Label: "3"}, {Label: "4"}, {Label: "5"}, {Label: "No, thanks"}, {Label: "↩ Main menu"}})
	var shape []int
	for _, r := range kb.InlineKeyboard {
		shape = append(shape, len(r))
	}
	if fmt.Sprint(shape) != "[5 1 1]" {
		t.Fatalf("rows %v, want [5 1 1]", shape)
	}
}

// handlerFunc adapts a function to Handler.
type handlerFunc func(context.Context, bot.Message) error

func (f handlerFunc) Handle(ctx context.Context, m bot.Message) error { return f(ctx, m) }

// "typing…" is shown only when a turn runs longer than TypingAfter: a fast
// answer costs no sendChatAction call; a slow one shows it while it runs
// (as JSON, like every reply).
func TestTypingOnlyForSlowTurns(t *testing.T) {
	msg := func(chat int64) *models.Update {
		return &models.Update{ID: chat, Message: &models.Message{ID: 1, Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate}, From: &models.User{ID: chat}, Text: "hi"}}
	}
	c, fake := testChannel(t, Config{TypingAfter: time.Minute})
	c.SetHandler(handlerFunc(func(context.Context, bot.Message) error { return nil }))
	if err := c.handleUpdate(context.Background(), msg(7)); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Calls("sendChatAction")); n != 0 {
		t.Fatalf("a fast turn showed typing %d times", n)
	}

	c, fake = testChannel(t, Config{TypingAfter: time.Millisecond})
	c.SetHandler(handlerFunc(func(context.Context, bot.Message) error {
		// the turn lasts until the chat shows typing
		for deadline := time.Now().Add(10 * time.Second); len(fake.Calls("sendChatAction")) == 0; {
			if time.Now().After(deadline) {
				return errors.New("no typing while the turn ran")
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	}))
	if err := c.handleUpdate(context.Background(), msg(8)); err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls("sendChatAction")
	if calls[0].Params["chat_id"] != "8" || calls[0].Params["action"] != "typing" {
		t.Fatalf("typing call: %+v", calls[0].Params)
	}
}

// With WebhookReplies, a turn's reply that is one message goes in the
// webhook's answer (no sendMessage call); a turn of two messages still
// calls the Bot API for both, in order, and answers with an empty body.
func TestWebhookAnswerCarriesAOneMessageReply(t *testing.T) {
	c, fake := testChannel(t, Config{WebhookURL: "https://bot.example/hook", WebhookSecret: "s3cret", WebhookReplies: true, GlobalRate: 1000, ChatEvery: time.Millisecond})
	var carried []bool
	c.SetHandler(handlerFunc(func(ctx context.Context, m bot.Message) error {
		rs := []dialog.Reply{{Text: "Where is it? <b>", Buttons: []dialog.Button{{Label: "Track", Data: "1.0"}}}}
		if m.Input.Text == "two" {
			rs = []dialog.Reply{{Text: "first", Separate: true}, {Text: "second", Separate: true}}
		}
		if err := c.Send(ctx, strings.TrimPrefix(m.Conversation, "tg:"), "en", rs); err != nil {
			return err
		}
		a := bot.AckFrom(ctx)
		carried = append(carried, a != nil && a.Carried)
		return nil
	}))
	post := func(id int64, text string) (int, string) {
		body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},"from":{"id":42,"is_bot":false,"first_name":"A"},"text":%q}}`, id, text)
		req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s3cret")
		w := httptest.NewRecorder()
		c.WebhookHandler().ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	code, body := post(1, "one")
	var got struct {
		Method      string `json:"method"`
		ChatID      int64  `json:"chat_id"`
		Text        string `json:"text"`
		ParseMode   string `json:"parse_mode"`
		ReplyMarkup struct {
			InlineKeyboard [][]struct {
				Text         string `json:"text"`
				CallbackData string `json:"callback_data"`
			} `json:"inline_keyboard"`
		} `json:"reply_markup"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != http.StatusOK {
		t.Fatalf("answer %d %q: %v", code, body, err)
	}
	if got.Method != "sendMessage" || got.ChatID != 42 || got.Text != "Where is it? &lt;b&gt;" || got.ParseMode != "HTML" ||
		len(got.ReplyMarkup.InlineKeyboard) != 1 || got.ReplyMarkup.InlineKeyboard[0][0].CallbackData != "1.0" {
		t.Fatalf("answer %s", body)
	}
	if n := len(fake.Calls("sendMessage")); n != 0 {
		t.Fatalf("%d sendMessage calls besides the answer", n)
	}
	code, body = post(2, "two")
	if code != http.StatusOK || body != "" {
		t.Fatalf("two messages: answer %d %q", code, body)
	}
	if sent := fake.Sent(42); len(sent) != 2 || sent[0].Params["text"] != "first" || sent[1].Params["text"] != "second" {
		t.Fatalf("two messages through the API: %+v", sent)
	}
	if len(carried) != 2 || !carried[0] || carried[1] {
		t.Fatalf("carried %v", carried)
	}
}
