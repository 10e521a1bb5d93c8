// Package shopapitest is an in-process fake of the shop API
// (docs/shop-api.yaml) serving demo data. It implements the strict server
// interface generated from the spec (shopapi.StrictServerInterface), so its
// routes, parameters and bodies are the spec's; it checks the bearer token,
// requires and honours Idempotency-Key on writes (a repeated key replays the
// first answer), counts the writes it applied, and can fail on demand.
package shopapitest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/adapters/shopapi"
	"github.com/parcelbot/parcelbot/domain"
)

// Fake is the fake shop API.
type Fake struct {
	*httptest.Server
	Data  *demo.Data
	Token string

	mu      sync.Mutex
	replies map[string]any // idempotency key → first answer
	fail    int            // next calls answer 503
	calls   int
	writes  int
	hold    chan struct{} // requests wait on it while set
	held    int
	cond    *sync.Cond
}

var _ shopapi.StrictServerInterface = (*Fake)(nil)

// New starts a fake serving data with token.
func New(data *demo.Data, token string) *Fake {
	f := &Fake{Data: data, Token: token, replies: map[string]any{}}
	f.cond = sync.NewCond(&f.mu)
	strict := shopapi.NewStrictHandlerWithOptions(f, []shopapi.StrictMiddlewareFunc{f.idempotent}, shopapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeErr(w, http.StatusBadRequest, err.Error())
		},
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) { fail(w, err) },
	})
	h := shopapi.HandlerWithOptions(strict, shopapi.StdHTTPServerOptions{
		ErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) {
			writeErr(w, http.StatusBadRequest, err.Error())
		},
	})
	f.Server = httptest.NewServer(f.guard(h))
	return f
}

// Fail makes the next n calls answer 503.
func (f *Fake) Fail(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = n
}

// Calls returns how many requests reached the fake.
func (f *Fake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Hold makes requests wait at the fake until Release (to observe what a
// client does while a call is under way).
func (f *Fake) Hold() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = make(chan struct{})
}

// WaitHeld waits until n requests are waiting at the fake.
func (f *Fake) WaitHeld(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.held < n {
		f.cond.Wait()
	}
}

// Release lets the held requests go on.
func (f *Fake) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hold != nil {
		close(f.hold)
		f.hold = nil
	}
}

// Writes returns how many writes were applied (replays not counted).
func (f *Fake) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

func (f *Fake) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls++
		failing := f.fail > 0
		if failing {
			f.fail--
		}
		hold := f.hold
		if hold != nil {
			f.held++
			f.cond.Broadcast()
		}
		f.mu.Unlock()
		if hold != nil {
			<-hold
			f.mu.Lock()
			f.held--
			f.mu.Unlock()
		}
		if r.Header.Get("Authorization") != "Bearer "+f.Token {
			writeErr(w, http.StatusUnauthorized, "bad token")
			return
		}
		if failing {
			writeErr(w, http.StatusServiceUnavailable, "down for maintenance")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeErr(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(shopapi.Error{Error: msg})
}

// fail answers a domain error with the spec's status for it.
func fail(w http.ResponseWriter, err error) {
	switch domain.ErrorCode(err) {
	case domain.ENOTFOUND:
		writeErr(w, http.StatusNotFound, "not found")
	case domain.EINVALID:
		writeErr(w, http.StatusBadRequest, "invalid: "+err.Error())
	case domain.ECONFLICT:
		writeErr(w, http.StatusConflict, "conflict")
	default:
		writeErr(w, http.StatusInternalServerError, "internal")
	}
}

// invalid is a request the spec forbids (answered 400).
func invalid(msg string) error { return domain.Errorf(domain.EINVALID, "", "%s", msg) }

var writes = map[string]bool{"ExtendMembership": true, "ChangeDelivery": true, "OpenInvestigation": true,
	"RedirectOrder": true, "ResolveOrder": true, "ReportDefect": true}

// idempotent makes every write apply once per Idempotency-Key: a repeated
// key gets the first answer again (the route already refused a write
// without the header).
func (f *Fake) idempotent(next shopapi.StrictHandlerFunc, op string) shopapi.StrictHandlerFunc {
	if !writes[op] {
		return next
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		key := op + "\x00" + r.Header.Get("Idempotency-Key")
		f.mu.Lock()
		prev, ok := f.replies[key]
		f.mu.Unlock()
		if ok {
			return prev, nil
		}
		out, err := next(ctx, w, r, req)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		f.replies[key] = out
		f.writes++
		f.mu.Unlock()
		return out, nil
	}
}

// GetOrder implements shopapi.StrictServerInterface.
func (f *Fake) GetOrder(ctx context.Context, req shopapi.GetOrderRequestObject) (shopapi.GetOrderResponseObject, error) {
	o, err := f.Data.Order(ctx, req.Number)
	if err != nil {
		return nil, err
	}
	return shopapi.GetOrder200JSONResponse(shopapi.FromDomainOrder(o)), nil
}

// GetCustomer implements shopapi.StrictServerInterface.
func (f *Fake) GetCustomer(ctx context.Context, req shopapi.GetCustomerRequestObject) (shopapi.GetCustomerResponseObject, error) {
	c, err := f.Data.Customer(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	claims, err := f.Data.PastClaims(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return shopapi.GetCustomer200JSONResponse(shopapi.FromDomainCustomer(c, claims)), nil
}

// ListCustomerOrders implements shopapi.StrictServerInterface.
func (f *Fake) ListCustomerOrders(ctx context.Context, req shopapi.ListCustomerOrdersRequestObject) (shopapi.ListCustomerOrdersResponseObject, error) {
	limit := req.Params.Limit
	if limit == 0 {
		limit = 5
	}
	if limit < 1 || limit > 20 {
		return nil, invalid("limit is 1 to 20")
	}
	os, err := f.Data.RecentOrders(ctx, req.ID, limit)
	if err != nil {
		return nil, err
	}
	out := make(shopapi.ListCustomerOrders200JSONResponse, len(os))
	for i, o := range os {
		out[i] = shopapi.FromDomainOrder(o)
	}
	return out, nil
}

// ListPlaces implements shopapi.StrictServerInterface.
func (f *Fake) ListPlaces(ctx context.Context, req shopapi.ListPlacesRequestObject) (shopapi.ListPlacesResponseObject, error) {
	p := req.Params
	if !domain.ValidCoordinates(p.Lat, p.Lon) || p.RadiusKm < 0 || p.RadiusKm > 100 {
		return nil, invalid("lat, lon or radius_km out of range")
	}
	ps, err := f.Data.Places(ctx, p.Lat, p.Lon, p.RadiusKm)
	if err != nil {
		return nil, err
	}
	out := make(shopapi.ListPlaces200JSONResponse, len(ps))
	for i, l := range ps {
		out[i] = shopapi.FromDomainPlace(l)
	}
	return out, nil
}

// GetPlace implements shopapi.StrictServerInterface.
func (f *Fake) GetPlace(ctx context.Context, req shopapi.GetPlaceRequestObject) (shopapi.GetPlaceResponseObject, error) {
	p, err := f.Data.Place(ctx, req.ID)
	if err != nil {
		return nil, err
	}
	return shopapi.GetPlace200JSONResponse(shopapi.FromDomainPlace(*p)), nil
}

// Locate implements shopapi.StrictServerInterface.
func (f *Fake) Locate(ctx context.Context, req shopapi.LocateRequestObject) (shopapi.LocateResponseObject, error) {
	lat, lon, err := f.Data.Locate(ctx, req.Params.Q)
	if err != nil {
		return nil, err
	}
	return shopapi.Locate200JSONResponse{Lat: lat, Lon: lon}, nil
}

// RedirectOrder implements shopapi.StrictServerInterface.
func (f *Fake) RedirectOrder(ctx context.Context, req shopapi.RedirectOrderRequestObject) (shopapi.RedirectOrderResponseObject, error) {
	if err := f.Data.Redirect(ctx, req.Number, req.Body.PlaceID, req.Params.IdempotencyKey); err != nil {
		return nil, err
	}
	return shopapi.RedirectOrder204Response{}, nil
}

// OpenInvestigation implements shopapi.StrictServerInterface.
func (f *Fake) OpenInvestigation(ctx context.Context, req shopapi.OpenInvestigationRequestObject) (shopapi.OpenInvestigationResponseObject, error) {
	if req.Body.CaseID == "" {
		return nil, invalid("case_id is required")
	}
	if err := f.Data.OpenInvestigation(ctx, req.Number, req.Body.CaseID, req.Params.IdempotencyKey); err != nil {
		return nil, err
	}
	return shopapi.OpenInvestigation204Response{}, nil
}

// ResolveOrder implements shopapi.StrictServerInterface.
func (f *Fake) ResolveOrder(ctx context.Context, req shopapi.ResolveOrderRequestObject) (shopapi.ResolveOrderResponseObject, error) {
	if !req.Body.How.Valid() {
		return nil, invalid("how is refund or replacement")
	}
	if err := f.Data.Resolve(ctx, req.Number, domain.Resolution(req.Body.How), req.Params.IdempotencyKey); err != nil {
		return nil, err
	}
	return shopapi.ResolveOrder204Response{}, nil
}

// ExtendMembership implements shopapi.StrictServerInterface.
func (f *Fake) ExtendMembership(ctx context.Context, req shopapi.ExtendMembershipRequestObject) (shopapi.ExtendMembershipResponseObject, error) {
	renewal, err := f.Data.ExtendMembership(ctx, req.ID, req.Body.Order, req.Params.IdempotencyKey, req.Body.At)
	if err != nil {
		return nil, err
	}
	return shopapi.ExtendMembership200JSONResponse{Renewal: renewal}, nil
}

// ChangeDelivery implements shopapi.StrictServerInterface: exactly one of
// address and day, the day read in the delivery address's zone.
func (f *Fake) ChangeDelivery(ctx context.Context, req shopapi.ChangeDeliveryRequestObject) (shopapi.ChangeDeliveryResponseObject, error) {
	b := req.Body
	if (b.Address == "") == b.Day.IsZero() {
		return nil, invalid("exactly one of address and day")
	}
	ch := domain.DeliveryChange{Address: b.Address}
	if !b.Day.IsZero() {
		o, err := f.Data.Order(ctx, req.Number)
		if err != nil {
			return nil, err
		}
		ch.Day = time.Date(b.Day.Year(), b.Day.Month(), b.Day.Day(), 0, 0, 0, 0, o.Address.Location())
	}
	if err := f.Data.ChangeDelivery(ctx, req.Number, ch, req.Params.IdempotencyKey); err != nil {
		return nil, err
	}
	return shopapi.ChangeDelivery204Response{}, nil
}

// ReportDefect implements shopapi.StrictServerInterface.
func (f *Fake) ReportDefect(ctx context.Context, req shopapi.ReportDefectRequestObject) (shopapi.ReportDefectResponseObject, error) {
	if err := f.Data.ReportLockerDefect(ctx, req.ID, req.Body.Order, req.Body.Note, req.Params.IdempotencyKey); err != nil {
		return nil, err
	}
	return shopapi.ReportDefect204Response{}, nil
}
