package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// maxConflicts bounds how often a turn is re-run on fresh state when another
// replica saved the same conversation first; between re-runs the turn waits
// a random time that doubles up to 64 ms, so that racing replicas take
// turns instead of starving one another.
const maxConflicts = 16

// lastMessages is how many transcript lines an escalation carries.
const lastMessages = 8

// Service runs conversations: load, turn, compare-and-set save, reply,
// effects.
type Service struct {
	engine   *dialog.Engine
	store    SessionStore
	desk     Desk
	records  Records
	shop     Shop
	writer   ShopWriter
	log      *slog.Logger
	now      func() time.Time
	channels map[string]Channel
	locks    *stripes
	pool     sync.Pool

	toldMu sync.Mutex
	told   map[string]time.Time // conversation → when it was last told we are unavailable

	cache *sessionCache
	obs   Observer
}

// Options configure a Service.
type Options struct {
	Engine   *dialog.Engine
	Store    SessionStore
	Desk     Desk
	Backends Backends // the same the engine's journeys use
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now. Tests own it.
	Now func() time.Time
	// CacheSize is how many recently active conversations keep a local copy
	// of their state (saving a load per turn); 0 means 10,000, -1 none.
	CacheSize int
	// Observer is told about turns, journeys and escalations (metrics).
	Observer Observer
}

// NewService returns a service. Channels are added with AddChannel.
func NewService(o Options) *Service {
	s := &Service{
		engine:   o.Engine,
		store:    o.Store,
		desk:     o.Desk,
		records:  o.Backends.Records,
		shop:     o.Backends.Shop,
		writer:   o.Backends.Writer,
		log:      o.Logger,
		now:      o.Now,
		channels: map[string]Channel{},
		locks:    newStripes(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.obs = o.Observer
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	switch {
	case o.CacheSize == 0:
		s.cache = newSessionCache(10000)
	case o.CacheSize > 0:
		s.cache = newSessionCache(o.CacheSize)
	}
	s.pool.New = func() any { return new(turnBuf) }
	return s
}

// AddChannel registers a channel for the conversations it owns. Call it
// before messages flow.
func (s *Service) AddChannel(c Channel) { s.channels[c.Name()] = c }

// Engine returns the dialog engine.
func (s *Service) Engine() *dialog.Engine { return s.engine }

type turnBuf struct {
	st      dialog.State
	res     dialog.Result
	enc     []byte
	lines   [][]byte // the transcript lines, in text
	text    []byte
	pending []byte       // the encoded pending work, reused
	in      dialog.Input // the turn's input: the engine keeps a pointer, so not the caller's copy (it would go to the heap each turn)
}

// Handle processes one customer message exactly once: a message whose ID was
// processed already (a redelivery) is dropped; when another replica saved the
// conversation first, the turn is re-run on the fresh state. The replies are
// sent after the state is stored. An error means the message was not
// processed (the channel may redeliver it); the customer has been told when
// the cause is on our side.
func (s *Service) Handle(ctx context.Context, m Message) (err error) {
	mu := s.locks.lock(m.Conversation)
	defer mu.Unlock()
	tb := s.pool.Get().(*turnBuf)
	defer func() {
		tb.in = dialog.Input{} // no customer's words left in the pool
		s.pool.Put(tb)
	}()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("turn panicked", "conv", m.Conversation, "panic", p, "stack", string(debug.Stack()))
			s.tell(ctx, m, tb.st.Locale(), "error.turn_failed")
			err = fmt.Errorf("handle %s: panic: %v", m.Conversation, p)
		}
	}()
	m.Input.Conversation, m.Input.ID = m.Conversation, m.ID
	for attempt := 0; ; attempt++ {
		var sess Session
		fromCache := false
		if attempt == 0 {
			// the cached state, copied into the turn's: a duplicate input is
			// caught by the save, a stale copy by its version
			sess.Version, fromCache = s.cache.get(m.Conversation, &tb.st)
		}
		if !fromCache {
			sess, err = s.store.Load(ctx, m.Conversation, m.ID)
			if err != nil {
				s.log.Error("load session", "conv", m.Conversation, "err", err)
				s.tellUnavailable(ctx, m, "")
				return fmt.Errorf("load session %s: %w", m.Conversation, err)
			}
		}
		if sess.Seen && len(sess.Pending) > 0 {
			if ld, ok := s.store.(LazyDoner); ok {
				// carried out here, its mark still on its way: a duplicate;
				// a mark that arrived since is seen by loading again
				if ld.MarkingDone(m.Conversation, m.ID) {
					return nil
				}
				if sess, err = s.store.Load(ctx, m.Conversation, m.ID); err != nil {
					s.log.Error("load session", "conv", m.Conversation, "err", err)
					s.tellUnavailable(ctx, m, "")
					return fmt.Errorf("load session %s: %w", m.Conversation, err)
				}
			}
		}
		if sess.Seen {
			if len(sess.Pending) > 0 {
				// stored but not carried out: a crash came in between
				s.log.Info("carrying out a redelivered input's pending work", "conv", m.Conversation, "input", m.ID)
				return s.redo(ctx, m, sess.Pending)
			}
			s.log.Debug("duplicate input dropped", "conv", m.Conversation, "input", m.ID)
			return nil
		}
		if !fromCache {
			tb.st = dialog.State{Slots: tb.st.Slots[:0], Facts: tb.st.Facts[:0], Choices: tb.st.Choices[:0], Stack: tb.st.Stack[:0]}
			if sess.Data != nil {
				if err := s.engine.Decode(&tb.st, sess.Data); err != nil {
					// A state we cannot read is not the customer's fault: start afresh.
					s.log.Warn("unreadable session reset", "conv", m.Conversation, "err", err)
					tb.st = dialog.State{}
				}
			}
		}
		if m.LinkCustomer != "" && tb.st.Customer == "" {
			tb.st.Customer = m.LinkCustomer
			if s.records != nil {
				if err := s.records.SetContact(ctx, m.LinkCustomer, Contact{Conv: m.Conversation}); err != nil {
					return fmt.Errorf("link %s: %w", m.Conversation, err)
				}
			}
		}
		answered := ""
		if ev := tb.st.Get("event"); ev != "" && m.Input.Event == nil && m.Input.Agent == nil {
			// the customer answers order news the bot wrote first: counted
			// once, when this turn is stored
			answered = ev
			tb.st.Set("event", "")
		}
		before := journeyOf(&tb.st)
		t0 := time.Now()
		tb.in = m.Input
		if err := s.engine.Turn(ctx, &tb.st, &tb.in, s.now(), &tb.res); err != nil {
			s.obs.Turn(before, tb.st.Lang, time.Since(t0), true)
			if ctx.Err() != nil {
				return fmt.Errorf("turn %s: %w", m.Conversation, err)
			}
			s.log.Error("turn failed", "conv", m.Conversation, "err", err)
			key := domain.ErrorKey(err)
			if key == "error.internal" {
				key = "error.turn_failed"
			}
			s.tell(ctx, m, tb.st.Locale(), key)
			return fmt.Errorf("turn %s: %w", m.Conversation, err)
		}
		tb.enc = tb.st.AppendBinary(tb.enc[:0])
		tb.text, tb.lines = transcript(tb.text[:0], tb.lines[:0], &m, &tb.res)
		pending := tb.encodePending()
		var version uint64
		version, err = s.store.Save(ctx, m.Conversation, sess.Version, tb.enc, m.ID, tb.lines, pending)
		switch {
		case err == nil:
			s.cache.put(m.Conversation, version, &tb.st)
			s.observe(before, &tb.st, time.Since(t0))
			if answered != "" {
				s.obs.Proactive(answered, "answered")
			}
		case errors.Is(err, ErrDuplicate) && fromCache:
			continue // load, to see whether the input left work pending
		case errors.Is(err, ErrDuplicate):
			return nil
		case errors.Is(err, ErrConflict) && fromCache:
			s.cache.drop(m.Conversation)
			continue // the copy was stale: load and re-run, at once
		case errors.Is(err, ErrConflict) && attempt < maxConflicts:
			s.cache.drop(m.Conversation)
			if err := conflictBackoff(ctx, attempt); err != nil {
				return fmt.Errorf("save session %s: %w", m.Conversation, err)
			}
			continue
		default:
			s.cache.drop(m.Conversation)
			s.log.Error("save session", "conv", m.Conversation, "err", err)
			s.tellUnavailable(ctx, m, tb.st.Locale())
			return fmt.Errorf("save session %s: %w", m.Conversation, err)
		}
		if err := s.carryOut(ctx, m, &tb.st, tb.res.Replies, tb.res.Effects); err != nil {
			return err
		}
		if pending != nil && !carried(ctx) {
			s.markDone(ctx, m)
		}
		return nil
	}
}

// markDone records in the store that m's pending work was carried out (the
// Redis store sends it with other turns' saves, no script): at once for a
// durable message, else without waiting.
func (s *Service) markDone(ctx context.Context, m Message) {
	if ld, ok := s.store.(LazyDoner); ok && !m.Durable {
		ld.MarkDoneLater(m.Conversation, m.ID)
		return
	}
	if err := s.store.MarkDone(context.WithoutCancel(ctx), m.Conversation, m.ID); err != nil { // the replies are out: record it even when stopping
		s.log.Warn("could not mark a turn done; a redelivery would repeat its replies", "conv", m.Conversation, "err", err)
	}
}

// journeyOf returns the journey a state is in: inside a called flow
// (identify, claim) it is the caller.
func journeyOf(st *dialog.State) string {
	if st.Journey != "" {
		return st.Journey
	}
	return st.Flow
}

// observe reports a stored turn and the journeys it started or finished.
func (s *Service) observe(before string, st *dialog.State, took time.Duration) {
	after := journeyOf(st)
	s.obs.Turn(after, st.Lang, took, false)
	if before == after {
		return
	}
	if s.engine.IsJourney(before) {
		s.obs.Journey(before, st.Lang, "finished")
	}
	if s.engine.IsJourney(after) {
		s.obs.Journey(after, st.Lang, "started")
	}
}

// carryOut sends a stored turn's replies and runs its effects; the caller
// marks its pending work done after (see Message.Durable).
func (s *Service) carryOut(ctx context.Context, m Message, st *dialog.State, replies []dialog.Reply, effects []dialog.Effect) error {
	// an erasure is done before the customer is told it is: if it fails,
	// no "done" goes out and a redelivery tries again
	if err := s.effects(ctx, m.Conversation, st, effects, true); err != nil {
		return err
	}
	if len(replies) > 0 {
		if err := s.send(ctx, m.Conversation, st.Locale(), replies); err != nil {
			// not marked done: a redelivery of this input sends again
			s.log.Error("send replies", "conv", m.Conversation, "err", err)
			return fmt.Errorf("send replies %s: %w", m.Conversation, err)
		}
	}
	return s.effects(ctx, m.Conversation, st, effects, false)
}

// effects runs a turn's erasures (forget) or its other effects, in order.
func (s *Service) effects(ctx context.Context, conv string, st *dialog.State, effects []dialog.Effect, forget bool) error {
	for i := range effects {
		if (effects[i].Kind == effectForget) != forget {
			continue
		}
		if err := s.effect(ctx, conv, st, &effects[i]); err != nil {
			s.log.Error("effect failed", "conv", conv, "effect", effects[i].Kind, "err", err)
			return fmt.Errorf("effect %s %s: %w", effects[i].Kind, conv, err)
		}
	}
	return nil
}

// pendingWork is a stored turn's work outside Redis (stored as
// storedPending).
type pendingWork struct {
	Lang     string
	Customer string
	Case     string
	Replies  []dialog.Reply
	Effects  []dialog.Effect
	// Lines, when not 0, is how many transcript lines the turn appended (its
	// input's, then one per reply) and Sum their checksum (linesSum): the
	// replies' texts are not stored twice but read back from those lines.
	Lines int
	Sum   uint32
}

// encodePending returns nil when the turn has nothing to carry out, else
// the work encoded (JSON) in tb's buffer (valid until the next turn on tb).
// The replies of a turn that showed a secret (a delivery password) are not
// kept: the password must not rest in Redis; if such a turn's replies are
// lost in a crash, the customer asks again.
//
// The replies' texts are the turn's transcript lines, which the same save
// appends: the pending work refers to those lines instead of holding the
// texts again (Redis's Lua interns every byte a save passes: the texts were
// about 235 of 1,050 in the load test). Only an erasure keeps its texts, as
// it deletes the transcript before its replies go out.
func (tb *turnBuf) encodePending() []byte {
	st, res := &tb.st, &tb.res
	replies := res.Replies
	if len(res.Secrets) > 0 {
		replies = nil
	}
	if len(replies) == 0 && len(res.Effects) == 0 {
		return nil
	}
	p := pendingWork{Lang: st.Locale(), Customer: st.Customer, Case: st.Case, Replies: replies, Effects: res.Effects}
	erasure := slices.ContainsFunc(res.Effects, func(e dialog.Effect) bool { return e.Kind == effectForget })
	if len(replies) > 0 && len(tb.lines) == len(replies)+1 && !erasure {
		p.Lines, p.Sum = len(tb.lines), linesSum(tb.lines)
	}
	tb.pending = appendPending(tb.pending[:0], &p)
	return tb.pending
}

// linesSum is a checksum of transcript lines (FNV-1a over each line's
// bytes and length), by which redo finds a turn's lines again.
func linesSum[T ~string | ~[]byte](lines []T) uint32 {
	const prime = 16777619
	h := uint32(2166136261)
	for _, l := range lines {
		for i := 0; i < len(l); i++ {
			h = (h ^ uint32(l[i])) * prime
		}
		h = (h ^ uint32(len(l))) * prime
	}
	return h
}

// redo carries out a stored turn's pending work, and marks it done in the
// store (a rare path: the redelivery after a crash or a failed send), so
// that a further redelivery to any replica is dropped.
func (s *Service) redo(ctx context.Context, m Message, data []byte) error {
	p, err := decodePending(data)
	if err != nil {
		s.log.Error("unreadable pending work dropped", "conv", m.Conversation, "err", err)
		return s.store.MarkDone(ctx, m.Conversation, m.ID)
	}
	if p.Lines > 0 {
		if err := s.repliesFromTranscript(ctx, m.Conversation, &p); err != nil {
			return err
		}
	}
	lang, region := dialog.SplitLocale(p.Lang)
	st := dialog.State{Lang: lang, Region: region, Customer: p.Customer, Case: p.Case}
	if err := s.carryOut(ctx, m, &st, p.Replies, p.Effects); err != nil {
		return err
	}
	if !carried(ctx) {
		m.Durable = true // a rare path: written before Handle returns
		s.markDone(ctx, m)
	}
	return nil
}

// transcriptSearch is how many of a conversation's last transcript lines
// repliesFromTranscript looks through for a turn's.
const transcriptSearch = 1000

// repliesFromTranscript fills p's replies' texts in from the turn's
// transcript lines, read in one call. They are the last lines, unless a
// later turn of the conversation was stored without clearing this one's
// work (two replicas racing, and a mark lost): the search runs from the
// end. When they are gone (trimmed away), the replies are not sent again,
// the effects still are: as for a turn that showed a secret, the customer
// asks again.
func (s *Service) repliesFromTranscript(ctx context.Context, conv string, p *pendingWork) error {
	at := -1
	var lines []string
	if len(p.Replies) == p.Lines-1 {
		var err error
		if lines, err = s.store.Transcript(ctx, conv, transcriptSearch); err != nil {
			return fmt.Errorf("redo %s: %w", conv, err)
		}
		for i := len(lines) - p.Lines; i >= 0 && at < 0; i-- {
			if linesSum(lines[i:i+p.Lines]) == p.Sum {
				at = i
			}
		}
	}
	if at < 0 {
		s.log.Warn("a redelivered turn's replies are no longer in its transcript: not sent again", "conv", conv)
		p.Replies = nil
		return nil
	}
	for i := range p.Replies {
		p.Replies[i].Text = strings.TrimPrefix(lines[at+1+i], transcriptBot)
	}
	return nil
}

// carried reports whether the channel carries the turn's reply in its
// acknowledgement (see Ack): the turn stays unmarked.
func carried(ctx context.Context) bool {
	a := AckFrom(ctx)
	return a != nil && a.Carried
}

// conflictBackoff waits before re-running a turn that lost a race.
func conflictBackoff(ctx context.Context, attempt int) error {
	max := time.Millisecond << min(attempt, 6)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(max))))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// transcriptBot begins a transcript line of the bot's.
const transcriptBot = "bot: "

// transcript returns the lines a turn adds to the conversation's
// transcript, with the turn's secrets (a delivery password) redacted,
// written into text (reused from turn to turn: no string per line); the
// lines are text's, valid until it is written again.
func transcript(text []byte, lines [][]byte, m *Message, res *dialog.Result) ([]byte, [][]byte) {
	var ends [16]int // where each line ends in text; more lines are rare
	end := ends[:0]
	in := &m.Input
	switch {
	case in.Agent != nil && in.Agent.Kind == dialog.AgentReply:
		text = append(append(text, "agent: "...), dialog.Clean(in.Agent.Text)...)
	case in.Agent != nil:
		text = append(append(append(text, "agent: ["...), in.Agent.Kind...), ']')
	case in.Button != "":
		text = append(text, "customer: [button]"...)
		if res.Pressed != "" {
			text = append(append(text, ' '), redact(res.Pressed, res.Secrets)...)
		}
	case in.Location != nil:
		text = append(text, "customer: [location]"...)
	default:
		t := dialog.Clean(in.Text)
		if cmd, arg, ok := strings.Cut(t, " "); ok && strings.EqualFold(cmd, "/start") && arg != "" {
			t = "/start [link token]" // a deep-link token is a credential
		}
		text = append(append(text, "customer: "...), t...)
	}
	end = append(end, len(text))
	for _, r := range res.Replies {
		text = append(append(text, transcriptBot...), redact(r.Text, res.Secrets)...)
		end = append(end, len(text))
	}
	start := 0
	for _, e := range end {
		lines = append(lines, text[start:e:e])
		start = e
	}
	return text, lines
}

// redact replaces each of the turn's secrets in t.
func redact(t string, secrets []string) string {
	for _, sec := range secrets {
		t = strings.ReplaceAll(t, sec, "[redacted]")
	}
	return t
}

// tellUnavailable tells the customer that we cannot answer right now, once
// a minute at most: a channel redelivering the message while Redis is down
// must not flood the chat.
func (s *Service) tellUnavailable(ctx context.Context, m Message, lang string) {
	now := time.Now()
	s.toldMu.Lock()
	if s.told == nil {
		s.told = map[string]time.Time{}
	}
	last, ok := s.told[m.Conversation]
	if ok && now.Sub(last) < time.Minute {
		s.toldMu.Unlock()
		return
	}
	s.told[m.Conversation] = now
	if len(s.told) > 10000 {
		for k, t := range s.told {
			if now.Sub(t) >= time.Minute {
				delete(s.told, k)
			}
		}
	}
	s.toldMu.Unlock()
	s.tell(ctx, m, lang, "error.unavailable")
}

// tell sends one message from the catalog outside a turn (errors).
func (s *Service) tell(ctx context.Context, m Message, lang, key string) {
	if lang == "" {
		lang = dialog.NormalizeLang(m.Input.LangHint)
	}
	text := s.engine.Catalog().Text(lang, key, nil)
	if err := s.send(ctx, m.Conversation, lang, []dialog.Reply{{Text: text}}); err != nil {
		s.log.Error("send error message", "conv", m.Conversation, "err", err)
	}
}

func (s *Service) send(ctx context.Context, conv, lang string, replies []dialog.Reply) error {
	name, chat := splitConv(conv)
	ch, ok := s.channels[name]
	if !ok {
		return fmt.Errorf("send to %s: no channel %q", conv, name)
	}
	return ch.Send(ctx, chat, lang, replies)
}

// effect carries out one effect of a stored turn.
func (s *Service) effect(ctx context.Context, conv string, st *dialog.State, ef *dialog.Effect) error {
	switch ef.Kind {
	case dialog.EffectRelay:
		if s.desk == nil {
			return errors.New("no agent desk configured")
		}
		return s.desk.Relay(ctx, ef.Arg("case"), ef.Arg("text"))
	case effectEscalate:
		return s.escalate(ctx, conv, st, ef)
	case effectForget:
		return s.Forget(ctx, conv)
	}
	return fmt.Errorf("unknown effect %q", ef.Kind)
}

func (s *Service) escalate(ctx context.Context, conv string, st *dialog.State, ef *dialog.Effect) error {
	if s.desk == nil {
		return errors.New("no agent desk configured")
	}
	now := s.now()
	e := Escalation{
		Case: ef.Arg("case"), Conversation: conv, Lang: st.Lang, Journey: ef.Arg("journey"),
		Order: ef.Arg("order"), Reason: ef.Arg("reason"), At: now,
	}
	for _, a := range ef.Args {
		if label, ok := strings.CutPrefix(a.Name, "fact."); ok {
			e.Facts = append(e.Facts, Fact{Label: label, Value: a.Value})
		}
	}
	if lines, err := s.store.Transcript(ctx, conv, lastMessages); err == nil {
		e.LastMessages = lines
	}
	if s.records != nil {
		_, err := UpdateCase(ctx, s.records, e.Case, func(cs *domain.Case) (*domain.Case, error) {
			if cs == nil {
				cs = &domain.Case{ID: e.Case, Kind: domain.CaseKind(e.Journey), Order: e.Order, CustomerID: st.Customer,
					Conversation: conv, Lang: st.Lang, Created: now}
				if !cs.Kind.Valid() {
					cs.Kind = domain.CaseHuman
				}
			}
			cs.Status = domain.CaseAwaitingAgent
			cs.Updated = now
			e.Photos = cs.Photos
			cs.Notes = append(cs.Notes, domain.CaseEvent{At: now, Who: "bot", What: "handed to agents: " + e.Reason})
			return cs, nil
		})
		if err != nil {
			return fmt.Errorf("escalate %s: %w", e.Case, err)
		}
	}
	s.obs.Escalation(e.Reason, e.Journey, st.Lang)
	return s.desk.Escalate(ctx, e)
}

// Erasure is what Forget did.
type Erasure struct {
	Cases []string // cases pseudonymised (and, with a Slack desk, redacted)
}

// ErasedNote is the note a case gets when its customer's data is erased.
const ErasedNote = "personal data erased at the customer's request"

// Forget erases a conversation (/forget, or `parcelbot forget` for a
// data-protection request): its session and transcript are deleted; each
// of its cases is kept as a business record (order, kind, outcome, the
// customer account for the claim limits) but loses the conversation id and
// the free text the customer gave (a police report number, a feedback
// comment); a case waiting for or with an agent is closed; the index of the
// conversation's cases goes; and the agent desk removes the customer's
// words from the case (Eraser). Running it again finds nothing more to do.
// In a turn, it runs before the turn's replies (the confirmation that it is
// done), and the session goes last: an erasure that fails part way is
// neither confirmed nor lost, and the redelivered turn carries it out.
func (s *Service) Forget(ctx context.Context, conv string) error {
	_, err := s.Erase(ctx, conv)
	return err
}

// Erase is Forget, reporting what it did.
func (s *Service) Erase(ctx context.Context, conv string) (Erasure, error) {
	var out Erasure
	// the account the chat is linked to stops reaching it
	customer := ""
	if sess, err := s.store.Load(ctx, conv, ""); err != nil {
		return out, fmt.Errorf("forget %s: %w", conv, err)
	} else if sess.Data != nil {
		var st dialog.State
		if st.UnmarshalBinary(sess.Data) == nil {
			customer = st.Customer
		}
	}
	if customer != "" && s.records != nil {
		if err := s.records.Unlink(ctx, customer, conv); err != nil {
			return out, fmt.Errorf("forget %s: %w", conv, err)
		}
	}
	if s.records == nil {
		return out, s.forgetSession(ctx, conv)
	}
	cases, err := s.records.Cases(ctx, "", conv)
	if err != nil {
		return out, fmt.Errorf("forget %s: cases: %w", conv, err)
	}
	now := s.now()
	for _, c := range cases {
		if c.Conversation != conv {
			continue
		}
		_, err := UpdateCase(ctx, s.records, c.ID, func(cs *domain.Case) (*domain.Case, error) {
			if cs == nil || cs.Conversation != conv {
				return nil, nil
			}
			cs.Conversation, cs.PoliceReport, cs.Photos = "", "", nil
			kept := cs.Notes[:0]
			for _, n := range cs.Notes {
				if !strings.HasPrefix(n.What, commentNote) { // the customer's own words
					kept = append(kept, n)
				}
			}
			cs.Notes = kept
			if cs.Status == domain.CaseAwaitingAgent || cs.Status == domain.CaseWithAgent {
				cs.Status = domain.CaseClosed // no one left to talk to; an investigation goes on
			}
			cs.Updated = now
			cs.Notes = append(cs.Notes, domain.CaseEvent{At: now, Who: "customer", What: ErasedNote})
			return cs, nil
		})
		if err != nil {
			return out, fmt.Errorf("forget %s: case %s: %w", conv, c.ID, err)
		}
		if e, ok := s.desk.(Eraser); ok {
			if err := e.Erase(ctx, c.ID); err != nil {
				return out, fmt.Errorf("forget %s: desk, case %s: %w", conv, c.ID, err)
			}
		}
		out.Cases = append(out.Cases, c.ID)
	}
	if err := s.records.ForgetConversation(ctx, conv); err != nil {
		return out, fmt.Errorf("forget %s: %w", conv, err)
	}
	if err := s.forgetSession(ctx, conv); err != nil {
		return out, err
	}
	if len(out.Cases) > 0 {
		s.log.Info("conversation erased", "conv", conv, "cases", len(out.Cases))
	}
	return out, nil
}

// forgetSession deletes the session and transcript, the last step of an
// erasure: until then the session keeps the /forget turn's pending work,
// so that an erasure cut short is carried out again on redelivery.
func (s *Service) forgetSession(ctx context.Context, conv string) error {
	if err := s.store.Delete(ctx, conv); err != nil {
		return fmt.Errorf("forget %s: %w", conv, err)
	}
	s.cache.drop(conv)
	return nil
}

// Agent actions on a case, from the agent desk.
type AgentAction struct {
	ID    string // unique per action (a Slack action or event id): handled once
	Case  string
	Agent string // who (an agent id, recorded on the case)
	Name  string // display name
	Kind  string // dialog.AgentClaim, AgentReply, AgentResolve, AgentHandBack
	Text  string // AgentReply
	How   domain.Resolution
}

// Agent applies an agent's action to a case and tells the customer, in
// their language, through the same exactly-once turn as a customer message.
// A refund or replacement goes through the same policy and records as one
// the bot grants. It returns ENOTFOUND for an unknown case.
func (s *Service) Agent(ctx context.Context, a AgentAction) error {
	if s.records == nil {
		return errors.New("agent actions need records")
	}
	cs, err := s.records.Case(ctx, a.Case)
	if err != nil {
		return fmt.Errorf("agent %s on %s: %w", a.Kind, a.Case, err)
	}
	if cs.Conversation == "" {
		// its customer asked for erasure: there is no one to tell
		return &domain.Error{Code: domain.ENOTFOUND, Key: "cases.unknown", Op: "agent on erased case " + a.Case}
	}
	now := s.now()
	what := a.Kind
	var status domain.CaseStatus // the case's new status; "" keeps it
	switch a.Kind {
	case dialog.AgentClaim:
		if cs.Status == domain.CaseAwaitingAgent {
			s.obs.Agent("claim", now.Sub(cs.Created))
		}
		status = domain.CaseWithAgent
	case dialog.AgentReply:
		what = "replied"
		// the customer's wait for a person ends with the first reply
		if _, first, err := s.records.Once(ctx, "first_reply:"+cs.ID, strconv.FormatInt(now.Unix(), 10)); err == nil && first {
			s.obs.Agent("first_reply", now.Sub(cs.Created))
		}
	case dialog.AgentSLA:
		if cs.Status != domain.CaseAwaitingAgent {
			return nil // claimed or closed meanwhile: nothing to tell
		}
		what = "no agent within the SLA: customer told"
	case dialog.AgentHandBack:
		s.obs.Agent("handoff", now.Sub(cs.Created))
		status = domain.CaseClosed
	case dialog.AgentResolve:
		if a.How == domain.ResolveRefund || a.How == domain.ResolveReplacement {
			if cs.Order == "" {
				// a case opened by /human: nothing to refund or replace
				return domain.Errorf(domain.EINVALID, "", "agent resolve %s: %s needs an order and the case has none", a.Case, a.How)
			}
			o, err := s.shop.Order(ctx, cs.Order)
			if err != nil {
				return fmt.Errorf("agent resolve %s: %w", a.Case, err)
			}
			how, err := resolveCase(ctx, s.writer, s.records, cs.ID, o, a.How, a.Agent, now)
			if err != nil {
				return fmt.Errorf("agent resolve %s: %w", a.Case, err)
			}
			a.How = how
		}
		s.obs.Agent("handoff", now.Sub(cs.Created))
		status = domain.CaseResolved
		what = "resolved: " + string(a.How)
	default:
		return domain.Errorf(domain.EINVALID, "", "unknown agent action %q", a.Kind)
	}
	if a.Kind != dialog.AgentReply {
		// compare-and-set: another replica's change to the case is kept
		cs, err = UpdateCase(ctx, s.records, a.Case, func(cs *domain.Case) (*domain.Case, error) {
			if cs == nil {
				return nil, &domain.Error{Code: domain.ENOTFOUND, Key: "cases.unknown", Op: "agent on case " + a.Case}
			}
			if status != "" {
				cs.Status = status
			}
			if a.Kind == dialog.AgentResolve && cs.Resolution == "" {
				cs.Resolution = a.How
			}
			cs.Updated = now
			cs.Notes = append(cs.Notes, domain.CaseEvent{At: now, Who: a.Agent, What: what})
			return cs, nil
		})
		if err != nil {
			return fmt.Errorf("agent %s on %s: %w", a.Kind, a.Case, err)
		}
	}
	return s.Handle(ctx, Message{Conversation: cs.Conversation, ID: "agent:" + a.ID, Input: dialog.Input{
		Agent: &dialog.AgentEvent{Case: a.Case, Kind: a.Kind, Text: a.Text, How: string(a.How), Name: a.Name},
	}})
}
