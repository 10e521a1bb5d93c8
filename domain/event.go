package domain

import (
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

// Quiet hours: the bot does not write first between 22:00 and 07:00 in the
// customer's time zone; what comes in then is sent at 07:00.
const (
	QuietFrom = 22 // hour the quiet time starts
	QuietTo   = 7  // hour it ends
)

// QuietUntil reports whether now is in the quiet hours of zone loc and, if
// so, when they end.
func QuietUntil(now time.Time, loc *time.Location) (time.Time, bool) {
	t := now.In(loc)
	y, m, d := t.Date()
	switch h := t.Hour(); {
	case h >= QuietFrom:
		return time.Date(y, m, d+1, QuietTo, 0, 0, 0, loc), true
	case h < QuietTo:
		return time.Date(y, m, d, QuietTo, 0, 0, 0, loc), true
	}
	return time.Time{}, false
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
