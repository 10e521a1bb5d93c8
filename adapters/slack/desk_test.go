package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/parcelbot/parcelbot/adapters/redis"
	"github.com/parcelbot/parcelbot/adapters/slack/slackfake"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

type recAgent struct {
	mu   sync.Mutex
	acts []bot.AgentAction
}

func (r *recAgent) Agent(_ context.Context, a bot.AgentAction) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acts = append(r.acts, a)
	return nil
}

func (r *recAgent) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.acts)
}

// newDesk is a desk on an in-process Redis, or on the Redis Cluster at
// PARCELBOT_TEST_REDIS (.ci/with-redis-cluster) under a key prefix of its
// own: the desk's keys are spread over the cluster's slots.
func newDesk(t *testing.T, sf *slackfake.Fake, cfg Config) (*Desk, goredis.UniversalClient, *redis.Records) {
	t.Helper()
	var rdb goredis.UniversalClient
	if url := os.Getenv("PARCELBOT_TEST_REDIS"); url != "" {
		c, closeFn, err := redis.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeFn)
		rdb = c
		cfg.Prefix = fmt.Sprintf("desktest:%d:%d:", os.Getpid(), time.Now().UnixNano())
	} else {
		mr := miniredis.RunT(t)
		c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { c.Close() })
		rdb = c
	}
	rec := redis.NewRecords(rdb, cfg.Prefix, 0)
	cfg.BotToken, cfg.Channel, cfg.APIURL = "xoxb-t", "CDESK", sf.APIURL()
	if cfg.AppToken == "" && cfg.SigningSecret == "" {
		cfg.SigningSecret = "s"
	}
	d, err := New(cfg, rdb, rec)
	if err != nil {
		t.Fatal(err)
	}
	d.out.minBackoff = 20 * time.Millisecond
	return d, rdb, rec
}

func TestSocketModeActionIsHandledAndAcknowledged(t *testing.T) {
	sf := slackfake.New("UAGENT")
	defer sf.Stop()
	d, _, rec := newDesk(t, sf, Config{AppToken: "xapp-test"})
	agent := &recAgent{}
	d.SetAgent(agent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := rec.PutCase(ctx, &domain.Case{ID: "PB-AAAAAA", Status: domain.CaseAwaitingAgent, Conversation: "tg:1", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	go d.RunSocketMode(ctx)
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "UAGENT"},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: actClaim, Value: "PB-AAAAAA", ActionTs: "9.9"}}}}
	payload, _ := json.Marshal(cb)
	env, _ := json.Marshal(map[string]any{"envelope_id": "env-1", "type": "interactive", "payload": json.RawMessage(payload), "accepts_response_payload": false})
	// the envelope is sent until the socket is up and it arrives: sending
	// it again is what Slack does anyway, and it must be handled once
	if !slackfake.Wait(5*time.Second, func() bool {
		if agent.count() == 0 {
			sf.SendToWebsocket(string(env))
		}
		return slackfake.Wait(200*time.Millisecond, func() bool { return agent.count() >= 1 })
	}) {
		t.Fatal("the socket mode action did not reach the agent handler")
	}
	if a := agent.acts[0]; a.Kind != "claim" || a.Case != "PB-AAAAAA" || a.Agent != "UAGENT" {
		t.Fatalf("action %+v", a)
	}
	if !slackfake.Wait(3*time.Second, func() bool {
		return sf.SawMessage(`"envelope_id":"env-1"`) || strings.Contains(strings.Join(sf.GetSeenInboundMessages(), ""), "env-1")
	}) {
		t.Error("the envelope was not acknowledged")
	}
	sf.SendToWebsocket(string(env)) // Slack retries the same envelope
	// processed signal: events are handled in order, so once a second,
	// different envelope has reached the handler the retry was handled too
	cb2 := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "UAGENT"},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: actClaim, Value: "PB-AAAAAA", ActionTs: "9.10"}}}}
	payload2, _ := json.Marshal(cb2)
	env2, _ := json.Marshal(map[string]any{"envelope_id": "env-2", "type": "interactive", "payload": json.RawMessage(payload2), "accepts_response_payload": false})
	sf.SendToWebsocket(string(env2))
	if !slackfake.Wait(5*time.Second, func() bool { return agent.count() >= 2 }) {
		t.Fatal("the second envelope did not arrive")
	}
	if n := agent.count(); n != 2 {
		t.Fatalf("%d actions handled for a retried envelope and a new one, want 2", n)
	}
}

// The outbox keeps entries while Slack fails and across a restart, and
// delivers them once, in order.
func TestOutboxSurvivesOutageAndRestart(t *testing.T) {
	sf := slackfake.New("UAGENT")
	defer sf.Stop()
	d, rdb, _ := newDesk(t, sf, Config{})
	ctx := context.Background()
	e := bot.Escalation{Case: "PB-BBBBBB", Journey: "missing", Lang: "fr", Order: "403-1", At: time.Now(), LastMessages: []string{"customer: bonjour"}}
	if err := d.Escalate(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"un", "deux", "trois"} {
		if err := d.Relay(ctx, "PB-BBBBBB", m); err != nil {
			t.Fatal(err)
		}
	}
	sf.Fail("chat.postMessage", 500, 5)
	run1, stop1 := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { d.Run(run1); close(done) }()
	// stopped after some attempts failed (the fake counts them)
	if !slackfake.Wait(5*time.Second, func() bool { return sf.FailuresLeft("chat.postMessage") <= 3 }) {
		t.Fatal("the outbox made no attempt")
	}
	stop1()
	<-done
	// a new instance (same Redis) takes over
	d2, err := New(d.cfg, rdb, d.records)
	if err != nil {
		t.Fatal(err)
	}
	d2.out.minBackoff = 20 * time.Millisecond
	run2, stop2 := context.WithCancel(ctx)
	defer stop2()
	go d2.Run(run2)
	var card slackfake.Post
	if !slackfake.Wait(10*time.Second, func() bool {
		var ok bool
		card, ok = sf.Card("PB-BBBBBB")
		n, _ := d2.out.len(ctx)
		return ok && len(sf.Thread(card.TS)) == 3 && n == 0
	}) {
		t.Fatalf("not everything delivered: %+v", sf.Posts("chat.postMessage"))
	}
	if got := strings.Join(sf.Thread(card.TS), "|"); !strings.Contains(got, "un") || strings.Index(got, "deux") > strings.Index(got, "trois") {
		t.Fatalf("thread %q", got)
	}
	cards := 0
	for _, p := range sf.Posts("chat.postMessage") {
		if p.ThreadTS == "" {
			cards++
		}
	}
	if cards != 1 {
		t.Fatalf("%d cards for one escalation", cards)
	}
	if n, _ := d2.out.len(ctx); n != 0 {
		t.Fatalf("%d entries left in the outbox", n)
	}
}

// SLA reminders on a fake clock: nothing before the SLA; at the SLA, two
// instances checking at once fire the reminder once between them (one
// note, the customer told once); later checks fire nothing more, and a
// claimed case is not reminded.
func TestSLAReminderFiresOnceAcrossInstances(t *testing.T) {
	sf := slackfake.New("UAGENT")
	defer sf.Stop()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	a, rdb, rec := newDesk(t, sf, Config{SLA: 10 * time.Minute, Now: clock})
	b, err := New(a.cfg, rdb, rec)
	if err != nil {
		t.Fatal(err)
	}
	agent := &recAgent{}
	a.SetAgent(agent)
	b.SetAgent(agent)
	ctx := context.Background()
	for _, id := range []string{"PB-AAAAAA", "PB-BBBBBB"} {
		if err := rec.PutCase(ctx, &domain.Case{ID: id, Status: domain.CaseAwaitingAgent, Conversation: "tg:1", Created: now}); err != nil {
			t.Fatal(err)
		}
		if err := a.recordCard(ctx, id, cardRef{Channel: "CDESK", TS: "1." + id}); err != nil {
			t.Fatal(err)
		}
	}
	// PB-BBBBBB is claimed before its SLA
	if _, err := bot.UpdateCase(ctx, rec, "PB-BBBBBB", func(cs *domain.Case) (*domain.Case, error) {
		cs.Status = domain.CaseWithAgent
		return cs, nil
	}); err != nil {
		t.Fatal(err)
	}
	advance(9 * time.Minute)
	if n := a.remindDue(ctx) + b.remindDue(ctx); n != 0 || agent.count() != 0 {
		t.Fatalf("%d reminders before the SLA", n)
	}
	advance(time.Minute)
	fired := make(chan int, 2)
	var wg sync.WaitGroup
	for _, d := range []*Desk{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); fired <- d.remindDue(ctx) }()
	}
	wg.Wait()
	close(fired)
	total := 0
	for n := range fired {
		total += n
	}
	if total != 1 || agent.count() != 1 {
		t.Fatalf("%d reminders fired, customer told %d times; want 1 and 1", total, agent.count())
	}
	if n, _ := a.out.len(ctx); n != 1 {
		t.Fatalf("%d outbox entries, want the one reminder note", n)
	}
	advance(time.Hour)
	if n := a.remindDue(ctx) + b.remindDue(ctx); n != 0 || agent.count() != 1 {
		t.Fatalf("%d more reminders later", n)
	}
}
