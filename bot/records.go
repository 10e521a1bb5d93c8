package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/parcelbot/parcelbot/domain"
)

// Records are parcelbot's own records, kept in Redis next to the sessions:
// cases, one-time grants, claims, used link tokens. They hold across
// replicas.
type Records interface {
	// PutCase stores a case (and indexes it by customer and conversation)
	// if it is still at c.Version (0: the case does not exist yet), and sets
	// c.Version to the new version. It returns ECONFLICT when another writer
	// stored the case in between; use UpdateCase to retry.
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
	// ForgetConversation removes the index of a conversation's cases (the
	// cases themselves are kept, pseudonymised by Service.Forget).
	ForgetConversation(ctx context.Context, conv string) error
	// Contact returns how parcelbot reaches a customer first: the chat
	// linked to the account (zero when none) and their choice about order
	// news.
	Contact(ctx context.Context, customerID string) (Contact, error)
	// SetContact links conv to a customer (conv set) and/or stores their
	// choice (notify set); empty fields are left as they are.
	SetContact(ctx context.Context, customerID string, c Contact) error
	// Unlink removes the chat from a customer's contact if it is conv
	// (erasure), keeping their choice.
	Unlink(ctx context.Context, customerID, conv string) error
}

// Contact is how the bot may write to a customer first.
type Contact struct {
	Conv   string // the linked conversation ("tg:123"); "" when none
	Notify string // NotifyOn, NotifyOff, or "" when not answered yet (on)
}

// A customer's answer about order news.
const (
	NotifyOn  = "on"
	NotifyOff = "off"
)

// maxCaseTries bounds the compare-and-set retries of one case update.
const maxCaseTries = 8

// UpdateCase reads case id (nil when there is none), lets change return
// what to store (nil: nothing to store), and stores it with compare-and-set;
// on a conflict it reads the case again and applies change anew, so two
// replicas changing one case at once both keep their change.
func UpdateCase(ctx context.Context, rec Records, id string, change func(cs *domain.Case) (*domain.Case, error)) (*domain.Case, error) {
	var last error
	for try := 0; try < maxCaseTries; try++ {
		cs, err := rec.Case(ctx, id)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			cs, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		next, err := change(cs)
		if err != nil || next == nil {
			return cs, err
		}
		if cs == nil {
			next.Version = 0
		}
		err = rec.PutCase(ctx, next)
		if domain.ErrorCode(err) != domain.ECONFLICT {
			return next, err
		}
		last = err
	}
	return nil, fmt.Errorf("update case %s: %d conflicts in a row: %w", id, maxCaseTries, last)
}
