package bot

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
	"github.com/parcelbot/parcelbot/locales"
)

// Effects the journeys emit for the service.
const (
	effectEscalate = "escalate"
	effectForget   = "forget"
)

// Config is the shop's configuration of the journeys.
type Config struct {
	ShopName    string
	OrderFormat string // e.g. "NNN-NNNNNNN-NNNNNNN"
	Policy      domain.Policy
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{ShopName: "Parcel Shop", OrderFormat: "NNN-NNNNNNN-NNNNNNN", Policy: domain.DefaultPolicy()}
}

// NewEngine builds the dialog engine with parcelbot's journeys wired to shop.
func NewEngine(cfg Config, shop Shop) (*dialog.Engine, error) {
	return NewEngineFrom(cfg, shop, dialog.Flows(), locales.FS)
}

// NewEngineFrom is NewEngine with other flow and locale files (a CX team's
// working copy); `parcelbot validate` uses it.
func NewEngineFrom(cfg Config, shop Shop, flows, locs fs.FS) (*dialog.Engine, error) {
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	of, err := dialog.ParseOrderFormat(cfg.OrderFormat)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cat, err := dialog.LoadCatalog(locs)
	if err != nil {
		return nil, err
	}
	m, err := dialog.NewMatcher()
	if err != nil {
		return nil, err
	}
	j := &journeys{cfg: cfg, shop: shop}
	return dialog.New(dialog.Config{
		Flows:       flows,
		Catalog:     cat,
		Matcher:     m,
		OrderFormat: of,
		Globals:     map[string]string{"shop": cfg.ShopName, "minutes": fmt.Sprint(cfg.Policy.AgentSLAMinutes)},
		Menu:        "menu",
		OfferHuman:  "human.offer",
		Actions:     j.actions(),
	})
}

// journeys holds the actions of parcelbot's flows.
type journeys struct {
	cfg  Config
	shop Shop
}

func (j *journeys) actions() map[string]dialog.ActionSpec {
	return map[string]dialog.ActionSpec{
		"identify_order": {Outcomes: []string{"found", "ask", "pick", "need_postcode", "not_found"}, Fn: j.identifyOrder},
		"track_order":    {Outcomes: []string{"not_shipped", "on_time", "due_today", "late", "delivered", "exception", "returned"}, Fn: j.trackOrder},
		"escalate":       {Outcomes: []string{"ok"}, Fn: j.escalate},
	}
}

// samePostcode compares postcodes ignoring case and spaces.
func samePostcode(a, b string) bool {
	norm := func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "")) }
	return a != "" && norm(a) == norm(b)
}

// identifyOrder decides who may see which order. A linked chat sees its own
// orders in full; for any other order, and for every unlinked chat, the
// delivery postcode is asked before anything is said, so an unknown number
// and a wrong postcode look the same and nobody learns whether an order
// exists.
func (j *journeys) identifyOrder(ctx context.Context, c *dialog.Call) (string, error) {
	number := c.Slot("order")
	st := c.State
	if number == "" {
		if st.Customer != "" {
			orders, err := j.shop.RecentOrders(ctx, st.Customer, 5)
			if err != nil {
				return "", fmt.Errorf("recent orders: %w", err)
			}
			for _, o := range orders {
				c.Choice(c.TWith("order.pick_item", "order", o.Number, "date", dialog.DateValue(o.Placed.In(o.Address.Location()))), o.Number)
			}
			if len(orders) > 0 {
				return "pick", nil
			}
		}
		return "ask", nil
	}
	o, err := j.shop.Order(ctx, number)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return "", fmt.Errorf("identify order: %w", err)
	}
	if o != nil && st.Customer != "" && o.CustomerID == st.Customer {
		c.SetSlot("access", "full")
		return "found", nil
	}
	pc := c.Slot("postcode")
	if pc == "" {
		return "need_postcode", nil
	}
	if o == nil || !samePostcode(pc, o.Address.Postcode) {
		c.SetSlot("order", "")
		c.SetSlot("postcode", "")
		return "not_found", nil
	}
	c.SetSlot("access", "tracking")
	return "found", nil
}

// order loads the identified order.
func (j *journeys) order(ctx context.Context, c *dialog.Call) (*domain.Order, error) {
	o, err := j.shop.Order(ctx, c.Slot("order"))
	if err != nil {
		return nil, fmt.Errorf("load order: %w", err)
	}
	return o, nil
}

// trackOrder puts the tracking facts into words: status, last event, the
// promised date and the carrier's estimate, judged in the delivery address's
// time zone.
func (j *journeys) trackOrder(ctx context.Context, c *dialog.Call) (string, error) {
	o, err := j.order(ctx, c)
	if err != nil {
		return "", err
	}
	loc := o.Address.Location()
	s := &o.Shipment
	c.Var("status", c.T("status."+string(s.Status)))
	var details []string
	if ev, ok := s.LastEvent(); ok {
		key := "track.last_event"
		if ev.Place == "" {
			key = "track.last_event_noplace"
		}
		details = append(details, c.TWith(key, "event", c.T("event."+ev.Code), "place", ev.Place, "when", dialog.DateTimeValue(ev.At.In(loc))))
	}
	if s.Status != domain.Delivered && s.Status != domain.Returned {
		details = append(details, c.TWith("track.promised", "promised", dialog.DateValue(s.Promised.In(loc))))
		if !s.Estimate.IsZero() && !sameDay(s.Estimate, s.Promised, o) {
			details = append(details, c.TWith("track.estimate", "estimate", dialog.DateValue(s.Estimate.In(loc))))
		}
	}
	c.Var("details", strings.Join(details, "\n"))
	now := c.Now
	switch s.Status {
	case domain.Delivered:
		if s.Delivery != nil {
			c.Var("delivered", dialog.DateTimeValue(s.Delivery.At.In(loc)))
		}
		return "delivered", nil
	case domain.Returned:
		return "returned", nil
	case domain.Exception:
		return "exception", nil
	case domain.LabelCreated:
		return "not_shipped", nil
	}
	switch late := domain.DaysLate(o, now); {
	case late > 0:
		c.Var("count", fmt.Sprint(late))
		return "late", nil
	case late == 0:
		return "due_today", nil
	}
	return "on_time", nil
}

// sameDay reports whether a and b fall on the same day at the address.
func sameDay(a, b time.Time, o *domain.Order) bool {
	loc := o.Address.Location()
	y1, m1, d1 := a.In(loc).Date()
	y2, m2, d2 := b.In(loc).Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// escalate hands the conversation to the agent desk with what the bot knows.
func (j *journeys) escalate(ctx context.Context, c *dialog.Call) (string, error) {
	st := c.State
	id := domain.CaseID(rand.Text())
	args := []dialog.Slot{{Name: "case", Value: id}, {Name: "journey", Value: st.Flow}, {Name: "reason", Value: "customer_asked"}}
	if on := c.Slot("order"); on != "" {
		args = append(args, dialog.Slot{Name: "order", Value: on})
	}
	c.Effect(effectEscalate, args...)
	st.Mode = dialog.ModeAgent
	st.Case = id
	c.Var("case", id)
	return "ok", nil
}
