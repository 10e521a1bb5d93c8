// Package demo serves parcelbot's shop data from a YAML file: the embedded
// default (demo.yaml, enough orders for every journey) or any file given with
// PARCELBOT_DATA. Times in the file are relative to the moment it is loaded
// ("-2d", "+3h", "-1d@18:30"), so the demo stays true on any day. The format
// is documented in docs/data.md.
package demo

import (
	"bytes"
	"context"
	_ "embed" // the default data file
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // delivery time zones on machines without zoneinfo

	"go.yaml.in/yaml/v3"

	"github.com/parcelbot/parcelbot/domain"
)

//go:embed demo.yaml
var defaultData []byte

// Data is loaded shop data. It is safe for concurrent use.
type Data struct {
	mu        sync.RWMutex
	orders    map[string]*domain.Order
	customers map[string]*domain.Customer
	claims    map[string][]time.Time // customer → earlier missing-parcel claims
	places    []domain.Locker
	byCust    map[string][]*domain.Order
	applied   map[string]bool // idempotency keys of writes
	writes    []Write
}

// Default loads the embedded demo data relative to now.
func Default(now time.Time) (*Data, error) { return Parse("demo.yaml", defaultData, now) }

// Load reads a data file relative to now.
func Load(path string, now time.Time) (*Data, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load data: %w", err)
	}
	return Parse(filepath.Base(path), b, now)
}

type fileT struct {
	Customers []customerT `yaml:"customers"`
	Orders    []orderT    `yaml:"orders"`
	Lockers   []lockerT   `yaml:"lockers"`
}

type customerT struct {
	ID         string       `yaml:"id"`
	Name       string       `yaml:"name"`
	Email      string       `yaml:"email"`
	Phone      string       `yaml:"phone"`
	Lang       string       `yaml:"lang"`
	Plan       string       `yaml:"plan"`
	Renewal    string       `yaml:"renewal"`
	Extensions []extensionT `yaml:"extensions"`
	Claims     []string     `yaml:"claims"`
}

type extensionT struct {
	At    string `yaml:"at"`
	Order string `yaml:"order"`
}

type orderT struct {
	Number       string    `yaml:"number"`
	Customer     string    `yaml:"customer"`
	Placed       string    `yaml:"placed"`
	Currency     string    `yaml:"currency"`
	FreeShipping bool      `yaml:"free_shipping"`
	Total        string    `yaml:"total"`
	Items        []itemT   `yaml:"items"`
	Address      addressT  `yaml:"address"`
	Shipment     shipmentT `yaml:"shipment"`
}

type itemT struct {
	SKU     string `yaml:"sku"`
	Name    string `yaml:"name"`
	Qty     int    `yaml:"qty"`
	Price   string `yaml:"price"`
	InStock *bool  `yaml:"in_stock"`
}

type addressT struct {
	Name     string `yaml:"name"`
	Street   string `yaml:"street"`
	House    string `yaml:"house"`
	Postcode string `yaml:"postcode"`
	City     string `yaml:"city"`
	Country  string `yaml:"country"`
	TZ       string `yaml:"tz"`
}

type shipmentT struct {
	Carrier   string     `yaml:"carrier"`
	Tracking  string     `yaml:"tracking"`
	Status    string     `yaml:"status"`
	Promised  string     `yaml:"promised"`
	Estimate  string     `yaml:"estimate"`
	Locker    string     `yaml:"locker"`
	Events    []eventT   `yaml:"events"`
	Delivered *deliveryT `yaml:"delivered"`
	Password  *passT     `yaml:"password"`
}

type eventT struct {
	At    string `yaml:"at"`
	Code  string `yaml:"code"`
	Place string `yaml:"place"`
}

type deliveryT struct {
	At        string `yaml:"at"`
	Place     string `yaml:"place"`
	Neighbour string `yaml:"neighbour"`
	House     string `yaml:"house"`
	Photo     bool   `yaml:"photo"`
}

type passT struct {
	Code string `yaml:"code"`
	Day  string `yaml:"day"`
}

type lockerT struct {
	ID       string  `yaml:"id"`
	Kind     string  `yaml:"kind"`
	Name     string  `yaml:"name"`
	Street   string  `yaml:"street"`
	Postcode string  `yaml:"postcode"`
	City     string  `yaml:"city"`
	Country  string  `yaml:"country"`
	Lat      float64 `yaml:"lat"`
	Lon      float64 `yaml:"lon"`
	Status   string  `yaml:"status"`
	Free     int     `yaml:"free"`
	Hours    string  `yaml:"hours"`
}

// EventCodes are the tracking event codes the locales can put into words.
var EventCodes = []string{"label_created", "picked_up", "in_transit", "arrived_hub", "departed_hub", "customs",
	"out_for_delivery", "delivery_failed", "delivered", "exception", "held", "returned", "redirected"}

// loader carries the file name and the YAML tree for error lines.
type loader struct {
	file string
	root *yaml.Node
	now  time.Time
	errs []string
}

// errAt records an error at the line of path in the YAML tree (a path of
// field names and indexes, e.g. "orders", 3, "shipment", "status").
func (l *loader) errAt(path []any, format string, args ...any) {
	line, name := l.lineOf(path)
	l.errs = append(l.errs, fmt.Sprintf("%s:%d: %s: %s", l.file, line, name, fmt.Sprintf(format, args...)))
}

func (l *loader) lineOf(path []any) (int, string) {
	n := l.root
	line := 1
	var name strings.Builder
	for _, p := range path {
		if n == nil {
			break
		}
		switch p := p.(type) {
		case string:
			if name.Len() > 0 {
				name.WriteByte('.')
			}
			name.WriteString(p)
			var next *yaml.Node
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						next = n.Content[i+1]
						line = n.Content[i].Line
					}
				}
			}
			n = next
		case int:
			fmt.Fprintf(&name, "[%d]", p)
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				n = n.Content[p]
				line = n.Line
			} else {
				n = nil
			}
		}
	}
	return line, name.String()
}

// Parse loads data from b; file names the source in errors, which carry the
// line and what is wrong ("demo.yaml:42: orders[3].shipment.status: ...").
func Parse(file string, b []byte, now time.Time) (*Data, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s:1: empty data file", file)
	}
	var f fileT
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
		if strings.HasPrefix(msg, "line ") {
			msg = file + ":" + strings.TrimPrefix(msg, "line ")
		} else {
			msg = file + ": " + msg
		}
		return nil, errors.New(strings.ReplaceAll(msg, " in type demo.", " in "))
	}
	l := &loader{file: file, root: root.Content[0], now: now}
	d := &Data{
		orders:    map[string]*domain.Order{},
		customers: map[string]*domain.Customer{},
		claims:    map[string][]time.Time{},
		byCust:    map[string][]*domain.Order{},
	}
	l.customers(d, f.Customers)
	l.lockers(d, f.Lockers)
	l.orders(d, f.Orders)
	if len(l.errs) > 0 {
		if len(l.errs) > 10 {
			l.errs = append(l.errs[:10], fmt.Sprintf("... and %d more", len(l.errs)-10))
		}
		return nil, errors.New(strings.Join(l.errs, "\n"))
	}
	for _, os := range d.byCust {
		sort.SliceStable(os, func(i, j int) bool { return os[i].Placed.After(os[j].Placed) })
	}
	return d, nil
}

// relTime parses "-2d", "+3h30m", "0d@18:30", "-1d@09:00" (relative to now,
// the clock time in loc) or an RFC 3339 time.
func relTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	spec, clock, hasClock := strings.Cut(s, "@")
	t := now.In(loc)
	sign := 1
	switch {
	case strings.HasPrefix(spec, "-"):
		sign, spec = -1, spec[1:]
	case strings.HasPrefix(spec, "+"):
		spec = spec[1:]
	case !strings.HasPrefix(spec, "0"):
		return time.Time{}, fmt.Errorf("bad time %q: a relative time starts with - or + (or is 0d)", s)
	}
	if spec == "" {
		return time.Time{}, fmt.Errorf("bad time %q: want e.g. -2d, +3h, 0d@18:30 or RFC 3339", s)
	}
	for spec != "" {
		i := 0
		for i < len(spec) && spec[i] >= '0' && spec[i] <= '9' {
			i++
		}
		if i == 0 || i == len(spec) {
			return time.Time{}, fmt.Errorf("bad time %q: want e.g. -2d, +3h, 0d@18:30 or RFC 3339", s)
		}
		n, err := strconv.Atoi(spec[:i])
		if err != nil || n > 100000 {
			return time.Time{}, fmt.Errorf("bad time %q: number out of range", s)
		}
		switch spec[i] {
		case 'd':
			t = t.AddDate(0, 0, sign*n)
		case 'h':
			t = t.Add(time.Duration(sign*n) * time.Hour)
		case 'm':
			t = t.Add(time.Duration(sign*n) * time.Minute)
		default:
			return time.Time{}, fmt.Errorf("bad time %q: unit %q is not d, h or m", s, spec[i])
		}
		spec = spec[i+1:]
	}
	if hasClock {
		c, err := time.Parse("15:04", clock)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad time %q: clock %q is not HH:MM", s, clock)
		}
		y, mo, dd := t.Date()
		t = time.Date(y, mo, dd, c.Hour(), c.Minute(), 0, 0, loc)
	}
	return t, nil
}

// amount parses "49.90" into minor units.
func amount(s string) (int64, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" || len(frac) > 2 {
		return 0, fmt.Errorf("bad amount %q: want e.g. 49.90", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	fr, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w < 0 || w > math.MaxInt64/1000 {
		return 0, fmt.Errorf("bad amount %q: want e.g. 49.90", s)
	}
	return w*100 + fr, nil
}

func (l *loader) time(path []any, s string, loc *time.Location) time.Time {
	t, err := relTime(s, l.now, loc)
	if err != nil {
		l.errAt(path, "%v", err)
	}
	return t
}

func (l *loader) customers(d *Data, cs []customerT) {
	for i, c := range cs {
		p := func(f ...any) []any { return append([]any{"customers", i}, f...) }
		if c.ID == "" {
			l.errAt(p(), "missing id")
			continue
		}
		if _, dup := d.customers[c.ID]; dup {
			l.errAt(p("id"), "duplicate customer id %q", c.ID)
		}
		plan := domain.Plan(c.Plan)
		if c.Plan == "" {
			plan = domain.PlanNone
		}
		if !plan.Valid() {
			l.errAt(p("plan"), "unknown plan %q (want none, trial, monthly or annual)", c.Plan)
		}
		cu := &domain.Customer{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Lang: c.Lang,
			Membership: domain.Membership{Plan: plan}}
		if plan != domain.PlanNone {
			if c.Renewal == "" {
				l.errAt(p("plan"), "a %s membership needs a renewal date", plan)
			} else {
				cu.Membership.Renewal = l.time(p("renewal"), c.Renewal, time.UTC)
			}
		}
		for j, e := range c.Extensions {
			cu.Membership.Extensions = append(cu.Membership.Extensions,
				domain.Extension{At: l.time(p("extensions", j, "at"), e.At, time.UTC), Order: e.Order})
		}
		for j, cl := range c.Claims {
			d.claims[c.ID] = append(d.claims[c.ID], l.time(p("claims", j), cl, time.UTC))
		}
		d.customers[c.ID] = cu
	}
}

func (l *loader) lockers(d *Data, ls []lockerT) {
	seen := map[string]bool{}
	for i, x := range ls {
		p := func(f ...any) []any { return append([]any{"lockers", i}, f...) }
		if x.ID == "" || seen[x.ID] {
			l.errAt(p("id"), "missing or duplicate id %q", x.ID)
		}
		seen[x.ID] = true
		kind := domain.PlaceKind(x.Kind)
		if kind != domain.KindLocker && kind != domain.KindPickup {
			l.errAt(p("kind"), "unknown kind %q (want locker or pickup)", x.Kind)
		}
		st := domain.LockerStatus(x.Status)
		if !st.Valid() {
			l.errAt(p("status"), "unknown status %q (want operational, defective or maintenance)", x.Status)
		}
		if !domain.ValidCoordinates(x.Lat, x.Lon) || (x.Lat == 0 && x.Lon == 0) {
			l.errAt(p("lat"), "coordinates %v,%v are not a place", x.Lat, x.Lon)
		}
		if x.Free < 0 {
			l.errAt(p("free"), "free compartments cannot be negative")
		}
		d.places = append(d.places, domain.Locker{ID: x.ID, Kind: kind, Name: x.Name, Street: x.Street,
			Postcode: x.Postcode, City: x.City, Country: x.Country, Lat: x.Lat, Lon: x.Lon,
			Status: st, Free: x.Free, Hours: x.Hours})
	}
}

func (l *loader) orders(d *Data, os []orderT) {
	for i, o := range os {
		p := func(f ...any) []any { return append([]any{"orders", i}, f...) }
		if o.Number == "" {
			l.errAt(p(), "missing number")
			continue
		}
		if _, dup := d.orders[o.Number]; dup {
			l.errAt(p("number"), "duplicate order number %q", o.Number)
		}
		if _, ok := d.customers[o.Customer]; !ok {
			l.errAt(p("customer"), "unknown customer %q", o.Customer)
		}
		loc := time.UTC
		if o.Address.TZ != "" {
			z, err := time.LoadLocation(o.Address.TZ)
			if err != nil {
				l.errAt(p("address", "tz"), "unknown time zone %q", o.Address.TZ)
			} else {
				loc = z
			}
		} else {
			l.errAt(p("address"), "missing tz (the delivery address's time zone, e.g. Europe/Berlin)")
		}
		if o.Address.Postcode == "" {
			l.errAt(p("address"), "missing postcode")
		}
		cur := o.Currency
		if len(cur) != 3 {
			l.errAt(p("currency"), "currency %q is not an ISO 4217 code", cur)
		}
		ord := &domain.Order{
			Number: o.Number, CustomerID: o.Customer, FreeShippingByMembership: o.FreeShipping,
			Placed: l.time(p("placed"), o.Placed, loc),
			Address: domain.Address{Name: o.Address.Name, Street: o.Address.Street, House: o.Address.House,
				Postcode: o.Address.Postcode, City: o.Address.City, Country: o.Address.Country, TZ: loc},
		}
		var total int64
		if len(o.Items) == 0 {
			l.errAt(p("items"), "an order needs at least one item")
		}
		for j, it := range o.Items {
			m, err := amount(it.Price)
			if err != nil {
				l.errAt(p("items", j, "price"), "%v", err)
			}
			q := it.Qty
			if q == 0 {
				q = 1
			}
			if q < 0 {
				l.errAt(p("items", j, "qty"), "quantity cannot be negative")
			}
			in := it.InStock == nil || *it.InStock
			ord.Items = append(ord.Items, domain.Item{SKU: it.SKU, Name: it.Name, Qty: q, Price: domain.Money{Minor: m, Currency: cur}, InStock: in})
			total += m * int64(q)
		}
		if o.Total != "" {
			m, err := amount(o.Total)
			if err != nil {
				l.errAt(p("total"), "%v", err)
			}
			total = m
		}
		ord.Total = domain.Money{Minor: total, Currency: cur}
		l.shipment(d, ord, o.Shipment, loc, func(f ...any) []any { return p(append([]any{"shipment"}, f...)...) })
		d.orders[ord.Number] = ord
		d.byCust[ord.CustomerID] = append(d.byCust[ord.CustomerID], ord)
	}
}

func (l *loader) shipment(d *Data, ord *domain.Order, s shipmentT, loc *time.Location, p func(...any) []any) {
	st := domain.ShipmentStatus(s.Status)
	if !st.Valid() {
		l.errAt(p("status"), "unknown status %q (want one of %v)", s.Status, domain.Statuses)
	}
	sh := domain.Shipment{Carrier: s.Carrier, Tracking: s.Tracking, Status: st, LockerID: s.Locker}
	if s.Promised == "" {
		l.errAt(p(), "missing promised date")
	} else {
		sh.Promised = l.time(p("promised"), s.Promised, loc)
	}
	if s.Estimate != "" {
		sh.Estimate = l.time(p("estimate"), s.Estimate, loc)
	}
	if s.Locker != "" {
		found := false
		for _, x := range d.places {
			found = found || x.ID == s.Locker
		}
		if !found {
			l.errAt(p("locker"), "unknown locker %q", s.Locker)
		}
	}
	for j, e := range s.Events {
		known := false
		for _, c := range EventCodes {
			known = known || c == e.Code
		}
		if !known {
			l.errAt(p("events", j, "code"), "unknown event code %q (want one of %v)", e.Code, EventCodes)
		}
		sh.Events = append(sh.Events, domain.TrackingEvent{At: l.time(p("events", j, "at"), e.At, loc), Code: e.Code, Place: e.Place})
	}
	for j := 1; j < len(sh.Events); j++ {
		if sh.Events[j].At.Before(sh.Events[j-1].At) {
			l.errAt(p("events", j, "at"), "events must be oldest first")
		}
	}
	if s.Delivered != nil {
		pl := domain.DeliveryPlace(s.Delivered.Place)
		if !pl.Valid() {
			l.errAt(p("delivered", "place"), "unknown place %q (want one of %v)", s.Delivered.Place, domain.Places)
		}
		if pl == domain.Neighbour && s.Delivered.Neighbour == "" {
			l.errAt(p("delivered", "place"), "a parcel left with a neighbour needs the neighbour's name")
		}
		sh.Delivery = &domain.Delivery{At: l.time(p("delivered", "at"), s.Delivered.At, loc), Place: pl,
			NeighbourName: s.Delivered.Neighbour, NeighbourHouse: s.Delivered.House, Photo: s.Delivered.Photo}
	}
	if st == domain.Delivered && sh.Delivery == nil {
		l.errAt(p("status"), "a delivered shipment needs 'delivered:' details")
	}
	if s.Password != nil {
		if s.Password.Code == "" {
			l.errAt(p("password", "code"), "missing code")
		}
		pw := &domain.DeliveryPassword{Code: domain.Secret(s.Password.Code)}
		if s.Password.Day != "" {
			pw.Day = l.time(p("password", "day"), s.Password.Day, loc)
		} else {
			pw.Day = sh.Estimate
			if pw.Day.IsZero() {
				pw.Day = sh.Promised
			}
		}
		sh.Password = pw
	}
	ord.Shipment = sh
}

func notFound(what, id string) error {
	return &domain.Error{Code: domain.ENOTFOUND, Key: "error.order_not_found", Op: "demo " + what, Err: fmt.Errorf("%s %q not found", what, id)}
}

// Order implements bot.Shop. The returned order is a copy.
func (d *Data) Order(_ context.Context, number string) (*domain.Order, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	o, ok := d.orders[number]
	if !ok {
		return nil, notFound("order", number)
	}
	c := *o
	return &c, nil
}

// Customer implements bot.Shop.
func (d *Data) Customer(_ context.Context, id string) (*domain.Customer, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.customers[id]
	if !ok {
		return nil, notFound("customer", id)
	}
	cc := *c
	cc.Membership.Extensions = append([]domain.Extension(nil), c.Membership.Extensions...)
	return &cc, nil
}

// RecentOrders implements bot.Shop.
func (d *Data) RecentOrders(_ context.Context, customerID string, limit int) ([]*domain.Order, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	os := d.byCust[customerID]
	if len(os) > limit {
		os = os[:limit]
	}
	out := make([]*domain.Order, len(os))
	for i, o := range os {
		c := *o
		out[i] = &c
	}
	return out, nil
}

// Places implements bot.Shop.
func (d *Data) Places(_ context.Context, lat, lon, radiusKM float64) ([]domain.Locker, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []domain.Locker
	for _, p := range d.places {
		if domain.Distance(lat, lon, p.Lat, p.Lon) <= radiusKM {
			out = append(out, p)
		}
	}
	return out, nil
}

// Place implements bot.Shop.
func (d *Data) Place(_ context.Context, id string) (*domain.Locker, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, p := range d.places {
		if p.ID == id {
			c := p
			return &c, nil
		}
	}
	return nil, notFound("locker", id)
}

// Locate implements bot.Shop: a postcode or city of any locker or pickup
// point in the data is known; the point is the mean of its places.
func (d *Data) Locate(_ context.Context, query string) (float64, float64, error) {
	q := strings.TrimSpace(query)
	d.mu.RLock()
	defer d.mu.RUnlock()
	var lat, lon float64
	n := 0
	for _, p := range d.places {
		if strings.EqualFold(p.Postcode, q) || strings.EqualFold(p.City, q) {
			lat += p.Lat
			lon += p.Lon
			n++
		}
	}
	if n == 0 {
		return 0, 0, &domain.Error{Code: domain.ENOTFOUND, Key: "locker.place_unknown", Op: "demo locate", Err: fmt.Errorf("place %q not found", query)}
	}
	return lat / float64(n), lon / float64(n), nil
}

// PastClaims implements bot.Shop: the customer's claims from the file.
func (d *Data) PastClaims(_ context.Context, customerID string) ([]time.Time, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return append([]time.Time(nil), d.claims[customerID]...), nil
}

// Counts returns the number of orders, customers and places loaded.
func (d *Data) Counts() (orders, customers, places int) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.orders), len(d.customers), len(d.places)
}

// Write is one write the shop was asked to do, for tests and the demo.
type Write struct {
	Kind, Order, Target, Key string
}

// Writes returns every write applied, in order.
func (d *Data) Writes() []Write {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return append([]Write(nil), d.writes...)
}

// apply records a write once per key and reports whether it is new.
func (d *Data) apply(w Write) bool {
	if d.applied == nil {
		d.applied = map[string]bool{}
	}
	if d.applied[w.Key] {
		return false
	}
	d.applied[w.Key] = true
	d.writes = append(d.writes, w)
	return true
}

// ExtendMembership implements bot.ShopWriter.
func (d *Data) ExtendMembership(_ context.Context, customerID, order, key string, at time.Time) (time.Time, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.customers[customerID]
	if !ok {
		return time.Time{}, notFound("customer", customerID)
	}
	c.Membership = domain.Extend(c.Membership, order, at)
	d.apply(Write{Kind: "extend", Order: order, Target: customerID, Key: key})
	return c.Membership.Renewal, nil
}

// Redirect implements bot.ShopWriter.
func (d *Data) Redirect(_ context.Context, order, placeID, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.orders[order]
	if !ok {
		return notFound("order", order)
	}
	if d.apply(Write{Kind: "redirect", Order: order, Target: placeID, Key: key}) {
		o.Shipment.LockerID = placeID
	}
	return nil
}

// OpenInvestigation implements bot.ShopWriter.
func (d *Data) OpenInvestigation(_ context.Context, order, caseID, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apply(Write{Kind: "investigate", Order: order, Target: caseID, Key: key})
	return nil
}

// Resolve implements bot.ShopWriter.
func (d *Data) Resolve(_ context.Context, order string, how domain.Resolution, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.orders[order]; !ok {
		return notFound("order", order)
	}
	d.apply(Write{Kind: string(how), Order: order, Key: key})
	return nil
}

// ChangeDelivery implements bot.ShopWriter: a new address (kept as the
// customer wrote it) before dispatch, or a new expected day after.
func (d *Data) ChangeDelivery(_ context.Context, order string, ch domain.DeliveryChange, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.orders[order]
	if !ok {
		return notFound("order", order)
	}
	switch kind := domain.ChangeFor(o); {
	case ch.Address != "" && kind == domain.ChangeAddress:
		if d.apply(Write{Kind: "address", Order: order, Target: ch.Address, Key: key}) {
			o.Address.Street, o.Address.House = ch.Address, ""
		}
	case !ch.Day.IsZero() && kind == domain.ChangeDay:
		if d.apply(Write{Kind: "redeliver", Order: order, Target: ch.Day.Format("2006-01-02"), Key: key}) {
			o.Shipment.Estimate = ch.Day
		}
	default:
		return &domain.Error{Code: domain.ECONFLICT, Op: "change delivery of " + order}
	}
	return nil
}

// ReportLockerDefect implements bot.ShopWriter.
func (d *Data) ReportLockerDefect(_ context.Context, lockerID, order, note, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apply(Write{Kind: "defect", Order: order, Target: lockerID + ": " + note, Key: key})
	return nil
}
