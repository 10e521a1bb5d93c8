package domain

// PlaceKind tells a locker from a staffed pickup point.
type PlaceKind string

// Place kinds.
const (
	KindLocker PlaceKind = "locker"
	KindPickup PlaceKind = "pickup"
)

// LockerStatus is whether a locker or pickup point takes parcels.
type LockerStatus string

// Locker statuses.
const (
	Operational LockerStatus = "operational"
	Defective   LockerStatus = "defective"
	Maintenance LockerStatus = "maintenance"
)

// Valid reports whether s is a known status.
func (s LockerStatus) Valid() bool {
	return s == Operational || s == Defective || s == Maintenance
}

// Locker is a parcel locker or a pickup point.
type Locker struct {
	ID       string
	Kind     PlaceKind
	Name     string
	Street   string // a public business address, not personal data
	Postcode string
	City     string
	Country  string
	Lat, Lon float64
	Status   LockerStatus
	Free     int    // free compartments (lockers) or free shelf places (pickup points)
	Hours    string // opening hours as "24/7" or "mon-sat 07:00-22:00"; locales render them
}

// Available reports whether the place takes a parcel now.
func (l *Locker) Available() bool { return l.Status == Operational && l.Free > 0 }
