package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-telegram/bot/models"

	"github.com/parcelbot/parcelbot/adapters/telegram/telegramtest"
	"github.com/parcelbot/parcelbot/domain"
)

const testToken = "123456:TEST-token-secret"

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// demoPasswords are the delivery passwords of the demo data.
var demoPasswords = []string{"216655", "224432", "232209"}

// redisContains returns the first key whose value contains needle.
func redisContains(mr *miniredis.Miniredis, needle string) string {
	for _, k := range mr.Keys() {
		var vals []string
		switch mr.Type(k) {
		case "string":
			v, _ := mr.Get(k)
			vals = append(vals, v)
		case "hash":
			fields, _ := mr.HKeys(k)
			for _, f := range fields {
				vals = append(vals, mr.HGet(k, f))
			}
		case "list":
			vals, _ = mr.List(k)
		case "stream":
			entries, _ := mr.Stream(k)
			for _, e := range entries {
				vals = append(vals, e.Values...)
			}
		}
		for _, v := range vals {
			if strings.Contains(v, needle) {
				return k
			}
		}
	}
	return ""
}

type served struct {
	fake   *telegramtest.Server
	mr     *miniredis.Miniredis
	addr   string
	ops    string                // metrics and readiness
	hasKey func(key string) bool // when serve runs on another Redis than mr
	stdout *syncBuffer
	stderr *syncBuffer
}

// testLinkSecret is the link-token secret the serve tests run with: serve
// refuses the public demo secret.
const testLinkSecret = "serve-tests-link-secret-0123456789abcdef"

// startServe runs `parcelbot serve` in-process against a fake Bot API and
// an in-process Redis the test can inspect.
func startServe(t *testing.T, extra map[string]string) *served {
	t.Helper()
	s := &served{fake: telegramtest.New(testToken), mr: miniredis.RunT(t), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	t.Cleanup(s.fake.Close)
	env := map[string]string{
		"TELEGRAM_BOT_TOKEN": testToken, "TELEGRAM_API_URL": s.fake.URL, "PARCELBOT_ADDR": "127.0.0.1:0", "PARCELBOT_OPS_ADDR": "127.0.0.1:0",
		"REDIS_URL": "redis://" + s.mr.Addr(), "TELEGRAM_CHAT_INTERVAL": "5ms", "TELEGRAM_RATE": "1000", "LOG_LEVEL": "debug", "TELEGRAM_TYPING_AFTER": "0",
		"LINK_TOKEN_SECRET": testLinkSecret,
	}
	for k, v := range extra {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve"}, strings.NewReader(""), s.stdout, s.stderr, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15s")
		}
		logs := s.stdout.String() + s.stderr.String()
		for _, secret := range append([]string{testToken}, demoPasswords...) {
			if strings.Contains(logs, secret) {
				t.Errorf("%q appears in the output or logs", secret)
			}
			if where := redisContains(s.mr, secret); where != "" {
				t.Errorf("%q is stored in Redis at %s", secret, where)
			}
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out := s.stdout.String()
		i, j := strings.Index(out, "HTTP on "), strings.Index(out, "readiness on ")
		if i >= 0 && j >= 0 {
			s.addr = strings.TrimSpace(strings.SplitN(out[i+len("HTTP on "):], "\n", 2)[0])
			s.ops = strings.TrimSpace(strings.SplitN(out[j+len("readiness on "):], "\n", 2)[0])
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("serve did not start:\n%s\n%s", s.stdout.String(), s.stderr.String())
	return nil
}

// expect waits for the chat's n-th message and checks it contains want.
func (s *served) expect(t *testing.T, chat int64, n int, want string) telegramtest.Call {
	t.Helper()
	got := s.fake.WaitSent(chat, n, 5*time.Second)
	if len(got) < n {
		t.Fatalf("chat %d: %d messages, want %d; last: %v", chat, len(got), n, got)
	}
	c := got[n-1]
	if !strings.Contains(c.Params["text"], want) {
		t.Fatalf("chat %d message %d:\n%s\nwant it to contain %q", chat, n, c.Params["text"], want)
	}
	return c
}

func (s *served) press(t *testing.T, chat int64, lang string, c telegramtest.Call, label string) {
	t.Helper()
	data, ok := c.Button(label)
	if !ok {
		t.Fatalf("no button %q in %v", label, c.Keyboard())
	}
	s.fake.Press(chat, lang, c.MessageID, data)
}

func TestTelegramGermanAndItalianJourneys(t *testing.T) {
	s := startServe(t, nil)
	// German: menu, button, order number, postcode
	s.fake.Text(1001, "de-DE", "/start")
	menu := s.expect(t, 1001, 1, "Wobei kann ich helfen?")
	s.press(t, 1001, "de", menu, "📦 Wo ist mein Paket?")
	s.expect(t, 1001, 2, "Bitte schicken Sie mir Ihre Bestellnummer")
	s.fake.Text(1001, "de-DE", "302-1001111-4007777")
	s.expect(t, 1001, 3, "Postleitzahl")
	s.fake.Text(1001, "de-DE", "10115")
	s.expect(t, 1001, 4, "Bestellung 302-1001111-4007777: unterwegs.")

	// Italian, with a language code Telegram reports as "it"
	s.fake.Text(2002, "it", "ciao")
	menu = s.expect(t, 2002, 1, "Come posso aiutarti?")
	s.press(t, 2002, "it", menu, "📦 Dov’è il mio pacco?")
	s.expect(t, 2002, 2, "Mandami il numero dell’ordine")
	s.fake.Text(2002, "it", "il mio ordine è 405-1001111-4007777")
	s.expect(t, 2002, 3, "CAP")
	s.fake.Text(2002, "it", "20121")
	s.expect(t, 2002, 4, "Ordine 405-1001111-4007777: in viaggio.")

	// every press answered, its keyboard removed; typing shown; menus localized
	if n := len(s.fake.Calls("answerCallbackQuery")); n != 2 {
		t.Errorf("%d callback queries answered, want 2", n)
	}
	edits := s.fake.Calls("editMessageReplyMarkup")
	if len(edits) != 2 || !strings.Contains(edits[0].Params["reply_markup"], `"inline_keyboard":[]`) {
		t.Errorf("keyboards not removed after presses: %v", edits)
	}
	for _, a := range s.fake.Calls("answerCallbackQuery") {
		if a.Params["callback_query_id"] == "" {
			t.Errorf("a callback query answered without its id: %v", a)
		}
	}
	for _, e := range edits {
		if e.Params["chat_id"] == "" || e.Params["message_id"] == "" || e.Params["message_id"] == "0" {
			t.Errorf("a keyboard removal names no message: %v", e)
		}
	}
	if len(s.fake.Calls("sendChatAction")) == 0 {
		t.Error("no typing action")
	}
	cmds := s.fake.Calls("setMyCommands")
	if len(cmds) != 5 {
		t.Fatalf("%d setMyCommands calls, want a default and one per language", len(cmds))
	}
	var sawGerman bool
	for _, c := range cmds {
		if c.Params["language_code"] == "de" {
			sawGerman = strings.Contains(c.Params["commands"], "Mit einem Menschen sprechen")
		}
	}
	if !sawGerman {
		t.Errorf("no German command menu: %v", cmds)
	}
	if got := s.fake.Sent(1001)[0].Params["parse_mode"]; got != "HTML" {
		t.Errorf("parse_mode %q", got)
	}
}

func TestTelegramRedeliveredUpdateIsHandledOnce(t *testing.T) {
	s := startServe(t, nil)
	u := models.Update{ID: 777, Message: &models.Message{ID: 1, Chat: models.Chat{ID: 3003, Type: models.ChatTypePrivate},
		From: &models.User{ID: 3003, LanguageCode: "en"}, Text: "/human"}}
	s.fake.Push(u)
	s.expect(t, 3003, 1, "passed your conversation to our support team")
	for s.fake.Acked() < 777 {
		time.Sleep(5 * time.Millisecond)
	}
	s.fake.Push(u) // Telegram delivers it again
	s.fake.Text(3003, "en", "thanks")
	// a barrier: /help is answered during a hand-over, and a chat's updates
	// are handled in order, so its answer means the two above are done
	s.fake.Text(3003, "en", "/help")
	s.expect(t, 3003, 2, "/cases")
	if sent := s.fake.Sent(3003); len(sent) != 2 {
		t.Fatalf("%d messages after a redelivery, want the hand-over once and the help (and silence for the relayed thanks)", len(sent))
	}
	if n := strings.Count(s.stdout.String(), "to the agent desk"); n != 1 {
		t.Fatalf("%d escalations for one update", n)
	}
}

func TestTelegramTwentyMessagesOfOneChatInOrder(t *testing.T) {
	s := startServe(t, nil)
	for i := 1; i <= 20; i++ {
		s.fake.Text(4004, "en", fmt.Sprintf("message %02d", i))
	}
	s.fake.WaitSent(4004, 20, 10*time.Second)
	if n := len(s.fake.Sent(4004)); n != 20 {
		t.Fatalf("%d answers to 20 messages", n)
	}
	lines, err := s.mr.List("parcelbot:t:{tg:4004}")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		if strings.HasPrefix(l, "customer: ") {
			got = append(got, strings.TrimPrefix(l, "customer: "))
		}
	}
	for i, g := range got {
		if want := fmt.Sprintf("message %02d", i+1); g != want {
			t.Fatalf("turn %d handled %q, want %q (all: %q)", i+1, g, want, got)
		}
	}
	if len(got) != 20 {
		t.Fatalf("%d turns stored", len(got))
	}
}

func TestTelegram429IsHonoured(t *testing.T) {
	s := startServe(t, nil)
	s.fake.Fail("sendMessage", 429, 1, 1)
	s.fake.Text(5005, "en", "/start")
	s.expect(t, 5005, 2, "What can I help you with?") // the refused call is recorded too
	calls := s.fake.Sent(5005)
	if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
		t.Fatalf("retried after %v, want at least retry_after = 1s", gap)
	}
}

func TestTelegramForgedCallbackIsRefused(t *testing.T) {
	s := startServe(t, nil)
	s.fake.Text(6006, "en", "/track")
	ask := s.expect(t, 6006, 1, "Please send me your order number")
	for _, data := range []string{"999.0", "x", strings.Repeat("9", 64)} {
		s.fake.Press(6006, "en", ask.MessageID, data)
	}
	s.expect(t, 6006, 4, "That button belongs to an earlier message")
	s.fake.Text(6006, "en", "206-1001111-4007777")
	s.expect(t, 6006, 5, "postcode") // still where it was: nothing changed
}

func TestTelegramWebhookChecksTheSecret(t *testing.T) {
	s := startServe(t, map[string]string{"TELEGRAM_WEBHOOK_URL": "https://bot.example.com/tg/hook", "TELEGRAM_WEBHOOK_SECRET": "wh-s3cret"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if url, secret := s.fake.Webhook(); url == "https://bot.example.com/tg/hook" && secret == "wh-s3cret" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("setWebhook not called with the URL and secret")
		}
		time.Sleep(5 * time.Millisecond)
	}
	body, _ := json.Marshal(models.Update{ID: 9, Message: &models.Message{ID: 1, Chat: models.Chat{ID: 7007, Type: models.ChatTypePrivate}, From: &models.User{ID: 7007, LanguageCode: "fr"}, Text: "bonjour"}})
	post := func(secret string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/tg/hook", bytes.NewReader(body))
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, bad := range []string{"", "wrong", "wh-s3cre"} {
		if code := post(bad); code != http.StatusUnauthorized {
			t.Fatalf("secret %q: HTTP %d, want 401", bad, code)
		}
	}
	if n := len(s.fake.Sent(7007)); n != 0 || len(s.mr.Keys()) != 0 {
		t.Fatalf("a refused request changed something: %d messages, keys %v", n, s.mr.Keys())
	}
	if code := post("wh-s3cret"); code != http.StatusOK {
		t.Fatalf("right secret: HTTP %d", code)
	}
	// the answer came after the turn: the reply is already out
	if sent := s.fake.Sent(7007); len(sent) != 1 || !strings.Contains(sent[0].Params["text"], "Comment puis-je vous aider") {
		t.Fatalf("reply: %v", sent)
	}
	if code := post("wh-s3cret"); code != http.StatusOK || len(s.fake.Sent(7007)) != 1 {
		t.Fatal("a webhook redelivery was answered twice")
	}
}

// serve never runs with a secret anyone can read: without LINK_TOKEN_SECRET
// (or with a short one) it refuses to start, naming the variable; --demo
// allows the public demo secret on the demo data only.
func TestServeRefusesThePublicDemoSecret(t *testing.T) {
	base := map[string]string{"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_API_URL": "http://127.0.0.1:1", "PARCELBOT_ADDR": "127.0.0.1:0", "PARCELBOT_OPS_ADDR": "127.0.0.1:0"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	code, _, errs := runCmd(t, "", with(), "serve")
	if code != 2 || !strings.Contains(errs, "LINK_TOKEN_SECRET is not set") || !strings.Contains(errs, "--demo") {
		t.Fatalf("no secret: exit %d: %s", code, errs)
	}
	code, _, errs = runCmd(t, "", with("LINK_TOKEN_SECRET", "short"), "serve")
	if code != 2 || !strings.Contains(errs, "LINK_TOKEN_SECRET has 5 bytes") {
		t.Fatalf("short secret: exit %d: %s", code, errs)
	}
	code, _, errs = runCmd(t, "", with("PARCELBOT_BACKEND", "shopapi", "SHOP_API_URL", "http://127.0.0.1:1", "SHOP_API_TOKEN", "t"), "serve", "--demo")
	if code != 2 || !strings.Contains(errs, "refuses PARCELBOT_BACKEND=shopapi") {
		t.Fatalf("--demo with the shop API: exit %d: %s", code, errs)
	}
}

// A token minted offline with the public demo secret links nothing on a
// served bot: its secret is another.
func TestDemoSecretTokenDoesNotLinkOnServe(t *testing.T) {
	s := startServe(t, nil)
	tok, err := domain.NewLinkToken([]byte(demoLinkSecret), "C-1001", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.fake.Text(9101, "en", "/start "+tok)
	got := s.expect(t, 9101, 1, "").Params["text"]
	if strings.Contains(got, "Anna") || !strings.Contains(got, "valid or has been used") {
		t.Fatalf("a demo-secret token was accepted: %q", got)
	}
}

func TestServeWithoutChannelSaysWhatToSet(t *testing.T) {
	code, _, errs := runCmd(t, "", nil, "serve")
	if code != 2 || !strings.Contains(errs, "TELEGRAM_BOT_TOKEN") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	code, _, errs = runCmd(t, "", map[string]string{"TELEGRAM_BOT_TOKEN": "x", "TELEGRAM_WEBHOOK_URL": "https://a.example/hook"}, "serve")
	if code != 2 || !strings.Contains(errs, "TELEGRAM_WEBHOOK_SECRET") {
		t.Fatalf("webhook without secret: exit %d: %s", code, errs)
	}
}

func getURL(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	s := startServe(t, nil)
	if code, body := getURL(t, "http://"+s.addr+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	var code int
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code, body = getURL(t, "http://"+s.ops+"/readyz"); code == 200 {
			break
		}
	}
	if code != 200 || !strings.Contains(body, `"redis":"ok"`) || !strings.Contains(body, `"telegram":"ok"`) {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	s.fake.Text(1111, "en", "where is my order 206-1001111-4007777")
	s.expect(t, 1111, 1, "postcode")
	s.fake.Text(1111, "en", "SW1A 1AA")
	s.expect(t, 1111, 2, "on its way")
	s.fake.Text(1111, "en", "/human")
	s.expect(t, 1111, 3, "support team")
	code, metrics := getURL(t, "http://"+s.ops+"/metrics")
	for deadline := time.Now().Add(3 * time.Second); !strings.Contains(metrics, "parcelbot_escalations_total") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // the escalation runs just after the reply
		code, metrics = getURL(t, "http://"+s.ops+"/metrics")
	}
	for _, want := range []string{
		`parcelbot_turns_total{journey="track",lang="en",outcome="ok"}`,
		`parcelbot_journeys_total{event="started",journey="track",lang="en"} 1`,
		`parcelbot_escalations_total{journey="track",lang="en",reason="customer_asked"} 1`,
		`parcelbot_turn_seconds_bucket`, `parcelbot_redis_seconds_bucket{cmd="evalsha"`,
		`parcelbot_api_seconds_bucket{api="telegram",status="2xx"`, `go_goroutines`,
	} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, testToken) || strings.Contains(metrics, "206-1001111") || strings.Contains(metrics, "tg:1111") {
		t.Error("/metrics carries a token, an order number or a conversation id")
	}
	// Redis down: not ready, says which dependency, and nothing more (the
	// reason, which may name internal addresses, is in the log)
	s.mr.SetError("LOADING")
	code, body = getURL(t, "http://"+s.ops+"/readyz")
	s.mr.SetError("")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"redis":"unavailable"`) || strings.Contains(body, "LOADING") || strings.Contains(body, "127.0.0.1") {
		t.Fatalf("/readyz with Redis down: %d %s", code, body)
	}
	// the public listener serves neither metrics nor readiness
	for _, path := range []string{"/metrics", "/readyz"} {
		if code, _ := getURL(t, "http://"+s.addr+path); code != http.StatusNotFound {
			t.Errorf("%s on the public listener: HTTP %d, want 404", path, code)
		}
	}
}

// One chat sends 200 messages in a second through the real wiring (real
// per-chat spacing of one message a second): five other chats are still
// answered within 2 s, the flooding chat is told once to slow down, and
// the dropped messages are counted on /metrics.
func TestServeFloodingChatDoesNotDelayOthers(t *testing.T) {
	s := startServe(t, map[string]string{"TELEGRAM_CHAT_INTERVAL": "1s"})
	for i := range 200 {
		s.fake.Text(9100, "en", fmt.Sprintf("where is my parcel?? %d", i))
	}
	for chat := int64(9101); chat <= 9105; chat++ {
		s.fake.Text(chat, "en", "/help")
	}
	for chat := int64(9101); chat <= 9105; chat++ {
		if got := s.fake.WaitSent(chat, 1, 2*time.Second); len(got) < 1 {
			t.Fatalf("chat %d not answered within 2 s behind a flooding chat", chat)
		}
	}
	s.expectAny(t, 9100, "faster than I can read them")
	var metrics string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, metrics = getURL(t, "http://"+s.ops+"/metrics"); strings.Contains(metrics, `parcelbot_channel_updates_total{channel="telegram",event="flood_dropped"} 180`) {
			return
		}
	}
	t.Fatalf("/metrics does not count 180 dropped messages:\n%s", grepLines(metrics, "parcelbot_channel_updates_total"))
}

// A chat whose answers Telegram always refuses (400 chat not found) does
// not hold up the others; the update is dead-lettered in Redis with the
// reason and counted.
func TestServeUndeliverableUpdateIsDeadLettered(t *testing.T) {
	s := startServe(t, nil)
	s.fake.Gone(9200)
	s.fake.Text(9200, "en", "hello")
	for chat := int64(9201); chat <= 9203; chat++ {
		s.fake.Text(chat, "en", "/help")
	}
	for chat := int64(9201); chat <= 9203; chat++ {
		if got := s.fake.WaitSent(chat, 1, 2*time.Second); len(got) < 1 {
			t.Fatalf("chat %d not answered within 2 s behind an undeliverable update", chat)
		}
	}
	var reason string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && reason == ""; time.Sleep(20 * time.Millisecond) {
		entries, _ := s.mr.Stream("parcelbot:tg:dead")
		for _, e := range entries {
			for i := 0; i+1 < len(e.Values); i += 2 {
				if e.Values[i] == "reason" {
					reason = e.Values[i+1]
				}
			}
		}
	}
	if !strings.Contains(reason, "chat not found") {
		t.Fatalf("dead letter reason %q", reason)
	}
	if _, metrics := getURL(t, "http://"+s.ops+"/metrics"); !strings.Contains(metrics, `parcelbot_channel_updates_total{channel="telegram",event="dead_letter"} 1`) {
		t.Fatalf("dead letter not counted:\n%s", grepLines(metrics, "parcelbot_channel_updates_total"))
	}
	if !waitAcked(s, 5*time.Second) {
		t.Fatal("the offset did not pass the undeliverable update")
	}
}

// waitAcked waits until every update pushed so far is acknowledged.
func waitAcked(s *served, d time.Duration) bool {
	last := s.fake.Push(models.Update{}) // an empty update: acknowledged, handled as nothing
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if s.fake.Acked() >= last {
			return true
		}
	}
	return false
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// expectAny waits for a message to chat containing want, among all sent.
func (s *served) expectAny(t *testing.T, chat int64, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, c := range s.fake.Sent(chat) {
			if strings.Contains(c.Params["text"], want) {
				return
			}
		}
	}
	t.Fatalf("chat %d never got %q", chat, want)
}
