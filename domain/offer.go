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
	st := o.Shipment.Status
	delivered := st == Delivered
	onItsWay := !delivered && st != Returned
	troubled := IsLate(o, now) || st == Exception
	switch c {
	case ConcernOnItsWay:
		return firstTrue(troubled, onItsWay)
	case ConcernPassword:
		pw := PasswordStatus(o, now)
		return firstTrue(pw == PasswordValid, pw == PasswordNotShipped || pw == PasswordExpired, onItsWay)
	case ConcernArrived:
		return firstTrue(delivered)
	case ConcernNeverCame:
		return firstTrue(delivered || troubled, onItsWay)
	}
	return 0
}

// firstTrue is the index of the first true condition, or their count.
func firstTrue(conds ...bool) int {
	for i, ok := range conds {
		if ok {
			return i
		}
	}
	return len(conds)
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
	fits := make([]int, len(orders))
	for i, o := range orders {
		fits[i] = c.fit(o, now)
	}
	if slices.Contains(fits[:max], slices.Min(fits)) {
		return orders[:max]
	}
	idx := make([]int, len(orders))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(fits[a], fits[b]) })
	idx = idx[:max]
	slices.Sort(idx)
	out := make([]*Order, len(idx))
	for i, j := range idx {
		out[i] = orders[j]
	}
	return out
}
