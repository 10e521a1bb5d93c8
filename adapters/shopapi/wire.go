package shopapi

import (
	"time"

	"github.com/parcelbot/parcelbot/domain"
)

// The JSON of docs/shop-api.yaml. Exported for the fake in shopapitest.

// Money is an amount in minor units.
type Money struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// Order is an order as the API sends it.
type Order struct {
	Number       string    `json:"number"`
	CustomerID   string    `json:"customer_id"`
	Placed       time.Time `json:"placed"`
	Total        Money     `json:"total"`
	FreeShipping bool      `json:"free_shipping_by_membership"`
	Items        []Item    `json:"items"`
	Address      Address   `json:"address"`
	Shipment     Shipment  `json:"shipment"`
}

// Item is an order line.
type Item struct {
	SKU     string `json:"sku"`
	Name    string `json:"name"`
	Qty     int    `json:"qty"`
	Price   Money  `json:"price"`
	InStock bool   `json:"in_stock"`
}

// Address is the delivery address.
type Address struct {
	Name     string `json:"name,omitempty"`
	Street   string `json:"street,omitempty"`
	House    string `json:"house,omitempty"`
	Postcode string `json:"postcode"`
	City     string `json:"city,omitempty"`
	Country  string `json:"country,omitempty"`
	TZ       string `json:"tz"`
}

// Shipment is the carrier's side.
type Shipment struct {
	Carrier  string     `json:"carrier,omitempty"`
	Tracking string     `json:"tracking,omitempty"`
	Status   string     `json:"status"`
	Promised time.Time  `json:"promised"`
	Estimate *time.Time `json:"estimate,omitempty"`
	LockerID string     `json:"locker_id,omitempty"`
	Events   []Event    `json:"events,omitempty"`
	Delivery *Delivery  `json:"delivery,omitempty"`
	Password *Password  `json:"password,omitempty"`
}

// Event is a tracking event.
type Event struct {
	At    time.Time `json:"at"`
	Code  string    `json:"code"`
	Place string    `json:"place,omitempty"`
}

// Delivery is the proof of delivery.
type Delivery struct {
	At             time.Time `json:"at"`
	Place          string    `json:"place"`
	NeighbourName  string    `json:"neighbour_name,omitempty"`
	NeighbourHouse string    `json:"neighbour_house,omitempty"`
	Photo          bool      `json:"photo"`
}

// Password is a delivery password.
type Password struct {
	Code string    `json:"code"`
	Day  time.Time `json:"day"`
}

// Customer is a customer.
type Customer struct {
	ID         string      `json:"id"`
	Name       string      `json:"name,omitempty"`
	Email      string      `json:"email,omitempty"`
	Phone      string      `json:"phone,omitempty"`
	Lang       string      `json:"lang,omitempty"`
	Membership Membership  `json:"membership"`
	Claims     []time.Time `json:"claims,omitempty"`
}

// Membership is a membership.
type Membership struct {
	Plan       string      `json:"plan"`
	Renewal    time.Time   `json:"renewal"`
	Extensions []Extension `json:"extensions,omitempty"`
}

// Extension is a granted free month.
type Extension struct {
	At    time.Time `json:"at"`
	Order string    `json:"order"`
}

// Place is a locker or pickup point.
type Place struct {
	ID       string  `json:"id"`
	Kind     string  `json:"kind"`
	Name     string  `json:"name,omitempty"`
	Street   string  `json:"street,omitempty"`
	Postcode string  `json:"postcode,omitempty"`
	City     string  `json:"city,omitempty"`
	Country  string  `json:"country,omitempty"`
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	Status   string  `json:"status"`
	Free     int     `json:"free"`
	Hours    string  `json:"hours,omitempty"`
}

// FromDomainOrder converts for the fake.
func FromDomainOrder(o *domain.Order) Order {
	out := Order{Number: o.Number, CustomerID: o.CustomerID, Placed: o.Placed, Total: Money(o.Total), FreeShipping: o.FreeShippingByMembership,
		Address: Address{Name: o.Address.Name, Street: o.Address.Street, House: o.Address.House, Postcode: o.Address.Postcode,
			City: o.Address.City, Country: o.Address.Country, TZ: o.Address.Location().String()}}
	for _, it := range o.Items {
		out.Items = append(out.Items, Item{SKU: it.SKU, Name: it.Name, Qty: it.Qty, Price: Money(it.Price), InStock: it.InStock})
	}
	s := &o.Shipment
	out.Shipment = Shipment{Carrier: s.Carrier, Tracking: s.Tracking, Status: string(s.Status), Promised: s.Promised, LockerID: s.LockerID}
	if !s.Estimate.IsZero() {
		e := s.Estimate
		out.Shipment.Estimate = &e
	}
	for _, e := range s.Events {
		out.Shipment.Events = append(out.Shipment.Events, Event{At: e.At, Code: e.Code, Place: e.Place})
	}
	if d := s.Delivery; d != nil {
		out.Shipment.Delivery = &Delivery{At: d.At, Place: string(d.Place), NeighbourName: d.NeighbourName, NeighbourHouse: d.NeighbourHouse, Photo: d.Photo}
	}
	if p := s.Password; p != nil {
		out.Shipment.Password = &Password{Code: p.Code.Reveal(), Day: p.Day}
	}
	return out
}

func (o *Order) toDomain() (*domain.Order, error) {
	loc, err := time.LoadLocation(o.Address.TZ)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "", "order %s: unknown time zone %q", o.Number, o.Address.TZ)
	}
	st := domain.ShipmentStatus(o.Shipment.Status)
	if !st.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "", "order %s: unknown status %q", o.Number, o.Shipment.Status)
	}
	out := &domain.Order{Number: o.Number, CustomerID: o.CustomerID, Placed: o.Placed, Total: domain.Money(o.Total), FreeShippingByMembership: o.FreeShipping,
		Address: domain.Address{Name: o.Address.Name, Street: o.Address.Street, House: o.Address.House, Postcode: o.Address.Postcode,
			City: o.Address.City, Country: o.Address.Country, TZ: loc}}
	for _, it := range o.Items {
		out.Items = append(out.Items, domain.Item{SKU: it.SKU, Name: it.Name, Qty: it.Qty, Price: domain.Money(it.Price), InStock: it.InStock})
	}
	s := &o.Shipment
	out.Shipment = domain.Shipment{Carrier: s.Carrier, Tracking: s.Tracking, Status: st, Promised: s.Promised, LockerID: s.LockerID}
	if s.Estimate != nil {
		out.Shipment.Estimate = *s.Estimate
	}
	for _, e := range s.Events {
		out.Shipment.Events = append(out.Shipment.Events, domain.TrackingEvent{At: e.At, Code: e.Code, Place: e.Place})
	}
	if d := s.Delivery; d != nil {
		out.Shipment.Delivery = &domain.Delivery{At: d.At, Place: domain.DeliveryPlace(d.Place), NeighbourName: d.NeighbourName, NeighbourHouse: d.NeighbourHouse, Photo: d.Photo}
	}
	if p := s.Password; p != nil {
		out.Shipment.Password = &domain.DeliveryPassword{Code: domain.Secret(p.Code), Day: p.Day}
	}
	return out, nil
}

// FromDomainCustomer converts for the fake.
func FromDomainCustomer(c *domain.Customer, claims []time.Time) Customer {
	out := Customer{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Lang: c.Lang, Claims: claims,
		Membership: Membership{Plan: string(c.Membership.Plan), Renewal: c.Membership.Renewal}}
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
	return Place{ID: l.ID, Kind: string(l.Kind), Name: l.Name, Street: l.Street, Postcode: l.Postcode, City: l.City, Country: l.Country,
		Lat: l.Lat, Lon: l.Lon, Status: string(l.Status), Free: l.Free, Hours: l.Hours}
}

func (p *Place) toDomain() domain.Locker {
	return domain.Locker{ID: p.ID, Kind: domain.PlaceKind(p.Kind), Name: p.Name, Street: p.Street, Postcode: p.Postcode, City: p.City,
		Country: p.Country, Lat: p.Lat, Lon: p.Lon, Status: domain.LockerStatus(p.Status), Free: p.Free, Hours: p.Hours}
}
