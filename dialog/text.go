package dialog

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
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
		n := utf8.RuneLen(r)
		if space {
			n++
		}
		if b.Len()+n > MaxInputBytes {
			break // a space is written only with the rune after it: no trailing space
		}
		if space {
			b.WriteByte(' ')
			space = false
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
// between words, no leading or trailing space. An apostrophe inside an
// English contraction joins instead ("won't" → "wont", "I'll" → "ill",
// as customers also type them); French and Italian elisions stay apart
// ("l'ho" → "l ho", "c'est" → "c est"). ASCII takes a fast path;
// any other character is folded by golang.org/x/text: its compatibility
// decomposition (norm.NFKD), without combining marks, case-folded
// (cases.Fold). It allocates nothing once a character was seen.
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
	ascii := func(c byte) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			emit(c)
		case c >= 'A' && c <= 'Z':
			emit(c + 32)
		default:
			space = true
		}
	}
	for i := 0; i < len(s); {
		if n := apostrophe(s[i:]); n > 0 && !space && len(dst) > start && contraction(s[i+n:]) {
			i += n
			continue
		}
		if c := s[i]; c < utf8.RuneSelf {
			i++
			ascii(c)
			continue
		}
		p := norm.NFKD.PropertiesString(s[i:])
		size := p.Size()
		if size == 0 {
			_, size = utf8.DecodeRuneInString(s[i:])
		}
		d := p.Decomposition()
		if d == nil {
			d = []byte(s[i : i+size])
		}
		i += size
		for j := 0; j < len(d); {
			r, n := utf8.DecodeRune(d[j:])
			j += n
			if unicode.Is(unicode.Mn, r) {
				continue // an accent
			}
			f := caseFold(r)
			for k := 0; k < len(f); {
				if f[k] < utf8.RuneSelf {
					ascii(f[k])
					k++
					continue
				}
				q, m := utf8.DecodeRuneInString(f[k:])
				if unicode.IsLetter(q) || unicode.IsDigit(q) {
					emit([]byte(f[k : k+m])...)
				} else {
					space = true
				}
				k += m
			}
		}
	}
	return dst
}

// caseFold is cases.Fold of one character (ß→ss), remembered: the caser
// allocates, and a conversation uses few distinct characters. Ligatures
// that French writes for two letters (œ, æ) fold to them.
func caseFold(r rune) string {
	return folded.get(r, func(r rune) string {
		switch r {
		case 'œ', 'Œ':
			return "oe"
		case 'æ', 'Æ':
			return "ae"
		}
		return cases.Fold().String(string(r))
	})
}

var folded = memo[rune, string]{max: 4096}

// memo remembers the results of a pure function of a few distinct keys
// (at most max of them), safe for concurrent use.
type memo[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

func (c *memo[K, V]) get(k K, f func(K) V) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = f(k)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[K]V{}
	}
	if len(c.m) < c.max {
		c.m[k] = v
	}
	c.mu.Unlock()
	return v
}

// apostrophe returns the length of the apostrophe s starts with (', ’ or
// ʼ), or 0.
func apostrophe(s string) int {
	for _, a := range []string{"'", "\u2019", "\u02bc"} { // ' ’ ʼ (ʼ is two bytes, ’ three)
		if strings.HasPrefix(s, a) {
			return len(a)
		}
	}
	return 0
}

// contraction reports whether s starts with the end of an English
// contraction: t, s, ll, re, ve, d or m, and then no more letters.
func contraction(s string) bool {
	n := 0
	for n < len(s) && (s[n]|0x20 >= 'a' && s[n]|0x20 <= 'z') {
		n++
	}
	if n < len(s) && s[n] >= utf8.RuneSelf {
		return false // a word going on in accented letters
	}
	switch strings.ToLower(s[:n]) {
	case "t", "s", "ll", "re", "ve", "d", "m":
		return true
	}
	return false
}

// Fold returns the matching form of s (see fold): what button labels and
// typed answers are compared by.
func Fold(s string) string { return string(fold(nil, s)) }
