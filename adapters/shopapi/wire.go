package shopapi

import (
	"time"

	"github.com/parcelbot/parcelbot/domain"
)

// The wire types (Order, Customer, Place, …) are generated from
// docs/shop-api.yaml into api.gen.go; these convert between them and the
// domain. The From… functions are for the fake in shopapitest.

// FromDomainOrder converts for the fake.
func FromDomainOrder(o *domain.Order) Order {
	out := Order{Number: o.Number, CustomerID: o.CustomerID, Placed: o.Placed, Total: moneyOf(o.Total), FreeShippingByMembership: o.FreeShippingByMembership,
		Address: Address{Name: o.Address.Name, Street: o.Address.Street, House: o.Address.House, Postcode: o.Address.Postcode,
			City: o.Address.City, Country: o.Address.Country, Tz: o.Address.Location().String()}}
	for _, it := range o.Items {
		out.Items = append(out.Items, Item{Sku: it.SKU, Name: it.Name, Qty: it.Qty, Price: moneyOf(it.Price), InStock: it.InStock})
	}
	s := &o.Shipment
	out.Shipment = Shipment{Carrier: s.Carrier, Tracking: s.Tracking, Status: ShipmentStatus(s.Status), Promised: s.Promised,
		Estimate: s.Estimate, LockerID: s.LockerID}
	for _, e := range s.Events {
		out.Shipment.Events = append(out.Shipment.Events, TrackingEvent{At: e.At, Code: e.Code, Place: e.Place})
	}
	if d := s.Delivery; d != nil {
		out.Shipment.Delivery = Delivery{At: d.At, Place: DeliveryPlace(d.Place), NeighbourName: d.NeighbourName, NeighbourHouse: d.NeighbourHouse, Photo: d.Photo}
	}
	if p := s.Password; p != nil {
		out.Shipment.Password = Password{Code: p.Code.Reveal(), Day: p.Day}
	}
	return out
}

func (o *Order) toDomain() (*domain.Order, error) {
	loc, err := time.LoadLocation(o.Address.Tz)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "", "order %s: unknown time zone %q", o.Number, o.Address.Tz)
	}
	st := domain.ShipmentStatus(o.Shipment.Status)
	if !st.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "", "order %s: unknown status %q", o.Number, o.Shipment.Status)
	}
	out := &domain.Order{Number: o.Number, CustomerID: o.CustomerID, Placed: o.Placed, Total: o.Total.toDomain(), FreeShippingByMembership: o.FreeShippingByMembership,
		Address: domain.Address{Name: o.Address.Name, Street: o.Address.Street, House: o.Address.House, Postcode: o.Address.Postcode,
			City: o.Address.City, Country: o.Address.Country, TZ: loc}}
	for _, it := range o.Items {
		out.Items = append(out.Items, domain.Item{SKU: it.Sku, Name: it.Name, Qty: it.Qty, Price: it.Price.toDomain(), InStock: it.InStock})
	}
	s := &o.Shipment
	out.Shipment = domain.Shipment{Carrier: s.Carrier, Tracking: s.Tracking, Status: st, Promised: s.Promised, Estimate: s.Estimate, LockerID: s.LockerID}
	for _, e := range s.Events {
		out.Shipment.Events = append(out.Shipment.Events, domain.TrackingEvent{At: e.At, Code: e.Code, Place: e.Place})
	}
	if d := s.Delivery; d != (Delivery{}) {
		out.Shipment.Delivery = &domain.Delivery{At: d.At, Place: domain.DeliveryPlace(d.Place), NeighbourName: d.NeighbourName, NeighbourHouse: d.NeighbourHouse, Photo: d.Photo}
	}
	if p := s.Password; p != (Password{}) {
		out.Shipment.Password = &domain.DeliveryPassword{Code: domain.Secret(p.Code), Day: p.Day}
	}
	return out, nil
}

// FromDomainCustomer converts for the fake.
func FromDomainCustomer(c *domain.Customer, claims []time.Time) Customer {
	out := Customer{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Lang: c.Lang, Claims: claims,
		Membership: Membership{Plan: MembershipPlan(c.Membership.Plan), Renewal: c.Membership.Renewal}}
	for _, e := range c.Membership.Extensions {
		out.Membership.Extensions = append(out.Membership.Extensions, Extension{At: e.At, Order: e.Order})
	}
	return out
}

func (c *Customer) toDomain() *domain.Customer {
	out := &domain.Customer{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Lang: c.Lang,
		Membership: domain.Membership{Plan: domain.Plan(c.Membership.Plan), Renewal: c.Membership.Renewal}}
	if !out.Membership.Plan.Valid() {
		out.Membership.Plan = domain.PlanNone
	}
	for _, e := range c.Membership.Extensions {
		out.Membership.Extensions = append(out.Membership.Extensions, domain.Extension{At: e.At, Order: e.Order})
	}
	return out
}

// FromDomainPlace converts for the fake.
func FromDomainPlace(l domain.Locker) Place {
	return Place{ID: l.ID, Kind: PlaceKind(l.Kind), Name: l.Name, Street: l.Street, Postcode: l.Postcode, City: l.City, Country: l.Country,
		Lat: l.Lat, Lon: l.Lon, Status: PlaceStatus(l.Status), Free: l.Free, Hours: l.Hours}
}

func (p *Place) toDomain() domain.Locker {
	return domain.Locker{ID: p.ID, Kind: domain.PlaceKind(p.Kind), Name: p.Name, Street: p.Street, Postcode: p.Postcode, City: p.City,
		Country: p.Country, Lat: p.Lat, Lon: p.Lon, Status: domain.LockerStatus(p.Status), Free: p.Free, Hours: p.Hours}
}

func moneyOf(m domain.Money) Money { return Money{Minor: m.Minor, Currency: m.Currency} }

func (m Money) toDomain() domain.Money { return domain.Money{Minor: m.Minor, Currency: m.Currency} }
