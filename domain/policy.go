package domain

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Policy holds the limits a shop configures. The zero value is not useful:
// start from DefaultPolicy.
type Policy struct {
	// LateRefundAfterDays: late by this many days (or a carrier exception)
	// and the customer may choose a replacement or a refund.
	LateRefundAfterDays int
	// WaitHoursAfterDelivered: a parcel marked delivered less than this long
	// ago is probably with a neighbour or in a safe place; ask to look first.
	WaitHoursAfterDelivered int
	// AutoApproveLimit: missing-parcel claims up to this order total (minor
	// units, in the order's currency) are approved without an agent.
	AutoApproveLimit int64
	// MaxClaims12m: a customer with this many missing-parcel claims in the
	// last 12 months goes to an agent.
	MaxClaims12m int
	// TrialMaxExtensions: free months ever granted while on a trial.
	TrialMaxExtensions int
	// PaidMaxExtensions12m: free months granted in any 12 months on a paid plan.
	PaidMaxExtensions12m int
	// AgentSLAMinutes: an unclaimed case is escalated again after this long.
	AgentSLAMinutes int
	// LookupFailures: failed order lookups (unknown number or wrong
	// postcode) a chat may make in LookupWindowMinutes before a cool-down.
	LookupFailures      int
	LookupWindowMinutes int
	// LinkFailures: invalid deep-link tokens a chat may try in the same
	// window; after that no token is accepted until the window ends.
	LinkFailures int
}

// DefaultPolicy returns the documented defaults.
func DefaultPolicy() Policy {
	return Policy{
		LateRefundAfterDays:     5,
		WaitHoursAfterDelivered: 36,
		AutoApproveLimit:        25000,
		MaxClaims12m:            2,
		TrialMaxExtensions:      1,
		PaidMaxExtensions12m:    12,
		AgentSLAMinutes:         10,
		LookupFailures:          5,
		LookupWindowMinutes:     10,
		LinkFailures:            5,
	}
}

// Validate reports the first field out of range, as an EINVALID error naming it.
func (p Policy) Validate() error {
	check := func(name string, v, lo, hi int64) error {
		if v < lo || v > hi {
			return Errorf(EINVALID, "", "policy %s: %d is outside %d..%d", name, v, lo, hi)
		}
		return nil
	}
	for _, c := range []struct {
		name      string
		v, lo, hi int64
	}{
		{"late_refund_after_days", int64(p.LateRefundAfterDays), 1, 365},
		{"wait_hours_after_delivered", int64(p.WaitHoursAfterDelivered), 0, 24 * 30},
		{"auto_approve_limit", p.AutoApproveLimit, 0, 1 << 40},
		{"max_claims_12m", int64(p.MaxClaims12m), 0, 1000},
		{"trial_max_extensions", int64(p.TrialMaxExtensions), 0, 12},
		{"paid_max_extensions_12m", int64(p.PaidMaxExtensions12m), 0, 12},
		{"agent_sla_minutes", int64(p.AgentSLAMinutes), 1, 24 * 60},
		{"lookup_failures", int64(p.LookupFailures), 1, 1000},
		{"lookup_window_minutes", int64(p.LookupWindowMinutes), 1, 24 * 60},
		{"link_failures", int64(p.LinkFailures), 1, 1000},
	} {
		if err := check(c.name, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	return nil
}

// civilDay returns the calendar day of t in loc as a comparable number of
// days since the epoch, immune to DST (a "day" is a date, not 24 hours).
func civilDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// DaysLate returns by how many calendar days the promised date has passed in
// the delivery address's time zone: 0 or less means not late (0 is the due
// day itself, negative is days still to go).
func DaysLate(o *Order, now time.Time) int {
	if o.Shipment.Promised.IsZero() {
		return 0
	}
	loc := o.Address.Location()
	return int(civilDay(now, loc) - civilDay(o.Shipment.Promised, loc))
}

// IsLate reports whether an undelivered order has passed its promised date.
func IsLate(o *Order, now time.Time) bool {
	switch o.Shipment.Status {
	case Delivered, Returned:
		return false
	}
	return DaysLate(o, now) > 0
}

// RefundOrReplacementDue reports whether the customer may choose a refund or
// a replacement for a parcel that has not arrived: late by the policy's days
// or in carrier exception.
func (p Policy) RefundOrReplacementDue(o *Order, now time.Time) bool {
	if o.Shipment.Status == Exception {
		return true
	}
	return IsLate(o, now) && DaysLate(o, now) >= p.LateRefundAfterDays
}

// Compensation refusal reasons, also locale keys under "comp.no.".
const (
	CompOK             = ""
	CompNotLate        = "not_late"
	CompNotMembership  = "not_membership"  // not shipped free under a membership
	CompAlreadyGranted = "already_granted" // this order was compensated already
	CompTrialUsed      = "trial_used"      // the one trial extension is used
	CompYearLimit      = "year_limit"      // 12 in 12 months reached
)

// CompensationFor decides whether a late order earns one free month of
// membership. It is pure: granting is the caller's (idempotent) business.
func (p Policy) CompensationFor(o *Order, m Membership, now time.Time) string {
	if !IsLate(o, now) {
		return CompNotLate
	}
	if !o.FreeShippingByMembership || !(m.Plan == PlanTrial || m.Plan.Paid()) {
		return CompNotMembership
	}
	for _, e := range m.Extensions {
		if e.Order == o.Number {
			return CompAlreadyGranted
		}
	}
	if m.Plan == PlanTrial {
		if len(m.Extensions) >= p.TrialMaxExtensions {
			return CompTrialUsed
		}
		return CompOK
	}
	since := now.AddDate(-1, 0, 0)
	n := 0
	for _, e := range m.Extensions {
		if e.At.After(since) {
			n++
		}
	}
	if n >= p.PaidMaxExtensions12m {
		return CompYearLimit
	}
	return CompOK
}

// Extend returns m with one month added at the end of the current period for
// order, granted at now. It is idempotent: extending twice for the same order
// returns m unchanged the second time.
func Extend(m Membership, order string, now time.Time) Membership {
	for _, e := range m.Extensions {
		if e.Order == order {
			return m
		}
	}
	out := m
	out.Extensions = append(append([]Extension(nil), m.Extensions...), Extension{At: now, Order: order})
	base := m.Renewal
	if base.Before(now) {
		base = now
	}
	out.Renewal = base.AddDate(0, 1, 0)
	return out
}

// PasswordValidUntil returns the first instant after the password's delivery
// day in the address's time zone: the password is valid before it.
func PasswordValidUntil(pw *DeliveryPassword, loc *time.Location) time.Time {
	y, m, d := pw.Day.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// PasswordState is what the customer can be told about a delivery password.
type PasswordState string

// Password states.
const (
	PasswordNotRequired PasswordState = "not_required"
	PasswordNotShipped  PasswordState = "not_shipped"
	PasswordValid       PasswordState = "valid"
	PasswordExpired     PasswordState = "expired"   // delivery day passed, no new day yet
	PasswordDelivered   PasswordState = "delivered" // the parcel was handed over (whether it needed one or not)
)

// PasswordStatus classifies an order's delivery password at now.
func PasswordStatus(o *Order, now time.Time) PasswordState {
	s := &o.Shipment
	switch {
	case s.Status == Delivered: // with a password or without, none is needed now
		return PasswordDelivered
	case s.Password == nil:
		return PasswordNotRequired
	case !s.Status.Shipped():
		return PasswordNotShipped
	case !now.Before(PasswordValidUntil(s.Password, o.Address.Location())):
		return PasswordExpired
	}
	return PasswordValid
}

// DeliveredRecently reports whether a delivered parcel was marked delivered
// less than the policy's waiting hours ago.
func (p Policy) DeliveredRecently(o *Order, now time.Time) bool {
	d := o.Shipment.Delivery
	if o.Shipment.Status != Delivered || d == nil {
		return false
	}
	return now.Sub(d.At) < time.Duration(p.WaitHoursAfterDelivered)*time.Hour
}

// ClaimsWithin counts the claims made after since.
func ClaimsWithin(claims []time.Time, since time.Time) int {
	n := 0
	for _, c := range claims {
		if c.After(since) {
			n++
		}
	}
	return n
}

// AutoApprove reports whether a missing-parcel claim may be approved without
// an agent: the order total within the limit and fewer than MaxClaims12m
// earlier claims by the customer in the last 12 months.
func (p Policy) AutoApprove(total Money, claims12m int) bool {
	return total.Minor <= p.AutoApproveLimit && claims12m < p.MaxClaims12m
}

// Distance returns the great-circle distance between two points in km.
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// ValidCoordinates reports whether lat/lon is a point on Earth.
func ValidCoordinates(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}

// RankedLocker is a locker with its distance from the customer.
type RankedLocker struct {
	Locker
	KM float64
}

// RankLockers returns up to max places of kind that can take a parcel now
// (operational, a free compartment), nearest first; exclude names a locker
// to leave out (the broken one). Ties keep the input order.
func RankLockers(places []Locker, kind PlaceKind, lat, lon float64, exclude string, max int) []RankedLocker {
	out := make([]RankedLocker, 0, len(places))
	for _, l := range places {
		if l.Kind != kind || l.ID == exclude || !l.Available() {
			continue
		}
		out = append(out, RankedLocker{Locker: l, KM: Distance(lat, lon, l.Lat, l.Lon)})
	}
	slices.SortStableFunc(out, func(a, b RankedLocker) int { return cmp.Compare(a.KM, b.KM) })
	if len(out) > max {
		out = out[:max]
	}
	return out
}
