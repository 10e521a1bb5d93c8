package domain

import (
	"time"
)

// CaseKind is what a case is about.
type CaseKind string

// Case kinds.
const (
	CaseLate     CaseKind = "late"
	CaseMissing  CaseKind = "missing"
	CaseLocker   CaseKind = "locker"
	CasePassword CaseKind = "password"
	CaseHuman    CaseKind = "human"
	CaseDamaged  CaseKind = "damaged"
)

// Valid reports whether k is one of the case kinds.
func (k CaseKind) Valid() bool {
	switch k {
	case CaseLate, CaseMissing, CaseLocker, CasePassword, CaseHuman, CaseDamaged:
		return true
	}
	return false
}

// CaseStatus is where a case is.
type CaseStatus string

// Case statuses.
const (
	CaseOpen          CaseStatus = "open"           // created, nobody on it yet
	CaseAwaitingAgent CaseStatus = "awaiting_agent" // handed to the agent desk
	CaseWithAgent     CaseStatus = "with_agent"     // an agent claimed it
	CaseInvestigating CaseStatus = "investigating"  // carrier investigation open
	CaseResolved      CaseStatus = "resolved"       // refund, replacement or answer given
	CaseClosed        CaseStatus = "closed"         // nothing more to do
)

// Resolution is how a case ended.
type Resolution string

// Resolutions.
const (
	ResolveNone        Resolution = ""
	ResolveRefund      Resolution = "refund"
	ResolveReplacement Resolution = "replacement"
	ResolveWait        Resolution = "wait"
	ResolveAnswered    Resolution = "answered"
)

// Case is a support case.
type Case struct {
	ID           string
	Kind         CaseKind
	Status       CaseStatus
	Order        string
	CustomerID   string
	Conversation string
	Lang         string
	Theft        bool
	PoliceReport string
	// Damage is what the customer said is damaged (a damaged parcel:
	// "box", "content", "wet", "opened"); Photos are the photos they sent,
	// as the channel's references ("photo:<id>"), for the agent's thread.
	Damage     string
	Photos     []string
	Resolution Resolution
	Created    time.Time
	Updated    time.Time
	Notes      []CaseEvent
	// Version is the stored version this copy was read at (0: not stored
	// yet); a store compares it before writing (compare-and-set).
	Version int64
}

// CaseEvent records who did what to a case, and when.
type CaseEvent struct {
	At   time.Time
	Who  string // "bot", "customer" or an agent's id
	What string
}

// caseAlphabet has no 0/O, 1/I/L: ids are read aloud on the phone.
const caseAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// CaseID derives a short, speakable case id ("PB-7K2F9Q") from a seed, so
// that re-running the same turn (a redelivered message) yields the same id.
func CaseID(seed string) string {
	// FNV-1a 64: stable across versions and platforms.
	var h uint64 = 14695981039346656037
	for i := 0; i < len(seed); i++ {
		h ^= uint64(seed[i])
		h *= 1099511628211
	}
	var b [9]byte
	copy(b[:], "PB-")
	n := uint64(len(caseAlphabet))
	for i := 3; i < 9; i++ {
		b[i] = caseAlphabet[h%n]
		h /= n
	}
	return string(b[:])
}
