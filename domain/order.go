package domain

import (
	"fmt"
	"log/slog"
	"time"
)

// Money is an amount in minor units (cents) of a currency (ISO 4217 code).
type Money struct {
	Minor    int64
	Currency string
}

// String returns a machine form such as "4990 EUR" (never shown to customers;
// locales format money for people).
func (m Money) String() string { return fmt.Sprintf("%d %s", m.Minor, m.Currency) }

// Order is a customer's order with its items and its shipment.
type Order struct {
	Number     string
	CustomerID string
	Placed     time.Time
	Items      []Item
	Total      Money
	// FreeShippingByMembership is true when the order shipped free because
	// of a paid (or trial) membership: the condition for the late-delivery
	// compensation.
	FreeShippingByMembership bool
	Address                  Address
	Shipment                 Shipment
}

// Item is one line of an order.
type Item struct {
	SKU     string
	Name    string
	Qty     int
	Price   Money
	InStock bool
}

// AllInStock reports whether every item can be sent again (a replacement is
// possible only then).
func (o *Order) AllInStock() bool {
	if len(o.Items) == 0 {
		return false
	}
	for _, it := range o.Items {
		if !it.InStock {
			return false
		}
	}
	return true
}

// Address is a delivery address. Street and house number are personal data:
// never log them, never send them to agents' chat tools.
type Address struct {
	Name     string
	Street   string
	House    string
	Postcode string
	City     string
	Country  string // ISO 3166 alpha-2: DE, FR, IT, GB
	TZ       *time.Location
}

// Location returns the address's time zone, UTC when unknown.
func (a Address) Location() *time.Location {
	if a.TZ == nil {
		return time.UTC
	}
	return a.TZ
}

// ShipmentStatus is where a shipment is in its life.
type ShipmentStatus string

// Shipment statuses.
const (
	LabelCreated   ShipmentStatus = "label_created"
	InTransit      ShipmentStatus = "in_transit"
	OutForDelivery ShipmentStatus = "out_for_delivery"
	Delivered      ShipmentStatus = "delivered"
	Exception      ShipmentStatus = "exception"
	Returned       ShipmentStatus = "returned"
)

// Statuses lists every shipment status.
var Statuses = []ShipmentStatus{LabelCreated, InTransit, OutForDelivery, Delivered, Exception, Returned}

// Valid reports whether s is a known status.
func (s ShipmentStatus) Valid() bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// Shipped reports whether the parcel has left the warehouse.
func (s ShipmentStatus) Shipped() bool { return s != LabelCreated && s != "" }

// Shipment is the carrier's side of an order.
type Shipment struct {
	Carrier  string
	Tracking string
	Status   ShipmentStatus
	Events   []TrackingEvent // oldest first
	Promised time.Time       // the promised delivery date (a day, in the address's zone)
	Estimate time.Time       // the carrier's current estimate; zero when none
	Delivery *Delivery       // set when delivered
	Password *DeliveryPassword
	LockerID string // the locker the parcel is addressed to, if any
}

// LastEvent returns the newest tracking event, and false when there is none.
func (s *Shipment) LastEvent() (TrackingEvent, bool) {
	if len(s.Events) == 0 {
		return TrackingEvent{}, false
	}
	return s.Events[len(s.Events)-1], true
}

// TrackingEvent is one scan of the parcel. Code is a stable event code that
// locales turn into words ("event.out_for_delivery").
type TrackingEvent struct {
	At    time.Time
	Code  string
	Place string
}

// DeliveryPlace is where a delivered parcel was left.
type DeliveryPlace string

// Delivery places.
const (
	FrontDoor DeliveryPlace = "front_door"
	Mailbox   DeliveryPlace = "mailbox"
	SafePlace DeliveryPlace = "safe_place"
	Neighbour DeliveryPlace = "neighbour"
	InLocker  DeliveryPlace = "locker"
	Recipient DeliveryPlace = "recipient"
)

// Places lists every delivery place.
var Places = []DeliveryPlace{FrontDoor, Mailbox, SafePlace, Neighbour, InLocker, Recipient}

// Valid reports whether p is a known place.
func (p DeliveryPlace) Valid() bool {
	for _, x := range Places {
		if p == x {
			return true
		}
	}
	return false
}

// Delivery is the proof of delivery.
type Delivery struct {
	At             time.Time
	Place          DeliveryPlace
	NeighbourName  string
	NeighbourHouse string
	Photo          bool
}

// DeliveryPassword is the one-time password a courier asks for at the door.
// Code is a Secret: it never appears in logs, metrics, agents' chat tools or
// transcripts.
type DeliveryPassword struct {
	Code Secret
	Day  time.Time // the delivery day it is valid for (any time on that day, address zone)
}

// Secret is a string that redacts itself wherever it is printed or logged.
type Secret string

// String redacts.
func (Secret) String() string { return "[redacted]" }

// GoString redacts.
func (Secret) GoString() string { return "[redacted]" }

// LogValue redacts in log/slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalText redacts in JSON, YAML and any other text encoding.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the secret's value, for the one place that must show it.
func (s Secret) Reveal() string { return string(s) }
