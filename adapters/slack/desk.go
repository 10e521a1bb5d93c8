// Package slack is parcelbot's agent desk in Slack, on
// github.com/slack-go/slack. Every escalation becomes a case card (one Block
// Kit message) in the escalation channel; the card's thread carries the
// conversation: the customer's messages appear there, and an agent's thread
// reply reaches the customer. The card's buttons — Claim, Approve refund,
// Send replacement, Resolve, Hand back to bot — work for members of the
// escalation channel (or of a configured user group) only; anyone else gets
// an ephemeral refusal. The card is updated as the case moves.
//
// Nothing is lost: escalations, relayed messages, card updates and reminders
// go through a durable outbox in Redis (a stream with a consumer group),
// delivered in order by one instance at a time (a lease), retried with
// backoff while Slack fails and honouring Retry-After on 429. Inbound events
// are verified (signing secret, 5-minute window, or Socket Mode) and handled
// once (keyed by event_id / action_ts). No delivery password, link token or
// street address ever reaches Slack: the card shows postcode and city.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/slack-go/slack"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
	"github.com/parcelbot/parcelbot/locales"
)

// AgentHandler applies agent actions (bot.Service.Agent).
type AgentHandler interface {
	Agent(ctx context.Context, a bot.AgentAction) error
}

// Config configures the desk.
type Config struct {
	BotToken      string        // SLACK_BOT_TOKEN (xoxb-…)
	Channel       string        // SLACK_CHANNEL: the escalation channel's id
	AppToken      string        // SLACK_APP_TOKEN (xapp-…): Socket Mode
	SigningSecret string        // SLACK_SIGNING_SECRET: HTTP events and interactivity
	APIURL        string        // SLACK_API_URL, default https://slack.com/api/
	UserGroup     string        // SLACK_USER_GROUP: agents are its members instead of the channel's
	Prefix        string        // Redis key prefix
	SLA           time.Duration // a card unclaimed this long gets a reminder
	Logger        *slog.Logger
	Now           func() time.Time
	HTTPClient    *http.Client // nil: NewTransport, 30 s timeout; wrap it for metrics
	// Lang is the team's language (SLACK_LANG: en, de, fr or it) for what
	// the whole channel reads: cards and thread notes. What one agent
	// reads (notices, the App Home) follows their own Slack locale.
	Lang string
}

// Desk is the Slack agent desk; it implements bot.Desk.
type Desk struct {
	cfg     Config
	api     *slack.Client
	rdb     goredis.UniversalClient
	records bot.Records
	agent   AgentHandler
	log     *slog.Logger
	out     *outbox
	files   Files
	cat     *dialog.Catalog // agent texts, locales/agent
	langMu  sync.Mutex
	langs   map[string]userLang // agent → their Slack locale, cached
	botUser string

	memMu     sync.Mutex
	members   map[string]bool
	membersAt time.Time
	authed    atomic.Bool
}

// Ready reports whether Slack accepted the token (auth.test at Run).
func (d *Desk) Ready() error {
	if !d.authed.Load() {
		return errors.New("slack: not connected (auth.test has not succeeded)")
	}
	return nil
}

// Pending returns how many outbox entries wait for Slack.
func (d *Desk) Pending(ctx context.Context) (int64, error) { return d.out.len(ctx) }

// Failing reports whether the outbox's last delivery attempt failed: at
// shutdown, waiting for the outbox is worth it only while Slack answers
// (what is left is delivered by the next instance).
func (d *Desk) Failing() bool { return d.out.failing.Load() }

// New returns a desk. Call SetAgent before inbound events flow and Run to
// deliver the outbox.
func New(cfg Config, rdb goredis.UniversalClient, records bot.Records) (*Desk, error) {
	if cfg.BotToken == "" || cfg.Channel == "" {
		return nil, errors.New("slack: SLACK_BOT_TOKEN and SLACK_CHANNEL are required")
	}
	if cfg.AppToken == "" && cfg.SigningSecret == "" {
		return nil, errors.New("slack: set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP events)")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "parcelbot:"
	}
	if cfg.SLA <= 0 {
		cfg.SLA = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	opts := []slack.Option{}
	if cfg.APIURL != "" {
		u := cfg.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slack.OptionAPIURL(u))
	}
	if cfg.AppToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(cfg.AppToken))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: NewTransport()}
	}
	opts = append(opts, slack.OptionHTTPClient(cfg.HTTPClient))
	sub, err := fs.Sub(locales.AgentFS, "agent")
	if err != nil {
		return nil, err
	}
	cat, err := dialog.LoadCatalog(sub)
	if err != nil {
		return nil, fmt.Errorf("slack: agent texts: %w", err)
	}
	cfg.Lang = teamLang(cfg.Lang)
	d := &Desk{cfg: cfg, api: slack.New(cfg.BotToken, opts...), rdb: rdb, records: records,
		log: cfg.Logger.With("desk", "slack"), cat: cat, langs: map[string]userLang{}}
	d.out = newOutbox(rdb, cfg.Prefix+"slack:", d.deliver, d.log)
	return d, nil
}

// teamLang is one of the four languages, English when unknown.
func teamLang(code string) string { return dialog.NormalizeLang(code) }

// pairs are placeholder values by name, for the agent texts.
type pairs []string

func (p pairs) Lookup(name string) (string, bool) {
	for i := 0; i+1 < len(p); i += 2 {
		if p[i] == name {
			return p[i+1], true
		}
	}
	return "", false
}

// t renders an agent text in lang.
func (d *Desk) t(lang, key string, kv ...string) string { return d.cat.Text(lang, key, pairs(kv)) }

// tt renders an agent text in the team's language.
func (d *Desk) tt(key string, kv ...string) string { return d.t(d.cfg.Lang, key, kv...) }

type userLang struct {
	lang string
	at   time.Time
}

// langOf is an agent's language from their Slack locale (users.info,
// cached for an hour); the team's when Slack does not say or the locale is
// not one of the four.
func (d *Desk) langOf(ctx context.Context, user string) string {
	d.langMu.Lock()
	ul, ok := d.langs[user]
	d.langMu.Unlock()
	if ok && time.Since(ul.at) < time.Hour {
		return ul.lang
	}
	lang := d.cfg.Lang
	if u, err := d.api.GetUserInfoContext(ctx, user); err == nil && u.Locale != "" {
		if l := dialog.NormalizeLang(u.Locale); l != "en" || strings.HasPrefix(strings.ToLower(u.Locale), "en") {
			lang = l
		}
	}
	d.langMu.Lock()
	d.langs[user] = userLang{lang: lang, at: time.Now()}
	d.langMu.Unlock()
	return lang
}

// SetAgent sets who applies agent actions (the service).
func (d *Desk) SetAgent(a AgentHandler) { d.agent = a }

func (d *Desk) key(parts ...string) string {
	return d.cfg.Prefix + "slack:" + strings.Join(parts, ":")
}

// Escalate implements bot.Desk: the card is queued in the outbox.
func (d *Desk) Escalate(ctx context.Context, e bot.Escalation) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("slack escalate %s: %w", e.Case, err)
	}
	if err := d.out.add(ctx, "card", e.Case, string(b)); err != nil {
		return err
	}
	// the customer's photos follow the card into its thread
	for i, ref := range e.Photos {
		p, _ := json.Marshal(photoEntry{Conv: e.Conversation, Ref: ref, N: i + 1, Of: len(e.Photos)})
		if err := d.out.add(ctx, "photo", e.Case, string(p)); err != nil {
			return err
		}
	}
	return nil
}

// photoEntry is an outbox entry for one of the customer's photos.
type photoEntry struct {
	Conv  string `json:"conv"`
	Ref   string `json:"ref"`
	N, Of int
}

// Files hands over a file a customer sent in a conversation
// (bot.Service.OpenFile): the desk downloads it from the channel and
// uploads it to Slack, so that no channel URL (which may carry a bot token)
// reaches anyone.
type Files interface {
	OpenFile(ctx context.Context, conv, ref string) ([]byte, string, error)
}

// SetFiles sets where the customer's photos are read from.
func (d *Desk) SetFiles(f Files) { d.files = f }

// postPhoto uploads one of the customer's photos to the case's thread.
// A photo that cannot be read (gone from the channel, too large) is noted
// in the thread instead: the outbox must not stall behind it.
func (d *Desk) postPhoto(ctx context.Context, caseID, data string) error {
	var p photoEntry
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		d.log.Error("dropping a malformed photo entry", "case", caseID, "err", err)
		return nil
	}
	ref, ok, err := d.card(ctx, caseID)
	if err != nil {
		return err
	}
	if !ok || ref.Erased {
		return nil
	}
	if d.files == nil {
		_, err := d.postIn(ctx, caseID, ref, d.tt("note.photo_unavailable", "n", strconv.Itoa(p.N), "of", strconv.Itoa(p.Of)))
		return err
	}
	content, name, err := d.files.OpenFile(ctx, p.Conv, p.Ref)
	if err != nil || len(content) == 0 {
		d.log.Warn("customer photo not readable", "case", caseID, "err", err)
		_, err := d.postIn(ctx, caseID, ref, d.tt("note.photo_failed", "n", strconv.Itoa(p.N), "of", strconv.Itoa(p.Of)))
		return err
	}
	if name == "" {
		name = "photo.jpg"
	}
	f, err := d.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Reader: bytes.NewReader(content), FileSize: len(content), Filename: name,
		Title: d.tt("note.photo_title", "n", strconv.Itoa(p.N), "of", strconv.Itoa(p.Of), "case", caseID), Channel: ref.Channel, ThreadTimestamp: ref.TS,
	})
	if err != nil {
		return fmt.Errorf("upload photo %d of %s: %w", p.N, caseID, err)
	}
	// remembered so that an erasure can delete it
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return d.rdb.RPush(bctx, d.key("files", caseID), f.ID).Err()
}

// Relay implements bot.Desk: the customer's message is queued for the
// case's thread.
func (d *Desk) Relay(ctx context.Context, caseID, text string) error {
	return d.out.add(ctx, "relay", caseID, text)
}

// NewTransport is the HTTP transport for Slack's Web API: keep-alive
// connections, a few kept idle (the outbox delivers one entry at a time;
// agents' actions and events add a few more), instead of dialing anew.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        32,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// Erase implements bot.Eraser: queued like every Slack write, so that it
// is carried out after the relays before it and while Slack is down.
func (d *Desk) Erase(ctx context.Context, caseID string) error {
	return d.out.add(ctx, "erase", caseID, "")
}

// Removed is what replaces a customer's relayed message after erasure, in
// the team's language.
func (d *Desk) Removed() string { return d.tt("note.removed") }

// erase removes the customer's words from a case in Slack: each relayed
// message is replaced by Removed, the card loses the last messages and the
// conversation id, and the thread gets a note. Repeating it changes
// nothing more.
func (d *Desk) erase(ctx context.Context, caseID string) error {
	ref, ok, err := d.card(ctx, caseID)
	if err != nil {
		return err
	}
	if !ok {
		return nil // never posted: nothing in Slack
	}
	relayed, err := d.rdb.LRange(ctx, d.key("relayed", caseID), 0, -1).Result()
	if err != nil {
		return err
	}
	photos, err := d.rdb.LRange(ctx, d.key("files", caseID), 0, -1).Result()
	if err != nil {
		return err
	}
	for _, id := range photos {
		if err := d.api.DeleteFileContext(ctx, id); err != nil && !strings.Contains(err.Error(), "file_not_found") && !strings.Contains(err.Error(), "file_deleted") {
			return fmt.Errorf("delete a photo of %s: %w", caseID, err)
		}
	}
	for _, ts := range relayed {
		_, _, _, err := d.api.UpdateMessageContext(ctx, ref.Channel, ts, slack.MsgOptionText(d.Removed(), false))
		if err != nil && !strings.Contains(err.Error(), "message_not_found") && !strings.Contains(err.Error(), "cant_update_message") {
			return fmt.Errorf("redact a message of %s: %w", caseID, err)
		}
	}
	var e bot.Escalation
	if json.Unmarshal([]byte(ref.Esc), &e) == nil && (len(e.LastMessages) > 0 || e.Conversation != "") {
		e.LastMessages, e.Conversation = nil, ""
		b, _ := json.Marshal(e)
		if err := d.rdb.HSet(ctx, d.key("card", caseID), "esc", b).Err(); err != nil {
			return err
		}
		ref.Esc = string(b)
	}
	if err := d.updateCardOf(ctx, caseID, ref); err != nil {
		return err
	}
	if len(relayed) > 0 || len(photos) > 0 || !ref.Erased {
		if _, err := d.postIn(ctx, caseID, ref, d.tt("note.erased")); err != nil {
			return err
		}
	}
	if err := d.markClosed(ctx, caseID); err != nil {
		return err
	}
	pipe := d.rdb.Pipeline()
	pipe.Del(ctx, d.key("relayed", caseID))
	pipe.Del(ctx, d.key("files", caseID))
	pipe.HSet(ctx, d.key("card", caseID), "erased", "1")
	_, err = pipe.Exec(ctx)
	return err
}

// Run delivers the outbox and fires SLA reminders until ctx ends; several
// instances may run it, one delivers at a time.
func (d *Desk) Run(ctx context.Context) error {
	if resp, err := d.api.AuthTestContext(ctx); err == nil {
		d.botUser = resp.UserID
		d.authed.Store(true)
	} else if ctx.Err() == nil {
		d.log.Warn("auth.test failed; the bot's own thread messages are told apart by bot_id only", "err", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.reminders(ctx)
	}()
	err := d.out.run(ctx)
	wg.Wait()
	return err
}

// deliver carries out one outbox entry against Slack. An error means retry.
func (d *Desk) deliver(ctx context.Context, kind, caseID, data string) error {
	switch kind {
	case "card":
		var e bot.Escalation
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			d.log.Error("dropping a malformed card entry", "case", caseID, "err", err)
			return nil
		}
		return d.postCard(ctx, &e)
	case "relay":
		ref, ok, err := d.card(ctx, caseID)
		if err != nil {
			return err
		}
		if !ok || ref.Erased {
			return nil // no card, or queued before the erasure: it stays out of Slack
		}
		ts, err := d.postIn(ctx, caseID, ref, d.tt("note.customer", "text", mrkdwnEscape(data)))
		if err != nil {
			return err
		}
		// remembered so that an erasure can replace it
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return d.rdb.RPush(bctx, d.key("relayed", caseID), ts).Err()
	case "photo":
		return d.postPhoto(ctx, caseID, data)
	case "home":
		if data != "" { // one agent opened the tab
			return d.publishHome(ctx, data)
		}
		return d.refreshHomes(ctx)
	case "erase":
		return d.erase(ctx, caseID)
	case "note":
		return d.postThread(ctx, caseID, data)
	case "update":
		return d.updateCard(ctx, caseID)
	}
	d.log.Error("dropping an unknown outbox entry", "kind", kind)
	return nil
}

// cardRef is what Redis holds of a case's card: where it is, the
// escalation it shows, and whether the customer's words were erased.
type cardRef struct {
	Channel, TS string
	Esc         string
	Erased      bool
	Link        string // its permalink, for the App Home
}

// card reads a case's card in one round trip; false when it was never
// posted.
func (d *Desk) card(ctx context.Context, caseID string) (cardRef, bool, error) {
	v, err := d.rdb.HGetAll(ctx, d.key("card", caseID)).Result()
	if err != nil {
		return cardRef{}, false, err
	}
	if v["ts"] == "" {
		return cardRef{}, false, nil
	}
	return cardRef{Channel: v["channel"], TS: v["ts"], Esc: v["esc"], Erased: v["erased"] == "1", Link: v["link"]}, true, nil
}

// postCard posts a case's card once; a card already posted (an entry
// delivered again after a crash) is updated instead.
func (d *Desk) postCard(ctx context.Context, e *bot.Escalation) error {
	esc, _ := json.Marshal(e)
	if err := d.rdb.HSet(ctx, d.key("card", e.Case), "esc", esc).Err(); err != nil {
		return err
	}
	if ref, ok, err := d.card(ctx, e.Case); err != nil || ok {
		if err != nil {
			return err
		}
		// posted before (delivered again after a crash): make sure the
		// thread and the reminder are known too, then update the card
		if err := d.recordCard(ctx, e.Case, ref); err != nil {
			return err
		}
		if err := d.markOpen(ctx, e.Case, e.At); err != nil {
			return err
		}
		return d.updateCard(ctx, e.Case)
	}
	blocks := d.cardBlocks(ctx, e)
	ch, ts, err := d.api.PostMessageContext(ctx, d.cfg.Channel, slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionText(d.tt("card.needs_agent", "case", e.Case, "journey", e.Journey), false))
	if err != nil {
		return fmt.Errorf("post card %s: %w", e.Case, err)
	}
	// Slack has the card: record it even if we are being stopped, or the
	// next deliverer would post it again
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// the card first: once it is recorded, a card is never posted twice
	if err := d.rdb.HSet(bctx, d.key("card", e.Case), "channel", ch, "ts", ts).Err(); err != nil {
		return err
	}
	ref := cardRef{Channel: ch, TS: ts}
	if err := d.recordCard(bctx, e.Case, ref); err != nil {
		return err
	}
	d.permalink(bctx, e.Case, ref)
	return d.markOpen(bctx, e.Case, e.At)
}

// recordCard records which case a card's thread belongs to and when its
// reminder is due. Each write is on its own key (they may live on different
// nodes of a Redis Cluster) and repeating them changes nothing: a reminder
// already scheduled keeps its time.
func (d *Desk) recordCard(ctx context.Context, caseID string, ref cardRef) error {
	pipe := d.rdb.Pipeline()
	pipe.Set(ctx, d.key("thread", ref.TS), caseID, 0)
	pipe.ZAddNX(ctx, d.key("sla"), goredis.Z{Score: float64(d.cfg.Now().Add(d.cfg.SLA).Unix()), Member: caseID})
	_, err := pipe.Exec(ctx)
	return err
}

func (d *Desk) postThread(ctx context.Context, caseID, text string) error {
	_, err := d.postThreadTS(ctx, caseID, text)
	return err
}

// postThreadTS posts to a case's thread and returns the message's ts (""
// when the case has no card).
func (d *Desk) postThreadTS(ctx context.Context, caseID, text string) (string, error) {
	ref, ok, err := d.card(ctx, caseID)
	if err != nil {
		return "", err
	}
	if !ok {
		d.log.Warn("no card for a thread message; dropped", "case", caseID)
		return "", nil
	}
	return d.postIn(ctx, caseID, ref, text)
}

// postIn posts to the thread of a card already read.
func (d *Desk) postIn(ctx context.Context, caseID string, ref cardRef, text string) (string, error) {
	_, ts, err := d.api.PostMessageContext(ctx, ref.Channel, slack.MsgOptionText(text, false), slack.MsgOptionTS(ref.TS))
	if err != nil {
		return "", fmt.Errorf("post to thread of %s: %w", caseID, err)
	}
	return ts, nil
}

func (d *Desk) updateCard(ctx context.Context, caseID string) error {
	ref, ok, err := d.card(ctx, caseID)
	if err != nil || !ok {
		return err
	}
	return d.updateCardOf(ctx, caseID, ref)
}

// updateCardOf renders a card already read again, with the case's current
// status and history.
func (d *Desk) updateCardOf(ctx context.Context, caseID string, ref cardRef) error {
	var e bot.Escalation
	if err := json.Unmarshal([]byte(ref.Esc), &e); err != nil {
		return nil
	}
	_, _, _, err := d.api.UpdateMessageContext(ctx, ref.Channel, ref.TS, slack.MsgOptionBlocks(d.cardBlocks(ctx, &e)...),
		slack.MsgOptionText(d.tt("card.title", "case", e.Case, "journey", e.Journey), false))
	if err != nil {
		return fmt.Errorf("update card %s: %w", caseID, err)
	}
	// the queue in the App Home follows the case
	if cs, err := d.records.Case(ctx, caseID); err == nil && (cs.Status == domain.CaseResolved || cs.Status == domain.CaseClosed) {
		return d.markClosed(ctx, caseID)
	}
	return d.out.add(ctx, "home", "", "")
}

// mrkdwnEscape escapes Slack's control characters in user text.
func mrkdwnEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Button action ids on the card.
const (
	actClaim       = "claim"
	actRefund      = "approve_refund"
	actReplacement = "send_replacement"
	actResolve     = "resolve"
	actHandBack    = "hand_back"
)

// cardBlocks builds the card from the escalation and the case record.
func (d *Desk) cardBlocks(ctx context.Context, e *bot.Escalation) []slack.Block {
	status, open := d.tt("card.waiting"), true
	var history []string
	if cs, err := d.records.Case(ctx, e.Case); err == nil {
		switch cs.Status {
		case domain.CaseWithAgent:
			status = d.tt("card.claimed_by", "who", d.lastWho(cs, "claim"))
		case domain.CaseResolved:
			status, open = d.tt("card.resolved_by", "how", string(cs.Resolution), "who", d.lastWho(cs, "resolved")), false
		case domain.CaseClosed:
			status, open = d.tt("card.handed_back_by", "who", d.lastWho(cs, "handback")), false
		}
		for _, n := range cs.Notes {
			who := n.Who
			if strings.HasPrefix(who, "U") {
				who = "<@" + who + ">"
			}
			history = append(history, fmt.Sprintf("%s · %s · %s", n.At.UTC().Format("02 Jan 15:04"), who, n.What))
		}
	}
	text := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	fields := []*slack.TextBlockObject{
		text("*" + d.tt("card.journey") + "*\n" + e.Journey), text("*" + d.tt("card.language") + "*\n" + e.Lang),
		text("*" + d.tt("card.order") + "*\n" + or(e.Order, "—")), text("*" + d.tt("card.reason") + "*\n" + strings.ReplaceAll(e.Reason, "_", " ")),
		text("*" + d.tt("card.status") + "*\n" + status), text("*" + d.tt("card.opened") + "*\n" + e.At.UTC().Format("02 Jan 15:04 UTC")),
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, d.tt("card.header", "case", e.Case), false, false)),
		slack.NewSectionBlock(nil, fields, nil),
	}
	if len(e.Facts) > 0 {
		var b strings.Builder
		b.WriteString("*" + d.tt("card.established") + "*\n")
		for _, f := range e.Facts {
			fmt.Fprintf(&b, "• %s: %s\n", f.Label, mrkdwnEscape(f.Value))
		}
		blocks = append(blocks, slack.NewSectionBlock(text(b.String()), nil, nil))
	}
	if len(e.LastMessages) > 0 {
		var b strings.Builder
		b.WriteString("*" + d.tt("card.last_messages") + "*\n")
		for _, m := range e.LastMessages {
			if len(m) > 300 {
				m = m[:300] + "…"
			}
			b.WriteString("> " + mrkdwnEscape(strings.ReplaceAll(m, "\n", " ")) + "\n")
		}
		blocks = append(blocks, slack.NewSectionBlock(text(b.String()), nil, nil))
	}
	if len(e.Photos) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", text(d.tt("card.photos", "count", strconv.Itoa(len(e.Photos))))))
	}
	if len(history) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", text(strings.Join(history, "\n"))))
	}
	if open {
		btn := func(id, label string, style slack.Style) *slack.ButtonBlockElement {
			b := slack.NewButtonBlockElement(id, e.Case, slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
			b.Style = style
			return b
		}
		// refund and replacement need an order: a case opened by /human
		// without one offers neither
		acts := []slack.BlockElement{btn(actClaim, d.tt("button.claim"), slack.StylePrimary)}
		if e.Order != "" {
			acts = append(acts, btn(actRefund, d.tt("button.refund"), ""), btn(actReplacement, d.tt("button.replacement"), ""))
		}
		acts = append(acts, btn(actResolve, d.tt("button.resolve"), ""), btn(actHandBack, d.tt("button.handback"), slack.StyleDanger))
		blocks = append(blocks, slack.NewActionBlock("case_actions", acts...))
	}
	return blocks
}

func (d *Desk) lastWho(cs *domain.Case, what string) string {
	for i := len(cs.Notes) - 1; i >= 0; i-- {
		if strings.HasPrefix(cs.Notes[i].What, what) {
			if strings.HasPrefix(cs.Notes[i].Who, "U") {
				return "<@" + cs.Notes[i].Who + ">"
			}
			return cs.Notes[i].Who
		}
	}
	return d.tt("card.someone")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// reminders posts a reminder for cards nobody claimed within the SLA and
// tells the customer what to expect. Each reminder fires once across
// instances: whoever removes the case from the SLA set owns it.
func (d *Desk) reminders(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.remindDue(ctx)
	}
}

// remindDue fires the reminders due by the desk's clock and returns how
// many this instance fired: a reminder belongs to the instance whose ZREM
// removed it, so with several instances each fires once.
func (d *Desk) remindDue(ctx context.Context) int {
	due, err := d.rdb.ZRangeByScore(ctx, d.key("sla"), &goredis.ZRangeBy{Min: "-inf", Max: fmt.Sprint(d.cfg.Now().Unix())}).Result()
	if err != nil {
		return 0
	}
	fired := 0
	for _, id := range due {
		if n, err := d.rdb.ZRem(ctx, d.key("sla"), id).Result(); err != nil || n == 0 {
			continue // another instance took it
		}
		cs, err := d.records.Case(ctx, id)
		if err != nil || cs.Status != domain.CaseAwaitingAgent {
			continue
		}
		fired++
		mins := int(d.cfg.SLA.Minutes())
		_ = d.out.add(ctx, "note", id, d.tt("note.reminder", "case", id, "minutes", strconv.Itoa(mins)))
		if d.agent != nil {
			if err := d.agent.Agent(ctx, bot.AgentAction{ID: "sla:" + id, Case: id, Agent: "sla", Kind: dialog.AgentSLA}); err != nil {
				d.log.Warn("could not tell the customer about the wait", "case", id, "err", err)
			}
		}
	}
	return fired
}

var _ bot.Desk = (*Desk)(nil)
