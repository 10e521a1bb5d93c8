package bot

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// EventQueue is the outbox of shop events on their way to customers: an
// event is stored before the shop hears "accepted", and leaves the queue
// only once its message was sent (or it was dropped on purpose), so nothing
// is lost while a channel is down or parcelbot restarts.
type EventQueue interface {
	// Add queues an event unless one with its id was added before (ids are
	// remembered for a week): false for a duplicate. It also counts the
	// event against its customer's proactive limit and stores the count
	// with it (QueuedEvent.Rank), so a retried delivery decides the same.
	Add(ctx context.Context, ev QueuedEvent, window time.Duration) (bool, error)
	// Take returns up to n queued events for consumer: new ones, and ones
	// another consumer took and did not finish within lease (it died).
	Take(ctx context.Context, consumer string, n int, lease time.Duration) ([]QueuedEvent, error)
	// Done removes a delivered or dropped event.
	Done(ctx context.Context, ev QueuedEvent) error
	// Hold moves an event out of the queue until a time (quiet hours).
	Hold(ctx context.Context, ev QueuedEvent, until time.Time) error
	// Release puts held events whose time has come back in the queue.
	Release(ctx context.Context, now time.Time) (int, error)
}

// QueuedEvent is a shop event in the outbox.
type QueuedEvent struct {
	Ref string // the queue's own reference to the entry
	domain.ShopEvent
	Customer string // the order's customer
	Rank     int    // this event's place in the customer's proactive window
	Held     bool   // it waited for the end of the quiet hours
}

// EventStatus is what the bot does with an event it received.
type EventStatus string

// Event statuses, as the shop's webhook answer reports them.
const (
	EventQueued    EventStatus = "queued"     // it will be told to the customer
	EventDuplicate EventStatus = "duplicate"  // an event with this id came before
	EventNotLinked EventStatus = "not_linked" // no chat is linked to the customer
	EventOptedOut  EventStatus = "opted_out"  // the customer turned order news off
)

// Events tells customers about their orders before they ask: shop events
// are received (Receive), queued, and delivered by Run as a turn of the
// customer's conversation (dialog/flows/notify.yaml), in their language and
// with the next step as buttons. Delivery respects the customer's choice
// (/notifications), the quiet hours in the order's time zone (held, sent
// at 07:00; Events.Quiet) and domain.ProactiveLimit per customer.
type Events struct {
	Service  *Service
	Queue    EventQueue
	Consumer string // this replica's name in the queue
	// Poll is how often Run looks for due held events and abandoned
	// deliveries when nothing wakes it; 0 means 5 s.
	Poll time.Duration
	// Lease is how long a taken event stays with its consumer before
	// another may deliver it (a failed delivery is retried after it too);
	// 0 means 30 s.
	Lease time.Duration
	// Quiet are the hours the bot does not write first (held until they
	// end), in the order's time zone; NewEvents sets the default 22-7.
	Quiet domain.QuietHours
	wake  chan struct{}
}

// NewEvents returns the event deliverer of a service.
func NewEvents(svc *Service, q EventQueue, consumer string) *Events {
	return &Events{Service: svc, Queue: q, Consumer: consumer, Quiet: domain.DefaultQuietHours, wake: make(chan struct{}, 1)}
}

func (e *Events) log() *slog.Logger { return e.Service.log }

// Receive checks and queues one shop event. Unknown orders are ENOTFOUND,
// malformed events EINVALID; an event for a customer without a linked chat,
// or one who turned order news off, is answered but not queued.
func (e *Events) Receive(ctx context.Context, ev domain.ShopEvent) (EventStatus, error) {
	s := e.Service
	if err := s.checkEvent(ev); err != nil {
		return "", err
	}
	o, err := s.shop.Order(ctx, ev.Order)
	if err != nil {
		return "", fmt.Errorf("event %s: order: %w", ev.ID, err)
	}
	ct, err := s.records.Contact(ctx, o.CustomerID)
	if err != nil {
		return "", fmt.Errorf("event %s: %w", ev.ID, err)
	}
	switch {
	case ct.Conv == "":
		s.obs.Proactive(string(ev.Type), string(EventNotLinked))
		return EventNotLinked, nil
	case ct.Notify == NotifyOff:
		s.obs.Proactive(string(ev.Type), string(EventOptedOut))
		return EventOptedOut, nil
	}
	first, err := e.Queue.Add(ctx, QueuedEvent{ShopEvent: ev, Customer: o.CustomerID}, domain.ProactiveWindow)
	if err != nil {
		return "", fmt.Errorf("event %s: queue: %w", ev.ID, err)
	}
	if !first {
		return EventDuplicate, nil
	}
	s.obs.Proactive(string(ev.Type), "received")
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return EventQueued, nil
}

// checkEvent refuses a malformed event, or one no flow tells (EINVALID).
func (s *Service) checkEvent(ev domain.ShopEvent) error {
	if err := ev.Check(); err != nil {
		return err
	}
	if !slices.Contains(s.engine.Events(), string(ev.Type)) {
		return domain.Errorf(domain.EINVALID, "", "no flow tells event %q", ev.Type)
	}
	return nil
}

// Run delivers queued events until ctx ends.
func (e *Events) Run(ctx context.Context) {
	poll, lease := e.Poll, e.Lease
	if poll <= 0 {
		poll = 5 * time.Second
	}
	if lease <= 0 {
		lease = 30 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for ctx.Err() == nil {
		if _, err := e.Step(ctx, lease); err != nil && ctx.Err() == nil {
			e.log().Warn("order news: delivery round failed", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-t.C:
		}
	}
}

// Step releases due held events and delivers what is queued, once; it
// returns how many events left the queue. Run calls it; tests call it to
// deliver at a moment they choose.
func (e *Events) Step(ctx context.Context, lease time.Duration) (int, error) {
	if _, err := e.Queue.Release(ctx, e.Service.now()); err != nil {
		return 0, fmt.Errorf("release held events: %w", err)
	}
	done := 0
	for {
		evs, err := e.Queue.Take(ctx, e.Consumer, 32, lease)
		if err != nil {
			return done, fmt.Errorf("take events: %w", err)
		}
		if len(evs) == 0 {
			return done, nil
		}
		progressed := false
		for _, ev := range evs {
			left, err := e.deliver(ctx, ev)
			if err != nil {
				// stays taken: retried after the lease, by whoever is up then
				e.log().Warn("order news: not delivered, retried later", "event", ev.ID, "type", ev.Type, "err", err)
				continue
			}
			if left {
				done++
				progressed = true
			}
		}
		if !progressed {
			return done, nil
		}
	}
}

// deliver tells one event, holds it for the quiet hours, or drops it; left
// reports that it left the queue.
func (e *Events) deliver(ctx context.Context, ev QueuedEvent) (left bool, err error) {
	s := e.Service
	kind := string(ev.Type)
	drop := func(outcome string) (bool, error) {
		s.obs.Proactive(kind, outcome)
		return true, e.Queue.Done(ctx, ev)
	}
	ct, err := s.records.Contact(ctx, ev.Customer)
	if err != nil {
		return false, err
	}
	switch {
	case ct.Conv == "": // erased or unlinked since
		return drop(string(EventNotLinked))
	case ct.Notify == NotifyOff:
		return drop(string(EventOptedOut))
	case ev.Rank > domain.ProactiveLimit:
		return drop("limited")
	}
	o, err := s.shop.Order(ctx, ev.Order)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return drop("gone")
	}
	if err != nil {
		return false, fmt.Errorf("order: %w", err)
	}
	if until, quiet := e.Quiet.Until(s.now(), o.Address.Location()); quiet {
		ev.Held = true
		if err := e.Queue.Hold(ctx, ev, until); err != nil {
			return false, err
		}
		s.obs.Proactive(kind, "held")
		return true, nil
	}
	if err := e.tell(ctx, ct.Conv, ev); err != nil {
		return false, err
	}
	s.obs.Proactive(kind, "sent")
	return true, e.Queue.Done(ctx, ev)
}

// tell runs the event's turn in the customer's conversation: exactly once
// per event id (the turn's input id), like a customer's message.
func (e *Events) tell(ctx context.Context, conv string, ev QueuedEvent) error {
	m := EventMessage(conv, ev.ShopEvent, "")
	m.Input.LangHint = e.Service.customerLang(ctx, ev.Customer)
	return e.Service.Handle(ctx, m)
}

// customerLang is the language the shop knows for a customer ("" when
// unknown): the language of news to a chat that has none yet.
func (s *Service) customerLang(ctx context.Context, id string) string {
	c, err := s.shop.Customer(ctx, id)
	if err != nil {
		return ""
	}
	return c.Lang
}

// EventMessage is the input that tells ev in conversation conv. link
// links a new conversation to a customer first (the console's /simulate
// and conversation tests act as the order's customer).
func EventMessage(conv string, ev domain.ShopEvent, link string) Message {
	in := dialog.Event{Name: string(ev.Type), Slots: []dialog.Slot{{Name: "order", Value: ev.Order}}}
	if !ev.Expected.IsZero() {
		in.Vars = append(in.Vars, dialog.Slot{Name: "expected", Value: dialog.DateValue(ev.Expected)})
	}
	in.Vars = append(in.Vars, dialog.Slot{Name: "event", Value: string(ev.Type)})
	return Message{Conversation: conv, ID: "ev:" + ev.ID, LinkCustomer: link, Input: dialog.Input{Event: &in}}
}

// Simulate tells a shop event in conv at once, as the order's customer
// would get it (a conversation not linked yet is linked to them), without
// the queue, the quiet hours or the customer's choice: the console's
// /simulate and conversation tests. ev.ID makes it once-only like any
// input.
func (s *Service) Simulate(ctx context.Context, conv string, ev domain.ShopEvent) error {
	if err := s.checkEvent(ev); err != nil {
		return err
	}
	o, err := s.shop.Order(ctx, ev.Order)
	if err != nil {
		return fmt.Errorf("simulate %s: order %s: %w", ev.Type, ev.Order, err)
	}
	m := EventMessage(conv, ev, o.CustomerID)
	m.Input.LangHint = s.customerLang(ctx, o.CustomerID)
	return s.Handle(ctx, m)
}
