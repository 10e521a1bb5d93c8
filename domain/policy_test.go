package domain

import (
	"strings"
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func lateOrder(number string, promised time.Time, loc *time.Location) *Order {
	return &Order{Number: number, FreeShippingByMembership: true,
		Address: Address{TZ: loc}, Shipment: Shipment{Status: InTransit, Promised: promised}}
}

func TestDaysLateInTheAddressZone(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	tokyo := mustZone(t, "Asia/Tokyo")
	promised := time.Date(2026, 11, 23, 12, 0, 0, 0, berlin)
	tests := []struct {
		name string
		loc  *time.Location
		now  time.Time
		want int
	}{
		{"due day in Berlin", berlin, time.Date(2026, 11, 23, 22, 59, 0, 0, time.UTC), 0},
		{"just after midnight in Berlin", berlin, time.Date(2026, 11, 23, 23, 1, 0, 0, time.UTC), 1},
		{"a day before", berlin, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), -1},
		{"three days after", berlin, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), 3},
		// the promised instant is 20:00 on the 23rd in Tokyo; at 16:00 UTC
		// on the 23rd it is already the 24th there
		{"Tokyo is a day ahead", tokyo, time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := lateOrder("1", promised, tc.loc)
			if got := DaysLate(o, tc.now); got != tc.want {
				t.Errorf("DaysLate = %d, want %d", got, tc.want)
			}
			if IsLate(o, tc.now) != (tc.want > 0) {
				t.Errorf("IsLate disagrees with %d days", tc.want)
			}
		})
	}
	delivered := lateOrder("1", promised, berlin)
	delivered.Shipment.Status = Delivered
	if IsLate(delivered, promised.AddDate(0, 0, 5)) {
		t.Error("a delivered order is never late")
	}
}

func TestCompensationLimits(t *testing.T) {
	p := DefaultPolicy()
	loc := time.UTC
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, loc)
	late := lateOrder("A", now.AddDate(0, 0, -2), loc)
	exts := func(n int, spacing time.Duration) []Extension {
		var out []Extension
		for i := 0; i < n; i++ {
			out = append(out, Extension{At: now.Add(-time.Duration(i+1) * spacing), Order: "X" + string(rune('a'+i))})
		}
		return out
	}
	tests := []struct {
		name string
		o    *Order
		m    Membership
		want string
	}{
		{"annual, first", late, Membership{Plan: PlanAnnual}, CompOK},
		{"monthly, 11 in a year", late, Membership{Plan: PlanMonthly, Extensions: exts(11, 30*24*time.Hour)}, CompOK},
		{"monthly, 12 in a year", late, Membership{Plan: PlanMonthly, Extensions: exts(12, 29*24*time.Hour)}, CompYearLimit},
		{"annual, 12 but the oldest over a year ago", late, Membership{Plan: PlanAnnual, Extensions: exts(12, 31*24*time.Hour)}, CompOK},
		{"trial, first", late, Membership{Plan: PlanTrial}, CompOK},
		{"trial, used", late, Membership{Plan: PlanTrial, Extensions: exts(1, 24*time.Hour)}, CompTrialUsed},
		{"no membership", late, Membership{Plan: PlanNone}, CompNotMembership},
		{"this order already", late, Membership{Plan: PlanAnnual, Extensions: []Extension{{At: now, Order: "A"}}}, CompAlreadyGranted},
		{"not late", lateOrder("B", now.AddDate(0, 0, 1), loc), Membership{Plan: PlanAnnual}, CompNotLate},
	}
	paidShipping := lateOrder("C", now.AddDate(0, 0, -2), loc)
	paidShipping.FreeShippingByMembership = false
	tests = append(tests, struct {
		name string
		o    *Order
		m    Membership
		want string
	}{"shipping was paid", paidShipping, Membership{Plan: PlanAnnual}, CompNotMembership})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.CompensationFor(tc.o, tc.m, now); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExtendAddsAMonthAtTheEndOnce(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	m := Membership{Plan: PlanMonthly, Renewal: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}
	m1 := Extend(m, "A", now)
	if want := time.Date(2027, 3, 3, 0, 0, 0, 0, time.UTC); !m1.Renewal.Equal(want) { // Go's AddDate normalises Feb 31
		t.Errorf("renewal %v, want %v", m1.Renewal, want)
	}
	m2 := Extend(m1, "A", now.Add(time.Hour))
	if !m2.Renewal.Equal(m1.Renewal) || len(m2.Extensions) != 1 {
		t.Errorf("second grant for the same order changed the membership: %+v", m2)
	}
	if len(m.Extensions) != 0 {
		t.Error("Extend modified its input")
	}
	lapsed := Membership{Plan: PlanTrial, Renewal: now.AddDate(0, 0, -3)}
	if got := Extend(lapsed, "B", now).Renewal; !got.Equal(now.AddDate(0, 1, 0)) {
		t.Errorf("a lapsed period extends from now: got %v", got)
	}
}

func TestPasswordValidityAcrossZonesAndDST(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	london := mustZone(t, "Europe/London")
	tests := []struct {
		name      string
		day       time.Time
		loc       *time.Location
		wantUntil time.Time
	}{
		{"Berlin winter", time.Date(2026, 11, 23, 9, 0, 0, 0, berlin), berlin, time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC)},
		{"London winter", time.Date(2026, 11, 23, 9, 0, 0, 0, london), london, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
		// the day the clocks go forward in Berlin has 23 hours
		{"Berlin spring DST switch", time.Date(2027, 3, 28, 9, 0, 0, 0, berlin), berlin, time.Date(2027, 3, 28, 22, 0, 0, 0, time.UTC)},
		// and the day they go back has 25
		{"Berlin autumn DST switch", time.Date(2026, 10, 25, 1, 30, 0, 0, berlin), berlin, time.Date(2026, 10, 25, 23, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pw := &DeliveryPassword{Code: "1", Day: tc.day}
			got := PasswordValidUntil(pw, tc.loc)
			if !got.Equal(tc.wantUntil) {
				t.Errorf("valid until %v, want %v", got.UTC(), tc.wantUntil)
			}
			o := &Order{Address: Address{TZ: tc.loc}, Shipment: Shipment{Status: OutForDelivery, Password: pw}}
			if s := PasswordStatus(o, got.Add(-time.Second)); s != PasswordValid {
				t.Errorf("a second before: %s", s)
			}
			if s := PasswordStatus(o, got); s != PasswordExpired {
				t.Errorf("at the end: %s", s)
			}
		})
	}
	o := &Order{Shipment: Shipment{Status: LabelCreated, Password: &DeliveryPassword{Code: "1"}}}
	if s := PasswordStatus(o, time.Now()); s != PasswordNotShipped {
		t.Errorf("not shipped: %s", s)
	}
	o.Shipment.Password = nil
	if s := PasswordStatus(o, time.Now()); s != PasswordNotRequired {
		t.Errorf("no password: %s", s)
	}
	// a delivered parcel needs no password now, whether it had one or not:
	// "the courier will hand it over" would be wrong
	for _, pw := range []*DeliveryPassword{nil, {Code: "1"}} {
		o := &Order{Shipment: Shipment{Status: Delivered, Password: pw}}
		if s := PasswordStatus(o, time.Now()); s != PasswordDelivered {
			t.Errorf("delivered, password %v: %s", pw != nil, s)
		}
	}
}

func TestAutoApprove(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		total  int64
		claims int
		want   bool
	}{
		{25000, 0, true}, {25000, 1, true}, {25001, 0, false}, {100, 2, false}, {0, 5, false},
	}
	for _, tc := range tests {
		if got := p.AutoApprove(Money{Minor: tc.total, Currency: "EUR"}, tc.claims); got != tc.want {
			t.Errorf("AutoApprove(%d, %d claims) = %v", tc.total, tc.claims, got)
		}
	}
}

func TestRankLockers(t *testing.T) {
	at := func(id string, km float64, st LockerStatus, free int, kind PlaceKind) Locker {
		return Locker{ID: id, Lat: 52.5 + km/111.0, Lon: 13.4, Status: st, Free: free, Kind: kind}
	}
	places := []Locker{
		at("far", 5, Operational, 3, KindLocker),
		at("broken-near", 0.1, Defective, 9, KindLocker),
		at("full-near", 0.2, Operational, 0, KindLocker),
		at("near", 0.5, Operational, 1, KindLocker),
		at("maint", 0.3, Maintenance, 4, KindLocker),
		at("mid", 2, Operational, 8, KindLocker),
		at("self", 0, Operational, 8, KindLocker),
		at("shop", 0.4, Operational, 5, KindPickup),
		at("farther", 9, Operational, 2, KindLocker),
	}
	got := RankLockers(places, KindLocker, 52.5, 13.4, "self", 3)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "near,mid,far" {
		t.Fatalf("ranked %v, want near,mid,far", ids)
	}
	if got[0].KM < 0.45 || got[0].KM > 0.55 {
		t.Errorf("distance %v km, want about 0.5", got[0].KM)
	}
	if p := RankLockers(places, KindPickup, 52.5, 13.4, "", 3); len(p) != 1 || p[0].ID != "shop" {
		t.Errorf("pickup points: %+v", p)
	}
}

func TestLinkToken(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tok, err := NewLinkToken(secret, "C-1001", now)
	if err != nil {
		t.Fatal(err)
	}
	if long, err := NewLinkToken(secret, "C-12345678901234", now); err != nil || len(long) > 64 {
		t.Fatalf("a 16-byte customer id gives a %d-byte token (%v)", len(long), err)
	}
	if len(tok) > 64 || strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		t.Fatalf("token %q is not a valid Telegram start payload", tok)
	}
	lt, err := ParseLinkToken(secret, tok, now.Add(14*time.Minute))
	if err != nil || lt.Customer != "C-1001" || lt.Nonce == "" {
		t.Fatalf("parse: %+v %v", lt, err)
	}
	if _, err := ParseLinkToken(secret, tok, now.Add(15*time.Minute)); ErrorKey(err) != "link.expired" {
		t.Errorf("after 15 minutes: %v", err)
	}
	if _, err := ParseLinkToken([]byte("other"), tok, now); ErrorKey(err) != "link.invalid" {
		t.Errorf("wrong secret: %v", err)
	}
	forged := b64.EncodeToString([]byte("C-1002")) + tok[strings.IndexByte(tok, '_'):] // another customer, same mac
	if _, err := ParseLinkToken(secret, forged, now); ErrorKey(err) != "link.invalid" {
		t.Errorf("forged customer: %v", err)
	}
	for _, bad := range []string{"", "a_b_c", "a_b_c_d_e", strings.Repeat("x", 65)} {
		if _, err := ParseLinkToken(secret, bad, now); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestSupportHours(t *testing.T) {
	h, err := ParseSupportHours("mon-fri 08:00-20:00", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	berlin := mustZone(t, "Europe/Berlin")
	mon := time.Date(2026, 11, 23, 10, 0, 0, 0, berlin)
	fri := time.Date(2026, 11, 27, 20, 30, 0, 0, berlin)
	if !h.IsOpen(mon) || h.IsOpen(fri) {
		t.Errorf("open Monday 10:00: %v, Friday 20:30: %v", h.IsOpen(mon), h.IsOpen(fri))
	}
	if got, want := h.NextOpen(fri), time.Date(2026, 11, 30, 8, 0, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("after Friday closing: next open %v, want %v", got, want)
	}
	if got := h.NextOpen(mon); !got.Equal(mon) {
		t.Errorf("while open: %v", got)
	}
	for _, bad := range []string{"mon-fri", "xyz 08:00-20:00", "mon-fri 20:00-08:00", "mon-fri 8-20"} {
		if _, err := ParseSupportHours(bad, "Europe/Berlin"); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	all, _ := ParseSupportHours("24/7", "UTC")
	if !all.IsOpen(fri) {
		t.Error("24/7 closed")
	}
	weekend, err := ParseSupportHours("sat,sun 10:00-14:00", "Europe/Berlin")
	if err != nil || weekend.IsOpen(mon) || !weekend.IsOpen(time.Date(2026, 11, 28, 11, 0, 0, 0, berlin)) {
		t.Errorf("weekend hours: %v", err)
	}
}

func TestCaseIDsAreSpeakable(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		id := CaseID(strings.Repeat("x", i))
		if len(id) != 9 || !strings.HasPrefix(id, "PB-") || strings.ContainsAny(id[3:], "01OIL") {
			t.Fatalf("case id %q", id)
		}
		seen[id] = true
	}
	if len(seen) < 1990 {
		t.Errorf("only %d distinct ids from 2000 seeds", len(seen))
	}
	if a, b := CaseID("same"), CaseID("same"); a != b {
		t.Error("CaseID is not deterministic")
	}
}

func FuzzParseLinkToken(f *testing.F) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tok, _ := NewLinkToken([]byte("k"), "C-1001", now)
	for _, s := range []string{tok, "", "a_b_c_d", "____", strings.Repeat("A", 64), tok + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lt, err := ParseLinkToken([]byte("k"), s, now)
		if err == nil && (lt.Customer == "" || lt.Nonce == "" || !now.Before(lt.Expires)) {
			t.Fatalf("accepted %q as %+v", s, lt)
		}
	})
}

func TestQuietHours(t *testing.T) {
	rome, _ := time.LoadLocation("Europe/Rome")
	for _, c := range []struct {
		at    string
		quiet bool
		until string
	}{
		{"2026-12-04T21:59:00+01:00", false, ""},
		{"2026-12-04T22:00:00+01:00", true, "2026-12-05T07:00:00+01:00"},
		{"2026-12-04T23:30:00+01:00", true, "2026-12-05T07:00:00+01:00"},
		{"2026-12-05T03:00:00+01:00", true, "2026-12-05T07:00:00+01:00"},
		{"2026-12-05T07:00:00+01:00", false, ""},
		// 06:30 UTC is 07:30 in Rome: not quiet there
		{"2026-12-05T06:30:00Z", false, ""},
		// the night of the change to summer time: 7:00 is still 7:00
		{"2026-03-29T01:00:00+01:00", true, "2026-03-29T07:00:00+02:00"},
	} {
		at, _ := time.Parse(time.RFC3339, c.at)
		until, quiet := DefaultQuietHours.Until(at, rome)
		if quiet != c.quiet {
			t.Errorf("%s: quiet %v, want %v", c.at, quiet, c.quiet)
			continue
		}
		if c.quiet {
			want, _ := time.Parse(time.RFC3339, c.until)
			if !until.Equal(want) {
				t.Errorf("%s: until %s, want %s", c.at, until, want)
			}
		}
	}
}

func TestShopEventCheck(t *testing.T) {
	ok := ShopEvent{ID: "ev-1", Type: EventDelayed, Order: "302-1"}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []ShopEvent{
		{Type: EventDelayed, Order: "302-1"},
		{ID: "ev 1", Type: EventDelayed, Order: "302-1"},
		{ID: "ev-1", Type: "lost", Order: "302-1"},
		{ID: "ev-1", Type: EventDelayed},
	} {
		if ErrorCode(bad.Check()) != EINVALID {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestQuietHoursParseAndDaytime(t *testing.T) {
	if q, err := ParseQuietHours("off"); err != nil || q != (QuietHours{}) {
		t.Fatalf("off: %v %v", q, err)
	}
	if _, quiet := (QuietHours{}).Until(time.Date(2026, 1, 1, 23, 0, 0, 0, time.UTC), time.UTC); quiet {
		t.Fatal("no quiet hours, yet quiet")
	}
	q, err := ParseQuietHours("13-14") // a daytime window (a lunch break)
	if err != nil {
		t.Fatal(err)
	}
	if until, quiet := q.Until(time.Date(2026, 1, 1, 13, 30, 0, 0, time.UTC), time.UTC); !quiet || until.Hour() != 14 || until.Day() != 1 {
		t.Fatalf("13:30 in 13-14: %v %v", until, quiet)
	}
	if _, quiet := q.Until(time.Date(2026, 1, 1, 22, 0, 0, 0, time.UTC), time.UTC); quiet {
		t.Fatal("22:00 quiet in 13-14")
	}
	for _, bad := range []string{"22", "a-b", "22-25"} {
		if _, err := ParseQuietHours(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
