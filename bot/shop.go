package bot

import (
	"context"

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
}
