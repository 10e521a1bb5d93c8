package bot

import (
	"strconv"
	"unicode/utf8"

	"github.com/parcelbot/parcelbot/dialog"
)

// appendPending appends p as encoding/json encodes it (HTML characters not
// escaped), byte for byte, without reflection: the pending work is encoded
// on every turn, and json.Encoder took 6% of a load test's service CPU.
// FuzzPendingJSON checks it against encoding/json; redo decodes it with
// encoding/json.
func appendPending(b []byte, p *pendingWork) []byte {
	b = append(b, `{"l":`...)
	b = appendJSONString(b, p.Lang)
	if p.Customer != "" {
		b = appendJSONString(append(b, `,"c":`...), p.Customer)
	}
	if p.Case != "" {
		b = appendJSONString(append(b, `,"k":`...), p.Case)
	}
	b = appendList(b, `,"r":[`, p.Replies, appendReply)
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

func appendReply(b []byte, r *dialog.Reply) []byte {
	b = appendJSONString(append(b, `{"Text":`...), r.Text)
	b = appendPairs(b, `,"Buttons":`, r.Buttons == nil, len(r.Buttons), `{"Label":`, `,"Data":`,
		func(i int) (string, string) { return r.Buttons[i].Label, r.Buttons[i].Data })
	b = strconv.AppendBool(append(b, `,"Separate":`...), r.Separate)
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
