package dialog

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxInputBytes is the longest message text the engine looks at; longer text
// is cut at a rune boundary (Telegram allows 4,096 characters).
const MaxInputBytes = 4096

// Clean makes untrusted message text safe to process: invalid UTF-8, control
// characters, zero-width and bidirectional marks are dropped, runs of white
// space become one space, and the result is trimmed and capped at
// MaxInputBytes. It returns s itself when s is already clean.
func Clean(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), MaxInputBytes))
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size <= 1 {
			continue
		}
		if invisible(r) {
			continue
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			if b.Len()+1 > MaxInputBytes {
				break
			}
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > MaxInputBytes {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isClean(s string) bool {
	if len(s) > MaxInputBytes || len(s) == 0 {
		return len(s) == 0
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	prevSpace := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return isCleanSlow(s)
		}
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c == ' ' {
			if prevSpace {
				return false
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
	}
	return true
}

func isCleanSlow(s string) bool {
	prevSpace := false
	for _, r := range s {
		if r == utf8.RuneError || invisible(r) || unicode.IsControl(r) {
			return false
		}
		sp := unicode.IsSpace(r)
		if sp && (r != ' ' || prevSpace) {
			return false
		}
		prevSpace = sp
	}
	return utf8.ValidString(s)
}

// invisible reports zero-width characters and bidirectional controls, which
// can hide or reorder text.
func invisible(r rune) bool {
	switch {
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E,
		r >= 0x2060 && r <= 0x2064, r >= 0x2066 && r <= 0x2069,
		r == 0xFEFF, r == 0x00AD, r == 0x061C:
		return true
	}
	return false
}

// fold appends a matching form of s to dst: lower case, accents removed
// (é→e, ß→ss, œ→oe), apostrophes and punctuation as spaces, one space
// between words, no leading or trailing space.
func fold(dst []byte, s string) []byte {
	start := len(dst)
	space := true
	emit := func(bs ...byte) {
		if space && len(dst) > start {
			dst = append(dst, ' ')
		}
		space = false
		dst = append(dst, bs...)
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				emit(c)
			case c >= 'A' && c <= 'Z':
				emit(c + 32)
			default:
				space = true
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if a, b := foldRune(r); a != 0 {
			if b != 0 {
				emit(a, b)
			} else {
				emit(a)
			}
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			var tmp [4]byte
			n := utf8.EncodeRune(tmp[:], unicode.ToLower(r))
			emit(tmp[:n]...)
			continue
		}
		space = true
	}
	return dst
}

// foldRune maps the Latin letters of our four languages to one or two
// ASCII letters; 0, 0 for anything else.
func foldRune(r rune) (byte, byte) {
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'À', 'Á', 'Â', 'Ã', 'Ä', 'Å':
		return 'a', 0
	case 'ç', 'Ç':
		return 'c', 0
	case 'è', 'é', 'ê', 'ë', 'È', 'É', 'Ê', 'Ë':
		return 'e', 0
	case 'ì', 'í', 'î', 'ï', 'Ì', 'Í', 'Î', 'Ï':
		return 'i', 0
	case 'ñ', 'Ñ':
		return 'n', 0
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'Ò', 'Ó', 'Ô', 'Õ', 'Ö', 'ø', 'Ø':
		return 'o', 0
	case 'ù', 'ú', 'û', 'ü', 'Ù', 'Ú', 'Û', 'Ü':
		return 'u', 0
	case 'ý', 'ÿ', 'Ý':
		return 'y', 0
	case 'ß':
		return 's', 's'
	case 'œ', 'Œ':
		return 'o', 'e'
	case 'æ', 'Æ':
		return 'a', 'e'
	}
	return 0, 0
}

// Fold returns the matching form of s (see fold): what button labels and
// typed answers are compared by.
func Fold(s string) string { return string(fold(nil, s)) }
