package bot

import (
	"fmt"
	"strings"

	"github.com/parcelbot/parcelbot/dialog"
)

// OrderFormat describes how order numbers look: N a digit, A a letter, X a
// digit or letter, anything else a separator that customers may type as
// itself, a space, a dot, a slash or leave out. The demo format is
// "NNN-NNNNNNN-NNNNNNN".
type OrderFormat struct {
	pattern string
	groups  []fmtGroup
}

type fmtGroup struct {
	class byte // 'N', 'A' or 'X'
	n     int
	sep   string // the separator that follows this group in canonical form
}

// ParseOrderFormat compiles a pattern such as "NNN-NNNNNNN-NNNNNNN".
func ParseOrderFormat(p string) (OrderFormat, error) {
	f := OrderFormat{pattern: p}
	for i := 0; i < len(p); {
		c := p[i]
		if c != 'N' && c != 'A' && c != 'X' {
			if len(f.groups) == 0 {
				return f, fmt.Errorf("order format %q: must start with N, A or X", p)
			}
			f.groups[len(f.groups)-1].sep += string(c)
			i++
			continue
		}
		j := i
		for j < len(p) && p[j] == c {
			j++
		}
		if len(f.groups) > 0 && f.groups[len(f.groups)-1].sep == "" {
			return f, fmt.Errorf("order format %q: groups need a separator between them", p)
		}
		f.groups = append(f.groups, fmtGroup{class: c, n: j - i})
		i = j
	}
	if len(f.groups) == 0 {
		return f, fmt.Errorf("order format %q: empty", p)
	}
	if f.groups[len(f.groups)-1].sep != "" {
		return f, fmt.Errorf("order format %q: must end with N, A or X", p)
	}
	return f, nil
}

// String returns the pattern.
func (f OrderFormat) String() string { return f.pattern }

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

func classOK(class, c byte) bool {
	switch class {
	case 'N':
		return isDigit(c)
	case 'A':
		return isLetter(c)
	}
	return isAlnum(c)
}

func isSep(c byte) bool { return c == '-' || c == ' ' || c == '.' || c == '/' || c == '_' }

// Find returns the first order number in s in canonical form, or "".
func (f OrderFormat) Find(s string) string {
	if len(f.groups) == 0 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if i > 0 && isAlnum(s[i-1]) {
			continue
		}
		if end, ok := f.matchAt(s, i); ok && (end == len(s) || !isAlnum(s[end])) {
			return f.canonical(s[i:end])
		}
	}
	return ""
}

func (f OrderFormat) matchAt(s string, i int) (int, bool) {
	for gi, g := range f.groups {
		for k := 0; k < g.n; k++ {
			if i >= len(s) || !classOK(g.class, s[i]) {
				return 0, false
			}
			i++
		}
		if gi < len(f.groups)-1 {
			// one separator of any kind, or none
			if i < len(s) && (isSep(s[i]) || strings.HasPrefix(s[i:], g.sep)) {
				if strings.HasPrefix(s[i:], g.sep) {
					i += len(g.sep)
				} else {
					i++
				}
			}
		}
	}
	return i, true
}

func (f OrderFormat) canonical(m string) string {
	var b strings.Builder
	b.Grow(len(f.pattern))
	j := 0
	for gi, g := range f.groups {
		for k := 0; k < g.n; {
			c := m[j]
			j++
			if isAlnum(c) {
				if c >= 'a' && c <= 'z' {
					c -= 32
				}
				b.WriteByte(c)
				k++
			}
		}
		if gi < len(f.groups)-1 {
			b.WriteString(g.sep)
		}
	}
	return b.String()
}

// FindPostcode returns the first postcode in s: five digits standing alone
// (DE, FR, IT) or a UK postcode such as "SW1A 1AA", in canonical form; the
// digits of an order number are not a postcode.
func FindPostcode(s string, orders OrderFormat) string {
	skipFrom, skipTo := -1, -1
	if on := orders.Find(s); on != "" {
		// find where it is, to skip it
		for i := 0; i < len(s); i++ {
			if end, ok := orders.matchAt(s, i); ok && (i == 0 || !isAlnum(s[i-1])) {
				skipFrom, skipTo = i, end
				break
			}
		}
	}
	for i := 0; i < len(s); i++ {
		if i >= skipFrom && i < skipTo {
			continue
		}
		if i > 0 && isAlnum(s[i-1]) {
			continue
		}
		if i+5 <= len(s) && allDigits(s[i:i+5]) && (i+5 == len(s) || !isAlnum(s[i+5])) {
			return s[i : i+5]
		}
		if pc, ok := ukPostcodeAt(s, i); ok {
			return pc
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// ukPostcodeAt matches A[A]N[A|N] [space] NAA at i.
func ukPostcodeAt(s string, i int) (string, bool) {
	j := i
	letters := 0
	for j < len(s) && isLetter(s[j]) && letters < 2 {
		j++
		letters++
	}
	if letters == 0 || j >= len(s) || !isDigit(s[j]) {
		return "", false
	}
	j++
	outward := s[i:j]
	if j < len(s) && isAlnum(s[j]) && !(j+3 <= len(s) && isDigit(s[j]) && isLetter(s[j+1]) && isLetter(s[j+2]) && (j+3 == len(s) || !isAlnum(s[j+3]))) {
		j++
		outward = s[i:j]
	}
	if j < len(s) && s[j] == ' ' {
		j++
	}
	if j+3 > len(s) || !isDigit(s[j]) || !isLetter(s[j+1]) || !isLetter(s[j+2]) {
		return "", false
	}
	if j+3 < len(s) && isAlnum(s[j+3]) {
		return "", false
	}
	return strings.ToUpper(outward) + " " + strings.ToUpper(s[j:j+3]), true
}

// languageNames are the names customers give our four languages, in each
// of them, folded (dialog.Fold).
var languageNames = map[string]string{
	"english": "en", "englisch": "en", "anglais": "en", "inglese": "en",
	"german": "de", "deutsch": "de", "allemand": "de", "tedesco": "de",
	"french": "fr", "franzosisch": "fr", "francais": "fr", "francese": "fr",
	"italian": "it", "italienisch": "it", "italien": "it", "italiano": "it",
}

// FindLanguage returns the language a message names ("in German please" →
// de), or "" when it names none or more than one.
func FindLanguage(text string) string {
	if !mentionsLanguage(text) {
		return "" // the common case, without folding the message
	}
	found := ""
	for w := range strings.FieldsSeq(dialog.Fold(text)) {
		if l, ok := languageNames[w]; ok {
			if found != "" && found != l {
				return ""
			}
			found = l
		}
	}
	return found
}

// otherLanguages are names of languages parcelbot does not speak, in our
// four languages and their own, folded: "do you speak Spanish?" is
// answered with the four it does speak.
var otherLanguages = map[string]string{
	"spanish": "es", "spanisch": "es", "espagnol": "es", "spagnolo": "es", "espanol": "es", "castellano": "es",
	"portuguese": "pt", "portugiesisch": "pt", "portugais": "pt", "portoghese": "pt", "portugues": "pt",
	"turkish": "tr", "turkisch": "tr", "turc": "tr", "turco": "tr", "turkce": "tr",
	"polish": "pl", "polnisch": "pl", "polonais": "pl", "polacco": "pl", "polski": "pl",
	"dutch": "nl", "niederlandisch": "nl", "hollandisch": "nl", "neerlandais": "nl", "olandese": "nl", "nederlands": "nl",
	"russian": "ru", "russisch": "ru", "russe": "ru", "russo": "ru",
	"arabic": "ar", "arabisch": "ar", "arabe": "ar", "arabo": "ar",
	"romanian": "ro", "rumanisch": "ro", "roumain": "ro", "rumeno": "ro",
	"greek": "el", "griechisch": "el", "grec": "el", "greco": "el",
	"chinese": "zh", "chinesisch": "zh", "chinois": "zh", "cinese": "zh",
	"japanese": "ja", "japanisch": "ja", "japonais": "ja", "giapponese": "ja",
	"albanian": "sq", "albanisch": "sq", "albanais": "sq", "albanese": "sq",
	"croatian": "hr", "kroatisch": "hr", "croate": "hr", "croato": "hr",
	"ukrainian": "uk", "ukrainisch": "uk", "ukrainien": "uk", "ucraino": "uk",
}

// FindOtherLanguage returns a language the message names that parcelbot
// does not speak ("¿hablas español?" → es), or "" when it names none or
// also names one of the four.
func FindOtherLanguage(text string) string {
	if len(text) > 300 {
		return ""
	}
	found := ""
	for w := range strings.FieldsSeq(dialog.Fold(text)) {
		if _, ours := languageNames[w]; ours {
			return ""
		}
		if l, ok := otherLanguages[w]; ok {
			found = l
		}
	}
	return found
}

// languageStems are the first letters of every name in languageNames.
var languageStems = []string{"engl", "angl", "ingl", "germ", "deut", "alle", "tede", "fren", "fran", "ital"}

// mentionsLanguage reports, without allocating, whether text may name a
// language (a stem of one of the names, in any case).
func mentionsLanguage(text string) bool {
	for i := 0; i+4 <= len(text); i++ {
		for _, st := range languageStems {
			if strings.EqualFold(text[i:i+4], st) {
				return true
			}
		}
	}
	return false
}
