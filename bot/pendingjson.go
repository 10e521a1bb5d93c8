package bot

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/parcelbot/parcelbot/dialog"
)

// storedPending is pendingWork as stored, in JSON: appendPending writes
// what encoding/json writes for it (FuzzPendingJSON checks), and
// decodePending reads it.
type storedPending struct {
	Lang     string          `json:"l"`
	Customer string          `json:"c,omitempty"`
	Case     string          `json:"k,omitempty"`
	Lines    int             `json:"n,omitempty"`
	Sum      uint32          `json:"h,omitempty"`
	Replies  []storedReply   `json:"q,omitempty"`
	Effects  []dialog.Effect `json:"e,omitempty"`
	// Before is the replies in the layout before 8 December 2026, their
	// texts always in: read (a turn stored by the build before), never
	// written.
	Before []dialog.Reply `json:"r,omitempty"`
}

// storedReply is a reply as stored: its text only when the pending work
// does not refer to the transcript, its buttons as [label, data].
type storedReply struct {
	Text     string      `json:"t,omitempty"`
	Buttons  [][2]string `json:"b,omitempty"`
	Separate bool        `json:"s,omitempty"`
}

// decodePending reads stored pending work (either layout). With Lines set,
// the replies' texts are still to be filled in from the transcript.
func decodePending(data []byte) (pendingWork, error) {
	var sp storedPending
	if err := json.Unmarshal(data, &sp); err != nil {
		return pendingWork{}, fmt.Errorf("decode pending work: %w", err)
	}
	p := pendingWork{Lang: sp.Lang, Customer: sp.Customer, Case: sp.Case, Effects: sp.Effects, Lines: sp.Lines, Sum: sp.Sum, Replies: sp.Before}
	if len(sp.Replies) > 0 {
		p.Replies = make([]dialog.Reply, len(sp.Replies))
		for i, sr := range sp.Replies {
			p.Replies[i] = dialog.Reply{Text: sr.Text, Separate: sr.Separate}
			for _, b := range sr.Buttons {
				p.Replies[i].Buttons = append(p.Replies[i].Buttons, dialog.Button{Label: b[0], Data: b[1]})
			}
		}
	}
	return p, nil
}

// appendPending appends p as encoding/json encodes its storedPending (HTML
// characters not escaped), byte for byte, without reflection: the pending
// work is encoded on every turn, and json.Encoder took 6% of a load test's
// service CPU. FuzzPendingJSON checks it against encoding/json.
func appendPending(b []byte, p *pendingWork) []byte {
	b = append(b, `{"l":`...)
	b = appendJSONString(b, p.Lang)
	if p.Customer != "" {
		b = appendJSONString(append(b, `,"c":`...), p.Customer)
	}
	if p.Case != "" {
		b = appendJSONString(append(b, `,"k":`...), p.Case)
	}
	if p.Lines != 0 {
		b = strconv.AppendInt(append(b, `,"n":`...), int64(p.Lines), 10)
	}
	if p.Sum != 0 {
		b = strconv.AppendUint(append(b, `,"h":`...), uint64(p.Sum), 10)
	}
	if p.Lines == 0 { // two calls, not a function value: that would send p's strings to the heap
		b = appendList(b, `,"q":[`, p.Replies, appendReplyWithText)
	} else {
		b = appendList(b, `,"q":[`, p.Replies, appendReplyWithoutText)
	}
	b = appendList(b, `,"e":[`, p.Effects, appendEffect)
	return append(b, '}')
}

// appendList appends open, the items each writes, comma-separated, and
// "]"; nothing for an empty list (the fields are omitempty).
func appendList[T any](b []byte, open string, items []T, each func([]byte, *T) []byte) []byte {
	if len(items) == 0 {
		return b
	}
	b = append(b, open...)
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = each(b, &items[i])
	}
	return append(b, ']')
}

// appendReplyWithText and appendReplyWithoutText append r as a
// storedReply, with its text or without (read back from the transcript).
func appendReplyWithText(b []byte, r *dialog.Reply) []byte    { return appendReply(b, r, true) }
func appendReplyWithoutText(b []byte, r *dialog.Reply) []byte { return appendReply(b, r, false) }

func appendReply(b []byte, r *dialog.Reply, withText bool) []byte {
	b = append(b, '{')
	comma := false
	if withText && r.Text != "" {
		b = appendJSONString(append(b, `"t":`...), r.Text)
		comma = true
	}
	if len(r.Buttons) > 0 {
		if comma {
			b = append(b, ',')
		}
		b = append(b, `"b":[`...)
		for i := range r.Buttons {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(append(b, '['), r.Buttons[i].Label)
			b = append(appendJSONString(append(b, ','), r.Buttons[i].Data), ']')
		}
		b = append(b, ']')
		comma = true
	}
	if r.Separate {
		if comma {
			b = append(b, ',')
		}
		b = append(b, `"s":true`...)
	}
	return append(b, '}')
}

func appendEffect(b []byte, e *dialog.Effect) []byte {
	b = appendJSONString(append(b, `{"Kind":`...), e.Kind)
	b = appendPairs(b, `,"Args":`, e.Args == nil, len(e.Args), `{"Name":`, `,"Value":`,
		func(i int) (string, string) { return e.Args[i].Name, e.Args[i].Value })
	return append(b, '}')
}

// appendPairs appends field and a list of n objects of two strings each
// (null for a nil list), as encoding/json writes a slice of such structs.
func appendPairs(b []byte, field string, isNil bool, n int, first, second string, pair func(int) (string, string)) []byte {
	b = append(b, field...)
	if isNil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		x, y := pair(i)
		b = appendJSONString(append(b, first...), x)
		b = appendJSONString(append(b, second...), y)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string the way encoding/json does
// without HTML escaping: control characters escaped, invalid UTF-8 as
// U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}
