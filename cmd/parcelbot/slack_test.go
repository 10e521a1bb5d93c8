package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/adapters/slack/slackfake"
	"github.com/parcelbot/parcelbot/adapters/telegram/telegramtest"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

const (
	deskChannel = "CDESK"
	signing     = "slack-signing-secret"
	agentID     = "UAGENT"
)

func startSlackServe(t *testing.T) (*served, *slackfake.Fake) {
	return startSlackServeWith(t, nil)
}

func startSlackServeWith(t *testing.T, extra map[string]string) (*served, *slackfake.Fake) {
	t.Helper()
	sf := slackfake.New(agentID, "UOTHERAGENT")
	t.Cleanup(sf.Stop)
	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_CHANNEL": deskChannel,
		"SLACK_SIGNING_SECRET": signing, "SLACK_API_URL": sf.APIURL()}
	for k, v := range extra {
		env[k] = v
	}
	s := startServe(t, env)
	return s, sf
}

func (s *served) slackPost(t *testing.T, path string, body []byte, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+path, bytes.NewReader(body))
	if strings.HasPrefix(string(body), "payload=") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	slackfake.Sign(req, secret, body, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// escalateHighValue walks a German customer through reporting a missing
// 899 € parcel, which needs an agent's approval; it returns the card.
func escalateHighValue(t *testing.T, s *served, sf *slackfake.Fake, chat int64) slackfake.Post {
	t.Helper()
	s.fake.Text(chat, "de", "Mein Paket 302-1013332-4093324 ist nicht angekommen")
	s.expect(t, chat, 1, "Postleitzahl")
	s.fake.Text(chat, "de", "10115")
	details := s.expect(t, chat, 2, "als zugestellt markiert")
	label := "Als vermisst melden"
	if _, ok := details.Button(label); !ok {
		label = "Jetzt als vermisst melden" // delivered less than 36 hours ago
	}
	s.press(t, chat, "de", details, label)
	s.expect(t, chat, 3, "gibt eine Kollegin oder ein Kollege Erstattungen und Ersatz frei")
	var card slackfake.Post
	if !slackfake.Wait(5*time.Second, func() bool { var ok bool; card, ok = sf.Card(""); return ok }) {
		t.Fatalf("no case card in Slack; posts: %+v", sf.Posts(""))
	}
	// processed signal: the card's thread is recorded (just after Slack
	// took the card), so an agent's reply in it finds the case
	if !slackfake.Wait(5*time.Second, func() bool {
		return s.has("slack:thread:" + card.TS)
	}) {
		t.Fatal("the card's thread was not recorded")
	}
	return card
}

// has reports whether the served Redis holds key (under the key prefix).
func (s *served) has(key string) bool {
	if s.hasKey != nil {
		return s.hasKey(key)
	}
	return s.mr.Exists("parcelbot:" + key)
}

func caseOf(t *testing.T, card slackfake.Post) string {
	t.Helper()
	i := strings.Index(card.Blocks, "PB-")
	if i < 0 {
		t.Fatalf("card without a case id: %s", card.Blocks)
	}
	return card.Blocks[i : i+9]
}

func TestSlackHandOffEndToEnd(t *testing.T) {
	s, sf := startSlackServe(t)
	handOffEndToEnd(t, s, sf)
}

// TestSlackHandOffOnRedisCluster runs the whole hand-off on a Redis
// Cluster (.ci/with-redis-cluster starts one and sets PARCELBOT_TEST_REDIS):
// the case, its indexes and the Slack card bookkeeping each stay in one
// hash slot, so no CROSSSLOT error stops the card or the relay.
func TestSlackHandOffOnRedisCluster(t *testing.T) {
	url, rdb, prefix := testCluster(t, "handoff")
	s, sf := startSlackServeWith(t, map[string]string{"REDIS_URL": url, "REDIS_PREFIX": prefix})
	s.hasKey = func(key string) bool {
		n, err := rdb.Exists(context.Background(), prefix+key).Result()
		return err == nil && n == 1
	}
	handOffEndToEnd(t, s, sf)
}

func handOffEndToEnd(t *testing.T, s *served, sf *slackfake.Fake) {
	t.Helper()
	card := escalateHighValue(t, s, sf, 8008)
	caseID := caseOf(t, card)
	for _, want := range []string{"Case " + caseID, "missing", "302-1013332-4093324", "899.00 EUR", "10115 Berlin", `"approve_refund"`, `"send_replacement"`, `"hand_back"`, "Last messages"} {
		if !strings.Contains(card.Blocks, want) {
			t.Errorf("card lacks %q", want)
		}
	}
	if card.Channel != deskChannel {
		t.Errorf("card in %q", card.Channel)
	}

	// the agent claims: the customer is told in German, the card says who
	if code := s.slackPost(t, "/slack/interactivity", slackfake.ActionPayload(agentID, "claim", caseID, "1.1"), signing); code != 200 {
		t.Fatalf("claim: HTTP %d", code)
	}
	s.expect(t, 8008, 4, "hat Ihren Fall "+caseID+" übernommen")
	if !slackfake.Wait(5*time.Second, func() bool {
		for _, u := range sf.Posts("chat.update") {
			if strings.Contains(u.Blocks, "claimed by \\u003c@"+agentID) || strings.Contains(u.Blocks, "claimed by <@"+agentID) {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("card not updated with the claim: %+v", sf.Posts("chat.update"))
	}

	// the agent's thread reply reaches the customer
	ev := slackfake.MessageEvent("Ev1", deskChannel, agentID, card.TS, "Hallo, hier ist Sam. Ich prüfe das sofort.")
	if code := s.slackPost(t, "/slack/events", ev, signing); code != 200 {
		t.Fatalf("event: HTTP %d", code)
	}
	s.expect(t, 8008, 5, "👤 Hallo, hier ist Sam. Ich prüfe das sofort.")

	// the customer's answer appears in the thread
	s.fake.Text(8008, "de", "Danke! Es war ein Laptop.")
	if !slackfake.Wait(5*time.Second, func() bool {
		return strings.Contains(strings.Join(sf.Thread(card.TS), "\n"), "Danke! Es war ein Laptop.")
	}) {
		t.Fatalf("customer's message not in the thread: %q", sf.Thread(card.TS))
	}

	// approve the refund: same policy and records as the bot's; told in German
	if code := s.slackPost(t, "/slack/interactivity", slackfake.ActionPayload(agentID, "approve_refund", caseID, "2.2"), signing); code != 200 {
		t.Fatalf("refund: HTTP %d", code)
	}
	s.expect(t, 8008, 6, "Ihre Erstattung ist unterwegs")
	if !slackfake.Wait(5*time.Second, func() bool {
		us := sf.Posts("chat.update")
		return len(us) > 0 && strings.Contains(us[len(us)-1].Blocks, "resolved: refund") && !strings.Contains(us[len(us)-1].Blocks, `"approve_refund"`)
	}) {
		t.Fatal("card not closed after the refund")
	}
	// after the resolution the bot answers again
	s.fake.Text(8008, "de", "/start")
	s.expect(t, 8008, 7, "Wobei kann ich helfen?")
}

func TestSlackEventDeliveredThreeTimesIsHandledOnce(t *testing.T) {
	s, sf := startSlackServe(t)
	card := escalateHighValue(t, s, sf, 8101)
	ev := slackfake.MessageEvent("EvDup", deskChannel, agentID, card.TS, "Nur einmal, bitte.")
	for i := 0; i < 3; i++ {
		if code := s.slackPost(t, "/slack/events", ev, signing); code != 200 {
			t.Fatalf("delivery %d: HTTP %d", i+1, code)
		}
	}
	s.expect(t, 8101, 4, "Nur einmal, bitte.")
	// each delivery is answered after it is handled: nothing is still on
	// its way when the last POST returned
	if n := len(s.fake.Sent(8101)); n != 4 {
		t.Fatalf("%d messages to the customer, want the reply once", n)
	}
}

func TestSlackNonMemberChangesNothing(t *testing.T) {
	s, sf := startSlackServe(t)
	card := escalateHighValue(t, s, sf, 8202)
	caseID := caseOf(t, card)
	updates := len(sf.Posts("chat.update"))
	if code := s.slackPost(t, "/slack/interactivity", slackfake.ActionPayload("UINTRUDER", "approve_refund", caseID, "3.3"), signing); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	if !slackfake.Wait(3*time.Second, func() bool {
		for _, p := range sf.Posts("chat.postEphemeral") {
			if p.User == "UINTRUDER" && strings.Contains(p.Text, "Only agents") {
				return true
			}
		}
		return false
	}) {
		t.Fatal("no ephemeral refusal")
	}
	// the press was handled before its HTTP answer: the customer count is
	// final; card updates go through the outbox, so they are checked by
	// content (none names the intruder or a resolution)
	if n := len(s.fake.Sent(8202)); n != 3 {
		t.Fatalf("a non-member's press reached the customer: %d messages", n)
	}
	for _, u := range sf.Posts("chat.update")[updates:] {
		if strings.Contains(u.Blocks, "UINTRUDER") || strings.Contains(u.Blocks, "resolved") {
			t.Fatalf("a non-member's press changed the card: %s", u.Blocks)
		}
	}
	// a thread reply by a non-member is not sent either (handled before
	// the answer, too)
	s.slackPost(t, "/slack/events", slackfake.MessageEvent("EvX", deskChannel, "UINTRUDER", card.TS, "psst"), signing)
	if n := len(s.fake.Sent(8202)); n != 3 {
		t.Fatal("a non-member's thread reply reached the customer")
	}
}

func TestSlackRequestsAreVerified(t *testing.T) {
	s, _ := startSlackServe(t)
	body := []byte(`{"type":"url_verification","challenge":"c-123","token":"x"}`)
	if code := s.slackPost(t, "/slack/events", body, "wrong-secret"); code != http.StatusUnauthorized {
		t.Fatalf("bad signature: HTTP %d", code)
	}
	old, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/slack/events", bytes.NewReader(body))
	slackfake.Sign(old, signing, body, time.Now().Add(-6*time.Minute))
	resp, err := http.DefaultClient.Do(old)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a request signed 6 minutes ago: HTTP %d", resp.StatusCode)
	}
	for _, garbage := range [][]byte{[]byte("{"), []byte(`{"type":"event_callback","event":"x"}`), []byte("payload=%7B")} {
		path := "/slack/events"
		if bytes.HasPrefix(garbage, []byte("payload=")) {
			path = "/slack/interactivity"
		}
		if code := s.slackPost(t, path, garbage, signing); code != http.StatusBadRequest {
			t.Errorf("signed garbage %q to %s: HTTP %d, want 400", garbage, path, code)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/slack/events", bytes.NewReader(body))
	slackfake.Sign(req, signing, body, time.Now())
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || b.String() != "c-123" {
		t.Fatalf("url verification: HTTP %d %q", resp.StatusCode, b.String())
	}
}

func TestSlackOutageLosesNothing(t *testing.T) {
	s, sf := startSlackServe(t)
	card := escalateHighValue(t, s, sf, 8303)
	sf.Fail("chat.postMessage", http.StatusInternalServerError, 3)
	sf.Fail("chat.postMessage", http.StatusTooManyRequests, 1)
	for i := 1; i <= 3; i++ {
		s.fake.Text(8303, "de", fmt.Sprintf("Nachricht %d", i))
	}
	var thread string
	if !slackfake.Wait(15*time.Second, func() bool {
		thread = strings.Join(sf.Thread(card.TS), "\n")
		return strings.Contains(thread, "Nachricht 3")
	}) {
		t.Fatalf("messages lost during the outage: %q", thread)
	}
	if a, b, c := strings.Index(thread, "Nachricht 1"), strings.Index(thread, "Nachricht 2"), strings.Index(thread, "Nachricht 3"); !(a >= 0 && a < b && b < c) {
		t.Fatalf("out of order: %q", thread)
	}
}

// A password the bot showed never reaches Slack: not in the card's last
// messages, not in the thread; nor does the street of the address.
func TestNoSlackPayloadCarriesSecrets(t *testing.T) {
	s, sf := startSlackServe(t)
	d, err := demo.Default(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	o, _ := d.Order(t.Context(), "302-1016665-4116655") // C-1001's, password today
	password := o.Shipment.Password.Code.Reveal()
	tok, err := domain.NewLinkToken([]byte(testLinkSecret), "C-1001", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.fake.Text(8404, "de", "/start "+tok)
	s.expect(t, 8404, 1, "Willkommen, Anna!")
	s.fake.Text(8404, "de", "Zustellpasswort für 302-1016665-4116655")
	shown := s.expect(t, 8404, 2, password)
	s.press(t, 8404, "de", shown, "✉️")
	s.expect(t, 8404, 4, password) // the forwardable message
	s.fake.Text(8404, "de", "ich will mit einem Menschen sprechen")
	s.expect(t, 8404, 5, "Support-Team übergeben")
	var card slackfake.Post
	if !slackfake.Wait(5*time.Second, func() bool { var ok bool; card, ok = sf.Card(""); return ok }) {
		t.Fatal("no card")
	}
	if !strings.Contains(card.Blocks, "302-1016665-4116655") || !strings.Contains(card.Blocks, "[redacted]") {
		t.Fatalf("the card should carry the order and the redacted transcript: %s", card.Blocks)
	}
	s.fake.Text(8404, "de", "Danke")
	slackfake.Wait(3*time.Second, func() bool { return len(sf.Thread(card.TS)) > 0 })
	for _, p := range sf.Posts("") {
		for _, secret := range []string{password, o.Address.Street, "Invalidenstra", tok} {
			if strings.Contains(p.Raw, secret) || strings.Contains(p.Raw, strings.ReplaceAll(secret, " ", "+")) {
				t.Errorf("a Slack payload (%s) contains %q", p.Method, secret)
			}
		}
	}
}

// A case opened by /human has no order: its card offers no refund or
// replacement, and a forged press of one is refused with the reason, not
// with "This case no longer exists."
func TestSlackHumanCaseOffersNoRefund(t *testing.T) {
	s, sf := startSlackServe(t)
	s.fake.Text(8303, "en", "/human")
	s.expect(t, 8303, 1, "support team")
	var card slackfake.Post
	if !slackfake.Wait(5*time.Second, func() bool { var ok bool; card, ok = sf.Card(""); return ok }) {
		t.Fatalf("no case card; posts: %+v", sf.Posts(""))
	}
	if strings.Contains(card.Blocks, `"approve_refund"`) || strings.Contains(card.Blocks, `"send_replacement"`) || !strings.Contains(card.Blocks, `"claim"`) {
		t.Fatalf("card of a case without an order: %s", card.Blocks)
	}
	caseID := caseOf(t, card)
	if code := s.slackPost(t, "/slack/interactivity", slackfake.ActionPayload(agentID, "approve_refund", caseID, "4.4"), signing); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	if !slackfake.Wait(3*time.Second, func() bool {
		for _, p := range sf.Posts("chat.postEphemeral") {
			if p.User == agentID && strings.Contains(p.Text, "has no order") {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no ephemeral explanation: %+v", sf.Posts("chat.postEphemeral"))
	}
}

// /forget during a hand-over erases the conversation: session and
// transcript deleted; the case kept as a business record (order, outcome)
// without the chat id and with a note; in Slack the relayed messages are
// replaced, the card loses the last messages and the thread gets a note;
// and no customer text is left anywhere in Redis.
func TestForgetErasesCaseAndSlackThread(t *testing.T) {
	s, sf := startSlackServe(t)
	card := escalateHighValue(t, s, sf, 8404)
	caseID := caseOf(t, card)
	s.fake.Text(8404, "de", "Es war ein Laptop, bitte schnell.")
	if !slackfake.Wait(5*time.Second, func() bool {
		return strings.Contains(strings.Join(sf.Thread(card.TS), "\n"), "Es war ein Laptop")
	}) {
		t.Fatalf("customer's message not relayed: %q", sf.Thread(card.TS))
	}
	n := len(s.fake.Sent(8404))
	s.fake.Text(8404, "de", "/forget")
	confirm := s.expect(t, 8404, n+1, "Alles löschen?")
	s.press(t, 8404, "de", confirm, "Ja, löschen")
	s.expect(t, 8404, n+2, "Erledigt")

	if !slackfake.Wait(5*time.Second, func() bool {
		thread := strings.Join(sf.ThreadNow(card.TS), "\n")
		return strings.Contains(thread, "[removed at the customer's request]") && strings.Contains(thread, "asked for their data to be erased")
	}) {
		t.Fatalf("thread not redacted: %q", sf.ThreadNow(card.TS))
	}
	if thread := strings.Join(sf.ThreadNow(card.TS), "\n"); strings.Contains(thread, "Laptop") {
		t.Fatalf("the customer's words are still in the thread: %q", thread)
	}
	if now := sf.Current(card.TS); now == "" {
		t.Fatal("card text lost")
	}
	var lastCard string
	for _, u := range sf.Posts("chat.update") {
		if u.TS == card.TS {
			lastCard = u.Blocks
		}
	}
	if strings.Contains(lastCard, "Mein Paket") || strings.Contains(lastCard, "Laptop") || lastCard == "" {
		t.Fatalf("card still shows the customer's messages: %s", lastCard)
	}

	rec := redis.NewRecords(goredis.NewClient(&goredis.Options{Addr: s.mr.Addr()}), "parcelbot:", 0)
	cs, err := rec.Case(context.Background(), caseID)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Conversation != "" || cs.Order != "302-1013332-4093324" || cs.Status != domain.CaseClosed || cs.Notes[len(cs.Notes)-1].What != bot.ErasedNote {
		t.Fatalf("case after erasure: conv %q order %q status %s notes %+v", cs.Conversation, cs.Order, cs.Status, cs.Notes)
	}
	for _, needle := range []string{"Laptop", "Mein Paket", "tg:8404"} {
		if where := redisContains(s.mr, needle); where != "" {
			t.Errorf("%q is still in Redis at %s", needle, where)
		}
	}
	for _, k := range s.mr.Keys() {
		if strings.Contains(k, "8404") {
			t.Errorf("key %s still names the chat", k)
		}
	}
	// an agent's reply to the erased case reaches no one and says why
	if code := s.slackPost(t, "/slack/events", slackfake.MessageEvent("EvF", deskChannel, agentID, card.TS, "Hallo?"), signing); code != 200 {
		t.Fatalf("HTTP %d", code)
	}
}

// `parcelbot forget --conversation` erases a conversation for a
// data-protection request, against the Redis of a running serve.
func TestForgetCommand(t *testing.T) {
	s, sf := startSlackServe(t)
	card := escalateHighValue(t, s, sf, 8505)
	caseID := caseOf(t, card)
	env := map[string]string{"REDIS_URL": "redis://" + s.mr.Addr(), "SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_CHANNEL": deskChannel,
		"SLACK_SIGNING_SECRET": signing, "SLACK_API_URL": sf.APIURL()}
	code, out, errOut := runCmd(t, "", env, "forget", "--conversation", "tg:8505")
	if code != 0 || !strings.Contains(out, "1 case(s) pseudonymised") || !strings.Contains(out, caseID) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !slackfake.Wait(5*time.Second, func() bool {
		return strings.Contains(strings.Join(sf.ThreadNow(card.TS), "\n"), "asked for their data to be erased")
	}) {
		t.Fatalf("the running serve did not redact the thread: %q", sf.ThreadNow(card.TS))
	}
	if where := redisContains(s.mr, "tg:8505"); where != "" {
		t.Fatalf("the conversation id is still in Redis at %s", where)
	}
	if code, _, _ := runCmd(t, "", env, "forget"); code != 2 {
		t.Fatalf("forget without --conversation: exit %d", code)
	}
}

// With Slack down, stopping serve does not wait out SHUTDOWN_TIMEOUT (20 s)
// for an outbox that cannot drain: what is left is delivered by the next
// instance. (startServe's cleanup fails the test when serve takes more
// than 15 s to stop.)
func TestServeStopsPromptlyWhileSlackIsDown(t *testing.T) {
	s, sf := startSlackServe(t)
	sf.Fail("chat.postMessage", http.StatusInternalServerError, 1000)
	s.fake.Text(8606, "en", "/human")
	s.expect(t, 8606, 1, "support team")
	if !slackfake.Wait(10*time.Second, func() bool { return sf.FailuresLeft("chat.postMessage") <= 998 }) {
		t.Fatal("the outbox made no attempt")
	}
}

// A damaged parcel's photos reach the agents: sent on Telegram, downloaded
// by parcelbot and uploaded into the case's thread, byte for byte; no
// Telegram URL or token appears anywhere in Slack; erasure deletes them.
func TestDamagedParcelPhotosReachTheSlackThread(t *testing.T) {
	s, sf := startSlackServe(t)
	const chat = 8505
	s.fake.Text(chat, "de", "Mein Paket 302-1013332-4093324 ist kaputt angekommen")
	s.expect(t, chat, 1, "Postleitzahl")
	s.fake.Text(chat, "de", "10115")
	s.expect(t, chat, 2, "Was ist beschädigt?")
	s.fake.Text(chat, "de", "der Inhalt ist kaputt")
	s.expect(t, chat, 3, "noch verwenden")
	s.fake.Text(chat, "de", "nein")
	s.expect(t, chat, 4, "Fotos vom Schaden")
	photo1 := []byte("\xff\xd8\xff first photo of the crushed box")
	photo2 := []byte("%PDF-1.4 the delivery note")
	s.fake.Photo(chat, "de", "ph-1", photo1)
	s.expect(t, chat, 5, "1 von 5")
	s.fake.Document(chat, "de", "doc-2", "application/pdf", photo2)
	s.expect(t, chat, 6, "2 von 5")
	s.fake.Document(chat, "de", "zip-3", "application/zip", []byte("PK"))
	s.expect(t, chat, 7, "Diese Datei kann ich nicht annehmen")
	s.fake.Text(chat, "de", "fertig")
	s.expect(t, chat, 8, "Kollegin oder ein Kollege")
	card, ok := slackfake.Post{}, false
	if !slackfake.Wait(5*time.Second, func() bool { card, ok = sf.Card(""); return ok }) {
		t.Fatal("no card")
	}
	var ups []slackfake.Upload
	if !slackfake.Wait(5*time.Second, func() bool { ups = sf.Uploads(); return len(ups) == 2 }) {
		t.Fatalf("%d photos uploaded, want 2", len(ups))
	}
	for i, want := range [][]byte{photo1, photo2} {
		if !bytes.Equal(ups[i].Content, want) || ups[i].ThreadTS != card.TS || ups[i].Channel != deskChannel {
			t.Errorf("upload %d: %q in %s/%s, want %q in the card's thread", i, ups[i].Content, ups[i].Channel, ups[i].ThreadTS, want)
		}
		if !strings.Contains(ups[i].Title, "Customer photo") {
			t.Errorf("upload %d title %q", i, ups[i].Title)
		}
	}
	for _, p := range sf.Posts("") {
		if strings.Contains(p.Raw, testToken) || strings.Contains(p.Raw, "api.telegram") || strings.Contains(p.Raw, "/file/bot") {
			t.Fatalf("a Telegram URL or token reached Slack: %s", p.Raw)
		}
	}
	for _, u := range ups {
		if strings.Contains(u.URL, testToken) || strings.Contains(u.Name, testToken) || strings.Contains(u.Title, testToken) {
			t.Fatalf("the token in an upload: %+v", u)
		}
	}
	// the customer asks for erasure: the photos go from Slack too
	s.fake.Text(chat, "de", "/forget")
	forget := s.expect(t, chat, 9, "")
	s.press(t, chat, "de", forget, forgetButton(t, forget))
	if !slackfake.Wait(5*time.Second, func() bool {
		for _, u := range sf.Uploads() {
			if !u.Deleted {
				return false
			}
		}
		return true
	}) {
		t.Fatal("photos not deleted from Slack at erasure")
	}
}

// forgetButton is the confirming button of /forget's question.
func forgetButton(t *testing.T, c telegramtest.Call) string {
	t.Helper()
	for _, row := range c.Keyboard() {
		for _, b := range row {
			if strings.Contains(b.Text, "🗑") || strings.Contains(b.Text, "löschen") || strings.Contains(b.Text, "Löschen") {
				return b.Text
			}
		}
	}
	t.Fatalf("no delete button in %v", c.Keyboard())
	return ""
}

// The agents' queue in the App Home, in each agent's Slack language: the
// open case with its wait and a Claim button; claiming from the tab works
// like the card's button and the tab follows (claimed by whom); resolved,
// the case leaves the queue. With SLACK_LANG=de the card itself is German.
func TestAppHomeQueueInTheAgentsLanguage(t *testing.T) {
	s, sf := startSlackServeWith(t, map[string]string{"SLACK_LANG": "de"})
	sf.SetLocale(agentID, "de-DE")
	sf.SetLocale("UOTHERAGENT", "fr-FR")
	card := escalateHighValue(t, s, sf, 8606)
	caseID := regexp.MustCompile(`PB-[A-Z0-9]+`).FindString(card.Blocks)
	if caseID == "" || !strings.Contains(card.Blocks, "Übernehmen") || !strings.Contains(card.Blocks, "Fall "+caseID) {
		t.Fatalf("the card is not in the team's German: %s", card.Blocks)
	}
	lastView := func(user string) string {
		v := sf.HomeViews(user)
		if len(v) == 0 {
			return ""
		}
		return v[len(v)-1]
	}
	waitView := func(user string, cond func(string) bool, what string) string {
		t.Helper()
		var v string
		if !slackfake.Wait(5*time.Second, func() bool { v = lastView(user); return cond(v) }) {
			t.Fatalf("%s: App Home of %s never showed %s; last: %s", caseID, user, what, v)
		}
		return v
	}
	for i, u := range []string{agentID, "UOTHERAGENT"} {
		if code := s.slackPost(t, "/slack/events", slackfake.HomeOpenedEvent("Ev-home-"+strconv.Itoa(i), u), signing); code != 200 {
			t.Fatalf("app_home_opened: HTTP %d", code)
		}
	}
	de := waitView(agentID, func(v string) bool { return strings.Contains(v, caseID) }, "the case")
	if !strings.Contains(de, "Offene Fälle") || !strings.Contains(de, "wartet seit") || !strings.Contains(de, `"action_id":"claim"`) || !strings.Contains(de, "Thread öffnen") {
		t.Fatalf("German queue: %s", de)
	}
	fr := waitView("UOTHERAGENT", func(v string) bool { return strings.Contains(v, caseID) }, "the case")
	if !strings.Contains(fr, "Dossiers ouverts") || !strings.Contains(fr, "Prendre") {
		t.Fatalf("French queue: %s", fr)
	}
	// claim from the tab
	if code := s.slackPost(t, "/slack/interactivity", slackfake.ActionPayload(agentID, "claim", caseID, "7.7"), signing); code != 200 {
		t.Fatalf("claim: HTTP %d", code)
	}
	s.expect(t, 8606, 4, "")
	claimed := waitView("UOTHERAGENT", func(v string) bool { return strings.Contains(v, `\u003c@`+agentID+`\u003e`) }, "who claimed it")
	if strings.Contains(claimed, `"action_id":"claim"`) {
		t.Fatalf("a claimed case still offers Claim: %s", claimed)
	}
	// resolved: out of the queue, for everyone
	if code := s.slackPost(t, "/slack/interactivity", slackfake.ActionPayload(agentID, "resolve", caseID, "8.8"), signing); code != 200 {
		t.Fatalf("resolve: HTTP %d", code)
	}
	waitView(agentID, func(v string) bool { return strings.Contains(v, "Gerade keine offenen Fälle") }, "an empty queue")
	waitView("UOTHERAGENT", func(v string) bool { return strings.Contains(v, "Aucun dossier ouvert") }, "an empty queue")
	// a notice to one agent follows their language: the French agent
	// replying in a closed case's thread
	body := slackfake.MessageEvent("Ev-late", deskChannel, "UOTHERAGENT", card.TS, "bonjour ?")
	if code := s.slackPost(t, "/slack/events", body, signing); code != 200 {
		t.Fatalf("late reply: HTTP %d", code)
	}
	if !slackfake.Wait(5*time.Second, func() bool {
		for _, p := range sf.Posts("chat.postEphemeral") {
			if p.User == "UOTHERAGENT" && strings.Contains(p.Text, "est clos") {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no French notice to the French agent: %+v", sf.Posts("chat.postEphemeral"))
	}
}
