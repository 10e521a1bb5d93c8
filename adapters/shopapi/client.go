// Package shopapi serves parcelbot's shop data from the shop's own REST API
// (docs/shop-api.yaml): it implements bot.Shop and bot.ShopWriter. Requests
// carry a bearer token and a timeout; every write carries an
// Idempotency-Key, so reads and writes alike are retried with backoff on
// 429, 5xx and network errors; after repeated failures a circuit breaker
// (sony/gobreaker) fails calls at once for a while, then lets one trial call
// through, so a down shop costs customers no waiting. HTTP errors become the domain's
// error codes (404 ENOTFOUND, 400 EINVALID, 409 ECONFLICT, else
// EUNAVAILABLE).
package shopapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// Client is the shop API client.
type Client struct {
	cfg  Config
	http *http.Client

	breaker *gobreaker.CircuitBreaker[struct{}]
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
	c.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name: "shop", MaxRequests: 1, Timeout: cfg.Cooldown,
		ReadyToTrip:  func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= uint32(cfg.Breaker) },
		IsSuccessful: func(err error) bool { return err == nil || shopAnswered(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
	})
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

// retryable reports whether a read may be tried again.
func retryable(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status == http.StatusTooManyRequests || ae.status >= 500
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
	return &domain.Error{Code: domain.EUNAVAILABLE, Key: "error.unavailable", Op: op, Err: err}
}

// do makes one request through the circuit breaker. Reads, and writes
// (which always carry an Idempotency-Key, so the shop applies a repeated
// one once), are retried with backoff on 429, 5xx and network errors.
func (c *Client) do(ctx context.Context, method, path string, body any, idemKey string, out any) error {
	op := method + " " + strings.SplitN(path, "?", 2)[0]
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		payload = b
	}
	if method != http.MethodGet && idemKey == "" {
		return fmt.Errorf("%s: a write needs an idempotency key", op)
	}
	_, err := c.breaker.Execute(func() (struct{}, error) {
		return struct{}{}, c.attempts(ctx, method, path, payload, idemKey, out)
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		err = ErrBreakerOpen
	}
	if err != nil {
		return domainErr(op, err)
	}
	return nil
}

// attempts runs a request with the retry policy; the breaker sees its
// final result.
func (c *Client) attempts(ctx context.Context, method, path string, payload []byte, idemKey string, out any) error {
	wait := c.cfg.Backoff
	var err error
	for i := 0; i <= c.cfg.Retries; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		if err = c.once(ctx, method, path, payload, idemKey, out); err == nil || shopAnswered(err) || !retryable(err) {
			return err
		}
	}
	return err
}

func (c *Client) once(ctx context.Context, method, path string, payload []byte, idemKey string, out any) error {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(rctx, method, c.cfg.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token.Reveal())
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return &apiError{status: resp.StatusCode, msg: e.Error}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return &apiError{status: http.StatusBadGateway, msg: "bad JSON from the shop: " + err.Error()}
		}
	}
	return nil
}

// Order implements bot.Shop.
func (c *Client) Order(ctx context.Context, number string) (*domain.Order, error) {
	var o Order
	if err := c.do(ctx, http.MethodGet, "/orders/"+url.PathEscape(number), nil, "", &o); err != nil {
		return nil, err
	}
	return o.toDomain()
}

// Customer implements bot.Shop.
func (c *Client) Customer(ctx context.Context, id string) (*domain.Customer, error) {
	var cu Customer
	if err := c.do(ctx, http.MethodGet, "/customers/"+url.PathEscape(id), nil, "", &cu); err != nil {
		return nil, err
	}
	return cu.toDomain(), nil
}

// RecentOrders implements bot.Shop.
func (c *Client) RecentOrders(ctx context.Context, customerID string, limit int) ([]*domain.Order, error) {
	var os []Order
	if err := c.do(ctx, http.MethodGet, "/customers/"+url.PathEscape(customerID)+"/orders?limit="+strconv.Itoa(limit), nil, "", &os); err != nil {
		return nil, err
	}
	out := make([]*domain.Order, 0, len(os))
	for i := range os {
		o, err := os[i].toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Places implements bot.Shop.
func (c *Client) Places(ctx context.Context, lat, lon, radiusKM float64) ([]domain.Locker, error) {
	var ps []Place
	q := fmt.Sprintf("/places?lat=%g&lon=%g&radius_km=%g", lat, lon, radiusKM)
	if err := c.do(ctx, http.MethodGet, q, nil, "", &ps); err != nil {
		return nil, err
	}
	out := make([]domain.Locker, len(ps))
	for i := range ps {
		out[i] = ps[i].toDomain()
	}
	return out, nil
}

// Place implements bot.Shop.
func (c *Client) Place(ctx context.Context, id string) (*domain.Locker, error) {
	var p Place
	if err := c.do(ctx, http.MethodGet, "/places/"+url.PathEscape(id), nil, "", &p); err != nil {
		return nil, err
	}
	l := p.toDomain()
	return &l, nil
}

// Locate implements bot.Shop.
func (c *Client) Locate(ctx context.Context, query string) (float64, float64, error) {
	var pt struct{ Lat, Lon float64 }
	if err := c.do(ctx, http.MethodGet, "/locate?q="+url.QueryEscape(query), nil, "", &pt); err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return 0, 0, &domain.Error{Code: domain.ENOTFOUND, Key: "locker.place_unknown", Op: "locate", Err: err}
		}
		return 0, 0, err
	}
	return pt.Lat, pt.Lon, nil
}

// PastClaims implements bot.Shop.
func (c *Client) PastClaims(ctx context.Context, customerID string) ([]time.Time, error) {
	var cu Customer
	if err := c.do(ctx, http.MethodGet, "/customers/"+url.PathEscape(customerID), nil, "", &cu); err != nil {
		return nil, err
	}
	return cu.Claims, nil
}

// ExtendMembership implements bot.ShopWriter.
func (c *Client) ExtendMembership(ctx context.Context, customerID, order, key string, at time.Time) (time.Time, error) {
	var r struct {
		Renewal time.Time `json:"renewal"`
	}
	err := c.do(ctx, http.MethodPost, "/customers/"+url.PathEscape(customerID)+"/membership/extensions",
		map[string]any{"order": order, "at": at}, key, &r)
	return r.Renewal, err
}

// Redirect implements bot.ShopWriter.
func (c *Client) Redirect(ctx context.Context, order, placeID, key string) error {
	return c.do(ctx, http.MethodPost, "/orders/"+url.PathEscape(order)+"/redirect", map[string]string{"place_id": placeID}, key, nil)
}

// OpenInvestigation implements bot.ShopWriter.
func (c *Client) OpenInvestigation(ctx context.Context, order, caseID, key string) error {
	return c.do(ctx, http.MethodPost, "/orders/"+url.PathEscape(order)+"/investigations", map[string]string{"case_id": caseID}, key, nil)
}

// Resolve implements bot.ShopWriter.
func (c *Client) Resolve(ctx context.Context, order string, how domain.Resolution, key string) error {
	return c.do(ctx, http.MethodPost, "/orders/"+url.PathEscape(order)+"/resolution", map[string]string{"how": string(how)}, key, nil)
}

// ChangeDelivery implements bot.ShopWriter.
func (c *Client) ChangeDelivery(ctx context.Context, order string, ch domain.DeliveryChange, key string) error {
	body := map[string]string{}
	if ch.Address != "" {
		body["address"] = ch.Address
	}
	if !ch.Day.IsZero() {
		body["day"] = ch.Day.Format("2006-01-02")
	}
	return c.do(ctx, http.MethodPost, "/orders/"+url.PathEscape(order)+"/delivery", body, key, nil)
}

// ReportLockerDefect implements bot.ShopWriter.
func (c *Client) ReportLockerDefect(ctx context.Context, lockerID, order, note, key string) error {
	return c.do(ctx, http.MethodPost, "/places/"+url.PathEscape(lockerID)+"/defects", map[string]string{"order": order, "note": note}, key, nil)
}
