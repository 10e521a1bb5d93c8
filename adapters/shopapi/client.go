// Package shopapi serves parcelbot's shop data from the shop's own REST API
// (docs/shop-api.yaml): it implements bot.Shop and bot.ShopWriter. The wire
// types, the HTTP client and a strict server interface (which the fake in
// shopapitest implements) are generated from that spec by oapi-codegen into
// api.gen.go (`make generate`; `make lint` fails when it is stale). Requests
// carry a bearer token and a timeout; every write carries an
// Idempotency-Key, so reads and writes alike are retried with backoff on
// 429, 5xx and network errors; after repeated failures a circuit breaker
// (sony/gobreaker) fails calls at once for a while, then lets one trial call
// through, so a down shop costs customers no waiting. HTTP errors become the domain's
// error codes (404 ENOTFOUND, 400 EINVALID, 409 ECONFLICT, else
// EUNAVAILABLE).
package shopapi

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../../docs/shop-api.yaml
//go:generate sh -c "printf '\\n//lint:file-ignore ST1005 the generator capitalises its error strings\\n' >> api.gen.go"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/sony/gobreaker/v2"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

// Config configures the client.
type Config struct {
	URL       string        // SHOP_API_URL, e.g. https://shop.example.com/parcelbot/v1
	Token     domain.Secret // SHOP_API_TOKEN
	Timeout   time.Duration // per request, default 5s
	Retries   int           // extra attempts (reads, and writes with their Idempotency-Key), default 2
	Backoff   time.Duration // first retry wait, default 100ms
	Breaker   int           // consecutive failures that open the breaker, default 5
	Cooldown  time.Duration // how long it stays open, default 10s
	Transport http.RoundTripper
}

// Client is the shop API client: the generated client (api.gen.go) over a
// transport that adds the token, the per-attempt timeout, the retries and
// the circuit breaker.
type Client struct {
	cfg  Config
	http *http.Client
	api  *ClientWithResponses

	breaker *gobreaker.CircuitBreaker[*http.Response]
}

var (
	_ bot.Shop       = (*Client)(nil)
	_ bot.ShopWriter = (*Client)(nil)
)

// New returns a client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("shop API: SHOP_API_URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Token == "" {
		return nil, errors.New("shop API: SHOP_API_TOKEN is required")
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = 2
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	if cfg.Breaker <= 0 {
		cfg.Breaker = 5
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = 10 * time.Second
	}
	c := &Client{cfg: cfg, http: &http.Client{Transport: cfg.Transport}}
	// sony/gobreaker: open after Breaker consecutive failures, for
	// Cooldown; then half-open lets exactly one call through, whose result
	// closes or reopens it. An answer of the shop that is not its failure
	// (404, 409, 400) counts as a success.
	c.breaker = gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name: "shop", MaxRequests: 1, Timeout: cfg.Cooldown,
		ReadyToTrip:  func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= uint32(cfg.Breaker) },
		IsSuccessful: func(err error) bool { return err == nil || shopAnswered(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
	})
	api, err := NewClientWithResponses(cfg.URL+"/", WithHTTPClient(doer{c}), WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+cfg.Token.Reveal())
		req.Header.Set("Accept", "application/json")
		return nil
	}))
	if err != nil {
		return nil, fmt.Errorf("shop API: %w", err)
	}
	c.api = api
	return c, nil
}

// ErrBreakerOpen is returned while the circuit breaker is open (or
// half-open with its one trial call under way).
var ErrBreakerOpen = errors.New("shop API: circuit breaker open after repeated failures")

// shopAnswered reports whether err is an answer of a working shop (a 4xx
// other than 429): not a failure of the shop.
func shopAnswered(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.status < 500 && ae.status != http.StatusTooManyRequests
}

// apiError is an HTTP error answer.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.msg) }

// failed is the answer of a shop that did not do its work (429, 5xx).
func failed(status int) bool { return status == http.StatusTooManyRequests || status >= 500 }

// retryable reports whether a request may be tried again.
func retryable(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return failed(ae.status)
	}
	return !errors.Is(err, context.Canceled)
}

// domainErr maps an error to the domain's codes.
func domainErr(op string, err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.status {
		case http.StatusNotFound:
			return &domain.Error{Code: domain.ENOTFOUND, Key: "error.order_not_found", Op: op, Err: err}
		case http.StatusBadRequest, http.StatusUnprocessableEntity:
			return &domain.Error{Code: domain.EINVALID, Op: op, Err: err}
		case http.StatusConflict:
			return &domain.Error{Code: domain.ECONFLICT, Op: op, Err: err}
		case http.StatusUnauthorized, http.StatusForbidden:
			return &domain.Error{Code: domain.EINTERNAL, Key: "error.unavailable", Op: op, Err: err}
		}
	}
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		err = ErrBreakerOpen
	}
	return &domain.Error{Code: domain.EUNAVAILABLE, Key: "error.unavailable", Op: op, Err: err}
}

// doer is the generated client's transport: every request goes through
// the circuit breaker and is retried with backoff on 429, 5xx and network
// errors. Reads may be repeated; every write carries an Idempotency-Key,
// so the shop applies a repeated one once. A 429 or 5xx that outlasts the
// retries is returned as an error (the breaker counts it); any other
// answer is returned as the response, its body read in full.
type doer struct{ c *Client }

func (d doer) Do(req *http.Request) (*http.Response, error) {
	return d.c.breaker.Execute(func() (*http.Response, error) { return d.c.attempts(req) })
}

func (c *Client) attempts(req *http.Request) (*http.Response, error) {
	wait := c.cfg.Backoff
	var err error
	for i := 0; i <= c.cfg.Retries; i++ {
		if i > 0 {
			select {
			case <-req.Context().Done():
				return nil, req.Context().Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		var resp *http.Response
		if resp, err = c.once(req); err == nil || !retryable(err) {
			return resp, err
		}
	}
	return nil, err
}

// once sends one attempt with its own timeout and reads the whole answer.
func (c *Client) once(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), c.cfg.Timeout)
	defer cancel()
	r := req.Clone(ctx)
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = b
	}
	resp, err := c.http.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if failed(resp.StatusCode) {
		return nil, statusErr(resp.StatusCode, b)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

func statusErr(status int, body []byte) error {
	var e Error
	_ = json.Unmarshal(body, &e)
	return &apiError{status: status, msg: e.Error}
}

// answer is what every generated response has.
type answer interface {
	StatusCode() int
	GetBody() []byte
}

// check turns a generated call's outcome into nil or a domain error: a
// transport error, an answer other than want, or want without its body.
func check(op string, r answer, err error, want int, hasBody bool) error {
	switch {
	case err != nil:
		return domainErr(op, err)
	case r.StatusCode() != want:
		return domainErr(op, statusErr(r.StatusCode(), r.GetBody()))
	case !hasBody:
		return domainErr(op, &apiError{status: http.StatusBadGateway, msg: "the shop's answer has no JSON body"})
	}
	return nil
}

// needKey refuses a write without its idempotency key.
func needKey(op, key string) error {
	if key == "" {
		return fmt.Errorf("%s: a write needs an idempotency key", op)
	}
	return nil
}

// Order implements bot.Shop.
func (c *Client) Order(ctx context.Context, number string) (*domain.Order, error) {
	r, err := c.api.GetOrderWithResponse(ctx, number)
	if err := check("get order", r, err, http.StatusOK, r != nil && r.JSON200 != nil); err != nil {
		return nil, err
	}
	return r.JSON200.toDomain()
}

// Customer implements bot.Shop.
func (c *Client) Customer(ctx context.Context, id string) (*domain.Customer, error) {
	r, err := c.api.GetCustomerWithResponse(ctx, id)
	if err := check("get customer", r, err, http.StatusOK, r != nil && r.JSON200 != nil); err != nil {
		return nil, err
	}
	return r.JSON200.toDomain(), nil
}

// RecentOrders implements bot.Shop.
func (c *Client) RecentOrders(ctx context.Context, customerID string, limit int) ([]*domain.Order, error) {
	r, err := c.api.ListCustomerOrdersWithResponse(ctx, customerID, &ListCustomerOrdersParams{Limit: min(max(limit, 1), 20)})
	if err := check("list customer orders", r, err, http.StatusOK, r != nil && r.JSON200 != nil); err != nil {
		return nil, err
	}
	out := make([]*domain.Order, 0, len(*r.JSON200))
	for i := range *r.JSON200 {
		o, err := (*r.JSON200)[i].toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Places implements bot.Shop.
func (c *Client) Places(ctx context.Context, lat, lon, radiusKM float64) ([]domain.Locker, error) {
	r, err := c.api.ListPlacesWithResponse(ctx, &ListPlacesParams{Lat: lat, Lon: lon, RadiusKm: radiusKM})
	if err := check("list places", r, err, http.StatusOK, r != nil && r.JSON200 != nil); err != nil {
		return nil, err
	}
	out := make([]domain.Locker, len(*r.JSON200))
	for i := range *r.JSON200 {
		out[i] = (*r.JSON200)[i].toDomain()
	}
	return out, nil
}

// Place implements bot.Shop.
func (c *Client) Place(ctx context.Context, id string) (*domain.Locker, error) {
	r, err := c.api.GetPlaceWithResponse(ctx, id)
	if err := check("get place", r, err, http.StatusOK, r != nil && r.JSON200 != nil); err != nil {
		return nil, err
	}
	l := r.JSON200.toDomain()
	return &l, nil
}

// Locate implements bot.Shop.
func (c *Client) Locate(ctx context.Context, query string) (float64, float64, error) {
	r, err := c.api.LocateWithResponse(ctx, &LocateParams{Q: query})
	if err := check("locate", r, err, http.StatusOK, r != nil && r.JSON200 != nil); err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return 0, 0, &domain.Error{Code: domain.ENOTFOUND, Key: "locker.place_unknown", Op: "locate", Err: err}
		}
		return 0, 0, err
	}
	return r.JSON200.Lat, r.JSON200.Lon, nil
}

// PastClaims implements bot.Shop.
func (c *Client) PastClaims(ctx context.Context, customerID string) ([]time.Time, error) {
	r, err := c.api.GetCustomerWithResponse(ctx, customerID)
	if err := check("get customer", r, err, http.StatusOK, r != nil && r.JSON200 != nil); err != nil {
		return nil, err
	}
	return r.JSON200.Claims, nil
}

// ExtendMembership implements bot.ShopWriter.
func (c *Client) ExtendMembership(ctx context.Context, customerID, order, key string, at time.Time) (time.Time, error) {
	if err := needKey("extend membership", key); err != nil {
		return time.Time{}, err
	}
	r, err := c.api.ExtendMembershipWithResponse(ctx, customerID, &ExtendMembershipParams{IdempotencyKey: key}, ExtensionRequest{Order: order, At: at})
	if err := check("extend membership", r, err, http.StatusOK, r != nil && r.JSON200 != nil); err != nil {
		return time.Time{}, err
	}
	return r.JSON200.Renewal, nil
}

// Redirect implements bot.ShopWriter.
func (c *Client) Redirect(ctx context.Context, order, placeID, key string) error {
	if err := needKey("redirect order", key); err != nil {
		return err
	}
	r, err := c.api.RedirectOrderWithResponse(ctx, order, &RedirectOrderParams{IdempotencyKey: key}, RedirectRequest{PlaceID: placeID})
	return check("redirect order", r, err, http.StatusNoContent, true)
}

// OpenInvestigation implements bot.ShopWriter.
func (c *Client) OpenInvestigation(ctx context.Context, order, caseID, key string) error {
	if err := needKey("open investigation", key); err != nil {
		return err
	}
	r, err := c.api.OpenInvestigationWithResponse(ctx, order, &OpenInvestigationParams{IdempotencyKey: key}, InvestigationRequest{CaseID: caseID})
	return check("open investigation", r, err, http.StatusNoContent, true)
}

// Resolve implements bot.ShopWriter.
func (c *Client) Resolve(ctx context.Context, order string, how domain.Resolution, key string) error {
	if err := needKey("resolve order", key); err != nil {
		return err
	}
	r, err := c.api.ResolveOrderWithResponse(ctx, order, &ResolveOrderParams{IdempotencyKey: key}, ResolutionRequest{How: ResolutionRequestHow(how)})
	return check("resolve order", r, err, http.StatusNoContent, true)
}

// ChangeDelivery implements bot.ShopWriter.
func (c *Client) ChangeDelivery(ctx context.Context, order string, ch domain.DeliveryChange, key string) error {
	if err := needKey("change delivery", key); err != nil {
		return err
	}
	body := DeliveryChange{Address: ch.Address}
	if !ch.Day.IsZero() {
		// the day as a date in the address's zone, as the caller gave it
		body.Day = openapi_types.Date{Time: time.Date(ch.Day.Year(), ch.Day.Month(), ch.Day.Day(), 0, 0, 0, 0, time.UTC)}
	}
	r, err := c.api.ChangeDeliveryWithResponse(ctx, order, &ChangeDeliveryParams{IdempotencyKey: key}, body)
	return check("change delivery", r, err, http.StatusNoContent, true)
}

// ReportLockerDefect implements bot.ShopWriter.
func (c *Client) ReportLockerDefect(ctx context.Context, lockerID, order, note, key string) error {
	if err := needKey("report defect", key); err != nil {
		return err
	}
	r, err := c.api.ReportDefectWithResponse(ctx, lockerID, &ReportDefectParams{IdempotencyKey: key}, DefectRequest{Order: order, Note: note})
	return check("report defect", r, err, http.StatusNoContent, true)
}
