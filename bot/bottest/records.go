package bottest

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

// Records is an in-memory bot.Records for benchmarks of the engine turn
// without I/O. Windows and expiries are not modelled.
type Records struct {
	mu       sync.Mutex
	cases    map[string]domain.Case
	once     map[string]string
	claims   map[string]map[string]time.Time
	tokens   map[string]bool
	fails    map[string]int
	contacts map[string]bot.Contact
}

var _ bot.Records = (*Records)(nil)

// NewRecords returns empty records.
func NewRecords() *Records {
	return &Records{cases: map[string]domain.Case{}, once: map[string]string{}, claims: map[string]map[string]time.Time{},
		tokens: map[string]bool{}, fails: map[string]int{}, contacts: map[string]bot.Contact{}}
}

// PutCase implements bot.Records.
func (r *Records) PutCase(_ context.Context, c *domain.Case) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur := r.cases[c.ID]; cur.Version != c.Version {
		return &domain.Error{Code: domain.ECONFLICT, Op: "put case " + c.ID}
	}
	c.Version++
	stored := *c
	stored.Notes = append([]domain.CaseEvent(nil), c.Notes...)
	r.cases[c.ID] = stored
	return nil
}

// Case implements bot.Records.
func (r *Records) Case(_ context.Context, id string) (*domain.Case, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.cases[id]
	if !ok {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Key: "cases.unknown"}
	}
	c.Notes = append([]domain.CaseEvent(nil), c.Notes...)
	return &c, nil
}

// Cases implements bot.Records.
func (r *Records) Cases(_ context.Context, customerID, conv string) ([]*domain.Case, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*domain.Case
	for _, c := range r.cases {
		if (customerID != "" && c.CustomerID == customerID) || (customerID == "" && c.Conversation == conv) {
			c := c
			out = append(out, &c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Once implements bot.Records.
func (r *Records) Once(_ context.Context, key, value string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.once[key]; ok {
		return v, false, nil
	}
	r.once[key] = value
	return value, true, nil
}

// Lookup implements bot.Records.
func (r *Records) Lookup(_ context.Context, key string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.once[key]
	return v, ok, nil
}

// AddClaim implements bot.Records.
func (r *Records) AddClaim(_ context.Context, customerID, caseID string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.claims[customerID] == nil {
		r.claims[customerID] = map[string]time.Time{}
	}
	r.claims[customerID][caseID] = at
	return nil
}

// Claims implements bot.Records.
func (r *Records) Claims(_ context.Context, customerID string, since time.Time) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, at := range r.claims[customerID] {
		if at.After(since) {
			n++
		}
	}
	return n, nil
}

// UseToken implements bot.Records.
func (r *Records) UseToken(_ context.Context, nonce string, _ time.Duration) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tokens[nonce] {
		return false, nil
	}
	r.tokens[nonce] = true
	return true, nil
}

// Failures implements bot.Records.
func (r *Records) Failures(_ context.Context, key string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fails[key], nil
}

// Fail implements bot.Records.
func (r *Records) Fail(_ context.Context, key string, _ time.Duration) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fails[key]++
	return r.fails[key], nil
}

// ForgetConversation implements bot.Records: cases are found by their
// Conversation field, which Forget clears, so there is no index to drop.
func (r *Records) ForgetConversation(context.Context, string) error { return nil }

// Contact implements bot.Records.
func (r *Records) Contact(_ context.Context, customerID string) (bot.Contact, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.contacts[customerID], nil
}

// SetContact implements bot.Records.
func (r *Records) SetContact(_ context.Context, customerID string, c bot.Contact) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.contacts[customerID]
	if c.Conv != "" {
		cur.Conv = c.Conv
	}
	if c.Notify != "" {
		cur.Notify = c.Notify
	}
	r.contacts[customerID] = cur
	return nil
}

// Unlink implements bot.Records.
func (r *Records) Unlink(_ context.Context, customerID, conv string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur := r.contacts[customerID]; cur.Conv == conv {
		cur.Conv = ""
		r.contacts[customerID] = cur
	}
	return nil
}
