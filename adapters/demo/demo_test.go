package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/domain"
)

var _ bot.Shop = (*Data)(nil)

var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestDefaultCoversEveryJourney(t *testing.T) {
	d, err := Default(testNow)
	if err != nil {
		t.Fatal(err)
	}
	orders, customers, places := d.Counts()
	if orders < 40 || places < 20 {
		t.Errorf("got %d orders and %d places, want at least 40 and 20", orders, places)
	}
	statuses := map[domain.ShipmentStatus]bool{}
	plans := map[domain.Plan]bool{}
	cities := map[string]bool{}
	countries := map[string]bool{}
	var defective, full, passwords, lateFree int
	for _, o := range d.orders {
		statuses[o.Shipment.Status] = true
		if o.Shipment.Password != nil {
			passwords++
		}
		if o.FreeShippingByMembership && domain.IsLate(o, testNow) {
			lateFree++
		}
	}
	for _, c := range d.customers {
		plans[c.Membership.Plan] = true
	}
	for _, p := range d.places {
		cities[p.City] = true
		countries[p.Country] = true
		if p.Status != domain.Operational {
			defective++
		}
		if p.Free == 0 {
			full++
		}
	}
	for _, s := range domain.Statuses {
		if !statuses[s] {
			t.Errorf("no order with status %s", s)
		}
	}
	for _, p := range []domain.Plan{domain.PlanNone, domain.PlanTrial, domain.PlanMonthly, domain.PlanAnnual} {
		if !plans[p] {
			t.Errorf("no customer on plan %s", p)
		}
	}
	if len(cities) < 6 || len(countries) < 4 || defective == 0 || full == 0 {
		t.Errorf("places: %d cities, %d countries, %d out of order, %d full", len(cities), len(countries), defective, full)
	}
	if passwords == 0 || lateFree == 0 || customers < 8 {
		t.Errorf("%d password orders, %d late free-shipping orders, %d customers", passwords, lateFree, customers)
	}
}

func TestRelativeTimes(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		in   string
		want time.Time
	}{
		{"-2d", testNow.AddDate(0, 0, -2)},
		{"+3h", testNow.Add(3 * time.Hour)},
		{"-1d2h", testNow.AddDate(0, 0, -1).Add(-2 * time.Hour)},
		{"0d@18:30", time.Date(2026, 11, 23, 18, 30, 0, 0, berlin)},
		{"-1d@09:00", time.Date(2026, 11, 22, 9, 0, 0, 0, berlin)},
		{"2026-12-01T08:00:00+01:00", time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		got, err := relTime(tc.in, testNow, berlin)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("relTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "2d", "-d", "+5x", "-1d@25:00", "--1d", "-99999999d"} {
		if _, err := relTime(bad, testNow, berlin); err == nil {
			t.Errorf("relTime(%q) accepted", bad)
		}
	}
}

func TestMalformedFileNamesLine(t *testing.T) {
	base := `customers:
  - id: C-1
    plan: none
lockers: []
orders:
  - number: 111-1111111-1111111
    customer: C-1
    placed: "-1d"
    currency: EUR
    items: [{sku: A, name: A, price: "1.00"}]
    address: {postcode: "10115", tz: Europe/Berlin}
    shipment:
      status: in_transit
      promised: "+1d"
`
	tests := []struct {
		name, from, to, want string
	}{
		{"bad status", "status: in_transit", "status: shiped", "x.yaml:13: orders[0].shipment.status: unknown status \"shiped\""},
		{"bad time", `promised: "+1d"`, `promised: "tomorrow"`, "x.yaml:14: orders[0].shipment.promised: bad time \"tomorrow\""},
		{"unknown customer", "customer: C-1", "customer: C-2", "x.yaml:7: orders[0].customer: unknown customer \"C-2\""},
		{"unknown field", "placed:", "plaecd:", "x.yaml:8: field plaecd not found"},
		{"bad price", `price: "1.00"`, `price: "1,00"`, "x.yaml:10: orders[0].items[0].price: bad amount"},
		{"bad tz", "tz: Europe/Berlin", "tz: Mars/Olympus", "x.yaml:11: orders[0].address.tz: unknown time zone"},
		{"bad yaml", "lockers: []", "lockers: [", "x.yaml:"},
		{"bad plan", "plan: none", "plan: gold", "x.yaml:3: customers[0].plan: unknown plan \"gold\""},
	}
	if _, err := Parse("x.yaml", []byte(base), testNow); err != nil {
		t.Fatalf("base file: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(strings.Replace(base, tc.from, tc.to, 1)), testNow)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	d, err := Default(testNow)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := d.Order(ctx, "999-9999999-9999999"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("unknown order: got %v, want ENOTFOUND", err)
	}
	os, err := d.RecentOrders(ctx, "C-1001", 3)
	if err != nil || len(os) != 3 {
		t.Fatalf("RecentOrders = %d, %v", len(os), err)
	}
	if os[0].Placed.Before(os[2].Placed) {
		t.Error("recent orders are not newest first")
	}
	lat, lon, err := d.Locate(ctx, "berlin")
	if err != nil || lat < 52 || lat > 53 || lon < 13 || lon > 14 {
		t.Errorf("Locate(berlin) = %v,%v,%v", lat, lon, err)
	}
	if _, _, err := d.Locate(ctx, "Atlantis"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("Locate(Atlantis) = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(defaultData[:2000]))
	f.Add([]byte("orders: [{number: x}]"))
	f.Add([]byte("customers: [{id: C, plan: trial, renewal: '-1d@99:99'}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse("fuzz.yaml", b, testNow)
		if err == nil && d == nil {
			t.Fatal("nil data without error")
		}
	})
}
