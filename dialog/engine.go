package dialog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parcelbot/parcelbot/domain"
)

// Action is a Go function a flow step calls by name. It reads and sets slots
// through c and returns an outcome that the step's 'on' map routes by. An
// error is told to the customer by its domain locale key (see
// domain.ErrorKey) and the customer stays where they were.
type Action func(ctx context.Context, c *Call) (Outcome, error)

type actionDef struct {
	name     string
	outcomes []string
	fn       Action
	decl     *actionDecl
}

// Config is what an Engine is built from.
type Config struct {
	// Flows are the flow files (*.yaml at the root) and the manifest
	// (manifest.yaml): intents, menu, journeys, actions.
	Flows   fs.FS
	Catalog *Catalog // locales
	// Lexicon: <lang>.yaml phrase files for the manifest's intents; nil:
	// the embedded dialog/lexicon.
	Lexicon fs.FS
	// Actions by name: the functions the manifest's actions name.
	Actions map[string]Action
	// Types are the slot types flows may name besides the engine's own
	// (text, yesno, choice, location): how a value is found in a message
	// and accepted as an answer.
	Types map[string]SlotType
	// Globals are placeholder values available to every message ("shop").
	Globals map[string]string
	// Menu is where a journey goes when it starts over ("menu").
	Menu string
	// Again is the short menu offered after a journey ends ("menu.again");
	// default Menu.
	Again string
	// Closing is where the conversation goes when an agent resolves its
	// case ("feedback.ask": a closing question), with the slot "case" set
	// to the case; default Again.
	Closing string
	// Clarify is the step that asks "Did you mean …?" when the bot is not
	// sure of a message's intent: it must wait with 'choices' and
	// 'dispatch' (the likeliest intents the manifest offers are its
	// buttons). Empty: an unsure message is not understood.
	Clarify string
	// MaxFileBytes is the largest photo or document a 'files' question
	// takes; 0 means DefaultMaxFileBytes.
	MaxFileBytes int64
	// NLU is the classifier's training data and settings (<lang>.yaml,
	// config.yaml); nil: the embedded dialog/nlu.
	NLU fs.FS
	// OfferHuman is where the engine goes after MaxMisses turns in a row it
	// did not understand ("human.offer").
	OfferHuman string
	// Resume is the step that offers to go back to an interrupted journey
	// ("menu.resume"); none: interrupted journeys are not offered again.
	Resume string
	// MaxMisses defaults to 2.
	MaxMisses int
	// Strict makes a turn fail when an action reads or writes a slot the
	// manifest does not declare for it (tests run this way).
	Strict bool
}

// SlotType is a kind of value a slot holds, declared by whoever knows the
// business (an order number, a postcode).
type SlotType struct {
	// Find returns a value of this type stated anywhere in a message, or
	// "" (used to fill slots a flow declares with 'fill'); nil: values of
	// this type are only taken as answers.
	Find func(text string) string
	// Accept takes a message that answers a question for this type.
	Accept func(text string) (string, bool)
	// Loose types accept almost any text; a message that starts another
	// journey is then not taken as an answer.
	Loose bool
	// Location: a shared map point answers it too.
	Location bool
}

// slotSpec is a slot a flow declares with a type.
type slotSpec struct {
	Name   string
	Type   SlotType
	Resets []string // slots that depend on it: forgotten when it changes
}

// Engine runs conversation turns over compiled flows. It is immutable after
// New and safe for concurrent use.
type Engine struct {
	turns       sync.Pool // *turn: a turn's scratch buffers, reused
	flows       map[string]*Flow
	actions     map[string]*actionDef
	commands    map[string]*Flow
	intentFlows map[string]*Flow
	eventFlows  map[string]*Flow
	slots       map[string]bool
	sharedSlots map[string]bool // kept when the customer changes journey
	written     map[string]bool // slots something writes (see checkManifest)
	types       map[string]SlotType
	fillAny     []slotSpec // filled from any message of a journey
	fillFirst   []slotSpec // filled from the message that starts one
	cat         *Catalog
	matcher     *Matcher
	manifest    *Manifest
	journeys    map[string]bool
	strict      bool
	globals     map[string]string
	menu        *Step
	again       *Step
	closing     *Step
	// maxFileBytes is the largest file a 'files' question takes.
	maxFileBytes int64
	clarify      *Step
	nlu          *Understander
	offers       map[string]string // intent → the locale key offering it
	resume       *Step
	offerHuman   *Step
	names        map[string]string // see stateNames; read-only after New
	// locationFlow starts when a location is shared outside a question.
	locationFlow *Flow
	maxMisses    int
}

// shared reports whether a slot survives a change of journey.
func (e *Engine) shared(name string) bool { return e.sharedSlots[name] }

// loose reports whether an ask step takes almost any text (free text, a
// place name): its buttons are then matched before the text is taken.
func (e *Engine) loose(s *Step) bool {
	if s.Validate == "text" {
		return true
	}
	st, ok := e.types[s.Validate]
	return ok && st.Loose
}

// acceptsLocation reports whether an ask step takes a shared location.
func (e *Engine) acceptsLocation(s *Step) bool {
	if s.Validate == "location" {
		return true
	}
	st, ok := e.types[s.Validate]
	return ok && st.Location
}

// New compiles the flows and checks them against the catalog and actions:
// an unknown step, action, outcome, slot, validator or locale key is an error
// naming file and line.
func New(cfg Config) (*Engine, error) {
	if cfg.Catalog == nil || cfg.Flows == nil {
		return nil, errors.New("dialog: Config needs Flows and Catalog")
	}
	mf, err := LoadManifest(cfg.Flows)
	if err != nil {
		return nil, err
	}
	lex := cfg.Lexicon
	if lex == nil {
		lex, _ = fs.Sub(lexiconFS, "lexicon")
	}
	m, err := NewMatcherFS(lex, ".", mf)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		flows:       map[string]*Flow{},
		actions:     map[string]*actionDef{},
		commands:    map[string]*Flow{},
		intentFlows: map[string]*Flow{},
		eventFlows:  map[string]*Flow{},
		slots:       map[string]bool{"lang": true},
		sharedSlots: map[string]bool{},
		written:     map[string]bool{"lang": true},
		types:       map[string]SlotType{},
		cat:         cfg.Catalog,
		matcher:     m,
		manifest:    mf,
		journeys:    map[string]bool{},
		globals:     cfg.Globals,
		maxMisses:   cfg.MaxMisses,
		strict:      cfg.Strict,
	}
	if e.maxMisses <= 0 {
		e.maxMisses = 2
	}
	if e.nlu, err = newEngineUnderstander(m, mf, cfg.NLU); err != nil {
		return nil, err
	}
	e.offers = map[string]string{}
	for _, d := range mf.Intents {
		if d.Offer == "" {
			continue
		}
		if !e.cat.Has(d.Offer) {
			return nil, fmt.Errorf("%s: intent %s: offer: unknown locale key %q", ManifestFile, d.Name, d.Offer)
		}
		e.offers[d.Name] = d.Offer
	}
	for name, st := range cfg.Types {
		if builtinType(name) {
			return nil, fmt.Errorf("dialog: slot type %s is the engine's own", name)
		}
		if st.Accept == nil {
			return nil, fmt.Errorf("dialog: slot type %s needs Accept", name)
		}
		e.types[name] = st
	}
	fns := map[string]Action{"set_language": setLanguage}
	for name, fn := range cfg.Actions {
		if fn == nil {
			return nil, fmt.Errorf("dialog: action %s has no function", name)
		}
		if _, own := fns[name]; own {
			return nil, fmt.Errorf("dialog: action %s is the engine's own", name)
		}
		fns[name] = fn
	}
	for _, name := range mf.order {
		d := mf.actions[name]
		fn, ok := fns[name]
		if !ok {
			return nil, fmt.Errorf("%s:%d: action %s has no function (parcelbot registers none by that name)", ManifestFile, d.line, name)
		}
		e.actions[name] = &actionDef{name: name, outcomes: d.outcomes, fn: fn, decl: d}
		for _, w := range d.writes {
			e.slots[w] = true
			e.written[w] = true
		}
	}
	for name := range fns {
		if _, ok := mf.actions[name]; !ok {
			return nil, fmt.Errorf("%s:%d: action %s is not declared (add it under actions: with its outcomes)", ManifestFile, mf.line("actions"), name)
		}
	}
	for _, k := range engineKeys {
		if !e.cat.Has(k) {
			return nil, fmt.Errorf("dialog: locales lack %q, which the engine itself says", k)
		}
	}
	if err := e.loadFlows(cfg.Flows); err != nil {
		return nil, err
	}
	if err := e.checkManifest(); err != nil {
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
	e.closing = e.again
	e.maxFileBytes = cfg.MaxFileBytes
	if e.maxFileBytes <= 0 {
		e.maxFileBytes = DefaultMaxFileBytes
	}
	if cfg.Closing != "" {
		if e.closing = e.resolve(nil, cfg.Closing); e.closing == nil {
			return nil, fmt.Errorf("dialog: closing target %q is not a step", cfg.Closing)
		}
	}
	if cfg.Clarify != "" {
		if e.clarify = e.resolve(nil, cfg.Clarify); e.clarify == nil || !e.clarify.Choices || !e.clarify.Dispatch {
			return nil, fmt.Errorf("dialog: clarify target %q is not a step with choices and dispatch", cfg.Clarify)
		}
	}
	if cfg.Resume != "" {
		if e.resume = e.resolve(nil, cfg.Resume); e.resume == nil || !e.resume.waits() {
			return nil, fmt.Errorf("dialog: resume target %q is not a step that waits", cfg.Resume)
		}
	}
	if cfg.OfferHuman != "" {
		if e.offerHuman = e.resolve(nil, cfg.OfferHuman); e.offerHuman == nil {
			return nil, fmt.Errorf("dialog: offer-human target %q is not a step", cfg.OfferHuman)
		}
	}
	e.names = e.stateNames()
	return e, nil
}

// stateNames are the strings a stored state repeats turn after turn: flow
// and step names, slot names, the names of the values messages are
// rendered with (facts), intents, languages and locales. Decode returns
// these without allocating them again. Only names are here, never a
// customer's value.
func (e *Engine) stateNames() map[string]string {
	names := map[string]string{}
	add := func(s string) {
		if s != "" {
			names[s] = s
		}
	}
	for name, f := range e.flows {
		add(name)
		for step := range f.Steps {
			add(step)
			add(name + "." + step)
		}
	}
	for name := range e.slots {
		add(name)
	}
	for _, k := range e.cat.Keys() {
		for _, p := range e.cat.Placeholders(k) {
			add(p)
		}
	}
	for _, d := range e.manifest.Intents {
		add(d.Name)
	}
	for lang := range e.cat.langs {
		add(lang)
	}
	for _, v := range e.cat.Variants() {
		add(v)
	}
	return names
}

// Decode is State.UnmarshalBinary for the states of this engine's flows:
// the names they repeat (flows, steps, slots, facts, languages) come from
// the engine, not from a copy allocated per turn.
func (e *Engine) Decode(st *State, data []byte) error { return st.decode(data, e.names) }

// Catalog returns the engine's locale catalog.
func (e *Engine) Catalog() *Catalog { return e.cat }

// Matcher returns the engine's intent matcher.
func (e *Engine) Matcher() *Matcher { return e.matcher }

func setLanguage(_ context.Context, c *Call) (Outcome, error) {
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
	Files    []File    // photos or documents sent (untrusted)
	LangHint string    // the channel's language code ("de-CH")
	// Conversation and ID identify the conversation and this input; the
	// service sets them and actions use them as idempotency keys.
	Conversation string
	ID           string
	// Agent is set when the input comes from the agent who owns the case.
	Agent *AgentEvent
	// Event is set when the input is news from outside (the shop) that the
	// bot tells the customer first.
	Event *Event
}

// Event is news from outside that starts the flow declaring it in its
// 'events' (the bot writes first). Its slots are set before the flow
// starts; its vars are shown and read by actions like an action's.
type Event struct {
	Name  string
	Slots []Slot
	Vars  []Slot
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

// File is a photo or document the customer sent, as the channel names it:
// its id there (the bot fetches it only to hand it on), kind ("photo" or
// "document"), size in bytes and media type.
type File struct {
	ID   string
	Kind string
	Size int64
	MIME string
}

// MaxFiles is how many files a 'files' question takes.
const MaxFiles = 5

// DefaultMaxFileBytes is the largest file taken when Config.MaxFileBytes is
// 0: what Telegram lets a bot download (20 MB).
const DefaultMaxFileBytes = 20 << 20

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
	// Pressed is the label of the button the customer pressed this turn, as
	// it was shown to them ("" when none was, or it was stale): a
	// transcript's reader (an agent) sees what was chosen, not only that
	// something was.
	Pressed string
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
	"error.internal", "error.not_a_choice", "agent.still", "agent.claimed", "agent.message", "agent.handback", "agent.sla",
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

	choices    []Choice // dynamic buttons collected by actions this turn
	preds      []Scored // the typed text's intents, once read (see understood)
	predsRead  bool
	intentFor  string
	tbuf       []byte // scratch for actions' renderings
	strictErr  error  // an action used a slot it does not declare (strict mode)
	lastAction *Step  // the last action step run this turn

	memo    []memoEntry // records actions loaded this turn (see Call.Recall)
	memoBuf [4]memoEntry
}

// newTurn returns a turn with the scratch buffers of an earlier one.
func (e *Engine) newTurn(ctx context.Context, st *State, in *Input, now time.Time, res *Result) *turn {
	t, _ := e.turns.Get().(*turn)
	if t == nil {
		t = &turn{}
	}
	*t = turn{e: e, ctx: ctx, st: st, in: in, now: now, res: res,
		vars: t.vars[:0], buf: t.buf[:0], pend: t.pend[:0], choices: t.choices[:0], preds: t.preds[:0], tbuf: t.tbuf[:0]}
	return t
}

// putTurn keeps t's buffers for the next turn, and nothing of this one.
func (e *Engine) putTurn(t *turn) {
	clear(t.vars)
	clear(t.pend)
	clear(t.choices)
	*t = turn{vars: t.vars[:0], buf: t.buf[:0], pend: t.pend[:0], choices: t.choices[:0], preds: t.preds[:0], tbuf: t.tbuf[:0]}
	e.turns.Put(t)
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
	res.Pressed = ""
	t := e.newTurn(ctx, st, in, now, res)
	defer e.putTurn(t)
	// news the bot tells first carry the language the shop knows for the
	// customer: it counts only for a chat with none yet
	if in.LangHint != "" && !st.LangFixed && (in.Event == nil || st.Lang == "") {
		// a hint without a region ("de", as most Telegram apps send)
		// keeps the region the customer's data gave
		lang, region := SplitLocale(in.LangHint)
		st.Lang = lang
		if region != "" {
			st.Region = region
		}
	}
	if st.Lang == "" {
		st.Lang = "en"
	}
	st.Updated = now.Unix()
	if in.Agent != nil {
		return t.agent(in.Agent)
	}
	if in.Event != nil {
		if err := t.event(in.Event); err != nil {
			return err
		}
		if t.strictErr != nil {
			return t.strictErr
		}
		return ctx.Err()
	}
	if st.Mode == ModeAgent && !t.forBot() {
		// while an agent owns the case the bot relays and stays silent;
		// commands that work at any step are still the bot's
		t.st.Flow, t.st.Step = "", ""
		t.relay()
		return ctx.Err()
	}
	var err error
	switch {
	case in.Button != "":
		err = t.press(in.Button)
	case len(in.Files) > 0:
		err = t.files(in.Files)
	case in.Location != nil:
		err = t.location(*in.Location)
	default:
		err = t.typed(Clean(in.Text))
	}
	if err != nil {
		return err
	}
	if t.strictErr != nil {
		return t.strictErr
	}
	return ctx.Err()
}

// checkArgs records, in strict mode, a message shown with a placeholder
// that nothing set (the customer would read "delivered on : ."); an
// action that sets one to "" leaves out an optional sentence on purpose.
func (t *turn) checkArgs(key string) {
	if !t.e.strict || t.strictErr != nil {
		return
	}
	for _, name := range t.e.cat.Placeholders(key) {
		if _, ok := t.Lookup(name); !ok {
			t.strictErr = fmt.Errorf("dialog: %s shown without a value for {%s} (flow %s, step %s)", key, name, t.st.Flow, t.st.Step)
			return
		}
	}
}

// forBot reports whether an input during a hand-over is the bot's: a
// command of a flow marked 'anytime' (or its words, when they are all the
// message says), or an answer to the step such a flow is waiting at.
func (t *turn) forBot() bool {
	if s := t.current(); s != nil && s.Flow.Anytime {
		if t.in.Button != "" {
			return true
		}
		text := Clean(t.in.Text)
		if _, ok := t.answer(s, text); ok {
			return true
		}
	}
	text := Clean(t.in.Text)
	if text == "" || t.in.Button != "" {
		return false
	}
	if text[0] == '/' {
		name, _, _ := strings.Cut(strings.ToLower(text), " ")
		if at := strings.IndexByte(name, '@'); at > 0 {
			name = name[:at]
		}
		f, ok := t.e.commands[name]
		return ok && f.Anytime
	}
	if words(text) > 4 {
		return false
	}
	intent := t.matched(text)
	f, ok := t.e.intentFlows[intent]
	return ok && f.Anytime
}

// matched returns the intent of text in the customer's language when the
// bot is sure of it (its confidence reaches the threshold), else unknown;
// each text is read once per turn.
func (t *turn) matched(text string) string {
	preds := t.understood(text)
	if len(preds) > 0 && preds[0].Confidence >= t.e.nlu.cfg.Threshold {
		return preds[0].Intent
	}
	return IntentUnknown
}

// understood returns every intent of text with its confidence, likeliest
// first, reading each text once per turn.
func (t *turn) understood(text string) []Scored {
	if !t.predsRead || t.intentFor != text {
		if t.preds == nil {
			t.preds = make([]Scored, 0, t.e.nlu.size())
		}
		t.preds = t.e.nlu.Understand(t.st.Lang, text, t.preds[:0])
		t.intentFor, t.predsRead = text, true
	}
	return t.preds
}

// words counts the words of text.
func words(text string) int {
	n := 0
	for range strings.FieldsSeq(text) {
		n++
	}
	return n
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
		if ev.Kind == AgentResolve {
			t.st.Set("case", ev.Case)
			return t.enter(t.e.closing)
		}
		return t.enter(t.e.again)
	}
	return nil
}

// event starts the flow of an outside event, as a journey the customer
// started would (a journey in progress is kept and offered again after).
// During a hand-over the agent owns the conversation: the bot says nothing.
func (t *turn) event(ev *Event) error {
	f, ok := t.e.eventFlows[ev.Name]
	if !ok {
		return fmt.Errorf("dialog: no flow starts on event %q", ev.Name)
	}
	if t.st.Mode == ModeAgent {
		return nil
	}
	if err := t.switchTo(f, ""); err != nil {
		return err
	}
	for _, sl := range ev.Slots {
		t.st.Set(sl.Name, sl.Value)
	}
	t.vars = append(t.vars, ev.Vars...)
	return t.enter(f.Start)
}

// Events returns the outside events the flows start on, as the manifest
// declares them.
func (e *Engine) Events() []string { return e.manifest.Events }

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
		t.res.Pressed = t.e.cat.Text(t.st.Locale(), b.Label, t)
		for _, sl := range b.Set {
			t.st.Set(sl.Name, sl.Value)
		}
		next := b.Goto
		if next == nil {
			next = s.Next
		}
		return t.enter(next)
	}
	v := t.st.Choices[idx-len(s.Buttons)].Value
	t.res.Pressed = t.st.Choices[idx-len(s.Buttons)].Label
	if s.Dispatch {
		return t.dispatch(s, v)
	}
	t.st.Set(s.Ask, v)
	return t.enter(s.Next)
}

func (t *turn) location(loc Location) error {
	s := t.current()
	if s != nil && s.Ask != "" && t.e.acceptsLocation(s) {
		if !domain.ValidCoordinates(loc.Lat, loc.Lon) {
			t.say("error.bad_location")
			return t.reprompt()
		}
		t.st.Set(s.Ask, FormatLocation(loc))
		t.st.Misses = 0
		return t.enter(s.Next)
	}
	if f := t.e.locationFlow; f != nil && domain.ValidCoordinates(loc.Lat, loc.Lon) {
		if err := t.switchTo(f, ""); err != nil {
			return err
		}
		t.st.Set(f.LocationSlot, FormatLocation(loc))
		return t.enter(f.Start)
	}
	if f := t.e.locationFlow; f != nil {
		t.say("error.bad_location")
		return t.reprompt()
	}
	return t.notUnderstood()
}

// files takes photos or documents at a 'files' question: each one not too
// large, of an image or PDF type, up to MaxFiles; the slot keeps
// "kind:id" references separated by spaces. It says Received with the
// count and waits for more or for a button, and moves on by itself at
// MaxFiles. Elsewhere a file is not understood (the channel's words).
func (t *turn) files(fs []File) error {
	s := t.current()
	if s == nil || s.Ask == "" || s.Validate != "files" {
		t.say("channel.unsupported")
		return t.reprompt()
	}
	have := strings.Fields(t.st.Get(s.Ask))
	refused := false
	for _, f := range fs {
		ref := f.Kind + ":" + f.ID
		switch {
		case f.ID == "" || len(f.ID) > 200 || strings.ContainsAny(f.ID, " \t\n") || (f.Kind != "photo" && f.Kind != "document"):
			refused = true
		case f.Size > t.e.maxFileBytes || (f.Kind == "document" && !strings.HasPrefix(f.MIME, "image/") && f.MIME != "application/pdf"):
			refused = true
		case len(have) < MaxFiles && !containsStr(have, ref):
			have = append(have, ref)
		}
	}
	t.st.Set(s.Ask, strings.Join(have, " "))
	t.st.Misses = 0
	t.vars = append(t.vars, Slot{"count", strconv.Itoa(len(have))}, Slot{"max", strconv.Itoa(MaxFiles)},
		Slot{"max_mb", strconv.FormatInt(t.e.maxFileBytes>>20, 10)})
	if len(have) >= MaxFiles {
		return t.enter(s.Next)
	}
	key := s.Received
	if refused && s.Invalid != "" {
		key = s.Invalid
	}
	if key == "" {
		return t.enter(s.Next)
	}
	t.waitSaying(s, key)
	return nil
}

// FormatLocation is how a shared location is kept in a slot: "lat,lon".
func FormatLocation(loc Location) string {
	return strconv.FormatFloat(loc.Lat, 'f', 5, 64) + "," + strconv.FormatFloat(loc.Lon, 'f', 5, 64)
}

// typed handles typed text: a command, a correction of what the journey
// knows, an answer to the question asked, a button by its label, number,
// ordinal or synonym, an intent (taken with the journey's facts kept), or
// something not understood.
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
		if done, err := t.correct(s, text); done || err != nil {
			return err
		}
		if s.Ask != "" && t.e.loose(s) {
			if idx, ok := t.answer(s, text); ok {
				return t.pressIndex(s, idx)
			}
		}
		if s.Ask != "" {
			if v, ok := t.validate(s, text); ok {
				t.st.Set(s.Ask, v)
				t.st.Misses = 0
				return t.enter(s.Next)
			}
		}
		if idx, ok := t.answer(s, text); ok {
			// a typed answer may state facts too ("where is my parcel 302-…")
			t.fill(text, t.st.Journey == "")
			return t.pressIndex(s, idx)
		}
	}
	intent := t.matched(text)
	if f, ok := t.e.intentFlows[intent]; ok {
		if s != nil && s.Ask != "" && f.Name == t.st.Journey && len(f.Intents[intent]) == 0 && t.st.Mode == ModeBot {
			// the journey the customer is in, asked for again at one of its
			// questions: not an answer to it, and no reason to start over
			return t.notUnderstood()
		}
		return t.startFlow(f, intent)
	}
	if s == nil || s.Ask == "" {
		// an unclear message while a question waits is an unclear answer
		// to it (said so, and asked again); otherwise the bot asks what
		// the customer meant
		if ok, err := t.clarifyIntent(text); ok || err != nil {
			return err
		}
	}
	return t.notUnderstood()
}

// clarifyIntent asks "Did you mean …?" when the bot is unsure of text but
// some journeys the manifest offers are likely enough: up to three, the
// likeliest first, one per flow. It reports whether it asked.
func (t *turn) clarifyIntent(text string) (bool, error) {
	s := t.e.clarify
	if s == nil || t.st.Mode != ModeBot {
		return false, nil
	}
	var cands [3]Scored
	n := 0
	var flows [3]*Flow
	for _, p := range t.understood(text) {
		if p.Confidence < t.e.nlu.cfg.Offer || n == len(cands) {
			break
		}
		f, ok := t.e.intentFlows[p.Intent]
		if !ok || t.e.offers[p.Intent] == "" || slices.Contains(flows[:n], f) {
			continue
		}
		cands[n], flows[n] = p, f
		n++
	}
	if n == 0 {
		return false, nil
	}
	// what the message states (an order number) is kept for the journey
	t.fill(text, true)
	if err := t.switchTo(s.Flow, ""); err != nil {
		return false, err
	}
	t.choices = t.choices[:0]
	for _, c := range cands[:n] {
		key := t.e.offers[c.Intent]
		t.choices = append(t.choices, Choice{Label: t.e.cat.Text(t.st.Locale(), key, t), Value: c.Intent, Key: key})
	}
	return true, t.enter(s)
}

// dispatch starts the journey of the intent the customer chose at a
// 'dispatch' step, as if they had typed it.
func (t *turn) dispatch(s *Step, intent string) error {
	t.st.Set(s.Ask, "")
	f, ok := t.e.intentFlows[intent]
	if !ok {
		return t.enter(s.Next)
	}
	return t.startFlow(f, intent)
}

// correct follows a changed fact: a message that names another value for a
// slot the journey fills from any message ("I meant 206-…") replaces it,
// forgets what depended on it and runs the journey again. It does nothing
// at a step that asks for that very slot (the answer is taken there).
func (t *turn) correct(s *Step, text string) (bool, error) {
	if t.st.Journey == "" {
		return false, nil
	}
	f := t.e.flows[t.st.Journey]
	if f == nil {
		return false, nil
	}
	for _, sp := range t.e.fillAny {
		if sp.Name == s.Ask {
			continue
		}
		v := sp.Type.Find(text)
		if cur := t.st.Get(sp.Name); v == "" || v == cur || cur == "" {
			// a correction replaces what was known; the first mention
			// of an order is news, read with the rest of the message
			continue
		}
		journey := f
		t.st.Keep(t.e.shared)
		for _, r := range sp.Resets {
			t.st.Set(r, "")
		}
		t.st.Set(sp.Name, v)
		t.st.Journey = journey.Name
		t.fill(text, false)
		return true, t.enter(journey.Start)
	}
	return false, nil
}

// fill sets the slots the customer's message states ("my parcel 302-… was
// stolen": the order); first is true for the message that starts a journey.
func (t *turn) fill(text string, first bool) {
	for _, sp := range t.e.fillAny {
		if v := sp.Type.Find(text); v != "" {
			t.st.Set(sp.Name, v)
		}
	}
	if !first {
		return
	}
	for _, sp := range t.e.fillFirst {
		if t.st.Get(sp.Name) != "" {
			continue
		}
		if v := sp.Type.Find(text); v != "" {
			t.st.Set(sp.Name, v)
		}
	}
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
		return t.reprompt()
	}
	if f.Name == t.st.Journey && t.st.Mode == ModeBot {
		// the command of the journey the customer is in: start it afresh
		t.st.Reset()
	}
	if err := t.switchTo(f, ""); err != nil {
		return err
	}
	t.vars = append(t.vars, Slot{"arg", strings.TrimSpace(arg)})
	return t.enter(f.Start)
}

// switchTo leaves the current step for flow f. A journey the customer was
// in the middle of is kept on the stack (a digression) when f is another
// journey, so that it can be offered again when f ends; what the journey
// learned that every journey shares (the order) is kept, the rest is not.
// A flow that 'keeps' keeps every slot; a flow that 'resets' forgets all
// interrupted journeys.
func (t *turn) switchTo(f *Flow, intent string) error {
	if t.st.Mode == ModeAgent {
		// a command during a hand-over: answer it, keep the case
		t.st.Flow, t.st.Step = "", ""
		t.st.Journey = f.Name
		return nil
	}
	cur := t.current()
	t.dropOffered()
	switch {
	case f.Resets:
		t.st.Keep(t.e.shared)
		t.st.Stack = t.st.Stack[:0]
	case f.Keep:
		t.st.dropCalls()
		t.st.Misses = 0
	default:
		if cur != nil && t.st.Journey != f.Name {
			if j := t.e.flows[t.st.Journey]; j != nil && j.Title != "" {
				t.st.push(Frame{
					Kind: FrameDigression, Flow: t.st.Flow, Step: t.st.Step, Journey: t.st.Journey, Origin: t.st.Origin,
					Slots:   append([]Slot(nil), t.st.Slots...),
					Facts:   append([]Slot(nil), t.st.Facts...),
					Choices: append([]Choice(nil), t.st.Choices...),
				})
			}
		}
		stack := t.st.Stack
		t.st.Keep(t.e.shared)
		t.st.Stack = stack
	}
	t.st.Journey = f.Name
	for _, sl := range f.Intents[intent] {
		t.st.Set(sl.Name, sl.Value)
	}
	return nil
}

// dropOffered forgets interrupted journeys already offered once: the
// customer chose something else.
func (t *turn) dropOffered() {
	for n := len(t.st.Stack); n > 0 && t.st.Stack[n-1].Kind == FrameOffered; n = len(t.st.Stack) {
		t.st.Stack = t.st.Stack[:n-1]
	}
}

// startFlow starts the journey an intent names. The same journey again
// ("someone stole it" in the missing-parcel journey) keeps everything it
// knows and takes what the intent adds; another journey is a digression.
func (t *turn) startFlow(f *Flow, intent string) error {
	if f.Name == t.st.Journey && t.st.Mode == ModeBot {
		t.dropOffered()
		t.st.dropCalls()
		t.st.Misses = 0
		for _, sl := range f.Intents[intent] {
			t.st.Set(sl.Name, sl.Value)
		}
		t.fill(t.text, true)
		return t.enter(f.Start)
	}
	if err := t.switchTo(f, intent); err != nil {
		return err
	}
	// what the customer already said is not asked again
	t.fill(t.text, true)
	return t.enter(f.Start)
}

// validate checks typed text against an ask step's slot type and returns
// the value to store.
func (t *turn) validate(s *Step, text string) (string, bool) {
	switch s.Validate {
	case "yesno":
		if v, ok := t.yesNo(text); ok {
			return v, true
		}
		return "", false
	case "choice", "location", "files":
		return "", false // buttons, a shared location, files: not typed
	case "text":
		if n := len(text); n >= 1 && n <= 500 {
			return text, true
		}
		return "", false
	}
	st, ok := t.e.types[s.Validate]
	if !ok {
		return "", false
	}
	if st.Loose && t.asksForJourney(s, text) {
		// a type that takes almost any text does not take a message that
		// asks for another journey
		return "", false
	}
	return st.Accept(text)
}

// asksForJourney reports whether text at step s is likelier a request for
// another journey than an answer: its likeliest reading is a journey the
// manifest offers, other than this one, and likely enough to be offered.
// (Small talk, thanks or a place name are answers.)
func (t *turn) asksForJourney(s *Step, text string) bool {
	preds := t.understood(text)
	if len(preds) == 0 || preds[0].Confidence < t.e.nlu.cfg.Offer || t.e.offers[preds[0].Intent] == "" {
		return false
	}
	f, ok := t.e.intentFlows[preds[0].Intent]
	return ok && f.Name != s.Flow.Name && f.Name != t.st.Journey
}

// yesNo reads a yes or a no: only a short message that is one, never a
// sentence that happens to contain "sure" or "no".
func (t *turn) yesNo(text string) (string, bool) {
	if words(text) > 6 {
		return "", false
	}
	switch intent := t.matched(text); intent {
	case IntentYes:
		return "yes", true
	case IntentNo:
		return "no", true
	}
	return "", false
}

func (t *turn) notUnderstood() error {
	t.st.Misses++
	if t.st.Misses >= uint8(t.e.maxMisses) && t.e.offerHuman != nil && t.st.Mode == ModeBot {
		t.st.Misses = 0
		if err := t.switchTo(t.e.offerHuman.Flow, ""); err != nil {
			return err
		}
		return t.enter(t.e.offerHuman)
	}
	key := "error.not_understood"
	if s := t.current(); s != nil {
		switch {
		case s.Invalid != "":
			key = s.Invalid
		case len(s.Buttons) > 0 || s.Choices:
			key = "error.not_a_choice"
		}
	}
	t.say(key)
	return t.reprompt()
}

// reprompt offers the current step again, exactly as it was shown: the
// same facts and the same buttons (or the menu when nothing waits).
func (t *turn) reprompt() error {
	s := t.current()
	if s == nil {
		return t.enter(t.e.menu)
	}
	if t.st.Origin != "" {
		// it showed a secret, which is never stored: render it afresh
		if o := t.e.resolve(nil, t.st.Origin); o != nil && o.Action != nil {
			return t.enter(o)
		}
	}
	t.vars = append(t.vars, t.st.Facts...)
	t.choices = append(t.choices[:0], t.st.Choices...)
	return t.enter(s)
}

// restAt decides where a journey that has come to rest goes: back to a
// journey it interrupted (offered once), or nowhere more (nil).
func (t *turn) restAt() *Step {
	if t.st.Mode == ModeAgent {
		t.st.Stack = t.st.Stack[:0]
		return nil
	}
	t.st.dropCalls()
	t.dropOffered()
	if t.e.resume == nil {
		return nil
	}
	fr, ok := t.st.Interrupted()
	if !ok {
		return nil
	}
	j := t.e.flows[fr.Journey]
	if j == nil || j.Title == "" {
		t.st.popDigression()
		return nil
	}
	if f := t.e.flows[t.st.Journey]; f != nil && f.Aside {
		// thanks or small talk in passing: straight back to the question
		return t.resumeJourney()
	}
	t.st.Stack[len(t.st.Stack)-1].Kind = FrameOffered
	t.vars = append(t.vars, Slot{"journey", t.e.cat.Text(t.st.Locale(), j.Title, t)})
	return t.e.resume
}

// rejoin notices a journey that leads back into the one it interrupted
// (the missing-parcel journey finds the parcel is not delivered and goes on
// to tracking): the interrupted one is no longer waiting, so it is not
// offered again.
func (t *turn) rejoin(f *Flow) {
	n := len(t.st.Stack)
	if n == 0 || t.st.Stack[n-1].Kind == FrameCall {
		return
	}
	if fr := t.st.Stack[n-1]; fr.Journey == f.Name && t.st.Journey != f.Name {
		t.st.Stack = t.st.Stack[:n-1]
		t.st.Journey = f.Name
	}
}

// resumeJourney goes back to the innermost interrupted journey, exactly
// where it waited.
func (t *turn) resumeJourney() *Step {
	fr, ok := t.st.popDigression()
	if !ok {
		return t.e.again
	}
	f := t.e.flows[fr.Flow]
	if f == nil || f.Steps[fr.Step] == nil {
		return t.e.again
	}
	t.st.Journey, t.st.Flow, t.st.Step, t.st.Origin = fr.Journey, fr.Flow, fr.Step, fr.Origin
	t.st.Slots = append(t.st.Slots[:0], fr.Slots...)
	t.st.Facts = append(t.st.Facts[:0], fr.Facts...)
	t.st.Choices = append(t.st.Choices[:0], fr.Choices...)
	if t.st.Origin != "" {
		if o := t.e.resolve(nil, t.st.Origin); o != nil && o.Action != nil {
			return o
		}
	}
	t.vars = append(t.vars, t.st.Facts...)
	t.choices = append(t.choices[:0], t.st.Choices...)
	return f.Steps[fr.Step]
}

// enter runs steps from s until one waits for the customer.
func (t *turn) enter(s *Step) error {
	for n := 0; s != nil; n++ {
		if n == maxStepsPerTurn {
			return fmt.Errorf("dialog: flow loop at %s:%d (step %s.%s)", s.File, s.Line, s.Flow.Name, s.Name)
		}
		if s == t.e.again && t.st.Mode == ModeAgent {
			// a command answered during a hand-over: the agent is still there
			t.st.Flow, t.st.Step = "", ""
			t.say("agent.still")
			return nil
		}
		switch {
		case s == t.e.menu:
			// the main menu leaves every journey
			t.st.Stack = t.st.Stack[:0]
		case s == t.e.again:
			if r := t.restAt(); r != nil {
				s = r
			}
		}
		if s.Flow == t.e.menu.Flow {
			t.st.Journey = ""
		} else {
			t.rejoin(s.Flow)
			if t.st.Journey == "" {
				t.st.Journey = s.Flow.Name
			}
		}
		t.st.Flow, t.st.Step = s.Flow.Name, s.Name
		if s.Action != nil {
			t.lastAction = s
			c := Call{t: t, act: s.Action, State: t.st, Now: t.now, Text: t.text}
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
			if t.strictErr != nil {
				return t.strictErr
			}
			next, ok := s.On[string(out)]
			if !ok {
				next, ok = s.On["*"]
			}
			if !ok {
				return fmt.Errorf("dialog: action %s returned unknown outcome %q at %s:%d", s.Action.name, out, s.File, s.Line)
			}
			s = next
			continue
		}
		if next := s.skip(t.st); next != nil {
			s = next
			continue
		}
		if s.Ask != "" && !s.Reask && t.st.Get(s.Ask) != "" {
			// already known: never ask twice
			s = s.Next
			continue
		}
		if s.waits() {
			if t.st.Mode == ModeAgent && s.leavesFlow() {
				// during a hand-over a step that only offers a way out
				// (the menu, a person) is an answer: the agent is still there
				t.sayStep(s)
				t.st.Flow, t.st.Step = "", ""
				t.say("agent.still")
				return nil
			}
			t.wait(s)
			return nil
		}
		t.sayStep(s)
		switch {
		case s.Call != nil:
			t.st.push(Frame{Kind: FrameCall, Flow: s.Next.Flow.Name, Step: s.Next.Name})
			s = s.Call.Start
		case s.End:
			t.st.Flow, t.st.Step = "", ""
			if r := t.restAt(); r != nil {
				s = r
				continue
			}
			t.st.Journey = ""
			return nil
		case s.Return:
			fr, ok := t.st.popCall()
			ret := t.e.again
			if ok {
				if r := t.e.resolve(nil, fr.Flow+"."+fr.Step); r != nil {
					ret = r
				}
			}
			s = ret
		case s.Resume:
			s = t.resumeJourney()
		default:
			s = s.Goto
		}
	}
	return nil
}

// wait renders step s, which waits for the customer, and keeps what it was
// rendered with, so that asking again shows the same message and buttons.
func (t *turn) wait(s *Step) { t.waitSaying(s, "") }

// waitSaying is wait, saying key instead of the step's messages when key
// is set (a 'files' question after each file: "Got it — 2 of 5").
func (t *turn) waitSaying(s *Step, key string) {
	t.st.Seq++
	t.st.Choices = t.st.Choices[:0]
	if n := len(s.Buttons) + len(t.choices); n > 0 && cap(t.pend)-len(t.pend) < n {
		// one allocation for the message's buttons, not one per doubling
		t.pend = slices.Grow(t.pend, n)
	}
	if s.Choices {
		for j, c := range t.choices {
			t.st.Choices = append(t.st.Choices, c)
			t.pend = append(t.pend, Button{Label: c.Label, Data: buttonData(t.st.Seq, len(s.Buttons)+j)})
		}
	}
	t.choices = t.choices[:0]
	for i := range s.Buttons {
		t.pend = append(t.pend, Button{Label: t.e.cat.Text(t.st.Locale(), s.Buttons[i].Label, t), Data: buttonData(t.st.Seq, i)})
	}
	if key != "" {
		t.say(key)
	} else {
		t.sayStep(s)
	}
	t.keepFacts()
}

// keepFacts stores the turn's values (never a secret) for re-rendering the
// waiting step; a step that showed a secret is rendered again from the
// action that found it instead.
func (t *turn) keepFacts() {
	t.st.Facts = t.st.Facts[:0]
	t.st.Origin = ""
	if len(t.res.Secrets) > 0 && t.lastAction != nil {
		t.st.Origin = t.lastAction.Flow.Name + "." + t.lastAction.Name
		return
	}
	for i := len(t.vars) - 1; i >= 0; i-- {
		v := t.vars[i]
		if v.Name == "arg" || v.Value == "" {
			continue
		}
		dup := false
		for _, f := range t.st.Facts {
			if f.Name == v.Name {
				dup = true
				break
			}
		}
		if !dup {
			t.st.Facts = append(t.st.Facts, v)
		}
	}
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
		t.checkArgs(k)
		b = t.e.cat.Append(b, t.st.Locale(), k, t)
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
	t.checkArgs(key)
	t.buf = t.e.cat.Append(t.buf[:0], t.st.Locale(), key, t)
	t.emit(string(t.buf))
}

// Call is what an action sees of the turn.
type Call struct {
	t     *turn
	act   *actionDef
	State *State    // the conversation; actions may change it
	Now   time.Time // the turn's clock
	Text  string    // the cleaned text of this turn, "" for a button
}

// Slot returns a slot's value. An action reads only the slots the manifest
// declares it reads or writes (checked in strict mode).
func (c *Call) Slot(name string) string {
	c.declared(name, true)
	return c.State.Get(name)
}

// SetSlot sets a slot ("" deletes it); slots persist across turns. An
// action writes only the slots the manifest declares it writes.
func (c *Call) SetSlot(name, value string) {
	c.declared(name, false)
	c.State.Set(name, value)
}

// declared records, in strict mode, an action's use of a slot the manifest
// does not declare for it.
func (c *Call) declared(name string, read bool) {
	if !c.t.e.strict || c.act == nil || c.act.decl == nil || c.t.strictErr != nil {
		return
	}
	d := c.act.decl
	if containsStr(d.writes, name) || (read && containsStr(d.reads, name)) {
		return
	}
	verb := "writes"
	if read {
		verb = "reads"
	}
	c.t.strictErr = fmt.Errorf("%s:%d: action %s %s slot %q, which the manifest does not declare", ManifestFile, d.line, c.act.name, verb, name)
}

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

// Locale is the language with the customer's region ("de-CH"), for
// rendering and locale lists.
func (c *Call) Locale() string { return c.State.Locale() }

// Say sends the message key now, rendered with the turn's values.
func (c *Call) Say(key string) { c.t.say(key) }

// T renders key with the turn's values and returns the text, for building
// lists that go into a placeholder.
func (c *Call) T(key string) string {
	c.t.tbuf = c.t.e.cat.Append(c.t.tbuf[:0], c.State.Locale(), key, c.t)
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
	buf = c.t.e.cat.Append(buf, c.State.Locale(), key, c.t)
	c.t.vars = c.t.vars[:n]
	return buf
}

// Choice adds a dynamic button to the next step that waits with 'choices':
// pressing it sets that step's slot to value.
// Dynamic buttons come before the step's static ones. At most 16.
func (c *Call) Choice(label, value string) { c.choice(label, value, "") }

// ChoiceOf adds a dynamic button labelled with the locale key's text; a
// typed answer may also name it by the key's synonyms (see Catalog.Synonyms).
func (c *Call) ChoiceOf(key, value string) { c.choice(c.T(key), value, key) }

func (c *Call) choice(label, value, key string) {
	if len(c.t.choices) >= 16 {
		return
	}
	c.t.choices = append(c.t.choices, Choice{Label: label, Value: value, Key: key})
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
