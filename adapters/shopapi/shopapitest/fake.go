// Package shopapitest is an in-process fake of the shop API
// (docs/shop-api.yaml) serving demo data: it checks the bearer token,
// requires and honours Idempotency-Key on writes (a repeated key replays the
// first answer), counts the writes it applied, and can fail on demand.
package shopapitest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	replies map[string][]byte // idempotency key → first answer
	fail    int               // next calls answer 503
	calls   int
	writes  int
	hold    chan struct{} // requests wait on it while set
	held    int
	cond    *sync.Cond
}

// New starts a fake serving data with token.
func New(data *demo.Data, token string) *Fake {
	f := &Fake{Data: data, Token: token, replies: map[string][]byte{}}
	f.cond = sync.NewCond(&f.mu)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{number}", f.order)
	mux.HandleFunc("GET /customers/{id}", f.customer)
	mux.HandleFunc("GET /customers/{id}/orders", f.recent)
	mux.HandleFunc("GET /places", f.places)
	mux.HandleFunc("GET /places/{id}", f.place)
	mux.HandleFunc("GET /locate", f.locate)
	mux.HandleFunc("POST /orders/{number}/redirect", f.write(func(r *http.Request, body map[string]string) (any, error) {
		return nil, data.Redirect(r.Context(), r.PathValue("number"), body["place_id"], r.Header.Get("Idempotency-Key"))
	}))
	mux.HandleFunc("POST /orders/{number}/investigations", f.write(func(r *http.Request, body map[string]string) (any, error) {
		return nil, data.OpenInvestigation(r.Context(), r.PathValue("number"), body["case_id"], r.Header.Get("Idempotency-Key"))
	}))
	mux.HandleFunc("POST /orders/{number}/resolution", f.write(func(r *http.Request, body map[string]string) (any, error) {
		return nil, data.Resolve(r.Context(), r.PathValue("number"), domain.Resolution(body["how"]), r.Header.Get("Idempotency-Key"))
	}))
	mux.HandleFunc("POST /customers/{id}/membership/extensions", f.write(func(r *http.Request, body map[string]string) (any, error) {
		at, _ := time.Parse(time.RFC3339, body["at"])
		renewal, err := data.ExtendMembership(r.Context(), r.PathValue("id"), body["order"], r.Header.Get("Idempotency-Key"), at)
		return map[string]time.Time{"renewal": renewal}, err
	}))
	mux.HandleFunc("POST /orders/{number}/delivery", f.write(func(r *http.Request, body map[string]string) (any, error) {
		ch := domain.DeliveryChange{Address: body["address"]}
		if body["day"] != "" {
			o, err := data.Order(r.Context(), r.PathValue("number"))
			if err != nil {
				return nil, err
			}
			day, err := time.ParseInLocation("2006-01-02", body["day"], o.Address.Location())
			if err != nil {
				return nil, &domain.Error{Code: domain.EINVALID, Op: "parse day", Err: err}
			}
			ch.Day = day
		}
		return nil, data.ChangeDelivery(r.Context(), r.PathValue("number"), ch, r.Header.Get("Idempotency-Key"))
	}))
	mux.HandleFunc("POST /places/{id}/defects", f.write(func(r *http.Request, body map[string]string) (any, error) {
		return nil, data.ReportLockerDefect(r.Context(), r.PathValue("id"), body["order"], body["note"], r.Header.Get("Idempotency-Key"))
	}))
	f.Server = httptest.NewServer(f.guard(mux))
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
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, err error) {
	switch domain.ErrorCode(err) {
	case domain.ENOTFOUND:
		writeErr(w, http.StatusNotFound, "not found")
	case domain.EINVALID:
		writeErr(w, http.StatusBadRequest, "invalid")
	case domain.ECONFLICT:
		writeErr(w, http.StatusConflict, "conflict")
	default:
		writeErr(w, http.StatusInternalServerError, "internal")
	}
}

func (f *Fake) order(w http.ResponseWriter, r *http.Request) {
	o, err := f.Data.Order(r.Context(), r.PathValue("number"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, shopapi.FromDomainOrder(o))
}

func (f *Fake) customer(w http.ResponseWriter, r *http.Request) {
	c, err := f.Data.Customer(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	claims, _ := f.Data.PastClaims(r.Context(), c.ID)
	writeJSON(w, shopapi.FromDomainCustomer(c, claims))
}

func (f *Fake) recent(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 5
	}
	os, _ := f.Data.RecentOrders(r.Context(), r.PathValue("id"), limit)
	out := make([]shopapi.Order, len(os))
	for i, o := range os {
		out[i] = shopapi.FromDomainOrder(o)
	}
	writeJSON(w, out)
}

func (f *Fake) places(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lat, err1 := strconv.ParseFloat(q.Get("lat"), 64)
	lon, err2 := strconv.ParseFloat(q.Get("lon"), 64)
	km, err3 := strconv.ParseFloat(q.Get("radius_km"), 64)
	if err1 != nil || err2 != nil || err3 != nil || !domain.ValidCoordinates(lat, lon) {
		writeErr(w, http.StatusBadRequest, "lat, lon and radius_km are numbers")
		return
	}
	ps, _ := f.Data.Places(r.Context(), lat, lon, km)
	out := make([]shopapi.Place, len(ps))
	for i, p := range ps {
		out[i] = shopapi.FromDomainPlace(p)
	}
	writeJSON(w, out)
}

func (f *Fake) place(w http.ResponseWriter, r *http.Request) {
	p, err := f.Data.Place(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, shopapi.FromDomainPlace(*p))
}

func (f *Fake) locate(w http.ResponseWriter, r *http.Request) {
	lat, lon, err := f.Data.Locate(r.Context(), r.URL.Query().Get("q"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, map[string]float64{"lat": lat, "lon": lon})
}

// write wraps a write: Idempotency-Key required; a repeated key replays.
func (f *Fake) write(apply func(*http.Request, map[string]string) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			writeErr(w, http.StatusBadRequest, "Idempotency-Key required")
			return
		}
		f.mu.Lock()
		if prev, ok := f.replies[key]; ok {
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(prev)
			return
		}
		f.mu.Unlock()
		var raw map[string]any
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
			writeErr(w, http.StatusBadRequest, "bad JSON")
			return
		}
		body := map[string]string{}
		for k, v := range raw {
			if s, ok := v.(string); ok {
				body[k] = s
			}
		}
		out, err := apply(r, body)
		if err != nil {
			fail(w, err)
			return
		}
		b, _ := json.Marshal(out)
		if out == nil {
			b = []byte("{}")
		}
		f.mu.Lock()
		f.replies[key] = b
		f.writes++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}
