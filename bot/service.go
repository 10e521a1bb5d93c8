package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
)

// maxConflicts bounds how often a turn is re-run on fresh state when another
// replica saved the same conversation first.
const maxConflicts = 8

// Service runs conversations: load, turn, compare-and-set save, reply,
// effects.
type Service struct {
	engine   *dialog.Engine
	store    SessionStore
	desk     Desk
	log      *slog.Logger
	now      func() time.Time
	channels map[string]Channel
	locks    *stripes
	pool     sync.Pool
}

// Options configure a Service.
type Options struct {
	Engine *dialog.Engine
	Store  SessionStore
	Desk   Desk
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests own it.
	Now func() time.Time
}

// NewService returns a service. Channels are added with AddChannel.
func NewService(o Options) *Service {
	s := &Service{
		engine:   o.Engine,
		store:    o.Store,
		desk:     o.Desk,
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
	s.pool.New = func() any { return new(turnBuf) }
	return s
}

// AddChannel registers a channel for the conversations it owns. Call it
// before messages flow.
func (s *Service) AddChannel(c Channel) { s.channels[c.Name()] = c }

// Engine returns the dialog engine.
func (s *Service) Engine() *dialog.Engine { return s.engine }

type turnBuf struct {
	st  dialog.State
	res dialog.Result
	enc []byte
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
	defer s.pool.Put(tb)
	log := s.log.With("conv", m.Conversation)
	defer func() {
		if p := recover(); p != nil {
			log.Error("turn panicked", "panic", p, "stack", string(debug.Stack()))
			s.tell(ctx, m, tb.st.Lang, "error.turn_failed")
			err = fmt.Errorf("handle %s: panic: %v", m.Conversation, p)
		}
	}()
	for attempt := 0; ; attempt++ {
		sess, err := s.store.Load(ctx, m.Conversation, m.ID)
		if err != nil {
			log.Error("load session", "err", err)
			s.tell(ctx, m, "", "error.unavailable")
			return fmt.Errorf("load session %s: %w", m.Conversation, err)
		}
		if sess.Seen {
			log.Debug("duplicate input dropped", "input", m.ID)
			return nil
		}
		tb.st = dialog.State{Slots: tb.st.Slots[:0], Choices: tb.st.Choices[:0]}
		if sess.Data != nil {
			if err := tb.st.UnmarshalBinary(sess.Data); err != nil {
				// A state we cannot read is not the customer's fault: start afresh.
				log.Warn("unreadable session reset", "err", err)
				tb.st = dialog.State{}
			}
		}
		if m.LinkCustomer != "" && tb.st.Customer == "" {
			tb.st.Customer = m.LinkCustomer
		}
		if err := s.engine.Turn(ctx, &tb.st, &m.Input, s.now(), &tb.res); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("turn %s: %w", m.Conversation, err)
			}
			log.Error("turn failed", "err", err)
			s.tell(ctx, m, tb.st.Lang, "error.turn_failed")
			return fmt.Errorf("turn %s: %w", m.Conversation, err)
		}
		tb.enc = tb.st.AppendBinary(tb.enc[:0])
		_, err = s.store.Save(ctx, m.Conversation, sess.Version, tb.enc, m.ID)
		switch {
		case err == nil:
		case errors.Is(err, ErrDuplicate):
			return nil
		case errors.Is(err, ErrConflict) && attempt < maxConflicts:
			continue
		default:
			log.Error("save session", "err", err)
			s.tell(ctx, m, tb.st.Lang, "error.unavailable")
			return fmt.Errorf("save session %s: %w", m.Conversation, err)
		}
		if len(tb.res.Replies) > 0 {
			if err := s.send(ctx, m.Conversation, tb.st.Lang, tb.res.Replies); err != nil {
				log.Error("send replies", "err", err)
			}
		}
		for i := range tb.res.Effects {
			if err := s.effect(ctx, m.Conversation, &tb.st, &tb.res.Effects[i]); err != nil {
				log.Error("effect failed", "effect", tb.res.Effects[i].Kind, "err", err)
			}
		}
		return nil
	}
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
			return nil
		}
		return s.desk.Relay(ctx, ef.Arg("case"), ef.Arg("text"))
	case effectEscalate:
		if s.desk == nil {
			return errors.New("no agent desk configured")
		}
		e := Escalation{
			Case: ef.Arg("case"), Conversation: conv, Lang: st.Lang, Journey: ef.Arg("journey"),
			Order: ef.Arg("order"), Reason: ef.Arg("reason"), At: s.now(),
		}
		for _, a := range ef.Args {
			if len(a.Name) > 5 && a.Name[:5] == "fact." {
				e.Facts = append(e.Facts, Fact{Label: a.Name[5:], Value: a.Value})
			}
		}
		return s.desk.Escalate(ctx, e)
	case effectForget:
		return s.store.Delete(ctx, conv)
	}
	return fmt.Errorf("unknown effect %q", ef.Kind)
}

// Forget deletes a conversation's state.
func (s *Service) Forget(ctx context.Context, conv string) error {
	if err := s.store.Delete(ctx, conv); err != nil {
		return fmt.Errorf("forget %s: %w", conv, err)
	}
	return nil
}
