package domain

import (
	"strings"
	"time"
)

// DeliveryChange is what a customer asks to change about an order's
// delivery: a new address (before dispatch) or a redelivery day (after).
// Exactly one is set.
type DeliveryChange struct {
	// Address is the new delivery address as the customer wrote it
	// (street and house, postcode and city); the shop checks it.
	Address string
	// Day is the chosen delivery day (midnight in the address's zone).
	Day time.Time
}

// ChangeKind is what may be changed about a delivery now.
type ChangeKind string

// Change kinds.
const (
	ChangeAddress ChangeKind = "address" // not dispatched yet: the address
	ChangeDay     ChangeKind = "day"     // on its way: the delivery day
	ChangeNone    ChangeKind = "none"    // delivered or returned: nothing
)

// ChangeFor says what the customer may change about o's delivery: the
// address until the parcel is dispatched, then only the day it comes.
func ChangeFor(o *Order) ChangeKind {
	switch o.Shipment.Status {
	case LabelCreated, "":
		return ChangeAddress
	case InTransit, OutForDelivery, Exception:
		return ChangeDay
	}
	return ChangeNone
}

// RedeliveryDays returns the next n days a parcel can be redelivered,
// starting tomorrow in the delivery address's zone and skipping Sundays.
func RedeliveryDays(o *Order, now time.Time, n int) []time.Time {
	loc := o.Address.Location()
	t := now.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	var out []time.Time
	for len(out) < n {
		day = day.AddDate(0, 0, 1)
		if day.Weekday() != time.Sunday {
			out = append(out, day)
		}
	}
	return out
}

// ValidDeliveryAddress reports whether a typed address looks complete
// enough to hand to the shop: a few words, one of them with a digit (a
// house number or a postcode), and not overly long.
func ValidDeliveryAddress(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) < 8 || len(s) > 200 || len(strings.Fields(s)) < 3 {
		return false
	}
	return strings.ContainsAny(s, "0123456789")
}
