package dialog

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Mode is who talks to the customer.
type Mode uint8

// Modes.
const (
	ModeBot   Mode = iota // the engine answers
	ModeAgent             // a case is with the agent desk: the bot relays
)

// State is one conversation's state between turns. It is small on purpose:
// facts about orders are looked up again each turn, transcripts are stored
// elsewhere, so the encoded state stays well under 2 KiB.
type State struct {
	// Version is the store's compare-and-set version; not encoded.
	Version uint64

	Lang      string // en, de, fr, it
	LangFixed bool   // chosen with /language: the channel's hint no longer applies
	Customer  string // linked customer id, "" when unlinked
	Flow      string // current flow
	Step      string // current step, waiting for input
	Return    string // "flow.step" to continue at when a called flow returns
	Seq       uint16 // increments whenever buttons are offered; buttons carry it
	Misses    uint8  // turns in a row not understood
	Mode      Mode
	Case      string   // the case with the agent desk, in ModeAgent
	Slots     []Slot   // values the customer gave or actions established
	Choices   []string // values of the dynamic buttons last offered
	Updated   int64    // unix seconds of the last turn
}

// Slot is a named value.
type Slot struct {
	Name, Value string
}

// Get returns the value of slot name, or "".
func (s *State) Get(name string) string {
	for i := range s.Slots {
		if s.Slots[i].Name == name {
			return s.Slots[i].Value
		}
	}
	return ""
}

// Set sets slot name to value; an empty value deletes the slot.
func (s *State) Set(name, value string) {
	for i := range s.Slots {
		if s.Slots[i].Name == name {
			if value == "" {
				s.Slots = append(s.Slots[:i], s.Slots[i+1:]...)
			} else {
				s.Slots[i].Value = value
			}
			return
		}
	}
	if value != "" {
		s.Slots = append(s.Slots, Slot{name, value})
	}
}

// Reset forgets the journey (flow, step, slots, choices) but keeps the
// language, the account link and the agent mode.
func (s *State) Reset() {
	s.Flow, s.Step, s.Return = "", "", ""
	s.Slots = s.Slots[:0]
	s.Choices = s.Choices[:0]
	s.Misses = 0
}

const (
	stateMagic   = 'P'
	stateVersion = 1
	maxField     = 4096
	maxItems     = 64
)

// ErrBadState is returned for an encoded state that cannot be decoded.
var ErrBadState = errors.New("bad session state")

// AppendBinary appends the encoded state to b (Version is not encoded).
func (s *State) AppendBinary(b []byte) []byte {
	b = append(b, stateMagic, stateVersion)
	var flags byte
	if s.LangFixed {
		flags |= 1
	}
	b = append(b, flags, byte(s.Mode), s.Misses)
	b = binary.AppendUvarint(b, uint64(s.Seq))
	b = binary.AppendVarint(b, s.Updated)
	for _, f := range [...]string{s.Lang, s.Customer, s.Flow, s.Step, s.Return, s.Case} {
		b = appendStr(b, f)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Slots)))
	for _, sl := range s.Slots {
		b = appendStr(appendStr(b, sl.Name), sl.Value)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Choices)))
	for _, c := range s.Choices {
		b = appendStr(b, c)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// MarshalBinary encodes the state.
func (s *State) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil), nil }

// UnmarshalBinary decodes data into s, keeping s.Version. Any malformed input
// returns an error wrapping ErrBadState and leaves s unusable but safe.
func (s *State) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	if len(data) < 5 || data[0] != stateMagic || data[1] != stateVersion {
		return fmt.Errorf("%w: header", ErrBadState)
	}
	flags := data[2]
	s.LangFixed = flags&1 != 0
	s.Mode = Mode(data[3])
	s.Misses = data[4]
	d.b = data[5:]
	seq := d.uvarint()
	s.Seq = uint16(seq)
	s.Updated = d.varint()
	s.Lang = d.str()
	s.Customer = d.str()
	s.Flow = d.str()
	s.Step = d.str()
	s.Return = d.str()
	s.Case = d.str()
	n := d.count()
	s.Slots = s.Slots[:0]
	for i := 0; i < n && d.err == nil; i++ {
		s.Slots = append(s.Slots, Slot{d.str(), d.str()})
	}
	n = d.count()
	s.Choices = s.Choices[:0]
	for i := 0; i < n && d.err == nil; i++ {
		s.Choices = append(s.Choices, d.str())
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err == nil && (seq > 0xffff || s.Mode > ModeAgent) {
		d.err = errors.New("field out of range")
	}
	if d.err != nil {
		return fmt.Errorf("%w: %v", ErrBadState, d.err)
	}
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) count() int {
	n := d.uvarint()
	if n > maxItems {
		d.err = errors.New("too many items")
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > maxField || n > uint64(len(d.b)) {
		d.err = errors.New("bad string length")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
