package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcelbot/parcelbot/adapters/shopapi"
	"github.com/parcelbot/parcelbot/domain"
)

const testEventsSecret = "serve-tests-events-secret-0123456789abcdef"

// The shop's order events end to end through serve: only a signed, fresh
// request is taken; the linked customer is told on Telegram; a retry, an
// unknown order and a customer who turned order news off are answered
// without a message.
func TestShopEventsEndpoint(t *testing.T) {
	s := startServe(t, map[string]string{"SHOP_EVENTS_SECRET": testEventsSecret, "NOTIFY_QUIET_HOURS": "off"})
	url := "http://" + s.addr + shopapi.EventsPath
	secret := []byte(testEventsSecret)
	ctx := context.Background()
	post := func(ev domain.ShopEvent, key []byte, at time.Time) (string, int) {
		t.Helper()
		st, code, _ := shopapi.PostEvent(ctx, http.DefaultClient, url, key, ev, at)
		return st, code
	}
	delivered := domain.ShopEvent{ID: "sh-1", Type: domain.EventDelivered, Order: "302-1011110-4077770"}

	// not linked yet: answered, nothing sent
	if st, code := post(delivered, secret, time.Now()); code != 200 || st != "not_linked" {
		t.Fatalf("before linking: HTTP %d %q", code, st)
	}
	tok, err := domain.NewLinkToken([]byte(testLinkSecret), "C-1001", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.fake.Text(7101, "de", "/start "+tok)
	s.expect(t, 7101, 1, "Darf ich Ihnen hier schreiben")

	// refused: a wrong secret, a stale timestamp (a replay), a body
	// changed after signing, a future timestamp
	if _, code := post(delivered, []byte("not-the-secret-not-the-secret-xx"), time.Now()); code != 401 {
		t.Fatalf("wrong secret: HTTP %d", code)
	}
	if _, code := post(delivered, secret, time.Now().Add(-6*time.Minute)); code != 401 {
		t.Fatalf("replayed after 6 minutes: HTTP %d", code)
	}
	if _, code := post(delivered, secret, time.Now().Add(6*time.Minute)); code != 401 {
		t.Fatalf("timestamp in the future: HTTP %d", code)
	}
	body := `{"id":"sh-x","type":"delivered","order":"302-1011110-4077770"}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := shopapi.Sign(secret, time.Now(), []byte(body))
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(strings.Replace(body, "sh-x", "sh-y", 1)))
	req.Header.Set(shopapi.TimestampHeader, ts)
	req.Header.Set(shopapi.SignatureHeader, sig)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("body changed after signing: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// invalid and unknown
	if _, code := post(domain.ShopEvent{ID: "sh-2", Type: "lost", Order: "302-1011110-4077770"}, secret, time.Now()); code != 400 {
		t.Fatalf("unknown type: HTTP %d", code)
	}
	if _, code := post(domain.ShopEvent{ID: "sh-3", Type: domain.EventDelivered, Order: "302-0000000-0000000"}, secret, time.Now()); code != 404 {
		t.Fatalf("unknown order: HTTP %d", code)
	}

	// the real thing: queued, told in German with the next step
	if st, code := post(delivered, secret, time.Now()); code != 202 || st != "queued" {
		t.Fatalf("signed event: HTTP %d %q", code, st)
	}
	news := s.expect(t, 7101, 2, "wurde gerade zugestellt")
	if _, ok := news.Button("❓ Ich habe es nicht bekommen"); !ok {
		t.Fatalf("no next step: %v", news.Keyboard())
	}
	// the shop retries: handled once
	if st, code := post(delivered, secret, time.Now()); code != 200 || st != "duplicate" {
		t.Fatalf("retry: HTTP %d %q", code, st)
	}

	// `parcelbot event` posts as the shop would
	var out, errOut syncBuffer
	env := map[string]string{"SHOP_EVENTS_SECRET": testEventsSecret}
	if code := run(ctx, []string{"event", "--url", url, "--order", "302-1016665-4116655", "--type", "out_for_delivery"}, strings.NewReader(""), &out, &errOut,
		func(k string) string { return env[k] }); code != 0 || !strings.Contains(out.String(), "HTTP 202 queued") {
		t.Fatalf("parcelbot event: exit %d: %s %s", code, out.String(), errOut.String())
	}
	s.expect(t, 7101, 3, "ist heute in der Zustellung")

	// the customer turns order news off: the shop hears opted_out
	s.fake.Text(7101, "de", "/notifications")
	s.expect(t, 7101, 4, "Soll ich damit aufhören?")
	s.fake.Text(7101, "de", "ausschalten")
	s.expect(t, 7101, 5, "Ich schreibe Ihnen nicht von mir aus")
	if st, code := post(domain.ShopEvent{ID: "sh-4", Type: domain.EventDelivered, Order: "302-1011110-4077770"}, secret, time.Now()); code != 200 || st != "opted_out" {
		t.Fatalf("after opting out: HTTP %d %q", code, st)
	}
	// a processed signal: the next message's answer comes after anything
	// the opted-out event could have sent
	s.fake.Text(7101, "de", "danke")
	if got := s.expect(t, 7101, 6, ""); strings.Contains(got.Params["text"], "zugestellt") {
		t.Fatalf("news sent after opting out: %s", got.Params["text"])
	}
}

// `serve` refuses a short events secret and the public demo one.
func TestEventsSecretIsChecked(t *testing.T) {
	for _, secret := range []string{"short", demoEventsSecret} {
		var out syncBuffer
		code := run(context.Background(), []string{"serve"}, strings.NewReader(""), &out, &out, func(k string) string {
			return map[string]string{"TELEGRAM_BOT_TOKEN": testToken, "LINK_TOKEN_SECRET": testLinkSecret, "SHOP_EVENTS_SECRET": secret}[k]
		})
		if code != 2 || !strings.Contains(out.String(), "SHOP_EVENTS_SECRET") {
			t.Errorf("secret %q: exit %d, %s", secret, code, out.String())
		}
	}
}
