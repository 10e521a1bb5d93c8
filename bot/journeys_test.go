package bot_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

func (f *fixture) press(t *testing.T, chat, id string, rs []dialog.Reply, label string) []dialog.Reply {
	t.Helper()
	b, ok := button(rs, label)
	if !ok {
		t.Fatalf("no button %q in %+v", label, rs)
	}
	if err := f.svc.Handle(context.Background(), bot.Message{Conversation: "t:" + chat, ID: id, Input: dialog.Input{Button: b.Data}}); err != nil {
		t.Fatal(err)
	}
	return f.rec.Take(chat)
}

// button finds the first button whose label starts with label.
func button(rs []dialog.Reply, label string) (dialog.Button, bool) {
	for _, r := range rs {
		for _, b := range r.Buttons {
			if strings.HasPrefix(b.Label, label) {
				return b, true
			}
		}
	}
	return dialog.Button{}, false
}

// sayLinked sends text to chat 1, linked to customer, and returns the replies.
func (f *fixture) sayLinked(t *testing.T, customer, id, text string) []dialog.Reply {
	t.Helper()
	if err := f.svc.Handle(context.Background(), bot.Message{Conversation: "t:1", ID: id, LinkCustomer: customer, Input: dialog.Input{Text: text}}); err != nil {
		t.Fatal(err)
	}
	return f.rec.Take("1")
}

func texts(rs []dialog.Reply) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Text)
		b.WriteString("\n")
	}
	return b.String()
}

func countWrites(d *demo.Data, kind string) int {
	n := 0
	for _, w := range d.Writes() {
		if w.Kind == kind {
			n++
		}
	}
	return n
}

// The late order 302-1004444-4031108 belongs to C-1001 (annual member).
func TestCompensationIsGrantedOnceEvenWhenRedelivered(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	link := func(id, text string) []dialog.Reply { return f.sayLinked(t, "C-1001", id, text) }
	rs := link("u1", "where is 302-1004444-4031108")
	if !strings.Contains(texts(rs), "one month of membership free") {
		t.Fatalf("no offer: %s", texts(rs))
	}
	rs = link("u2", "yes")
	if !strings.Contains(texts(rs), "one free month has been added") {
		t.Fatalf("not granted: %s", texts(rs))
	}
	// Telegram delivers the same "yes" again: nothing happens
	if rs := link("u2", "yes"); len(rs) != 0 {
		t.Fatalf("redelivery answered: %s", texts(rs))
	}
	// asking again about the same order: already granted, not twice
	link("u3", "where is 302-1004444-4031108")
	c, _ := f.data.Customer(ctx, "C-1001")
	if n := len(c.Membership.Extensions); n != 2 { // one from the demo file, one now
		t.Fatalf("%d extensions, want 2", n)
	}
	if n := countWrites(f.data, "extend"); n != 1 {
		t.Fatalf("%d membership extensions written, want 1", n)
	}
}

func TestLinkTokenIsSingleUseAcrossChats(t *testing.T) {
	f := newFixture(t, nil, nil)
	tok, err := domain.NewLinkToken([]byte("test-secret"), "C-1010", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if rs := f.send(t, "1", "u1", "/start "+tok); !strings.Contains(texts(rs), "Welcome, James!") {
		t.Fatalf("first use: %s", texts(rs))
	}
	lines, _ := redis.NewStore(f.rdb, redis.Options{}).Transcript(context.Background(), "t:1", 10)
	if len(lines) == 0 || strings.Contains(strings.Join(lines, "\n"), tok) {
		t.Fatalf("the token is in the transcript: %q", lines)
	}
	if rs := f.send(t, "2", "u1", "/start "+tok); !strings.Contains(texts(rs), "isn't valid or has been used") {
		t.Fatalf("second chat: %s", texts(rs))
	}
	// the second chat is not linked: a password needs a postcode and is not shown
	rs := f.send(t, "2", "u2", "password for 206-1016665-4116655")
	if strings.Contains(texts(rs), "216655") || !strings.Contains(texts(rs), "postcode") {
		t.Fatalf("unlinked chat: %s", texts(rs))
	}
	expired, _ := domain.NewLinkToken([]byte("test-secret"), "C-1010", testNow.Add(-16*time.Minute))
	if rs := f.send(t, "3", "u1", "/start "+expired); !strings.Contains(texts(rs), "expired") {
		t.Fatalf("expired: %s", texts(rs))
	}
	forged, _ := domain.NewLinkToken([]byte("other-secret"), "C-1010", testNow)
	if rs := f.send(t, "4", "u1", "/start "+forged); !strings.Contains(texts(rs), "isn't valid") {
		t.Fatalf("forged: %s", texts(rs))
	}
}

// The password of 302-1016665-4116655 is 216655; C-1001 owns it.
func TestPasswordNeverInTranscriptOrEscalation(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	say := func(id, text string) []dialog.Reply { return f.sayLinked(t, "C-1001", id, text) }
	rs := say("u1", "what is the delivery password for 302-1016665-4116655")
	if !strings.Contains(texts(rs), "216655") {
		t.Fatalf("the linked owner does not see the password: %s", texts(rs))
	}
	rs = f.press(t, "1", "u2", rs, "✉️")
	if !strings.Contains(texts(rs), "216655") {
		t.Fatalf("forward message lacks the password: %s", texts(rs))
	}
	say("u3", "/human")
	store := redis.NewStore(f.rdb, redis.Options{})
	lines, err := store.Transcript(ctx, "t:1", 100)
	if err != nil || len(lines) < 4 {
		t.Fatalf("transcript %q, %v", lines, err)
	}
	for _, l := range lines {
		if strings.Contains(l, "216655") {
			t.Errorf("password in transcript: %q", l)
		}
	}
	if len(f.desk.esc) != 1 {
		t.Fatalf("%d escalations", len(f.desk.esc))
	}
	e := f.desk.esc[0]
	for _, m := range e.LastMessages {
		if strings.Contains(m, "216655") {
			t.Errorf("password in escalation: %q", m)
		}
	}
	for _, fct := range e.Facts {
		if strings.Contains(fct.Value, "216655") || strings.Contains(fct.Value, "Invalidenstraße") {
			t.Errorf("secret or street in escalation fact %+v", fct)
		}
	}
	// Redis holds no password anywhere
	for _, k := range f.mr.Keys() {
		if v, err := f.mr.Get(k); err == nil && strings.Contains(v, "216655") {
			t.Errorf("password in Redis key %s", k)
		}
	}
}

// An agent's replacement for an order with an item out of stock becomes a
// refund: the same policy as the bot's.
func TestAgentResolutionGoesThroughPolicy(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	// 206-1007777-4054439: late refund order with an item out of stock, C-1010
	say := func(id, text string) []dialog.Reply {
		if err := f.svc.Handle(ctx, bot.Message{Conversation: "t:1", ID: id, LinkCustomer: "C-1010", Input: dialog.Input{Text: text, LangHint: "de"}}); err != nil {
			t.Fatal(err)
		}
		return f.rec.Take("1")
	}
	say("u1", "/human")
	caseID := f.desk.esc[0].Case
	rec := redis.NewRecords(f.rdb, "", 0)
	cs, err := rec.Case(ctx, caseID)
	if err != nil || cs.Status != domain.CaseAwaitingAgent || cs.Conversation != "t:1" {
		t.Fatalf("case %+v, %v", cs, err)
	}
	cs.Order = "206-1007777-4054439"
	if err := rec.PutCase(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Agent(ctx, bot.AgentAction{ID: "a1", Case: caseID, Agent: "U1", Kind: dialog.AgentClaim}); err != nil {
		t.Fatal(err)
	}
	if rs := f.rec.Take("1"); !strings.Contains(texts(rs), "übernommen") {
		t.Fatalf("claim not told in German: %s", texts(rs))
	}
	if err := f.svc.Agent(ctx, bot.AgentAction{ID: "a2", Case: caseID, Agent: "U1", Kind: dialog.AgentResolve, How: domain.ResolveReplacement}); err != nil {
		t.Fatal(err)
	}
	rs := f.rec.Take("1")
	if !strings.Contains(texts(rs), "Erstattung") {
		t.Fatalf("want the refund told in German, got %s", texts(rs))
	}
	cs, _ = rec.Case(ctx, caseID)
	if cs.Resolution != domain.ResolveRefund || cs.Status != domain.CaseResolved {
		t.Fatalf("case after resolve: %+v", cs)
	}
	var who []string
	for _, n := range cs.Notes {
		who = append(who, n.Who+":"+n.What)
	}
	if got := strings.Join(who, ","); !strings.Contains(got, "U1:claim") || !strings.Contains(got, "U1:resolved: refund") {
		t.Fatalf("agent actions not recorded: %s", got)
	}
	// the same action delivered again changes nothing
	if err := f.svc.Agent(ctx, bot.AgentAction{ID: "a2", Case: caseID, Agent: "U1", Kind: dialog.AgentResolve, How: domain.ResolveReplacement}); err != nil {
		t.Fatal(err)
	}
	if rs := f.rec.Take("1"); len(rs) != 0 {
		t.Fatalf("repeated agent action told again: %s", texts(rs))
	}
	if n := countWrites(f.data, "refund"); n != 1 {
		t.Fatalf("%d refunds written, want 1", n)
	}
	if err := f.svc.Agent(ctx, bot.AgentAction{ID: "a3", Case: "PB-NOSUCH", Kind: dialog.AgentClaim}); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown case: %v", err)
	}
}

func TestOrderOfAnotherCustomerNeedsThePostcode(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	// C-1001 is linked, asks about C-1010's order: treated like an unlinked chat
	if err := f.svc.Handle(ctx, bot.Message{Conversation: "t:1", ID: "u1", LinkCustomer: "C-1001", Input: dialog.Input{Text: "password 206-1016665-4116655"}}); err != nil {
		t.Fatal(err)
	}
	rs := f.rec.Take("1")
	if !strings.Contains(texts(rs), "postcode") {
		t.Fatalf("got %s", texts(rs))
	}
	rs = f.send(t, "1", "u2", "SW1A 1AA")
	if strings.Contains(texts(rs), "216655") || !strings.Contains(texts(rs), "only show delivery passwords in a chat linked") {
		t.Fatalf("another customer's password: %s", texts(rs))
	}
}

func TestOutsideSupportHoursTheCustomerIsToldWhenAgentsAreBack(t *testing.T) {
	f := newFixtureWith(t, nil, nil, func(c *bot.Config) {
		h, err := domain.ParseSupportHours("sat,sun 10:00-14:00", "Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}
		c.SupportHours = map[string]domain.SupportHours{"de": h}
	})
	ctx := context.Background()
	if err := f.svc.Handle(ctx, bot.Message{Conversation: "t:1", ID: "u1", Input: dialog.Input{Text: "ich will einen Menschen", LangHint: "de"}}); err != nil {
		t.Fatal(err)
	}
	got := texts(f.rec.Take("1"))
	if !strings.Contains(got, "Unser Team ist ab Samstag, 28. November um 10:00 wieder da") {
		t.Fatalf("got %s", got)
	}
	if len(f.desk.esc) != 1 {
		t.Fatal("the case must still reach the desk: nothing is dropped")
	}
	// an English customer's market has no hours configured: always open
	got = texts(f.send(t, "2", "u1", "I want a human"))
	if !strings.Contains(got, "usually answers within 10 minutes") || strings.Contains(got, "is back") {
		t.Fatalf("English market: %s", got)
	}
}

// Someone guessing order numbers hits the limit and learns no order facts,
// not even once they guess right.
func TestGuessingOrderNumbersHitsTheLimit(t *testing.T) {
	f := newFixture(t, nil, nil)
	facts := []string{"on its way", "Latest update", "Promised delivery", "delivered"}
	id := 0
	send := func(text string) string {
		id++
		return texts(f.send(t, "1", "u"+strconv.Itoa(id), text))
	}
	for i := 0; i < 5; i++ {
		got := send("where is 206-1001111-400777" + strconv.Itoa(i)) // wrong numbers
		got += send("SW1A 1AA")
		for _, fact := range facts {
			if strings.Contains(got, fact) {
				t.Fatalf("guess %d disclosed %q: %s", i, fact, got)
			}
		}
	}
	// the sixth try uses a real order and its right postcode: still refused
	got := send("where is 206-1001111-4007777") + send("SW1A 1AA")
	if !strings.Contains(got, "paused order lookups") || strings.Contains(got, "on its way") {
		t.Fatalf("after the limit: %s", got)
	}
	// another chat is not affected; after the window the chat may look up again
	if got := texts(f.send(t, "2", "v1", "where is 206-1001111-4007777")) + texts(f.send(t, "2", "v2", "SW1A 1AA")); !strings.Contains(got, "on its way") {
		t.Fatalf("another chat: %s", got)
	}
	f.mr.FastForward(11 * time.Minute)
	if got := send("where is 206-1001111-4007777") + send("SW1A 1AA"); !strings.Contains(got, "on its way") {
		t.Fatalf("after the cool-down: %s", got)
	}
}

func TestInvalidLinkTokensAreLimited(t *testing.T) {
	f := newFixture(t, nil, nil)
	for i := 0; i < 5; i++ {
		f.send(t, "1", "u"+strconv.Itoa(i), "/start forged_token_"+strconv.Itoa(i)+"_x")
	}
	good, _ := domain.NewLinkToken([]byte("test-secret"), "C-1010", testNow)
	if got := texts(f.send(t, "1", "u9", "/start "+good)); !strings.Contains(got, "Too many invalid links") || strings.Contains(got, "Welcome") {
		t.Fatalf("a valid token after 5 failures: %s", got)
	}
}

func TestSharedLocationsOutOfRange(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	f.press(t, "1", "u2", f.send(t, "1", "u1", "/locker"), "📍")
	for i, loc := range []dialog.Location{{Lat: 91, Lon: 0}, {Lat: 0, Lon: 181}, {Lat: -1000, Lon: 5}} {
		if err := f.svc.Handle(ctx, bot.Message{Conversation: "t:1", ID: "l" + strconv.Itoa(i), Input: dialog.Input{Location: &loc}}); err != nil {
			t.Fatal(err)
		}
		if got := texts(f.rec.Take("1")); !strings.Contains(got, "location doesn't look right") {
			t.Fatalf("location %+v: %s", loc, got)
		}
	}
	// still waiting for a place: a real one works
	if err := f.svc.Handle(ctx, bot.Message{Conversation: "t:1", ID: "l9", Input: dialog.Input{Location: &dialog.Location{Lat: 52.53, Lon: 13.39}}}); err != nil {
		t.Fatal(err)
	}
	if got := texts(f.rec.Take("1")); !strings.Contains(got, "Nearby, with free space") {
		t.Fatalf("a real location: %s", got)
	}
}

// countingShop counts the reads that reach the shop.
type countingShop struct {
	bot.Shop
	orders, customers int
}

func (s *countingShop) Order(ctx context.Context, n string) (*domain.Order, error) {
	s.orders++
	return s.Shop.Order(ctx, n)
}

func (s *countingShop) Customer(ctx context.Context, id string) (*domain.Customer, error) {
	s.customers++
	return s.Shop.Customer(ctx, id)
}

// One turn identifies the order, tracks it, checks the compensation and
// offers the options: the shop (an HTTP API in production) is asked once
// for the order and once for the customer.
func TestOneTurnReadsTheOrderOnce(t *testing.T) {
	d, err := demo.Default(testNow)
	if err != nil {
		t.Fatal(err)
	}
	shop := &countingShop{Shop: d}
	f := newFixture(t, nil, shop)
	if err := f.svc.Handle(context.Background(), bot.Message{Conversation: "t:1", ID: "u1", LinkCustomer: "C-1001", Input: dialog.Input{Text: "where is 302-1004444-4031108"}}); err != nil {
		t.Fatal(err)
	}
	if rs := f.rec.Take("1"); !strings.Contains(texts(rs), "one month of membership free") {
		t.Fatalf("no offer: %s", texts(rs))
	}
	if shop.orders != 1 || shop.customers != 1 {
		t.Fatalf("one turn read the order %d times and the customer %d times, want 1 and 1", shop.orders, shop.customers)
	}
}

// Money moves only after the customer confirmed what will happen: "not
// now" refunds nothing; the confirmation states the amount; "yes" refunds
// once.
func TestRefundNeedsAnExplicitConfirmation(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	n := 0
	say := func(text string) []dialog.Reply {
		n++
		if err := f.svc.Handle(ctx, bot.Message{Conversation: "t:1", ID: "c" + strconv.Itoa(n), LinkCustomer: "C-1001", Input: dialog.Input{Text: text}}); err != nil {
			t.Fatal(err)
		}
		return f.rec.Take("1")
	}
	// C-1001's order, delivered days ago
	rs := say("my parcel 302-1015554-4108878 never arrived")
	rs = f.press(t, "1", "p1", rs, "Report it missing")
	rs = f.press(t, "1", "p2", rs, "💶")
	if got := texts(rs); !strings.Contains(got, "I'll refund €") || !strings.Contains(got, "Shall I go ahead?") {
		t.Fatalf("no confirmation with the amount:\n%s", got)
	}
	rs = say("not now")
	if got := texts(rs); !strings.Contains(got, "nothing has been done") || countWrites(f.data, "refund") != 0 {
		t.Fatalf("declining refunded (%d writes):\n%s", countWrites(f.data, "refund"), got)
	}
	rs = f.press(t, "1", "p3", rs, "↩ Choose again")
	f.press(t, "1", "p4", rs, "💶")
	rs = say("yes, go ahead")
	if got := texts(rs); !strings.Contains(got, "Your refund of €") || countWrites(f.data, "refund") != 1 {
		t.Fatalf("confirmed, but %d refund writes:\n%s", countWrites(f.data, "refund"), got)
	}
}

// A chat that only knows the order number and postcode never gets money
// moved by the bot, nor sees the amount: the claim goes to an agent.
func TestUnlinkedClaimGoesToAnAgentWithoutAmounts(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.send(t, "2", "u1", "my parcel 302-1012221-4085547 never arrived")
	rs := f.send(t, "2", "u2", "10115")
	rs = f.press(t, "2", "u3", rs, "Report it missing")
	got := texts(rs)
	if !strings.Contains(got, "isn't linked to the customer account") || strings.ContainsAny(got, "€£") {
		t.Fatalf("want an agent's approval and no amount:\n%s", got)
	}
	if countWrites(f.data, "refund")+countWrites(f.data, "replacement") != 0 {
		t.Fatal("money moved for an unlinked chat")
	}
	f.desk.mu.Lock()
	defer f.desk.mu.Unlock()
	if len(f.desk.esc) != 1 {
		t.Fatalf("%d escalations, want 1", len(f.desk.esc))
	}
}

// After an agent resolves a case the customer is asked once how we did:
// the rating and the comment are kept on the case (and counted), a second
// resolution of the same case does not ask again, and erasure removes the
// comment but keeps the rating.
func TestSatisfactionAfterAnAgentResolved(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	say := func(id, text string) string {
		if err := f.svc.Handle(ctx, bot.Message{Conversation: "t:5", ID: id, Input: dialog.Input{Text: text, LangHint: "en"}}); err != nil {
			t.Fatal(err)
		}
		return texts(f.rec.Take("5"))
	}
	say("u1", "/human")
	caseID := f.desk.esc[0].Case
	if err := f.svc.Agent(ctx, bot.AgentAction{ID: "a1", Case: caseID, Agent: "U1", Kind: dialog.AgentResolve, How: domain.ResolveAnswered}); err != nil {
		t.Fatal(err)
	}
	if got := texts(f.rec.Take("5")); !strings.Contains(got, "How did we do?") {
		t.Fatalf("no closing question after the resolution: %s", got)
	}
	if got := say("u2", "4 out of 5"); !strings.Contains(got, "anything we could have done better") {
		t.Fatalf("rating not taken: %s", got)
	}
	if got := say("u3", "the wait was a bit long"); !strings.Contains(got, "Thank you for your feedback") {
		t.Fatalf("comment not taken: %s", got)
	}
	rec := redis.NewRecords(f.rdb, "", 0)
	notes := func() string {
		cs, err := rec.Case(ctx, caseID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range cs.Notes {
			out = append(out, n.Who+":"+n.What)
		}
		return strings.Join(out, ",")
	}
	if got := notes(); !strings.Contains(got, "customer:rated 4/5") || !strings.Contains(got, "customer:feedback: the wait was a bit long") {
		t.Fatalf("feedback not on the case: %s", got)
	}
	f.obs.mu.Lock()
	counted := f.obs.satisfaction
	f.obs.mu.Unlock()
	if !strings.HasSuffix(counted, "/en/4") {
		t.Fatalf("rating not counted: %q", counted)
	}
	if err := f.svc.Forget(ctx, "t:5"); err != nil {
		t.Fatal(err)
	}
	if got := notes(); strings.Contains(got, "the wait was a bit long") || !strings.Contains(got, "rated 4/5") {
		t.Fatalf("after erasure: %s", got)
	}
}

// A journey that resolves a case itself (a refund confirmed by the
// customer) closes with the same question once: the typed rating is kept on
// the case, a typed "nö, passt" (no, all fine) is not taken as a comment, and the
// journey's advice follows.
func TestSatisfactionAfterTheBotResolved(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	n := 0
	say := func(text string) []dialog.Reply {
		n++
		if err := f.svc.Handle(ctx, bot.Message{Conversation: "t:1", ID: "c" + strconv.Itoa(n), LinkCustomer: "C-1001", Input: dialog.Input{Text: text, LangHint: "de"}}); err != nil {
			t.Fatal(err)
		}
		return f.rec.Take("1")
	}
	rs := say("mein Paket 302-1015554-4108878 ist nie angekommen")
	rs = f.press(t, "1", "p1", rs, "Als vermisst melden")
	f.press(t, "1", "p2", rs, "💶")
	if got := texts(say("ja bitte")); !strings.Contains(got, "Ihre Erstattung") || !strings.Contains(got, "Wie zufrieden waren Sie") {
		t.Fatalf("no closing question after the refund:\n%s", got)
	}
	if got := texts(say("die vierte")); !strings.Contains(got, "besser machen") {
		t.Fatalf("typed ordinal not taken as a rating:\n%s", got)
	}
	if got := texts(say("nö, passt")); !strings.Contains(got, "Vielen Dank für Ihre Rückmeldung") || !strings.Contains(got, "Paketstation") {
		t.Fatalf("want thanks, then the prevention advice:\n%s", got)
	}
	rec := redis.NewRecords(f.rdb, "", 0)
	all, err := rec.Cases(ctx, "C-1001", "t:1")
	if err != nil || len(all) != 1 {
		t.Fatalf("cases of the chat: %v %v", all, err)
	}
	cs := all[0]
	var notes []string
	for _, nt := range cs.Notes {
		notes = append(notes, nt.Who+":"+nt.What)
	}
	got := strings.Join(notes, ",")
	if !strings.Contains(got, "customer:rated 4/5") || strings.Contains(got, "feedback:") {
		t.Fatalf("want the rating and no comment on the case: %s", got)
	}
	f.obs.mu.Lock()
	counted := f.obs.satisfaction
	f.obs.mu.Unlock()
	if !strings.HasSuffix(counted, "/de/4") {
		t.Fatalf("rating not counted: %q", counted)
	}
}

// A damaged parcel: photos are counted once each (a redelivered album
// photo is not a second one), a file of the wrong type is refused, and the
// fifth photo moves on by itself; the case keeps the photos for the agent.
func TestDamagedParcelTakesUpToFivePhotos(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	n := 0
	send := func(in dialog.Input) string {
		n++
		in.LangHint = "en"
		if err := f.svc.Handle(ctx, bot.Message{Conversation: "t:1", ID: "d" + strconv.Itoa(n), LinkCustomer: "C-1001", Input: in}); err != nil {
			t.Fatal(err)
		}
		return texts(f.rec.Take("1"))
	}
	photo := func(id string) dialog.Input {
		return dialog.Input{Files: []dialog.File{{ID: id, Kind: "photo", Size: 50 << 10, MIME: "image/jpeg"}}}
	}
	send(dialog.Input{Text: "my parcel 302-1015554-4108878 arrived damaged"})
	send(dialog.Input{Text: "the content is broken"})
	if got := send(dialog.Input{Text: "no"}); !strings.Contains(got, "send me photos") {
		t.Fatalf("no photo question: %s", got)
	}
	if got := send(photo("a")); !strings.Contains(got, "1 of 5") {
		t.Fatalf("first photo: %s", got)
	}
	if got := send(photo("a")); !strings.Contains(got, "1 of 5") {
		t.Fatalf("the same photo again counted: %s", got)
	}
	if got := send(dialog.Input{Files: []dialog.File{{ID: "x", Kind: "document", Size: 10, MIME: "application/zip"}}}); !strings.Contains(got, "couldn't take that file") {
		t.Fatalf("a zip file taken: %s", got)
	}
	for _, id := range []string{"b", "c", "d"} {
		send(photo(id))
	}
	if got := send(photo("e")); !strings.Contains(got, "replacement or a refund") {
		t.Fatalf("the fifth photo did not move on to the claim: %s", got)
	}
	rec := redis.NewRecords(f.rdb, "", 0)
	all, err := rec.Cases(ctx, "C-1001", "t:1")
	if err != nil || len(all) != 1 {
		t.Fatalf("cases: %v %v", all, err)
	}
	if cs := all[0]; cs.Kind != domain.CaseDamaged || cs.Damage != "content" || strings.Join(cs.Photos, ",") != "photo:a,photo:b,photo:c,photo:d,photo:e" {
		t.Fatalf("case: kind %s damage %q photos %v", cs.Kind, cs.Damage, cs.Photos)
	}
}

// An agent reads which buttons the customer pressed, as they were shown.
func TestEscalationShowsThePressedButtons(t *testing.T) {
	f := newFixture(t, nil, nil)
	rs := f.sayLinked(t, "C-1001", "u1", "where is my parcel")
	order, ok := button(rs, "302-1001111-4007777")
	if !ok {
		t.Fatalf("no button for the order: %+v", rs)
	}
	rs = f.press(t, "1", "u2", rs, order.Label)
	f.press(t, "1", "u3", rs, "👤")
	if len(f.desk.esc) != 1 {
		t.Fatalf("%d escalations", len(f.desk.esc))
	}
	got := strings.Join(f.desk.esc[0].LastMessages, "\n")
	for _, want := range []string{"customer: where is my parcel", "customer: [button] " + order.Label, "customer: [button] 👤 Talk to a person"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("the agent's last messages lack %q:\n%s", want, got)
		}
	}
}
