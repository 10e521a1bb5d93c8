package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/parcelbot/parcelbot/adapters/console"
	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// downChannel is a recorder that fails while down is set (Telegram is
// unreachable).
type downChannel struct {
	*console.Recorder
	down atomic.Bool
}

func (c *downChannel) Send(ctx context.Context, chat, lang string, rs []dialog.Reply) error {
	if c.down.Load() {
		return errors.New("telegram unreachable")
	}
	return c.Recorder.Send(ctx, chat, lang, rs)
}

// eventsFixture is a service with order news on a clock the test moves.
type eventsFixture struct {
	svc    *bot.Service
	ev     *bot.Events
	ch     *downChannel
	obs    *recObs
	rec    *redis.Records
	mu     sync.Mutex
	now    time.Time
	inputs int
}

func newEventsFixture(t *testing.T, now time.Time) *eventsFixture {
	t.Helper()
	mr := miniredis.RunT(t)
	d, err := demo.Default(now)
	if err != nil {
		t.Fatal(err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	f := &eventsFixture{obs: &recObs{}, rec: redis.NewRecords(rdb, "", 0), now: now, ch: &downChannel{Recorder: console.NewRecorder("t")}}
	be := bot.Backends{Shop: d, Writer: d, Records: f.rec, Observer: f.obs}
	cfg := bot.DefaultConfig()
	cfg.LinkSecret = []byte("test-secret")
	eng, err := bot.NewEngine(cfg, be)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = bot.NewService(bot.Options{Engine: eng, Store: redis.NewStore(rdb, redis.Options{}), Desk: &recDesk{}, Backends: be, Observer: f.obs,
		Now: func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }})
	f.svc.AddChannel(f.ch)
	f.ev = bot.NewEvents(f.svc, redis.NewEventQueue(rdb, ""), "test")
	return f
}

func (f *eventsFixture) set(now time.Time) { f.mu.Lock(); f.now = now; f.mu.Unlock() }

// say sends a customer message from chat 1, linked to customer.
func (f *eventsFixture) say(t *testing.T, customer, lang, text string) string {
	t.Helper()
	f.inputs++
	if err := f.svc.Handle(context.Background(), bot.Message{Conversation: "t:1", ID: "m" + string(rune('a'+f.inputs)), LinkCustomer: customer, Input: dialog.Input{Text: text, LangHint: lang}}); err != nil {
		t.Fatal(err)
	}
	return texts(f.ch.Take("1"))
}

// deliver runs one delivery round (a lease of 0: a failed delivery may be
// retried at once) and returns what chat 1 was sent.
func (f *eventsFixture) deliver(t *testing.T) string {
	t.Helper()
	if _, err := f.ev.Step(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	return withButtons(f.ch.Take("1"))
}

// withButtons is the replies' texts with each reply's button labels.
func withButtons(rs []dialog.Reply) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Text)
		for _, x := range r.Buttons {
			b.WriteString("\n[" + x.Label + "]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (f *eventsFixture) receive(t *testing.T, ev domain.ShopEvent) bot.EventStatus {
	t.Helper()
	st, err := f.ev.Receive(context.Background(), ev)
	if err != nil {
		t.Fatalf("receive %s: %v", ev.ID, err)
	}
	return st
}

// 10:00 in Berlin on a weekday: not in the quiet hours
var eventsNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// A delay is told to the linked customer first, in their language, with
// the free membership month the policy grants as the next step; tapping
// it grants it. The same event again is a duplicate and says nothing.
func TestDelayIsToldFirstWithTheFreeMonth(t *testing.T) {
	f := newEventsFixture(t, eventsNow)
	f.say(t, "C-1001", "de", "hallo")
	ev := domain.ShopEvent{ID: "ev-1", Type: domain.EventDelayed, Order: "302-1004444-4031108"}
	if st := f.receive(t, ev); st != bot.EventQueued {
		t.Fatalf("status %s, want queued", st)
	}
	got := f.deliver(t)
	if !strings.Contains(got, "Neuigkeiten zu Ihrer Bestellung 302-1004444-4031108") || !strings.Contains(got, "Monat") {
		t.Fatalf("want the delay and the free month offered, in German:\n%s", got)
	}
	if st := f.receive(t, ev); st != bot.EventDuplicate {
		t.Fatalf("the same event again: %s, want duplicate", st)
	}
	if again := f.deliver(t); again != "" {
		t.Fatalf("a duplicate was told again:\n%s", again)
	}
	if got := f.say(t, "", "de", "ja gerne"); !strings.Contains(got, "gutgeschrieben") && !strings.Contains(got, "hinzugefügt") {
		t.Fatalf("typed yes to the free month:\n%s", got)
	}
	if p := f.obs.proactiveOf(); !strings.Contains(p, "delayed/sent") || !strings.Contains(p, "delayed/answered") {
		t.Fatalf("proactive outcomes: %s", p)
	}
}

// Out for delivery on a password day offers the password, shown only when
// tapped; the news itself carries no password.
func TestOutForDeliveryOffersThePasswordOnTap(t *testing.T) {
	f := newEventsFixture(t, eventsNow)
	f.say(t, "C-1001", "en", "hi")
	d, _ := demo.Default(eventsNow)
	o, _ := d.Order(context.Background(), "302-1016665-4116655")
	pw := o.Shipment.Password.Code.Reveal()
	f.receive(t, domain.ShopEvent{ID: "ev-2", Type: domain.EventOutForDelivery, Order: o.Number})
	if _, err := f.ev.Step(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	rs := f.ch.Take("1")
	got := texts(rs)
	if !strings.Contains(got, "out for delivery today") || strings.Contains(got, pw) {
		t.Fatalf("want the news without the password:\n%s", got)
	}
	var data string
	for _, b := range rs[len(rs)-1].Buttons {
		if strings.Contains(b.Label, "Show the delivery password") {
			data = b.Data
		}
	}
	if data == "" {
		t.Fatalf("no password button:\n%s", got)
	}
	if err := f.svc.Handle(context.Background(), bot.Message{Conversation: "t:1", ID: "tap", Input: dialog.Input{Button: data}}); err != nil {
		t.Fatal(err)
	}
	if got := texts(f.ch.Take("1")); !strings.Contains(got, pw) {
		t.Fatalf("the tap did not show the password:\n%s", got)
	}
}

// Delivered offers "I haven't received it", which starts the missing
// parcel journey; a defective locker offers the alternatives.
func TestDeliveredAndLockerDefectOfferTheNextStep(t *testing.T) {
	f := newEventsFixture(t, eventsNow)
	f.say(t, "C-1001", "fr", "bonjour")
	f.receive(t, domain.ShopEvent{ID: "ev-3", Type: domain.EventDelivered, Order: "302-1011110-4077770"})
	if got := f.deliver(t); !strings.Contains(got, "vient d’être livrée") || !strings.Contains(got, "Je ne l’ai pas reçu") {
		t.Fatalf("delivered, in French, with the button:\n%s", got)
	}
	f.receive(t, domain.ShopEvent{ID: "ev-4", Type: domain.EventLockerDefect, Order: "302-1019998-4139986"})
	if got := f.deliver(t); !strings.Contains(got, "consigne") || !strings.Contains(got, "Où votre colis doit-il") {
		t.Fatalf("locker defect with the alternatives:\n%s", got)
	}
}

// Quiet hours: news coming in at 23:00 in the customer's zone are held and
// sent at 07:00, not before.
func TestQuietHoursHoldNewsUntilMorning(t *testing.T) {
	night := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC) // 23:00 in Berlin
	f := newEventsFixture(t, night)
	f.say(t, "C-1001", "en", "hi")
	f.receive(t, domain.ShopEvent{ID: "ev-5", Type: domain.EventDelivered, Order: "302-1011110-4077770"})
	if got := f.deliver(t); got != "" {
		t.Fatalf("sent in the quiet hours:\n%s", got)
	}
	f.set(time.Date(2026, 11, 24, 5, 59, 0, 0, time.UTC)) // 06:59 in Berlin
	if got := f.deliver(t); got != "" {
		t.Fatalf("sent before 07:00:\n%s", got)
	}
	f.set(time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)) // 07:00
	if got := f.deliver(t); !strings.Contains(got, "has just been delivered") {
		t.Fatalf("not sent at 07:00: %q", got)
	}
	if p := f.obs.proactiveOf(); !strings.Contains(p, "delivered/held") || !strings.Contains(p, "delivered/sent") {
		t.Fatalf("outcomes: %s", p)
	}
}

// /notifications off: news are answered "opted_out" and never sent, also
// those queued before the choice; on again, they are.
func TestNotificationsOffAreRespected(t *testing.T) {
	f := newEventsFixture(t, eventsNow)
	f.say(t, "C-1001", "it", "ciao")
	f.receive(t, domain.ShopEvent{ID: "ev-6", Type: domain.EventDelivered, Order: "302-1011110-4077770"})
	if got := f.say(t, "", "it", "/notifications"); !strings.Contains(got, "Vuoi che smetta?") {
		t.Fatalf("/notifications: %s", got)
	}
	if got := f.say(t, "", "it", "sì"); !strings.Contains(got, "non ti scriverò") {
		t.Fatalf("turning off: %s", got)
	}
	if got := f.deliver(t); got != "" {
		t.Fatalf("queued news sent after opting out:\n%s", got)
	}
	if st := f.receive(t, domain.ShopEvent{ID: "ev-7", Type: domain.EventDelivered, Order: "302-1011110-4077770"}); st != bot.EventOptedOut {
		t.Fatalf("status %s, want opted_out", st)
	}
	f.say(t, "", "it", "/notifications")
	if got := f.say(t, "", "it", "attiva"); !strings.Contains(got, "ti avviso qui") {
		t.Fatalf("turning on: %s", got)
	}
	f.receive(t, domain.ShopEvent{ID: "ev-8", Type: domain.EventDelivered, Order: "302-1011110-4077770"})
	if got := f.deliver(t); !strings.Contains(got, "appena stato consegnato") {
		t.Fatalf("not sent after turning on: %q", got)
	}
}

// A customer with no linked chat gets nothing (not_linked); an unknown
// order is ENOTFOUND; after /forget the chat is no longer reached.
func TestNewsReachOnlyALinkedChat(t *testing.T) {
	f := newEventsFixture(t, eventsNow)
	if st := f.receive(t, domain.ShopEvent{ID: "ev-9", Type: domain.EventDelivered, Order: "302-1011110-4077770"}); st != bot.EventNotLinked {
		t.Fatalf("status %s, want not_linked", st)
	}
	if _, err := f.ev.Receive(context.Background(), domain.ShopEvent{ID: "ev-10", Type: domain.EventDelivered, Order: "302-0000000-0000000"}); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown order: %v", err)
	}
	f.say(t, "C-1001", "en", "hi")
	f.receive(t, domain.ShopEvent{ID: "ev-11", Type: domain.EventDelivered, Order: "302-1011110-4077770"})
	if err := f.svc.Forget(context.Background(), "t:1"); err != nil {
		t.Fatal(err)
	}
	if got := f.deliver(t); got != "" {
		t.Fatalf("sent to an erased chat:\n%s", got)
	}
	if st := f.receive(t, domain.ShopEvent{ID: "ev-12", Type: domain.EventDelivered, Order: "302-1011110-4077770"}); st != bot.EventNotLinked {
		t.Fatalf("after /forget: %s, want not_linked", st)
	}
}

// More than domain.ProactiveLimit events for one customer in a day: the
// extras are dropped, not sent.
func TestProactiveLimitPerCustomer(t *testing.T) {
	f := newEventsFixture(t, eventsNow)
	f.say(t, "C-1001", "en", "hi")
	for i := range domain.ProactiveLimit + 2 {
		f.receive(t, domain.ShopEvent{ID: "burst-" + string(rune('a'+i)), Type: domain.EventDelivered, Order: "302-1011110-4077770"})
	}
	got := f.deliver(t)
	if n := strings.Count(got, "has just been delivered"); n != domain.ProactiveLimit {
		t.Fatalf("%d news sent, want %d:\n%s", n, domain.ProactiveLimit, got)
	}
	if p := f.obs.proactiveOf(); strings.Count(p, "delivered/limited") != 2 {
		t.Fatalf("outcomes: %s", p)
	}
}

// Telegram down: the news stay in the outbox and are sent, once, when it
// answers again.
func TestNewsWaitInTheOutboxWhileTheChannelIsDown(t *testing.T) {
	f := newEventsFixture(t, eventsNow)
	f.say(t, "C-1001", "en", "hi")
	f.ch.down.Store(true)
	f.receive(t, domain.ShopEvent{ID: "ev-13", Type: domain.EventDelivered, Order: "302-1011110-4077770"})
	f.deliver(t)
	f.deliver(t)
	f.ch.down.Store(false)
	got := f.deliver(t)
	if n := strings.Count(got, "has just been delivered"); n != 1 {
		t.Fatalf("told %d times after the outage, want once:\n%s", n, got)
	}
	if again := f.deliver(t); again != "" {
		t.Fatalf("told again:\n%s", again)
	}
}

// Linking a chat asks once whether the bot may write first; a typed "no
// thanks" turns order news off for the account (the shop hears
// opted_out), and the menu follows. Linking again does not ask again.
func TestLinkingAsksOnceAboutNews(t *testing.T) {
	f := newEventsFixture(t, eventsNow)
	tok, err := domain.NewLinkToken([]byte("test-secret"), "C-1001", eventsNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.say(t, "", "de", "/start "+tok); !strings.Contains(got, "Willkommen, Anna") || !strings.Contains(got, "Darf ich Ihnen hier schreiben") {
		t.Fatalf("no question about order news after linking:\n%s", got)
	}
	if got := f.say(t, "", "de", "nein danke"); !strings.Contains(got, "Ich schreibe Ihnen nicht von mir aus") || !strings.Contains(got, "Wobei kann ich helfen") {
		t.Fatalf("want the choice confirmed and the menu:\n%s", got)
	}
	if st := f.receive(t, domain.ShopEvent{ID: "ev-20", Type: domain.EventDelivered, Order: "302-1011110-4077770"}); st != bot.EventOptedOut {
		t.Fatalf("status %s, want opted_out", st)
	}
	tok2, _ := domain.NewLinkToken([]byte("test-secret"), "C-1001", eventsNow.Add(time.Second))
	if got := f.say(t, "", "de", "/start "+tok2); strings.Contains(got, "Darf ich Ihnen hier schreiben") {
		t.Fatalf("asked again at a second linking:\n%s", got)
	}
}

// A chat linked to another account stops getting the first account's news.
func TestRelinkingMovesTheNews(t *testing.T) {
	f := newEventsFixture(t, eventsNow)
	for i, cust := range []string{"C-1001", "C-1004"} {
		tok, err := domain.NewLinkToken([]byte("test-secret"), cust, eventsNow.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		f.say(t, "", "en", "/start "+tok)
	}
	if st := f.receive(t, domain.ShopEvent{ID: "ev-30", Type: domain.EventDelivered, Order: "302-1011110-4077770"}); st != bot.EventNotLinked {
		t.Fatalf("news of the first account: %s, want not_linked", st)
	}
	if st := f.receive(t, domain.ShopEvent{ID: "ev-31", Type: domain.EventDelivered, Order: "403-1011110-4077770"}); st != bot.EventQueued {
		t.Fatalf("news of the account linked now: %s, want queued", st)
	}
}
