package domain

import "time"

// Plan is a membership plan.
type Plan string

// Membership plans.
const (
	PlanNone    Plan = "none"
	PlanTrial   Plan = "trial"
	PlanMonthly Plan = "monthly"
	PlanAnnual  Plan = "annual"
)

// Valid reports whether p is a known plan.
func (p Plan) Valid() bool {
	switch p {
	case PlanNone, PlanTrial, PlanMonthly, PlanAnnual:
		return true
	}
	return false
}

// Paid reports whether the plan is a paid one.
func (p Plan) Paid() bool { return p == PlanMonthly || p == PlanAnnual }

// Customer is a shop customer. Name, Email and Phone are personal data.
type Customer struct {
	ID         string
	Name       string
	Email      string
	Phone      string
	Lang       string
	Membership Membership
}

// Membership is a customer's membership and the free months granted on it.
type Membership struct {
	Plan       Plan
	Renewal    time.Time   // end of the current period
	Extensions []Extension // compensation months granted, oldest first
}

// Extension is one free month granted as compensation for a late order.
type Extension struct {
	At    time.Time
	Order string
}
