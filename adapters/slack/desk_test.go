package slack

import (
	"context"
	"encoding/json"
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

func newDesk(t *testing.T, sf *slackfake.Fake, cfg Config) (*Desk, *goredis.Client, *redis.Records) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	rec := redis.NewRecords(rdb, "", 0)
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
	time.Sleep(300 * time.Millisecond) // connect
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "UAGENT"},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: actClaim, Value: "PB-AAAAAA", ActionTs: "9.9"}}}}
	payload, _ := json.Marshal(cb)
	env, _ := json.Marshal(map[string]any{"envelope_id": "env-1", "type": "interactive", "payload": json.RawMessage(payload), "accepts_response_payload": false})
	sf.SendToWebsocket(string(env))
	if !slackfake.Wait(5*time.Second, func() bool { return agent.count() == 1 }) {
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
	time.Sleep(300 * time.Millisecond)
	if agent.count() != 1 {
		t.Fatal("a retried envelope was handled twice")
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
	time.Sleep(150 * time.Millisecond) // some attempts fail
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
