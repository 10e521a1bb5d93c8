package domain

import (
	"cmp"
	"slices"
	"time"
)

// OrderConcern is what a customer's question about an order is, for
// choosing which of their orders to offer them to pick from.
type OrderConcern int

// Order concerns.
const (
	// ConcernAny: no order fits better than another.
	ConcernAny OrderConcern = iota
	// ConcernOnItsWay: the parcel has not arrived yet (where is it, a change of
	// address or day). Late orders, and those the carrier reports a
	// problem with, fit best.
	ConcernOnItsWay
	// ConcernPassword: the one-time password of a parcel being delivered.
	// Orders whose password is valid now fit best, then those with one.
	ConcernPassword
	// ConcernArrived: the parcel is marked delivered (it arrived damaged).
	ConcernArrived
	// ConcernNeverCame: the parcel did not reach the customer: marked delivered,
	// or late on its way.
	ConcernNeverCame
)

// fit ranks how well o fits the concern: 0 best.
func (c OrderConcern) fit(o *Order, now time.Time) int {
	delivered := o.Shipment.Status == Delivered
	onItsWay := o.Shipment.Status != Delivered && o.Shipment.Status != Returned
	switch c {
	case ConcernOnItsWay:
		switch {
		case IsLate(o, now) || o.Shipment.Status == Exception:
			return 0
		case onItsWay:
			return 1
		}
		return 2
	case ConcernPassword:
		switch PasswordStatus(o, now) {
		case PasswordValid:
			return 0
		case PasswordNotShipped, PasswordExpired:
			return 1
		}
		if onItsWay {
			return 2
		}
		return 3
	case ConcernArrived:
		if delivered {
			return 0
		}
		return 1
	case ConcernNeverCame:
		switch {
		case delivered || IsLate(o, now) || o.Shipment.Status == Exception:
			return 0
		case onItsWay:
			return 1
		}
		return 2
	}
	return 0
}

// OrdersToOffer chooses at most max of a customer's orders, given newest
// first, for them to pick the one their question is about. Mostly that is
// the newest max, as given: the list reads as the customer's recent orders.
// Only when none of those fits the concern best (a customer asking where
// their parcel is, whose late order was placed before five others) are the
// orders chosen by how well they fit — best, then next best, then the
// rest, newest first within each — and then shown in the order given.
func OrdersToOffer(orders []*Order, c OrderConcern, now time.Time, max int) []*Order {
	if max <= 0 {
		return nil
	}
	if len(orders) <= max {
		return orders
	}
	best := c.fit(orders[0], now)
	for _, o := range orders[1:] {
		best = min(best, c.fit(o, now))
	}
	if slices.ContainsFunc(orders[:max], func(o *Order) bool { return c.fit(o, now) == best }) {
		return orders[:max]
	}
	idx := make([]int, len(orders))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(c.fit(orders[a], now), c.fit(orders[b], now))
	})
	idx = idx[:max]
	slices.Sort(idx)
	out := make([]*Order, len(idx))
	for i, j := range idx {
		out[i] = orders[j]
	}
	return out
}
