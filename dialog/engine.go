package dialog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/parcelbot/parcelbot/domain"
)

// Action is a Go function a flow step calls by name. It reads and sets slots
// through c and returns an outcome that the step's 'on' map routes by. An
// error is told to the customer by its domain locale key (see
// domain.ErrorKey) and the customer stays where they were.
type Action func(ctx context.Context, c *Call) (outcome string, err error)

type actionDef struct {
	name     string
	outcomes []string
	fn       Action
}

// Config is what an Engine is built from.
type Config struct {
	Flows   fs.FS    // flow files (*.yaml at the root)
	Catalog *Catalog // locales
	Matcher *Matcher // free-text intents
	// Actions by name, each with the outcomes it may return.
	Actions map[string]ActionSpec
	// Slots that actions set, in addition to those flows declare.
	Slots []string
	// OrderFormat for extracting order numbers from free text.
	OrderFormat OrderFormat
	// Globals are placeholder values available to every message ("shop").
	Globals map[string]string
	// Menu is where a journey goes when it starts over ("menu").
	Menu string
	// Again is the short menu offered after a journey ends ("menu.again");
	// default Menu.
	Again string
	// OfferHuman is where the engine goes after MaxMisses turns in a row it
	// did not understand ("human.offer").
	OfferHuman string
	// MaxMisses defaults to 2.
	MaxMisses int
}

// ActionSpec registers an action.
type ActionSpec struct {
	Outcomes []string
	Fn       Action
}

// Engine runs conversation turns over compiled flows. It is immutable after
// New and safe for concurrent use.
type Engine struct {
	flows       map[string]*Flow
	actions     map[string]*actionDef
	commands    map[string]*Flow
	intentFlows map[string]*Flow
	slots       map[string]bool
	cat         *Catalog
	matcher     *Matcher
	orders      OrderFormat
	globals     map[string]string
	menu        *Step
	again       *Step
	offerHuman  *Step
	maxMisses   int
}

// New compiles the flows and checks them against the catalog and actions:
// an unknown step, action, outcome, slot, validator or locale key is an error
// naming file and line.
func New(cfg Config) (*Engine, error) {
	if cfg.Catalog == nil || cfg.Matcher == nil || cfg.Flows == nil {
		return nil, errors.New("dialog: Config needs Flows, Catalog and Matcher")
	}
	e := &Engine{
		flows:       map[string]*Flow{},
		actions:     map[string]*actionDef{},
		commands:    map[string]*Flow{},
		intentFlows: map[string]*Flow{},
		slots:       map[string]bool{"lang": true},
		cat:         cfg.Catalog,
		matcher:     cfg.Matcher,
		orders:      cfg.OrderFormat,
		globals:     cfg.Globals,
		maxMisses:   cfg.MaxMisses,
	}
	if e.maxMisses <= 0 {
		e.maxMisses = 2
	}
	for _, s := range cfg.Slots {
		e.slots[s] = true
	}
	e.actions["set_language"] = &actionDef{"set_language", []string{"ok"}, setLanguage}
	for name, a := range cfg.Actions {
		if a.Fn == nil || len(a.Outcomes) == 0 {
			return nil, fmt.Errorf("dialog: action %s needs a function and outcomes", name)
		}
		e.actions[name] = &actionDef{name, a.Outcomes, a.Fn}
	}
	for _, k := range engineKeys {
		if !e.cat.Has(k) {
			return nil, fmt.Errorf("dialog: locales lack %q, which the engine itself says", k)
		}
	}
	if err := e.loadFlows(cfg.Flows); err != nil {
		return nil, err
	}
	if cfg.Menu == "" {
		cfg.Menu = "menu"
	}
	if e.menu = e.resolve(nil, cfg.Menu); e.menu == nil {
		return nil, fmt.Errorf("dialog: menu target %q is not a step", cfg.Menu)
	}
	e.again = e.menu
	if cfg.Again != "" {
		if e.again = e.resolve(nil, cfg.Again); e.again == nil {
			return nil, fmt.Errorf("dialog: again target %q is not a step", cfg.Again)
		}
	}
	if cfg.OfferHuman != "" {
		if e.offerHuman = e.resolve(nil, cfg.OfferHuman); e.offerHuman == nil {
			return nil, fmt.Errorf("dialog: offer-human target %q is not a step", cfg.OfferHuman)
		}
	}
	return e, nil
}

// Catalog returns the engine's locale catalog.
func (e *Engine) Catalog() *Catalog { return e.cat }

// Matcher returns the engine's intent matcher.
func (e *Engine) Matcher() *Matcher { return e.matcher }

// OrderFormat returns the order number format.
func (e *Engine) OrderFormat() OrderFormat { return e.orders }

func setLanguage(_ context.Context, c *Call) (string, error) {
	if l := c.Slot("lang"); l != "" {
		c.State.Lang = NormalizeLang(l)
		c.State.LangFixed = true
		c.SetSlot("lang", "")
	}
	return "ok", nil
}

// Input is one thing the customer (or the agent on their case) did.
type Input struct {
	Text     string    // typed text (untrusted)
	Button   string    // callback data of a pressed button (untrusted)
	Location *Location // a shared location
	LangHint string    // the channel's language code ("de-CH")
	// Conversation and ID identify the conversation and this input; the
	// service sets them and actions use them as idempotency keys.
	Conversation string
	ID           string
	// Agent is set when the input comes from the agent who owns the case.
	Agent *AgentEvent
}

// AgentEvent is something the agent on the conversation's case did.
type AgentEvent struct {
	Case string // the case it is about; events for another case are ignored
	Kind string // AgentClaim, AgentReply, AgentResolve, AgentHandBack
	Text string // the reply (AgentReply)
	How  string // the resolution (AgentResolve): refund, replacement, answered
	Name string // the agent's display name (never shown unless a locale uses it)
}

// Agent event kinds.
const (
	AgentClaim    = "claim"
	AgentReply    = "reply"
	AgentResolve  = "resolve"
	AgentHandBack = "handback"
	AgentSLA      = "sla" // nobody claimed the case in time: tell the customer what to expect
)

// Location is a shared map point.
type Location struct {
	Lat, Lon float64
}

// Result is what a turn produced. Reuse one across turns to save allocations.
type Result struct {
	Replies []Reply
	Effects []Effect
	// Secrets are values shown to the customer this turn that must never be
	// stored, logged or sent elsewhere (a delivery password); whoever keeps
	// a transcript replaces them.
	Secrets []string
}

// Reply is one bot message.
type Reply struct {
	Text    string
	Buttons []Button
	// Separate asks channels to send it as a message of its own, never
	// merged with others (a message meant to be forwarded).
	Separate bool
}

// Button is one choice offered with a message. Data is what the channel sends
// back when it is pressed ("<seq>.<index>", at most 12 bytes).
type Button struct {
	Label string
	Data  string
}

// Effect asks the service to do something outside the conversation state
// after the turn is stored (escalate to an agent, relay a message, forget).
type Effect struct {
	Kind string
	Args []Slot
}

// Arg returns the effect's argument name, or "".
func (ef *Effect) Arg(name string) string {
	for _, a := range ef.Args {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// Effect kinds the engine itself emits.
const (
	EffectRelay = "relay" // a customer message for the agent who owns the case
)

const maxStepsPerTurn = 48

// engineKeys are the locale keys the engine says by itself.
var engineKeys = []string{
	"error.not_understood", "error.empty", "error.stale_button", "error.unknown_command", "error.bad_location",
	"error.internal", "agent.claimed", "agent.message", "agent.handback", "agent.sla",
	"agent.resolved.refund", "agent.resolved.replacement", "agent.resolved.answered",
}

// turn is the state of one Turn call.
type turn struct {
	e    *Engine
	ctx  context.Context
	st   *State
	in   *Input
	now  time.Time
	res  *Result
	text string
	vars []Slot
	buf  []byte
	pend []Button // buttons for the message being built

	choiceLabels []string // dynamic buttons collected by actions this turn
	choiceValues []string
	tbuf         []byte // scratch for actions' renderings

	memo    []memoEntry // records actions loaded this turn (see Call.Recall)
	memoBuf [4]memoEntry
}

type memoEntry struct {
	kind, id string
	v        any
}

// Lookup implements Args: turn variables, then slots, then globals.
func (t *turn) Lookup(name string) (string, bool) {
	for i := len(t.vars) - 1; i >= 0; i-- {
		if t.vars[i].Name == name {
			return t.vars[i].Value, true
		}
	}
	for i := range t.st.Slots {
		if t.st.Slots[i].Name == name {
			return t.st.Slots[i].Value, true
		}
	}
	if v, ok := t.e.globals[name]; ok {
		return v, true
	}
	return "", false
}

// Turn runs one turn: st is updated in place, replies and effects are
// written to res (which is reset first). It never panics on input; an error
// is returned only for a broken engine or context cancellation, and then st
// must not be stored.
func (e *Engine) Turn(ctx context.Context, st *State, in *Input, now time.Time, res *Result) error {
	res.Replies = res.Replies[:0]
	res.Effects = res.Effects[:0]
	res.Secrets = res.Secrets[:0]
	t := turn{e: e, ctx: ctx, st: st, in: in, now: now, res: res}
	if in.LangHint != "" && !st.LangFixed {
		st.Lang = NormalizeLang(in.LangHint)
	}
	if st.Lang == "" {
		st.Lang = "en"
	}
	st.Updated = now.Unix()
	if in.Agent != nil {
		return t.agent(in.Agent)
	}
	if st.Mode == ModeAgent && st.Flow != "forget" {
		// while an agent owns the case the bot relays and stays silent;
		// only /forget is still the bot's
		if f, ok := t.e.commands[strings.ToLower(strings.TrimSpace(in.Text))]; !ok || f.Name != "forget" {
			t.relay()
			return ctx.Err()
		}
	}
	var err error
	switch {
	case in.Button != "":
		err = t.press(in.Button)
	case in.Location != nil:
		err = t.location(*in.Location)
	default:
		err = t.typed(Clean(in.Text))
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}

// relay passes the customer's message to the agent; the bot says nothing.
func (t *turn) relay() {
	text := Clean(t.in.Text)
	if t.in.Location != nil {
		text = strconv.FormatFloat(t.in.Location.Lat, 'f', 5, 64) + "," + strconv.FormatFloat(t.in.Location.Lon, 'f', 5, 64)
	}
	if text == "" {
		return
	}
	t.res.Effects = append(t.res.Effects, Effect{Kind: EffectRelay, Args: []Slot{{"case", t.st.Case}, {"text", text}}})
}

// agent applies an agent's action on the conversation's case. Events for a
// case the conversation is no longer with are ignored.
func (t *turn) agent(ev *AgentEvent) error {
	if t.st.Mode != ModeAgent || ev.Case != t.st.Case {
		return nil
	}
	t.vars = append(t.vars, Slot{"case", ev.Case}, Slot{"agent", ev.Name})
	switch ev.Kind {
	case AgentClaim:
		t.say("agent.claimed")
	case AgentSLA:
		t.say("agent.sla")
	case AgentReply:
		text := Clean(ev.Text)
		if text == "" {
			return nil
		}
		t.vars = append(t.vars, Slot{"text", text})
		t.say("agent.message")
	case AgentResolve, AgentHandBack:
		t.st.Mode, t.st.Case = ModeBot, ""
		t.st.Reset()
		key := "agent.handback"
		if ev.Kind == AgentResolve {
			key = "agent.resolved.answered"
			switch ev.How {
			case "refund", "replacement":
				key = "agent.resolved." + ev.How
			}
		}
		t.say(key)
		return t.enter(t.e.again)
	}
	return nil
}

// current returns the step the conversation waits at, or nil.
func (t *turn) current() *Step {
	f, ok := t.e.flows[t.st.Flow]
	if !ok {
		return nil
	}
	s := f.Steps[t.st.Step]
	if s == nil || !s.waits() {
		return nil
	}
	return s
}

// ParseButtonData decodes "<seq>.<index>" button data.
func ParseButtonData(data string) (seq uint16, idx int, ok bool) {
	a, b, found := strings.Cut(data, ".")
	if !found || len(a) == 0 || len(a) > 5 || len(b) == 0 || len(b) > 2 {
		return 0, 0, false
	}
	s, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, false
	}
	i, err := strconv.ParseUint(b, 10, 8)
	if err != nil || i >= 64 {
		return 0, 0, false
	}
	return uint16(s), int(i), true
}

func buttonData(seq uint16, i int) string {
	var b [12]byte
	n := strconv.AppendUint(b[:0], uint64(seq), 10)
	n = append(n, '.')
	n = strconv.AppendUint(n, uint64(i), 10)
	return string(n)
}

// press handles a button press, refusing stale or forged data politely and
// without changing the journey.
func (t *turn) press(data string) error {
	seq, idx, ok := ParseButtonData(data)
	s := t.current()
	if !ok || s == nil || seq != t.st.Seq || idx >= len(s.Buttons)+len(t.st.Choices) || (!s.Choices && idx >= len(s.Buttons)) {
		t.say("error.stale_button")
		return t.reprompt()
	}
	return t.pressIndex(s, idx)
}

func (t *turn) pressIndex(s *Step, idx int) error {
	t.st.Misses = 0
	if idx < len(s.Buttons) {
		b := &s.Buttons[idx]
		for _, sl := range b.Set {
			t.st.Set(sl.Name, sl.Value)
		}
		next := b.Goto
		if next == nil {
			next = s.Next
		}
		return t.enter(next)
	}
	t.st.Set(s.Ask, t.st.Choices[idx-len(s.Buttons)])
	return t.enter(s.Next)
}

func (t *turn) location(loc Location) error {
	s := t.current()
	if s != nil && s.Ask != "" && (s.Validate == "location" || s.Validate == "place") {
		if !domain.ValidCoordinates(loc.Lat, loc.Lon) {
			t.say("error.bad_location")
			return t.reprompt()
		}
		t.st.Set(s.Ask, strconv.FormatFloat(loc.Lat, 'f', 5, 64)+","+strconv.FormatFloat(loc.Lon, 'f', 5, 64))
		t.st.Misses = 0
		return t.enter(s.Next)
	}
	if f, ok := t.e.intentFlows[IntentLocker]; ok && domain.ValidCoordinates(loc.Lat, loc.Lon) {
		t.st.Reset()
		t.st.Set("location", strconv.FormatFloat(loc.Lat, 'f', 5, 64)+","+strconv.FormatFloat(loc.Lon, 'f', 5, 64))
		return t.enter(f.Start)
	}
	return t.notUnderstood()
}

// typed handles typed text: a command, an answer to the question asked, a
// button's label, an intent, or something not understood.
func (t *turn) typed(text string) error {
	t.text = text
	if text == "" {
		t.say("error.empty")
		return t.reprompt()
	}
	if text[0] == '/' {
		return t.command(text)
	}
	s := t.current()
	if s != nil {
		if s.Ask != "" {
			if v, ok := t.validate(s, text); ok {
				t.st.Set(s.Ask, v)
				t.st.Misses = 0
				return t.enter(s.Next)
			}
		}
		if idx, ok := t.matchButton(s, text); ok {
			return t.pressIndex(s, idx)
		}
	}
	intent, _ := t.e.matcher.MatchIn(t.st.Lang, text)
	if s != nil && (intent == IntentYes || intent == IntentNo) {
		for i := range s.Buttons {
			if s.Buttons[i].Intent == intent {
				return t.pressIndex(s, i)
			}
		}
	}
	if f, ok := t.e.intentFlows[intent]; ok {
		return t.startFlow(f, intent)
	}
	return t.notUnderstood()
}

// command starts the flow of a /command; "/start abc" puts "abc" in the
// turn variable "arg".
func (t *turn) command(text string) error {
	name, arg, _ := strings.Cut(text, " ")
	name = strings.ToLower(name)
	if at := strings.IndexByte(name, '@'); at > 0 { // /help@parcelbot in groups
		name = name[:at]
	}
	f, ok := t.e.commands[name]
	if !ok {
		t.say("error.unknown_command")
		return t.enter(t.e.menu)
	}
	t.restart(f)
	t.vars = append(t.vars, Slot{"arg", strings.TrimSpace(arg)})
	return t.enter(f.Start)
}

// restart leaves the current journey for flow f: its slots are forgotten
// unless f keeps them (a person should not ask again what the bot learned).
func (t *turn) restart(f *Flow) {
	if f.Keep {
		t.st.Return, t.st.Misses = "", 0
		return
	}
	t.st.Reset()
}

func (t *turn) startFlow(f *Flow, intent string) error {
	t.restart(f)
	for _, sl := range f.Intents[intent] {
		t.st.Set(sl.Name, sl.Value)
	}
	// what the customer already said is not asked again
	if on := t.e.orders.Find(t.text); on != "" && t.e.slots["order"] {
		t.st.Set("order", on)
	}
	if pc := FindPostcode(t.text, t.e.orders); pc != "" && t.e.slots["postcode"] {
		t.st.Set("postcode", pc)
	}
	return t.enter(f.Start)
}

// validate checks typed text against an ask step's validator and returns the
// value to store.
func (t *turn) validate(s *Step, text string) (string, bool) {
	switch s.Validate {
	case "order_number":
		v := t.e.orders.Find(text)
		return v, v != ""
	case "postcode":
		v := FindPostcode(text, t.e.orders)
		return v, v != ""
	case "place":
		// a postcode or a city name: the action decides whether it knows it
		if v := FindPostcode(text, t.e.orders); v != "" {
			return v, true
		}
		if intent, _ := t.e.matcher.MatchIn(t.st.Lang, text); intent != IntentUnknown && intent != IntentLocker {
			return "", false
		}
		if len(text) >= 2 && len(text) <= 60 {
			return text, true
		}
	case "yesno":
		switch intent, _ := t.e.matcher.MatchIn(t.st.Lang, text); intent {
		case IntentYes:
			return "yes", true
		case IntentNo:
			return "no", true
		}
	case "text":
		if n := len(text); n >= 1 && n <= 500 {
			return text, true
		}
	}
	return "", false
}

// matchButton finds a button by its number ("2") or its label, folded.
func (t *turn) matchButton(s *Step, text string) (int, bool) {
	// numbers count buttons as shown: dynamic choices first, then static
	d := 0
	if s.Choices {
		d = len(t.st.Choices)
	}
	if n, err := strconv.Atoi(text); err == nil && n >= 1 && n <= d+len(s.Buttons) {
		if n <= d {
			return len(s.Buttons) + n - 1, true
		}
		return n - d - 1, true
	}
	ft := fold(t.buf[:0], text)
	t.buf = ft
	for i := range s.Buttons {
		label := t.e.cat.Append(nil, t.st.Lang, s.Buttons[i].Label, t)
		if string(fold(label[:0], string(label))) == string(ft) {
			return i, true
		}
	}
	return 0, false
}

func (t *turn) notUnderstood() error {
	t.st.Misses++
	if t.st.Misses >= uint8(t.e.maxMisses) && t.e.offerHuman != nil {
		t.st.Misses = 0
		return t.enter(t.e.offerHuman)
	}
	key := "error.not_understood"
	if s := t.current(); s != nil && s.Invalid != "" {
		key = s.Invalid
	}
	t.say(key)
	return t.reprompt()
}

// reprompt offers the current step again (or the menu).
func (t *turn) reprompt() error {
	if s := t.current(); s != nil {
		return t.enter(s)
	}
	return t.enter(t.e.menu)
}

// enter runs steps from s until one waits for the customer.
func (t *turn) enter(s *Step) error {
	for n := 0; s != nil; n++ {
		if n == maxStepsPerTurn {
			return fmt.Errorf("dialog: flow loop at %s:%d (step %s.%s)", s.File, s.Line, s.Flow.Name, s.Name)
		}
		t.st.Flow, t.st.Step = s.Flow.Name, s.Name
		if s.Action != nil {
			c := Call{t: t, State: t.st, Now: t.now, Text: t.text}
			out, err := s.Action.fn(t.ctx, &c)
			if err != nil {
				if t.ctx.Err() != nil {
					return t.ctx.Err()
				}
				t.say(domain.ErrorKey(err))
				t.st.Reset()
				s = t.e.menu
				continue
			}
			next, ok := s.On[out]
			if !ok {
				next, ok = s.On["*"]
			}
			if !ok {
				return fmt.Errorf("dialog: action %s returned unknown outcome %q at %s:%d", s.Action.name, out, s.File, s.Line)
			}
			s = next
			continue
		}
		if s.Ask != "" && !s.Reask && t.st.Get(s.Ask) != "" {
			// already known: never ask twice
			s = s.Next
			continue
		}
		if s.waits() {
			t.st.Seq++
			t.st.Choices = t.st.Choices[:0]
			if s.Choices {
				for j, label := range t.choiceLabels {
					t.st.Choices = append(t.st.Choices, t.choiceValues[j])
					t.pend = append(t.pend, Button{Label: label, Data: buttonData(t.st.Seq, len(s.Buttons)+j)})
				}
			}
			t.choiceLabels, t.choiceValues = t.choiceLabels[:0], t.choiceValues[:0]
			for i := range s.Buttons {
				t.pend = append(t.pend, Button{Label: t.e.cat.Text(t.st.Lang, s.Buttons[i].Label, t), Data: buttonData(t.st.Seq, i)})
			}
			t.sayStep(s)
			return nil
		}
		t.sayStep(s)
		switch {
		case s.Call != nil:
			t.st.Return = s.Next.Flow.Name + "." + s.Next.Name
			s = s.Call.Start
		case s.End:
			t.st.Flow, t.st.Step, t.st.Return = "", "", ""
			return nil
		case s.Return:
			ret := t.e.resolve(nil, t.st.Return)
			t.st.Return = ""
			if ret == nil {
				ret = t.e.menu
			}
			s = ret
		default:
			s = s.Goto
		}
	}
	return nil
}

// sayStep renders the step's keys into one message carrying pending buttons.
func (t *turn) sayStep(s *Step) {
	if len(s.Say) == 0 {
		if len(t.pend) > 0 && len(t.res.Replies) > 0 {
			last := &t.res.Replies[len(t.res.Replies)-1]
			last.Buttons = append(last.Buttons, t.pend...)
			t.pend = t.pend[:0]
		}
		return
	}
	b := t.buf[:0]
	for i, k := range s.Say {
		if i > 0 {
			b = append(b, '\n', '\n')
		}
		b = t.e.cat.Append(b, t.st.Lang, k, t)
	}
	t.buf = b
	t.emit(string(b))
	if s.Separate {
		t.res.Replies[len(t.res.Replies)-1].Separate = true
	}
}

func (t *turn) emit(text string) {
	r := Reply{Text: text}
	if len(t.pend) > 0 {
		r.Buttons = append([]Button(nil), t.pend...)
		t.pend = t.pend[:0]
	}
	t.res.Replies = append(t.res.Replies, r)
}

func (t *turn) say(key string) {
	t.buf = t.e.cat.Append(t.buf[:0], t.st.Lang, key, t)
	t.emit(string(t.buf))
}

// Call is what an action sees of the turn.
type Call struct {
	t     *turn
	State *State    // the conversation; actions may change it
	Now   time.Time // the turn's clock
	Text  string    // the cleaned text of this turn, "" for a button
}

// Slot returns a slot's value.
func (c *Call) Slot(name string) string { return c.State.Get(name) }

// SetSlot sets a slot ("" deletes it); slots persist across turns.
func (c *Call) SetSlot(name, value string) { c.State.Set(name, value) }

// Var sets a placeholder value for this turn's messages only.
func (c *Call) Var(name, value string) { c.t.vars = append(c.t.vars, Slot{name, value}) }

// Arg returns a turn variable set by the engine or an earlier action ("arg"
// holds a command's argument).
func (c *Call) Arg(name string) string {
	for i := len(c.t.vars) - 1; i >= 0; i-- {
		if c.t.vars[i].Name == name {
			return c.t.vars[i].Value
		}
	}
	return ""
}

// Lang returns the conversation's language.
func (c *Call) Lang() string { return c.State.Lang }

// Say sends the message key now, rendered with the turn's values.
func (c *Call) Say(key string) { c.t.say(key) }

// T renders key with the turn's values and returns the text, for building
// lists that go into a placeholder.
func (c *Call) T(key string) string {
	c.t.tbuf = c.t.e.cat.Append(c.t.tbuf[:0], c.State.Lang, key, c.t)
	return string(c.t.tbuf)
}

// TWith renders key with the given values on top of the turn's.
func (c *Call) TWith(key string, kv ...string) string {
	c.t.tbuf = c.AppendT(c.t.tbuf[:0], key, kv...)
	return string(c.t.tbuf)
}

// AppendT renders key with the given values on top of the turn's onto buf;
// building a list this way costs no allocation per line.
func (c *Call) AppendT(buf []byte, key string, kv ...string) []byte {
	n := len(c.t.vars)
	for i := 0; i+1 < len(kv); i += 2 {
		c.t.vars = append(c.t.vars, Slot{kv[i], kv[i+1]})
	}
	buf = c.t.e.cat.Append(buf, c.State.Lang, key, c.t)
	c.t.vars = c.t.vars[:n]
	return buf
}

// Choice adds a dynamic button to the next step that waits with 'choices':
// pressing it sets that step's slot to value.
// Dynamic buttons come before the step's static ones. At most 16.
func (c *Call) Choice(label, value string) {
	if len(c.t.choiceValues) >= 16 {
		return
	}
	c.t.choiceLabels = append(c.t.choiceLabels, label)
	c.t.choiceValues = append(c.t.choiceValues, value)
}

// Secret sets a placeholder value for this turn that must never be stored,
// logged or relayed (a delivery password): the service redacts it from
// transcripts.
func (c *Call) Secret(name, value string) {
	c.Var(name, value)
	if value != "" {
		c.t.res.Secrets = append(c.t.res.Secrets, value)
	}
}

// Conversation returns the conversation id.
func (c *Call) Conversation() string { return c.t.in.Conversation }

// InputID returns the id of the input being handled: with Conversation, a
// key that is the same when the turn is re-run.
func (c *Call) InputID() string { return c.t.in.ID }

// Effect asks the service to do something after the turn is stored.
func (c *Call) Effect(kind string, args ...Slot) {
	c.t.res.Effects = append(c.t.res.Effects, Effect{Kind: kind, Args: args})
}

// Recall returns what an earlier action of this turn kept with Remember
// under kind and id, so that several actions of one turn (track, then
// check compensation, then offer options) load an order once.
func (c *Call) Recall(kind, id string) (any, bool) {
	for _, m := range c.t.memo {
		if m.kind == kind && m.id == id {
			return m.v, true
		}
	}
	return nil, false
}

// Remember keeps v for the rest of this turn; it is gone at the next one.
func (c *Call) Remember(kind, id string, v any) {
	if c.t.memo == nil {
		c.t.memo = c.t.memoBuf[:0]
	}
	for i := range c.t.memo {
		if c.t.memo[i].kind == kind && c.t.memo[i].id == id {
			c.t.memo[i].v = v
			return
		}
	}
	c.t.memo = append(c.t.memo, memoEntry{kind, id, v})
}

// Engine returns the engine, for actions that need the catalog.
func (c *Call) Engine() *Engine { return c.t.e }

// Size returns the number of flows and steps.
func (e *Engine) Size() (flows, steps int) {
	for _, f := range e.flows {
		steps += len(f.Steps)
	}
	return len(e.flows), steps
}
