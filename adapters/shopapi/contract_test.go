package shopapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/adapters/shopapi"
	"github.com/parcelbot/parcelbot/adapters/shopapi/shopapitest"
	"github.com/parcelbot/parcelbot/domain"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*shopapi.Client, *shopapitest.Fake, *demo.Data) {
	t.Helper()
	d, err := demo.Default(now)
	if err != nil {
		t.Fatal(err)
	}
	f := shopapitest.New(d, "shop-token")
	t.Cleanup(f.Close)
	c, err := shopapi.New(shopapi.Config{URL: f.URL, Token: "shop-token", Backoff: time.Millisecond, Cooldown: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c, f, d
}

// The adapter returns what the shop holds: the same orders, customers and
// places as reading the data directly.
func TestContractReads(t *testing.T) {
	c, _, d := setup(t)
	ctx := context.Background()
	for _, n := range []string{"302-1001111-4007777", "403-1012221-4085547", "405-1016665-4116655", "206-1011110-4077770", "302-1019998-4139986"} {
		want, _ := d.Order(ctx, n)
		got, err := c.Order(ctx, n)
		if err != nil {
			t.Fatalf("order %s: %v", n, err)
		}
		if got.Number != want.Number || got.Shipment.Status != want.Shipment.Status || !got.Shipment.Promised.Equal(want.Shipment.Promised) ||
			got.Total != want.Total || got.Address.Location().String() != want.Address.Location().String() ||
			len(got.Items) != len(want.Items) || (want.Shipment.Password != nil) != (got.Shipment.Password != nil) ||
			(want.Shipment.Delivery != nil && got.Shipment.Delivery.Place != want.Shipment.Delivery.Place) || got.Shipment.LockerID != want.Shipment.LockerID {
			t.Errorf("order %s differs:\n got %+v\nwant %+v", n, got, want)
		}
	}
	if _, err := c.Order(ctx, "999-9999999-9999999"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown order: %v", err)
	}
	cu, err := c.Customer(ctx, "C-1008")
	if err != nil || cu.Membership.Plan != domain.PlanMonthly || len(cu.Membership.Extensions) != 12 {
		t.Errorf("customer: %+v %v", cu, err)
	}
	recent, err := c.RecentOrders(ctx, "C-1001", 3)
	want, _ := d.RecentOrders(ctx, "C-1001", 3)
	if err != nil || len(recent) != 3 || recent[0].Number != want[0].Number {
		t.Errorf("recent: %v %v", recent, err)
	}
	lat, lon, err := c.Locate(ctx, "Paris")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.Places(ctx, lat, lon, 10)
	wps, _ := d.Places(ctx, lat, lon, 10)
	if err != nil || len(ps) != len(wps) || !reflect.DeepEqual(ps[0], wps[0]) {
		t.Errorf("places: %d vs %d, %v", len(ps), len(wps), err)
	}
	if _, _, err := c.Locate(ctx, "Atlantis"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown place: %v", err)
	}
	claims, err := c.PastClaims(ctx, "C-1011")
	if err != nil || len(claims) != 2 {
		t.Errorf("claims: %v %v", claims, err)
	}
}

// Writes carry idempotency keys: the same key twice applies once.
func TestContractWritesAreIdempotent(t *testing.T) {
	c, f, _ := setup(t)
	ctx := context.Background()
	r1, err := c.ExtendMembership(ctx, "C-1001", "302-1004444-4031108", "comp:302-1004444-4031108", now)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.ExtendMembership(ctx, "C-1001", "302-1004444-4031108", "comp:302-1004444-4031108", now.Add(time.Hour))
	if err != nil || !r1.Equal(r2) {
		t.Fatalf("second extension: %v %v (first %v)", r2, err, r1)
	}
	for i := 0; i < 2; i++ {
		if err := c.Resolve(ctx, "302-1013332-4093324", domain.ResolveRefund, "resolve:PB-X"); err != nil {
			t.Fatal(err)
		}
		if err := c.Redirect(ctx, "302-1019998-4139986", "DE-BER-1", "redirect:1"); err != nil {
			t.Fatal(err)
		}
		if err := c.OpenInvestigation(ctx, "302-1012221-4085547", "PB-Y", "investigate:PB-Y"); err != nil {
			t.Fatal(err)
		}
		if err := c.ReportLockerDefect(ctx, "DE-BER-2", "302-1022220-4155540", "stuck", "defect:1"); err != nil {
			t.Fatal(err)
		}
		// not dispatched: a new address; on its way: a new day
		if err := c.ChangeDelivery(ctx, "302-1017776-4124432", domain.DeliveryChange{Address: "Musterstraße 5, 10115 Berlin"}, "address:1"); err != nil {
			t.Fatal(err)
		}
		if err := c.ChangeDelivery(ctx, "302-1001111-4007777", domain.DeliveryChange{Day: now.AddDate(0, 0, 2)}, "redeliver:1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Writes(); n != 7 {
		t.Fatalf("%d writes applied, want 7 (each once)", n)
	}
	o, err := c.Order(ctx, "302-1001111-4007777")
	if err != nil || o.Shipment.Estimate.Format("2006-01-02") != now.AddDate(0, 0, 2).Format("2006-01-02") {
		t.Errorf("redelivery day not applied: %v %v", o.Shipment.Estimate, err)
	}
	// once on its way the address can no longer change: 409, a conflict
	if err := c.ChangeDelivery(ctx, "302-1001111-4007777", domain.DeliveryChange{Address: "Elsewhere 1, 10115 Berlin"}, "address:2"); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Errorf("address change in transit: %v, want a conflict", err)
	}
	if err := c.Resolve(ctx, "999-0000000-0000000", domain.ResolveRefund, "resolve:none"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown order: %v", err)
	}
}

// Reads and writes are retried on 503; a retried write carries the same
// Idempotency-Key, so the shop applies it once.
func TestReadsAndWritesRetryWithTheirKey(t *testing.T) {
	c, f, _ := setup(t)
	ctx := context.Background()
	f.Fail(2)
	if _, err := c.Order(ctx, "302-1001111-4007777"); err != nil {
		t.Fatalf("a read should survive two 503s: %v", err)
	}
	before, writes := f.Calls(), f.Writes()
	f.Fail(2)
	if err := c.Redirect(ctx, "302-1019998-4139986", "DE-BER-1", "redirect:x"); err != nil {
		t.Fatalf("a write should survive two 503s: %v", err)
	}
	if n := f.Calls() - before; n != 3 {
		t.Fatalf("a write was sent %d times, want 3 (two 503s, then applied)", n)
	}
	if n := f.Writes() - writes; n != 1 {
		t.Fatalf("%d writes applied, want 1", n)
	}
	// the same call again (a redelivered turn): the key makes it a replay
	if err := c.Redirect(ctx, "302-1019998-4139986", "DE-BER-1", "redirect:x"); err != nil || f.Writes()-writes != 1 {
		t.Fatalf("repeated write: %v, %d applied", err, f.Writes()-writes)
	}
	// three 503s: given up, unavailable
	f.Fail(3)
	if err := c.Redirect(ctx, "302-1019998-4139986", "DE-BER-2", "redirect:y"); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("write after three 503s: %v", err)
	}
}

// The breaker opens after five failed calls, fails at once while open, and
// after the cooldown lets exactly one trial call through (half-open): the
// others still fail at once until the trial succeeded.
func TestCircuitBreaker(t *testing.T) {
	c, f, _ := setup(t)
	ctx := context.Background()
	f.Fail(1000)
	for i := 0; i < 5; i++ {
		_, _ = c.Order(ctx, "302-1001111-4007777")
	}
	before := f.Calls()
	_, err := c.Order(ctx, "302-1001111-4007777")
	if domain.ErrorCode(err) != domain.EUNAVAILABLE || f.Calls() != before {
		t.Fatalf("open breaker: err %v, %d calls went out", err, f.Calls()-before)
	}
	// the cooldown (200 ms here) is a lower bound: a slow machine only
	// waits longer
	time.Sleep(250 * time.Millisecond)
	f.Fail(0)
	f.Hold() // the trial call waits at the shop
	trial := make(chan error, 1)
	go func() { _, err := c.Order(ctx, "302-1001111-4007777"); trial <- err }()
	f.WaitHeld(1)
	before = f.Calls()
	if _, err := c.Order(ctx, "302-1001111-4007777"); domain.ErrorCode(err) != domain.EUNAVAILABLE || f.Calls() != before {
		t.Fatalf("half-open: a second call went out (%v)", err)
	}
	f.Release()
	if err := <-trial; err != nil {
		t.Fatalf("the trial call: %v", err)
	}
	if _, err := c.Order(ctx, "302-1001111-4007777"); err != nil {
		t.Fatalf("after a good trial the breaker is closed: %v", err)
	}
}

func TestBadTokenAndURL(t *testing.T) {
	d, _ := demo.Default(now)
	f := shopapitest.New(d, "right")
	defer f.Close()
	c, _ := shopapi.New(shopapi.Config{URL: f.URL, Token: "wrong"})
	if _, err := c.Order(context.Background(), "302-1001111-4007777"); err == nil {
		t.Fatal("a wrong token was accepted")
	}
	for _, u := range []string{"", "ftp://x", "not a url"} {
		if _, err := shopapi.New(shopapi.Config{URL: u, Token: "t"}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
}

// The fake is the strict server generated from docs/shop-api.yaml: what
// the spec forbids it refuses, as a real shop following the spec would.
func TestServerFollowsTheSpec(t *testing.T) {
	_, f, _ := setup(t)
	for _, tc := range []struct {
		method, path, key, body string
		want                    int
	}{
		{"POST", "/orders/302-1019998-4139986/redirect", "", `{"place_id":"DE-BER-1"}`, 400}, // no Idempotency-Key
		{"POST", "/orders/302-1013332-4093324/resolution", "k1", `{"how":"gift"}`, 400},      // not in the enum
		{"POST", "/orders/302-1013332-4093324/resolution", "k2", `{"how":`, 400},             // broken JSON
		{"POST", "/orders/302-1012221-4085547/investigations", "k3", `{}`, 400},              // case_id required
		{"POST", "/orders/302-1017776-4124432/delivery", "k4", `{"address":"x","day":"2026-11-25"}`, 400},
		{"GET", "/places?lat=north&lon=13.4&radius_km=5", "", "", 400},
		{"GET", "/places?lat=52.5&lon=13.4", "", "", 400}, // radius_km required
		{"GET", "/customers/C-1001/orders?limit=50", "", "", 400},
		{"GET", "/orders/999-9999999-9999999", "", "", 404},
		{"GET", "/orders/302-1001111-4007777", "", "", 200},
	} {
		req, _ := http.NewRequest(tc.method, f.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer shop-token")
		req.Header.Set("Content-Type", "application/json")
		if tc.key != "" {
			req.Header.Set("Idempotency-Key", tc.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e shopapi.Error
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want >= 400 && e.Error == "") {
			t.Errorf("%s %s: %d %q, want %d with an error message", tc.method, tc.path, resp.StatusCode, e.Error, tc.want)
		}
	}
	if f.Writes() != 0 {
		t.Errorf("%d refused writes were applied", f.Writes())
	}
}

// Optional parts the shop leaves out stay absent: an order without a
// delivery or password has neither after the round trip, and the JSON the
// server sends has no empty objects for them.
func TestAbsentPartsStayAbsent(t *testing.T) {
	c, f, d := setup(t)
	ctx := context.Background()
	const n = "302-1019998-4139986" // in transit, no password
	want, _ := d.Order(ctx, n)
	if want.Shipment.Delivery != nil || want.Shipment.Password != nil || !want.Shipment.Estimate.IsZero() {
		t.Fatalf("demo order %s changed: pick another without delivery, password and estimate", n)
	}
	got, err := c.Order(ctx, n)
	if err != nil || got.Shipment.Delivery != nil || got.Shipment.Password != nil {
		t.Fatalf("order %s: delivery %v password %v (%v)", n, got.Shipment.Delivery, got.Shipment.Password, err)
	}
	req, _ := http.NewRequest("GET", f.URL+"/orders/"+n, nil)
	req.Header.Set("Authorization", "Bearer shop-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw struct{ Shipment map[string]json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || raw.Shipment == nil {
		t.Fatalf("no shipment in the order's JSON: %v", err)
	}
	for _, k := range []string{"delivery", "password", "estimate"} {
		if v, ok := raw.Shipment[k]; ok {
			t.Errorf("shipment.%s sent as %s", k, v)
		}
	}
}
