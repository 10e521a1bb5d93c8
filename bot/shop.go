package bot

import (
	"context"
	"time"

	"github.com/parcelbot/parcelbot/domain"
)

// Shop is the read side of the shop's data, and the writes the shop itself
// must carry out (a redirect, a refund, a membership extension). The demo
// adapter serves it from a YAML file; the shopapi adapter from the shop's
// REST API. Lookups of things that do not exist return a domain error with
// code ENOTFOUND; an unreachable backend EUNAVAILABLE.
type Shop interface {
	// Order returns the order with this canonical number.
	Order(ctx context.Context, number string) (*domain.Order, error)
	// Customer returns a customer by id.
	Customer(ctx context.Context, id string) (*domain.Customer, error)
	// RecentOrders returns a customer's newest orders first, at most limit.
	RecentOrders(ctx context.Context, customerID string, limit int) ([]*domain.Order, error)
	// Places returns the lockers and pickup points within radiusKM of a point.
	Places(ctx context.Context, lat, lon, radiusKM float64) ([]domain.Locker, error)
	// Place returns one locker or pickup point by id.
	Place(ctx context.Context, id string) (*domain.Locker, error)
	// Locate turns a postcode or a city name into a point (ENOTFOUND if unknown).
	Locate(ctx context.Context, query string) (lat, lon float64, err error)
	// PastClaims returns when the customer made missing-parcel claims the
	// shop knows of (parcelbot adds the ones it records itself).
	PastClaims(ctx context.Context, customerID string) ([]time.Time, error)
}

// ShopWriter is what parcelbot asks the shop to do. Every call carries an
// idempotency key: repeating a call with the same key has no further effect
// and returns the first call's result.
type ShopWriter interface {
	// ExtendMembership adds one free month for a late order and returns the
	// new renewal date (domain.Extend decides it).
	ExtendMembership(ctx context.Context, customerID, order, key string, at time.Time) (time.Time, error)
	// Redirect sends an undelivered shipment to a locker, a pickup point
	// (placeID) or back to the home address (placeID "").
	Redirect(ctx context.Context, order, placeID, key string) error
	// OpenInvestigation asks the carrier to investigate a missing parcel.
	OpenInvestigation(ctx context.Context, order, caseID, key string) error
	// Resolve refunds the order or sends a replacement.
	Resolve(ctx context.Context, order string, how domain.Resolution, key string) error
	// ReportLockerDefect files a defect for the technicians' queue.
	ReportLockerDefect(ctx context.Context, lockerID, order, note, key string) error
	// ChangeDelivery changes where an order is delivered (before dispatch)
	// or on which day (after); domain.ChangeFor says which is possible.
	ChangeDelivery(ctx context.Context, order string, ch domain.DeliveryChange, key string) error
}
