package bot

import (
	"context"
	"time"

	"github.com/parcelbot/parcelbot/domain"
)

// Records are parcelbot's own records, kept in Redis next to the sessions:
// cases, one-time grants, claims, used link tokens. They hold across
// replicas.
type Records interface {
	// PutCase creates or replaces a case (and indexes it by customer and
	// conversation).
	PutCase(ctx context.Context, c *domain.Case) error
	// Case returns a case (ENOTFOUND when unknown).
	Case(ctx context.Context, id string) (*domain.Case, error)
	// Cases returns the cases of a customer (when customerID is set) or of a
	// conversation, newest first.
	Cases(ctx context.Context, customerID, conv string) ([]*domain.Case, error)
	// Once stores value under key unless something is stored there already,
	// and returns what is stored: the first caller's value. It makes grants
	// idempotent ("comp:<order>" → the new renewal date).
	Once(ctx context.Context, key, value string) (stored string, first bool, err error)
	// Lookup returns what Once stored under key, if anything.
	Lookup(ctx context.Context, key string) (value string, ok bool, err error)
	// AddClaim records a missing-parcel claim of a customer (idempotent by
	// case id).
	AddClaim(ctx context.Context, customerID, caseID string, at time.Time) error
	// Claims counts a customer's claims recorded since a time.
	Claims(ctx context.Context, customerID string, since time.Time) (int, error)
	// UseToken marks a link token's nonce as used; false when it was used
	// before. Used nonces are kept for ttl.
	UseToken(ctx context.Context, nonce string, ttl time.Duration) (bool, error)
	// Failures returns how many failures key counted in its current window.
	Failures(ctx context.Context, key string) (int, error)
	// Fail counts a failure for key; the window starts with the first one
	// and lasts window.
	Fail(ctx context.Context, key string, window time.Duration) (int, error)
}
