package bot_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
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

var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// recObs records the ratings the service reports.
type recObs struct {
	mu           sync.Mutex
	satisfaction string
	proactive    []string // type/outcome
}

func (o *recObs) Proactive(kind, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.proactive = append(o.proactive, kind+"/"+outcome)
}

// proactiveOf returns the recorded outcomes of proactive events.
func (o *recObs) proactiveOf() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.proactive, ",")
}

func (*recObs) Turn(string, string, time.Duration, bool) {}
func (*recObs) Journey(string, string, string)           {}
func (*recObs) Escalation(string, string, string)        {}
func (*recObs) Compensation()                            {}
func (*recObs) Agent(string, time.Duration)              {}
func (o *recObs) Satisfaction(kind, lang string, rating int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.satisfaction = fmt.Sprintf("%s/%s/%d", kind, lang, rating)
}

type fixture struct {
	obs  *recObs
	svc  *bot.Service
	rec  *console.Recorder
	desk *recDesk
	mr   *miniredis.Miniredis
	rdb  *goredis.Client
	data *demo.Data
}

func newFixture(t testing.TB, mr *miniredis.Miniredis, shop bot.Shop) *fixture {
	t.Helper()
	return newFixtureWith(t, mr, shop, nil)
}

func newFixtureWith(t testing.TB, mr *miniredis.Miniredis, shop bot.Shop, configure func(*bot.Config)) *fixture {
	t.Helper()
	if mr == nil {
		mr = miniredis.RunT(t)
	}
	d, err := demo.Default(testNow)
	if err != nil {
		t.Fatal(err)
	}
	if shop == nil {
		shop = d
	}
	if sd, ok := shop.(*demo.Data); ok {
		d = sd // a shared demo shop: replicas of one deployment
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	obs := &recObs{}
	be := bot.Backends{Shop: shop, Writer: d, Records: redis.NewRecords(rdb, "", 0), Observer: obs}
	cfg := bot.DefaultConfig()
	cfg.LinkSecret = []byte("test-secret")
	if configure != nil {
		configure(&cfg)
	}
	eng, err := bot.NewEngine(cfg, be)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{obs: obs, rec: console.NewRecorder("t"), desk: &recDesk{}, mr: mr, rdb: rdb, data: d}
	f.svc = bot.NewService(bot.Options{Engine: eng, Store: redis.NewStore(rdb, redis.Options{}), Desk: f.desk, Backends: be, Now: func() time.Time { return testNow }})
	f.svc.AddChannel(f.rec)
	return f
}

func (f *fixture) send(t testing.TB, chat, id, text string) []dialog.Reply {
	t.Helper()
	if err := f.svc.Handle(context.Background(), bot.Message{Conversation: "t:" + chat, ID: id, Input: dialog.Input{Text: text, LangHint: "en"}}); err != nil {
		t.Fatalf("handle %s: %v", id, err)
	}
	return f.rec.Take(chat)
}

type recDesk struct {
	mu  sync.Mutex
	esc []bot.Escalation
}

func (d *recDesk) Escalate(_ context.Context, e bot.Escalation) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.esc = append(d.esc, e)
	return nil
}
func (d *recDesk) Relay(context.Context, string, string) error { return nil }

func TestRedeliveredMessageIsHandledOnce(t *testing.T) {
	f := newFixture(t, nil, nil)
	if rs := f.send(t, "1", "u1", "hello"); len(rs) != 1 {
		t.Fatalf("first delivery: %d replies", len(rs))
	}
	if rs := f.send(t, "1", "u1", "hello"); len(rs) != 0 {
		t.Fatalf("redelivery answered again: %+v", rs)
	}
	f.send(t, "1", "u2", "/human")
	f.send(t, "1", "u2", "/human")
	if len(f.desk.esc) != 1 {
		t.Fatalf("%d escalations for one message", len(f.desk.esc))
	}
}

// Two service instances (replicas) share one Redis; 100 messages of one chat
// arrive on both at once. Every message is applied exactly once: the menu
// offers buttons on each turn, so the button sequence counts the turns.
func TestTwoReplicasLoseNoWrite(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := newFixture(t, mr, nil), newFixture(t, mr, nil)
	const n = 100
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := a
			if i%2 == 1 {
				f = b
			}
			if err := f.svc.Handle(context.Background(), bot.Message{Conversation: "t:1", ID: fmt.Sprint("u", i), Input: dialog.Input{Text: "hello"}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	sess, err := redis.NewStore(a.rdb, redis.Options{}).Load(context.Background(), "t:1", "")
	if err != nil {
		t.Fatal(err)
	}
	var st dialog.State
	if err := st.UnmarshalBinary(sess.Data); err != nil {
		t.Fatal(err)
	}
	if st.Seq != n {
		t.Fatalf("after %d messages: seq %d", n, st.Seq)
	}
	if got := len(a.rec.Take("1")) + len(b.rec.Take("1")); got != n {
		t.Fatalf("%d replies for %d messages", got, n)
	}
}

func TestRedisDownTellsTheCustomer(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.send(t, "1", "u1", "/language")
	f.send(t, "1", "u2", "/start") // state exists
	f.mr.SetError("LOADING Redis is loading the dataset in memory")
	err := f.svc.Handle(context.Background(), bot.Message{Conversation: "t:1", ID: "u3", Input: dialog.Input{Text: "hallo", LangHint: "de"}})
	if err == nil {
		t.Fatal("no error while Redis fails")
	}
	rs := f.rec.Take("1")
	if len(rs) != 1 || !strings.Contains(rs[0].Text, "Ich erreiche unsere Systeme gerade nicht") {
		t.Fatalf("customer got %+v", rs)
	}
	f.mr.SetError("")
	if rs := f.send(t, "1", "u3", "hello"); len(rs) == 0 {
		t.Fatal("no answer after Redis came back")
	}
}

type panicShop struct{ bot.Shop }

func (panicShop) Order(context.Context, string) (*domain.Order, error) { panic("backend bug") }

func TestPanicInTurnGetsAnApology(t *testing.T) {
	d, _ := demo.Default(testNow)
	f := newFixture(t, nil, panicShop{d})
	err := f.svc.Handle(context.Background(), bot.Message{Conversation: "t:1", ID: "u1", Input: dialog.Input{Text: "where is 302-1001111-4007777 10115"}})
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("err = %v", err)
	}
	rs := f.rec.Take("1")
	if len(rs) != 1 || !strings.Contains(rs[0].Text, "something went wrong on my side") {
		t.Fatalf("customer got %+v", rs)
	}
	// the conversation still works afterwards
	if rs := f.send(t, "1", "u2", "hello"); len(rs) == 0 {
		t.Fatal("no answer after a panic")
	}
}

func TestUnreadableSessionStartsAfresh(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.mr.HSet("parcelbot:s:{t:1}", "v", "3", "d", "garbage", "s", "\n")
	if rs := f.send(t, "1", "u1", "hello"); len(rs) != 1 || !strings.Contains(rs[0].Text, "What can I help you with?") {
		t.Fatalf("got %+v", rs)
	}
}

// flakyChannel fails the first n sends (the process "dies" before the
// replies go out) and then records.
type flakyChannel struct {
	mu      sync.Mutex
	fails   int
	sent    []string
	replies []dialog.Reply
}

func (c *flakyChannel) Name() string { return "f" }

func (c *flakyChannel) Send(_ context.Context, _ string, _ string, rs []dialog.Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fails > 0 {
		c.fails--
		return errors.New("connection reset")
	}
	for _, r := range rs {
		c.sent = append(c.sent, r.Text)
	}
	c.replies = append(c.replies, rs...)
	return nil
}

// sendFailsOnce adds a channel to f whose first send fails (the process
// "dies" before the replies go out) and handles m on it: the turn is stored,
// not carried out.
func sendFailsOnce(t *testing.T, f *fixture, m bot.Message) *flakyChannel {
	t.Helper()
	ch := &flakyChannel{fails: 1}
	f.svc.AddChannel(ch)
	if err := f.svc.Handle(context.Background(), m); err == nil {
		t.Fatal("a failed send must be reported, so that the channel delivers again")
	}
	return ch
}

// A turn stored but whose replies and escalation never went out is carried
// out when the channel delivers the message again — once.
func TestStoredTurnIsCarriedOutOnRedelivery(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	m := bot.Message{Conversation: "f:1", ID: "u1", Input: dialog.Input{Text: "I want a human"}}
	ch := sendFailsOnce(t, f, m)
	if len(ch.sent) != 0 || len(f.desk.esc) != 0 {
		t.Fatalf("half done: %q, %d escalations", ch.sent, len(f.desk.esc))
	}
	for i := 0; i < 3; i++ { // redelivered, three times
		if err := f.svc.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if len(ch.sent) != 1 || !strings.Contains(ch.sent[0], "passed your conversation") || len(f.desk.esc) != 1 {
		t.Fatalf("after redelivery: %q, %d escalations", ch.sent, len(f.desk.esc))
	}
	// the next message is a normal turn: the bot relays silently
	if err := f.svc.Handle(ctx, bot.Message{Conversation: "f:1", ID: "u2", Input: dialog.Input{Text: "hello?"}}); err != nil {
		t.Fatal(err)
	}
	if len(ch.sent) != 1 {
		t.Fatalf("sent %q", ch.sent)
	}
}

// A redelivered turn's replies come back whole: their texts read back from
// the turn's transcript lines (the pending work does not hold them a second
// time), their buttons from the pending work; also when lines were written
// after the turn's (a later turn from another replica, racing it).
func TestRedoReadsTheRepliesBackFromTheTranscript(t *testing.T) {
	want := newFixture(t, nil, nil).send(t, "1", "u1", "hello") // the menu, as a turn that went out
	if len(want) != 1 || len(want[0].Buttons) < 5 {
		t.Fatalf("the menu: %+v", want)
	}
	for _, later := range []int{0, 3} {
		f := newFixture(t, nil, nil)
		ctx := context.Background()
		m := bot.Message{Conversation: "f:1", ID: "u1", Input: dialog.Input{Text: "hello", LangHint: "en"}}
		ch := sendFailsOnce(t, f, m)
		pending := f.mr.HGet("parcelbot:s:{f:1}", "p:u1")
		if pending == "" || strings.Contains(pending, "What can I help you with?") {
			t.Fatalf("the pending work: %q", pending)
		}
		for i := range later {
			if _, err := f.mr.Push("parcelbot:t:{f:1}", fmt.Sprint("customer: later ", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.svc.Handle(ctx, m); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ch.replies, want) {
			t.Fatalf("%d lines after the turn's: redelivery sent %+v\nwant %+v", later, ch.replies, want)
		}
	}
}

// A redelivered turn whose transcript lines are gone (trimmed or expired)
// still carries out its effects, and sends no reply it cannot rebuild.
func TestRedoWithoutItsTranscriptLinesStillEscalates(t *testing.T) {
	f := newFixture(t, nil, nil)
	ctx := context.Background()
	m := bot.Message{Conversation: "f:1", ID: "u1", Input: dialog.Input{Text: "I want a human"}}
	ch := sendFailsOnce(t, f, m)
	f.mr.Del("parcelbot:t:{f:1}")
	if err := f.svc.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	if len(ch.sent) != 0 || len(f.desk.esc) != 1 {
		t.Fatalf("sent %q, %d escalations", ch.sent, len(f.desk.esc))
	}
	if err := f.svc.Handle(ctx, m); err != nil || len(f.desk.esc) != 1 {
		t.Fatalf("a further redelivery: %v, %d escalations", err, len(f.desk.esc))
	}
}

// Two replicas resolving one case at once (two agents pressing "Approve
// refund" on the same card): the refund is made once, the case ends
// resolved, and neither replica's note on the case is lost.
func TestTwoReplicasResolveOneCase(t *testing.T) {
	mr := miniredis.RunT(t)
	a := newFixture(t, mr, nil)
	b := newFixture(t, mr, a.data) // the same shop behind both replicas
	ctx := context.Background()
	// an unlinked claim: an agent must approve it
	a.send(t, "5", "m1", "my parcel 302-1012221-4085547 never arrived")
	rs := a.send(t, "5", "m2", "10115")
	a.press(t, "5", "m3", rs, "Report it missing")
	cases, err := redis.NewRecords(a.rdb, "", 0).Cases(ctx, "", "t:5")
	if err != nil || len(cases) != 1 {
		t.Fatalf("%d cases, %v", len(cases), err)
	}
	id := cases[0].ID
	var wg sync.WaitGroup
	for i, f := range []*fixture{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			act := bot.AgentAction{ID: fmt.Sprint("act", i), Case: id, Agent: fmt.Sprint("U-AGENT", i), Kind: dialog.AgentResolve, How: domain.ResolveRefund}
			if err := f.svc.Agent(ctx, act); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	cs, err := redis.NewRecords(a.rdb, "", 0).Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Status != domain.CaseResolved || cs.Resolution != domain.ResolveRefund {
		t.Fatalf("case %s / %s", cs.Status, cs.Resolution)
	}
	agents := map[string]bool{}
	for _, n := range cs.Notes {
		agents[n.Who] = true
	}
	if !agents["U-AGENT0"] || !agents["U-AGENT1"] {
		t.Fatalf("a replica's note was lost: %+v", cs.Notes)
	}
	// both replicas asked the shop, with the same idempotency key: one refund
	if n := countWrites(a.data, "refund"); n != 1 {
		t.Fatalf("%d refunds", n)
	}
}

// A redelivered input whose replies went out is dropped, with or without
// the session cache: a durable message's pending work is gone from Redis
// when Handle returns.
func TestRedeliveryAfterTheRepliesWentOut(t *testing.T) {
	for _, cache := range []int{0, -1} {
		f := newFixture(t, nil, nil)
		svc := bot.NewService(bot.Options{Engine: f.svc.Engine(), Store: redis.NewStore(f.rdb, redis.Options{}), Desk: f.desk,
			Backends: bot.Backends{Shop: f.data, Writer: f.data, Records: redis.NewRecords(f.rdb, "", 0)}, CacheSize: cache, Now: func() time.Time { return testNow }})
		svc.AddChannel(f.rec)
		ctx := context.Background()
		m := bot.Message{Conversation: "t:1", ID: "u1", Input: dialog.Input{Text: "I want a human", LangHint: "en"}, Durable: true}
		for i := range 3 {
			if err := svc.Handle(ctx, m); err != nil {
				t.Fatal(err)
			}
			if rs := f.rec.Take("1"); (i == 0) != (len(rs) == 1) {
				t.Fatalf("cache %d, delivery %d: %d replies", cache, i, len(rs))
			}
			if f.mr.HGet("parcelbot:s:{t:1}", "p:u1") != "" {
				t.Fatalf("cache %d: the pending work is still in Redis after the replies went out", cache)
			}
		}
		if len(f.desk.esc) != 1 {
			t.Fatalf("cache %d: %d escalations", cache, len(f.desk.esc))
		}
	}
}

// A turn whose send failed on one replica is carried out by the replica
// the redelivery reaches, which marks it done in the store: a further
// redelivery to the first replica sends nothing.
func TestRedoOnAnotherReplicaIsMarkedDone(t *testing.T) {
	mr := miniredis.RunT(t)
	a := newFixture(t, mr, nil)
	b := newFixture(t, mr, a.data)
	cha, chb := &flakyChannel{fails: 1}, &flakyChannel{}
	a.svc.AddChannel(cha)
	b.svc.AddChannel(chb)
	ctx := context.Background()
	m := bot.Message{Conversation: "f:1", ID: "u1", Input: dialog.Input{Text: "I want a human"}}
	if err := a.svc.Handle(ctx, m); err == nil {
		t.Fatal("a failed send must be reported")
	}
	if err := b.svc.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Handle(ctx, m); err != nil {
		t.Fatal(err)
	}
	if len(cha.sent) != 0 || len(chb.sent) != 1 || len(a.desk.esc)+len(b.desk.esc) != 1 {
		t.Fatalf("replica a sent %q, b sent %q, escalations %d+%d", cha.sent, chb.sent, len(a.desk.esc), len(b.desk.esc))
	}
}

// ackChannel carries each reply in the message's acknowledgement, as the
// Telegram webhook does with TELEGRAM_WEBHOOK_REPLIES.
type ackChannel struct{ carried []string }

func (c *ackChannel) Name() string { return "a" }

func (c *ackChannel) Send(ctx context.Context, _, _ string, rs []dialog.Reply) error {
	a := bot.AckFrom(ctx)
	if a == nil || a.Carried {
		return errors.New("no acknowledgement to carry the reply")
	}
	a.Carried, a.Body = true, []byte(rs[0].Text)
	c.carried = append(c.carried, rs[0].Text)
	return nil
}

// A reply carried in the channel's acknowledgement leaves the turn
// unmarked: if the acknowledgement is lost, the redelivered message sends
// the same reply again; the next turn clears it.
func TestReplyCarriedInTheAcknowledgement(t *testing.T) {
	f := newFixture(t, nil, nil)
	ch := &ackChannel{}
	f.svc.AddChannel(ch)
	handle := func(id, text string) string {
		t.Helper()
		ack := &bot.Ack{}
		if err := f.svc.Handle(bot.WithAck(context.Background(), ack), bot.Message{Conversation: "a:1", ID: id, Input: dialog.Input{Text: text, LangHint: "en"}, Durable: true}); err != nil {
			t.Fatal(err)
		}
		return string(ack.Body)
	}
	first := handle("u1", "hello")
	if first == "" || f.mr.HGet("parcelbot:s:{a:1}", "p:u1") == "" {
		t.Fatalf("carried %q; pending work %q", first, f.mr.HGet("parcelbot:s:{a:1}", "p:u1"))
	}
	if again := handle("u1", "hello"); again != first { // the answer was lost
		t.Fatalf("redelivery carried %q, want %q", again, first)
	}
	handle("u2", "where is my parcel")
	if f.mr.HGet("parcelbot:s:{a:1}", "p:u1") != "" {
		t.Fatal("u1's work still pending after the next turn")
	}
	if len(ch.carried) != 3 {
		t.Fatalf("carried %q", ch.carried)
	}
}
