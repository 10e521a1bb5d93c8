package domain

import (
	"strconv"
	"strings"
	"time"
)

// EventType is what happened to an order, as the shop tells parcelbot.
type EventType string

// The shop's order events that parcelbot tells customers about first.
const (
	EventDelayed        EventType = "delayed"          // a new, later expected date
	EventException      EventType = "exception"        // the carrier reports a problem
	EventOutForDelivery EventType = "out_for_delivery" // on the van today
	EventDelivered      EventType = "delivered"
	EventReadyInLocker  EventType = "ready_in_locker" // waiting in a locker compartment
	EventLockerDefect   EventType = "locker_defect"   // the locker it is addressed to is out of order
)

// EventTypes are every event type, in a stable order.
var EventTypes = []EventType{EventDelayed, EventException, EventOutForDelivery, EventDelivered, EventReadyInLocker, EventLockerDefect}

// Valid reports whether t is one of EventTypes.
func (t EventType) Valid() bool {
	for _, k := range EventTypes {
		if t == k {
			return true
		}
	}
	return false
}

// ShopEvent is one event the shop pushes about an order.
type ShopEvent struct {
	ID    string    // the shop's id, unique per event: a retry sends the same id
	Type  EventType //
	Order string    // the order number
	At    time.Time // when it happened
	// Expected is the new expected delivery day of a delayed order (zero
	// when the shop did not send one).
	Expected time.Time
}

// Check reports what makes an event unusable: no id, an unknown type, no
// order. Ids are short printable text (they become keys).
func (e ShopEvent) Check() error {
	switch {
	case e.ID == "" || len(e.ID) > 100 || strings.ContainsFunc(e.ID, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return Errorf(EINVALID, "", "event id must be 1-100 printable characters")
	case !e.Type.Valid():
		return Errorf(EINVALID, "", "unknown event type %q", e.Type)
	case e.Order == "" || len(e.Order) > 64:
		return Errorf(EINVALID, "", "event needs an order number")
	}
	return nil
}

// QuietHours are when the bot does not write first, in the customer's
// time zone: from hour From to hour To (22 to 7 by default); what comes in
// then is sent when they end. From == To means none.
type QuietHours struct{ From, To int }

// DefaultQuietHours are 22:00 to 07:00.
var DefaultQuietHours = QuietHours{From: 22, To: 7}

// Until reports whether now is in the quiet hours in zone loc and, if so,
// when they end.
func (q QuietHours) Until(now time.Time, loc *time.Location) (time.Time, bool) {
	if q.From == q.To {
		return time.Time{}, false
	}
	t := now.In(loc)
	y, m, d := t.Date()
	h := t.Hour()
	in := h >= q.From || h < q.To
	if q.From < q.To {
		in = h >= q.From && h < q.To
	}
	if !in {
		return time.Time{}, false
	}
	if h >= q.To {
		d++ // the end is tomorrow morning
	}
	return time.Date(y, m, d, q.To, 0, 0, 0, loc), true
}

// ParseQuietHours reads "22-7" (hours) or "off".
func ParseQuietHours(s string) (QuietHours, error) {
	if s == "off" || s == "" {
		return QuietHours{}, nil
	}
	var q QuietHours
	a, b, ok := strings.Cut(s, "-")
	fa, err1 := strconv.Atoi(strings.TrimSpace(a))
	fb, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || fa < 0 || fa > 23 || fb < 0 || fb > 23 {
		return q, Errorf(EINVALID, "", "quiet hours %q: want hours such as 22-7, or off", s)
	}
	return QuietHours{From: fa, To: fb}, nil
}

// ProactiveLimit is how many messages the bot writes first to one
// customer in ProactiveWindow; more events in that window are dropped
// (counted), so a burst of carrier scans never floods a chat.
const (
	ProactiveLimit  = 5
	ProactiveWindow = 24 * time.Hour
)

// LockerHoldDays is how long a locker keeps a parcel for its customer
// before it goes back (the carriers' common seven days).
const LockerHoldDays = 7
