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

// FrameKind says why a frame is on the stack.
type FrameKind uint8

// Frame kinds.
const (
	// FrameCall: a flow called another; Flow.Step is where it continues
	// when the called flow returns.
	FrameCall FrameKind = iota
	// FrameDigression: a journey interrupted by another one. Flow.Step is
	// the step that waited, with its journey, slots, facts and choices, so
	// that the customer can go back to it exactly as it was.
	FrameDigression
	// FrameOffered: an interrupted journey the customer has been offered
	// to go back to; it is forgotten when they choose something else.
	FrameOffered
)

// Frame is one entry of the dialog stack.
type Frame struct {
	Kind       FrameKind
	Flow, Step string
	Journey    string   // FrameDigression: the interrupted journey
	Origin     string   // FrameDigression: see State.Origin
	Slots      []Slot   // FrameDigression: the journey's slots
	Facts      []Slot   // FrameDigression: what the waiting step showed
	Choices    []Choice // FrameDigression: its dynamic buttons
}

// Choice is a dynamic button: its label as shown, the value it sets, and
// the locale key it was rendered from (whose synonyms a typed answer may use).
type Choice struct {
	Label, Value, Key string
}

// maxFrames bounds the stack: older digressions are forgotten first.
const maxFrames = 8

// State is one conversation's state between turns. It is small on purpose:
// facts about orders are looked up again when a journey starts, transcripts
// are stored elsewhere, so the encoded state stays well under 2 KiB.
type State struct {
	// Version is the store's compare-and-set version; not encoded.
	Version uint64

	Lang string // en, de, fr, it
	// Region is the customer's country where it has its own locale variant
	// ("CH", "US", "BE"; see Catalog.Variants), from the channel's language
	// code or the linked customer's; "" for none. Encoded with Lang.
	Region    string
	LangFixed bool   // chosen with /language: the channel's hint no longer applies
	Customer  string // linked customer id, "" when unlinked
	Journey   string // the flow the customer started (by command, intent or button)
	Flow      string // current flow
	Step      string // current step, waiting for input
	Seq       uint16 // increments whenever buttons are offered; buttons carry it
	Misses    uint8  // turns in a row not understood
	Mode      Mode
	Case      string  // the case with the agent desk, in ModeAgent
	Stack     []Frame // calls to return from and journeys to go back to, innermost last
	Slots     []Slot  // values the customer gave or actions established
	// Facts are the values the waiting step was rendered with (dates,
	// statuses, lists), so that asking again shows exactly the same message.
	// Values marked secret by an action are never among them.
	Facts []Slot
	// Origin is the action step ("flow.step") to run again to re-render
	// the waiting step when it showed a secret, which is never stored.
	Origin  string
	Choices []Choice // the dynamic buttons last offered
	Updated int64    // unix seconds of the last turn
}

// Locale is the language with the region, as the catalog renders it:
// "de-CH", or "de" without a region.
func (s *State) Locale() string {
	if s.Region == "" {
		return s.Lang
	}
	return s.Lang + "-" + s.Region
}

// Slot is a named value.
type Slot struct {
	Name, Value string
}

// CopyTo makes dst a copy of s that shares none of its lists (strings are
// shared: they never change), writing into dst's lists where they have
// room. A service keeping states between turns copies them in and out
// instead of decoding the stored bytes again.
func (s *State) CopyTo(dst *State) {
	slots, facts, choices, stack := dst.Slots[:0], dst.Facts[:0], dst.Choices[:0], dst.Stack[:0]
	*dst = *s
	dst.Slots = append(slots, s.Slots...)
	dst.Facts = append(facts, s.Facts...)
	dst.Choices = append(choices, s.Choices...)
	for i, f := range s.Stack {
		r := recycled(stack, i)
		f.Slots = append(r.Slots, f.Slots...)
		f.Facts = append(r.Facts, f.Facts...)
		f.Choices = append(r.Choices, f.Choices...)
		stack = append(stack, f)
	}
	dst.Stack = stack
}

// recycled returns a frame holding the lists, emptied, of the frame that
// stack (cut to fewer) held at i before, for the frame written there
// next: frames never share lists (the engine copies a frame's lists in
// and out), so each place's can be written again.
func recycled(stack []Frame, i int) Frame {
	var f Frame
	if i < cap(stack) {
		old := stack[:i+1][i]
		f.Slots, f.Facts, f.Choices = old.Slots[:0], old.Facts[:0], old.Choices[:0]
	}
	return f
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
	s.Slots = setSlot(s.Slots, name, value)
}

func setSlot(slots []Slot, name, value string) []Slot {
	for i := range slots {
		if slots[i].Name == name {
			if value == "" {
				return append(slots[:i], slots[i+1:]...)
			}
			slots[i].Value = value
			return slots
		}
	}
	if value != "" {
		slots = append(slots, Slot{name, value})
	}
	return slots
}

// Reset forgets the journey (flow, step, stack, slots, choices) but keeps
// the language, the account link and the agent mode.
func (s *State) Reset() {
	s.Journey, s.Flow, s.Step, s.Origin = "", "", "", ""
	s.Stack = s.Stack[:0]
	s.Slots = s.Slots[:0]
	s.Facts = s.Facts[:0]
	s.Choices = s.Choices[:0]
	s.Misses = 0
}

// Keep forgets the journey like Reset, except the slots named in keep.
func (s *State) Keep(keep func(name string) bool) {
	kept := s.Slots[:0]
	for _, sl := range s.Slots {
		if keep(sl.Name) {
			kept = append(kept, sl)
		}
	}
	s.Slots = kept
	s.Journey, s.Flow, s.Step, s.Origin = "", "", "", ""
	s.Stack = s.Stack[:0]
	s.Facts = s.Facts[:0]
	s.Choices = s.Choices[:0]
	s.Misses = 0
}

// push adds a frame, forgetting the oldest when the stack is full.
func (s *State) push(f Frame) {
	if len(s.Stack) >= maxFrames {
		s.Stack = append(s.Stack[:0], s.Stack[1:]...)
	}
	s.Stack = append(s.Stack, f)
}

// popCall removes and returns the innermost call frame above the innermost
// digression; ok is false when there is none.
func (s *State) popCall() (Frame, bool) {
	if n := len(s.Stack); n > 0 && s.Stack[n-1].Kind == FrameCall {
		f := s.Stack[n-1]
		s.Stack = s.Stack[:n-1]
		return f, true
	}
	return Frame{}, false
}

// Interrupted returns the innermost journey waiting to be gone back to.
func (s *State) Interrupted() (Frame, bool) {
	for i := len(s.Stack) - 1; i >= 0; i-- {
		if s.Stack[i].Kind != FrameCall {
			return s.Stack[i], true
		}
	}
	return Frame{}, false
}

// popDigression removes the innermost digression frame and everything above
// it (calls of the journey that interrupted it) and returns it.
func (s *State) popDigression() (Frame, bool) {
	for i := len(s.Stack) - 1; i >= 0; i-- {
		if s.Stack[i].Kind != FrameCall {
			f := s.Stack[i]
			s.Stack = s.Stack[:i]
			return f, true
		}
	}
	return Frame{}, false
}

// dropCalls removes the call frames above the innermost digression: the
// journey that made them has ended.
func (s *State) dropCalls() {
	for len(s.Stack) > 0 && s.Stack[len(s.Stack)-1].Kind == FrameCall {
		s.Stack = s.Stack[:len(s.Stack)-1]
	}
}

const (
	stateMagic = 'P'
	// stateVersion 2 keeps a frame stack, the waiting step's facts and
	// labelled choices; version 1 (one return target, unlabelled choices)
	// is still read.
	stateVersion = 2
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
	for _, f := range [...]string{s.Locale(), s.Customer, s.Journey, s.Flow, s.Step, s.Case, s.Origin} {
		b = appendStr(b, f)
	}
	b = appendSlots(b, s.Slots)
	b = appendSlots(b, s.Facts)
	b = appendChoices(b, s.Choices)
	b = binary.AppendUvarint(b, uint64(len(s.Stack)))
	for i := range s.Stack {
		f := &s.Stack[i]
		b = append(b, byte(f.Kind))
		for _, v := range [...]string{f.Flow, f.Step, f.Journey, f.Origin} {
			b = appendStr(b, v)
		}
		b = appendSlots(b, f.Slots)
		b = appendSlots(b, f.Facts)
		b = appendChoices(b, f.Choices)
	}
	return b
}

func appendSlots(b []byte, slots []Slot) []byte {
	b = binary.AppendUvarint(b, uint64(len(slots)))
	for _, sl := range slots {
		b = appendStr(appendStr(b, sl.Name), sl.Value)
	}
	return b
}

func appendChoices(b []byte, cs []Choice) []byte {
	b = binary.AppendUvarint(b, uint64(len(cs)))
	for _, c := range cs {
		b = appendStr(appendStr(appendStr(b, c.Label), c.Value), c.Key)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// MarshalBinary encodes the state.
func (s *State) MarshalBinary() ([]byte, error) { return s.AppendBinary(nil), nil }

// UnmarshalBinary decodes data into s, keeping s.Version. Version 1 states
// (before the frame stack) are migrated: their return target becomes a call
// frame. Any malformed input returns an error wrapping ErrBadState and
// leaves s unusable but safe.
func (s *State) UnmarshalBinary(data []byte) error { return s.decode(data, nil) }

// decode is UnmarshalBinary; a string read that is a key of names is
// returned as names' value, not allocated (see Engine.Decode).
func (s *State) decode(data []byte, names map[string]string) error {
	d := decoder{b: data, names: names}
	if len(data) < 5 || data[0] != stateMagic || (data[1] != 1 && data[1] != stateVersion) {
		return fmt.Errorf("%w: header", ErrBadState)
	}
	version := data[1]
	flags := data[2]
	s.LangFixed = flags&1 != 0
	s.Mode = Mode(data[3])
	s.Misses = data[4]
	d.b = data[5:]
	seq := d.uvarint()
	s.Seq = uint16(seq)
	s.Updated = d.varint()
	s.Lang, s.Region = SplitLocale(d.str())
	s.Customer = d.str()
	s.Stack = s.Stack[:0]
	if version == 1 {
		d.v1(s)
	} else {
		s.Journey = d.str()
		s.Flow = d.str()
		s.Step = d.str()
		s.Case = d.str()
		s.Origin = d.str()
		s.Slots = d.slots(s.Slots[:0])
		s.Facts = d.slots(s.Facts[:0])
		s.Choices = d.choices(s.Choices[:0])
		n := d.count()
		for i := 0; i < n && d.err == nil; i++ {
			f := recycled(s.Stack, i) // its lists reused, as the state's own are
			if len(d.b) == 0 {
				d.err = errors.New("short frame")
				break
			}
			f.Kind = FrameKind(d.b[0])
			d.b = d.b[1:]
			if f.Kind > FrameOffered {
				d.err = errors.New("bad frame kind")
				break
			}
			f.Flow, f.Step, f.Journey, f.Origin = d.str(), d.str(), d.str(), d.str()
			f.Slots = d.slots(f.Slots)
			f.Facts = d.slots(f.Facts)
			f.Choices = d.choices(f.Choices)
			s.Stack = append(s.Stack, f)
		}
		if len(s.Stack) > maxFrames {
			d.err = errors.New("too many frames")
		}
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

// v1 reads the rest of a version 1 state: flow, step, return, case, slots,
// unlabelled choices.
func (d *decoder) v1(s *State) {
	s.Flow = d.str()
	s.Step = d.str()
	ret := d.str()
	s.Case = d.str()
	s.Slots = d.slots(s.Slots[:0])
	s.Facts = s.Facts[:0]
	s.Origin = ""
	n := d.count()
	s.Choices = s.Choices[:0]
	for i := 0; i < n && d.err == nil; i++ {
		s.Choices = append(s.Choices, Choice{Value: d.str()})
	}
	s.Journey = s.Flow
	if fl, st, ok := cutDot(ret); ok {
		s.Stack = append(s.Stack, Frame{Kind: FrameCall, Flow: fl, Step: st})
		s.Journey = fl
	}
}

func cutDot(t string) (string, string, bool) {
	for i := 0; i < len(t); i++ {
		if t[i] == '.' {
			return t[:i], t[i+1:], i > 0 && i < len(t)-1
		}
	}
	return "", "", false
}

// slots appends the slots read to dst. A name or value equal to the one
// dst's backing array held at that place (a state decoded into a reused
// State: the same flows, often the same values) is taken from there, not
// allocated again.
func (d *decoder) slots(dst []Slot) []Slot {
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		var old Slot
		if len(dst) < cap(dst) {
			old = dst[:len(dst)+1][len(dst)]
		}
		dst = append(dst, Slot{d.strLike(old.Name), d.strLike(old.Value)})
	}
	return dst
}

func (d *decoder) choices(dst []Choice) []Choice {
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		var old Choice
		if len(dst) < cap(dst) {
			old = dst[:len(dst)+1][len(dst)]
		}
		dst = append(dst, Choice{d.strLike(old.Label), d.strLike(old.Value), d.strLike(old.Key)})
	}
	return dst
}

type decoder struct {
	b     []byte
	err   error
	names map[string]string // strings returned without a copy; may be nil
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
	if s, ok := d.names[string(d.b[:n])]; ok {
		d.b = d.b[n:]
		return s
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// strLike is str, returning prev when the string read equals it.
func (d *decoder) strLike(prev string) string {
	if d.err != nil {
		return ""
	}
	save := d.b
	n := d.uvarint()
	if d.err == nil && n <= uint64(len(d.b)) && string(d.b[:n]) == prev {
		d.b = d.b[n:]
		return prev
	}
	d.b, d.err = save, nil
	return d.str()
}
