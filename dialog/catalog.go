package dialog

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-playground/locales"
	"github.com/go-playground/locales/de_AT"
	"github.com/go-playground/locales/de_CH"
	"github.com/go-playground/locales/de_DE"
	"github.com/go-playground/locales/en_GB"
	"github.com/go-playground/locales/en_US"
	"github.com/go-playground/locales/fr_BE"
	"github.com/go-playground/locales/fr_CH"
	"github.com/go-playground/locales/fr_FR"
	"github.com/go-playground/locales/it_CH"
	"github.com/go-playground/locales/it_IT"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/currency"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// Languages are the languages parcelbot speaks, in menu order. English is
// the fallback for any other language code.
var Languages = []string{"en", "de", "fr", "it"}

// NormalizeLang maps a channel's language code ("de-CH", "FR", "it_IT") to
// one of Languages, falling back to "en".
func NormalizeLang(code string) string {
	if len(code) >= 2 {
		p := strings.ToLower(code[:2])
		if len(code) == 2 || code[2] == '-' || code[2] == '_' {
			for _, l := range Languages {
				if l == p {
					return l
				}
			}
		}
	}
	return "en"
}

// SplitLocale maps a channel's or a customer's language code ("de-CH",
// "fr_be", "EN") to one of Languages and a region in upper case ("CH",
// "BE"; "" when the code has none).
func SplitLocale(code string) (lang, region string) {
	lang = NormalizeLang(code)
	if len(code) == 5 && (code[2] == '-' || code[2] == '_') && strings.ToLower(code[:2]) == lang {
		r := strings.ToUpper(code[3:])
		if r[0] >= 'A' && r[0] <= 'Z' && r[1] >= 'A' && r[1] <= 'Z' {
			region = r
		}
	}
	return lang, region
}

// cldr is the CLDR data (github.com/go-playground/locales) for the names
// of weekdays and months, per locale: a language alone means its main
// variety (English as in Britain, the shop's home market).
var cldr = map[string]func() locales.Translator{
	"en": en_GB.New, "en-GB": en_GB.New, "en-US": en_US.New,
	"de": de_DE.New, "de-DE": de_DE.New, "de-CH": de_CH.New, "de-AT": de_AT.New,
	"fr": fr_FR.New, "fr-FR": fr_FR.New, "fr-CH": fr_CH.New, "fr-BE": fr_BE.New,
	"it": it_IT.New, "it-IT": it_IT.New, "it-CH": it_CH.New,
}

// Catalog holds the parsed locale files: messages with named placeholders
// and plural forms, and each language's date and money formats.
type Catalog struct {
	langs map[string]*langTable
	keys  []string // sorted keys, the same in every language
	// syn: per language, label key → its synonyms as folded words
	syn map[string]map[string][][]string
	// folded: per language, key → its text folded, for messages without
	// placeholders (button labels are matched against typed text)
	folded map[string]map[string]string
	// variants are the regional locales (de-CH, en-US, …) in file order
	variants []string
}

type langTable struct {
	lang     string
	tag      language.Tag // for CLDR's plural rules
	msgs     map[string]*message
	weekdays [7]string  // Sunday first, from CLDR
	dayOne   string     // format.day_one: the 1st of a month
	months   [12]string // from CLDR
	decimal  string
	group    string
	moneyDec string // format.money_decimal: the decimal mark in amounts of money
}

// message is one parsed entry: a single template or plural forms.
type message struct {
	key    string
	one    []part // nil unless plural
	other  []part
	forms  map[plural.Form][]part // zero, two, few, many when a file has them
	plural bool
	line   int
	list   []string // for sequences (weekdays, months)
}

// part is a literal or a placeholder.
type part struct {
	lit string
	arg string
}

// Args supplies placeholder values by name.
type Args interface {
	Lookup(name string) (string, bool)
}

// LoadCatalog parses <lang>.yaml for every language in fsys and checks that
// every file has the same keys, the same placeholders per key and the
// formats the renderer needs. Errors name the file and line.
func LoadCatalog(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{langs: make(map[string]*langTable, len(Languages))}
	for _, lang := range Languages {
		name := lang + ".yaml"
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("load locale %s: %w", name, err)
		}
		t, err := parseLocale(name, lang, data)
		if err != nil {
			return nil, err
		}
		c.langs[lang] = t
	}
	if err := c.checkParity(); err != nil {
		return nil, err
	}
	if err := c.loadVariants(fsys); err != nil {
		return nil, err
	}
	c.syn = map[string]map[string][][]string{}
	c.folded = map[string]map[string]string{}
	for lang, t := range c.langs {
		c.syn[lang] = map[string][][]string{}
		c.folded[lang] = map[string]string{}
		for key, m := range t.msgs {
			if !m.plural && len(m.other) <= 1 && (len(m.other) == 0 || m.other[0].arg == "") {
				c.folded[lang][key] = Fold(literal(m.other))
			}
		}
		for key, m := range t.msgs {
			label, ok := strings.CutPrefix(key, "synonyms.")
			if !ok {
				continue
			}
			if _, known := t.msgs[label]; !known {
				return nil, fmt.Errorf("%s.yaml:%d: %s: synonyms of a key that does not exist", lang, m.line, key)
			}
			for _, s := range m.list {
				if f := strings.Fields(Fold(s)); len(f) > 0 {
					c.syn[lang][label] = append(c.syn[lang][label], f)
				}
			}
		}
	}
	return c, nil
}

// foldedText returns key's text in lang folded (see Fold), rendering it
// only when it has placeholders.
func (c *Catalog) foldedText(lang, key string, args Args) string {
	lang = c.table(lang).lang
	if f, ok := c.folded[lang][key]; ok {
		return f
	}
	return Fold(c.Text(lang, key, args))
}

// synonyms returns the folded synonyms of a button label key in lang: other
// ways a customer may type that choice (locale files, synonyms.<key>).
func (c *Catalog) synonyms(lang, key string) [][]string {
	return c.syn[c.table(lang).lang][key]
}

func parseLocale(file, lang string, data []byte) (*langTable, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	t := &langTable{lang: lang, tag: language.Make(lang), msgs: map[string]*message{}}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: empty locale file", file)
	}
	if err := t.walk(file, "", root.Content[0]); err != nil {
		return nil, err
	}
	if err := t.finish(file, lang, nil); err != nil {
		return nil, err
	}
	return t, nil
}

// finish takes the formats out of the messages and the names of weekdays
// and months from CLDR, for locale; rep (may be nil) is the variant's
// spelling rules.
func (t *langTable) finish(file, locale string, rep *strings.Replacer) error {
	for _, k := range []string{"format.decimal", "format.group", "format.money_decimal"} {
		m := t.msgs[k]
		if m == nil || m.plural || len(m.other) > 1 || (len(m.other) == 1 && m.other[0].arg != "") {
			return fmt.Errorf("%s: %s must be a plain string", file, k)
		}
	}
	if m := t.msgs["format.day_one"]; m != nil && !m.plural && len(m.other) == 1 && m.other[0].arg == "" {
		t.dayOne = literal(m.other)
	}
	t.decimal = literal(t.msgs["format.decimal"].other)
	t.group = literal(t.msgs["format.group"].other)
	t.moneyDec = literal(t.msgs["format.money_decimal"].other)
	mk, ok := cldr[locale]
	if !ok {
		return fmt.Errorf("%s: no CLDR data for %s (known: %s)", file, locale, strings.Join(slices.Sorted(maps.Keys(cldr)), ", "))
	}
	tr := mk()
	for d := range t.weekdays {
		t.weekdays[d] = tr.WeekdayWide(time.Weekday(d))
	}
	for m := range t.months {
		t.months[m] = tr.MonthWide(time.Month(m + 1))
	}
	if rep != nil {
		for i := range t.weekdays {
			t.weekdays[i] = rep.Replace(t.weekdays[i])
		}
		for i := range t.months {
			t.months[i] = rep.Replace(t.months[i])
		}
	}
	return nil
}

// Variants returns the regional locales the catalog has ("de-CH", …).
func (c *Catalog) Variants() []string { return c.variants }

// loadVariants reads the regional files <lang>-<REGION>.yaml: each holds
// only what differs from <lang>.yaml — messages it overrides (with the same
// placeholders) and, under variant.replace, spelling rules applied to every
// text of the language first (de-CH: ß → ss).
func (c *Catalog) loadVariants(fsys fs.FS) error {
	names, err := fs.Glob(fsys, "??-??.yaml")
	if err != nil {
		return fmt.Errorf("load locale variants: %w", err)
	}
	for _, name := range names {
		locale := strings.TrimSuffix(name, ".yaml")
		lang, region := SplitLocale(locale)
		base, ok := c.langs[locale[:2]]
		if !ok || lang+"-"+region != locale {
			return fmt.Errorf("%s: a variant is <language>-<REGION>.yaml of one of %s", name, strings.Join(Languages, ", "))
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("load locale %s: %w", name, err)
		}
		t, err := parseVariant(name, locale, base, data)
		if err != nil {
			return err
		}
		c.langs[locale] = t
		c.variants = append(c.variants, locale)
	}
	return nil
}

func parseVariant(file, locale string, base *langTable, data []byte) (*langTable, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	over := &langTable{lang: locale, tag: base.tag, msgs: map[string]*message{}}
	var rules struct {
		Replace map[string]string `yaml:"replace"`
	}
	if len(root.Content) > 0 {
		doc := root.Content[0]
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if doc.Content[i].Value == "variant" {
				if err := doc.Content[i+1].Decode(&rules); err != nil {
					return nil, fmt.Errorf("%s:%d: variant: %w", file, doc.Content[i].Line, err)
				}
				doc.Content = append(doc.Content[:i], doc.Content[i+2:]...)
				break
			}
		}
		if err := over.walk(file, "", doc); err != nil {
			return nil, err
		}
	}
	var rep *strings.Replacer
	if len(rules.Replace) > 0 {
		var pairs []string
		// longest first, so "10115 Berlin" wins over "10115"
		froms := slices.Sorted(maps.Keys(rules.Replace))
		slices.SortStableFunc(froms, func(a, b string) int { return len(b) - len(a) })
		for _, from := range froms {
			if from == "" {
				return nil, fmt.Errorf("%s: variant.replace: an empty text to replace", file)
			}
			pairs = append(pairs, from, rules.Replace[from])
		}
		rep = strings.NewReplacer(pairs...)
	}
	t := &langTable{lang: locale, tag: base.tag, msgs: make(map[string]*message, len(base.msgs))}
	for k, m := range base.msgs {
		t.msgs[k] = m.replaced(rep)
	}
	for k, m := range over.msgs {
		bm, ok := base.msgs[k]
		if !ok {
			return nil, fmt.Errorf("%s:%d: %s is not in %s.yaml: a variant only overrides what its language has", file, m.line, k, base.lang)
		}
		if m.plural != bm.plural || (m.list == nil) != (bm.list == nil) {
			return nil, fmt.Errorf("%s:%d: %s: not the same kind of entry as in %s.yaml (text, plural or list)", file, m.line, k, base.lang)
		}
		if !slices.Equal(m.placeholders(), bm.placeholders()) {
			return nil, fmt.Errorf("%s:%d: %s has placeholders %v, %s.yaml has %v", file, m.line, k, m.placeholders(), base.lang, bm.placeholders())
		}
		t.msgs[k] = m
	}
	if err := t.finish(file, locale, rep); err != nil {
		return nil, err
	}
	return t, nil
}

// replaced returns m with rep applied to its literal text (m itself when
// rep is nil).
func (m *message) replaced(rep *strings.Replacer) *message {
	if rep == nil {
		return m
	}
	out := *m
	fix := func(ps []part) []part {
		if ps == nil {
			return nil
		}
		o := make([]part, len(ps))
		for i, p := range ps {
			o[i] = part{lit: rep.Replace(p.lit), arg: p.arg}
		}
		return o
	}
	out.one, out.other = fix(m.one), fix(m.other)
	if m.forms != nil {
		out.forms = make(map[plural.Form][]part, len(m.forms))
		for f, ps := range m.forms {
			out.forms[f] = fix(ps)
		}
	}
	if m.list != nil {
		out.list = make([]string, len(m.list))
		for i, v := range m.list {
			out.list[i] = rep.Replace(v)
		}
	}
	return &out
}

func literal(ps []part) string {
	if len(ps) == 0 {
		return ""
	}
	return ps[0].lit
}

var pluralForms = []string{"zero", "one", "two", "few", "many", "other"}

func (t *langTable) walk(file, prefix string, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		if isPlural(n) {
			m := &message{key: prefix, plural: true, line: n.Line}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				if v.Kind != yaml.ScalarNode {
					return fmt.Errorf("%s:%d: %s.%s: plural form must be a string", file, v.Line, prefix, k)
				}
				ps, err := parseTemplate(v.Value)
				if err != nil {
					return fmt.Errorf("%s:%d: %s.%s: %w", file, v.Line, prefix, k, err)
				}
				switch k {
				case "one":
					m.one = ps
				case "other":
					m.other = ps
				default: // chosen when CLDR's rule of the language says so
					if m.forms == nil {
						m.forms = map[plural.Form][]part{}
					}
					m.forms[map[string]plural.Form{"zero": plural.Zero, "two": plural.Two, "few": plural.Few, "many": plural.Many}[k]] = ps
				}
			}
			if m.one == nil {
				return fmt.Errorf("%s:%d: %s: plural needs a 'one' form", file, n.Line, prefix)
			}
			t.msgs[prefix] = m
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if k == "" || strings.ContainsAny(k, " .{}") {
				return fmt.Errorf("%s:%d: bad key %q", file, n.Content[i].Line, k)
			}
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			if _, dup := t.msgs[key]; dup {
				return fmt.Errorf("%s:%d: duplicate key %s", file, n.Content[i].Line, key)
			}
			if err := t.walk(file, key, n.Content[i+1]); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		m := &message{key: prefix, line: n.Line}
		for _, v := range n.Content {
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("%s:%d: %s: list items must be strings", file, v.Line, prefix)
			}
			m.list = append(m.list, v.Value)
		}
		t.msgs[prefix] = m
	case yaml.ScalarNode:
		ps, err := parseTemplate(n.Value)
		if err != nil {
			return fmt.Errorf("%s:%d: %s: %w", file, n.Line, prefix, err)
		}
		t.msgs[prefix] = &message{key: prefix, other: ps, line: n.Line}
	default:
		return fmt.Errorf("%s:%d: %s: unexpected YAML node", file, n.Line, prefix)
	}
	return nil
}

func isPlural(n *yaml.Node) bool {
	hasOther := false
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if !slices.Contains(pluralForms, k) {
			return false
		}
		if k == "other" {
			hasOther = true
		}
	}
	return hasOther
}

// parseTemplate splits "Hello {name}!" into parts. Placeholder names are
// lowercase letters, digits and underscores.
func parseTemplate(s string) ([]part, error) {
	var ps []part
	for len(s) > 0 {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			if strings.IndexByte(s, '}') >= 0 {
				return nil, fmt.Errorf("unmatched '}' in %q", s)
			}
			ps = append(ps, part{lit: s})
			break
		}
		if i > 0 {
			if strings.IndexByte(s[:i], '}') >= 0 {
				return nil, fmt.Errorf("unmatched '}' in %q", s)
			}
			ps = append(ps, part{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed '{' in %q", s)
		}
		name := s[i+1 : i+j]
		if name == "" || strings.TrimFunc(name, func(r rune) bool {
			return r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		}) != "" {
			return nil, fmt.Errorf("bad placeholder {%s}", name)
		}
		ps = append(ps, part{arg: name})
		s = s[i+j+1:]
	}
	return ps, nil
}

func (m *message) placeholders() []string {
	var out []string
	for _, set := range [][]part{m.one, m.other} {
		for _, p := range set {
			if p.arg != "" && !slices.Contains(out, p.arg) {
				out = append(out, p.arg)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (c *Catalog) checkParity() error {
	en := c.langs["en"]
	for k := range en.msgs {
		c.keys = append(c.keys, k)
	}
	sort.Strings(c.keys)
	var problems []string
	for _, lang := range Languages[1:] {
		t := c.langs[lang]
		for _, k := range c.keys {
			m, ok := t.msgs[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s.yaml: missing key %s (en.yaml:%d)", lang, k, en.msgs[k].line))
				continue
			}
			em := en.msgs[k]
			if (em.list == nil) != (m.list == nil) || em.plural != m.plural {
				problems = append(problems, fmt.Sprintf("%s.yaml:%d: %s has a different shape than in en.yaml", lang, m.line, k))
				continue
			}
			if a, b := em.placeholders(), m.placeholders(); !slices.Equal(a, b) {
				problems = append(problems, fmt.Sprintf("%s.yaml:%d: %s has placeholders %v, en.yaml has %v", lang, m.line, k, b, a))
			}
		}
		for k, m := range t.msgs {
			if _, ok := en.msgs[k]; !ok {
				problems = append(problems, fmt.Sprintf("%s.yaml:%d: key %s is not in en.yaml", lang, m.line, k))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("locales differ:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// Has reports whether key is a message (not a list) in the catalog.
func (c *Catalog) Has(key string) bool {
	m, ok := c.langs["en"].msgs[key]
	return ok && m.list == nil
}

// Placeholders returns the placeholder names of key.
func (c *Catalog) Placeholders(key string) []string {
	if m, ok := c.langs["en"].msgs[key]; ok {
		return m.placeholders()
	}
	return nil
}

// Keys returns every key, sorted.
func (c *Catalog) Keys() []string { return c.keys }

// table is the locale's table: a regional variant ("de-CH") when the
// catalog has one, else its language, else English.
func (c *Catalog) table(locale string) *langTable {
	if t, ok := c.langs[locale]; ok {
		return t
	}
	if len(locale) > 2 {
		if t, ok := c.langs[locale[:2]]; ok {
			return t
		}
	}
	return c.langs["en"]
}

// Text renders key in lang with args, as a new string.
func (c *Catalog) Text(lang, key string, args Args) string {
	if m, ok := c.table(lang).msgs[key]; ok && m.list == nil && !m.plural && len(m.other) == 1 && m.other[0].arg == "" {
		return m.other[0].lit // a text without placeholders (a button label): no copy
	}
	return string(c.Append(nil, lang, key, args))
}

// Append renders key in lang with args onto buf. A missing key renders as
// the key itself in brackets (validation at start makes that unreachable for
// flows); a missing argument renders as empty.
func (c *Catalog) Append(buf []byte, lang, key string, args Args) []byte {
	t := c.table(lang)
	m, ok := t.msgs[key]
	if !ok || m.list != nil {
		return append(append(append(buf, '['), key...), ']')
	}
	ps := m.other
	if m.plural && args != nil {
		if v, ok := args.Lookup("count"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			ps = m.pluralForm(t.tag, n)
		}
	}
	for _, p := range ps {
		if p.arg == "" {
			buf = append(buf, p.lit...)
			continue
		}
		if args == nil {
			continue
		}
		v, ok := args.Lookup(p.arg)
		if !ok {
			continue
		}
		buf = t.appendValue(buf, v)
	}
	return buf
}

// pluralForm picks the form CLDR's cardinal rule of the language gives n
// (golang.org/x/text/feature/plural): French "one" for 0 and 1, "many" for
// a million; the others "one" for 1 only. A form a file does not have
// falls back to "other".
func (m *message) pluralForm(tag language.Tag, n int64) []part {
	abs := n
	if abs < 0 {
		abs = -abs
	}
	i := int(min(abs, 1<<31-1))
	switch f := plural.Cardinal.MatchPlural(tag, i, 0, 0, 0, 0); f {
	case plural.One:
		return m.one
	case plural.Other:
		return m.other
	default:
		if ps, ok := m.forms[f]; ok {
			return ps
		}
		return m.other
	}
}

// Typed values travel through slots as tagged strings, so that sessions stay
// plain strings and the renderer formats them per language.
const tag = '\x01'

// DateValue returns a value that renders as a long date ("Monday 23
// November") in t's location.
func DateValue(t time.Time) string { return timeValue('D', t) }

// DateTimeValue returns a value that renders as a date and a time.
func DateTimeValue(t time.Time) string { return timeValue('T', t) }

// TimeValue returns a value that renders as a time of day ("14:30").
func TimeValue(t time.Time) string { return timeValue('H', t) }

func timeValue(kind byte, t time.Time) string {
	b := make([]byte, 0, 40)
	b = append(b, tag, kind)
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, '|')
	b = append(b, t.Location().String()...)
	return string(b)
}

// NumberValue returns a value that renders tenths as a decimal number with
// one digit after the language's decimal separator ("1.2", "1,2").
func NumberValue(tenths int64) string {
	b := make([]byte, 0, 16)
	b = append(b, tag, 'N')
	b = strconv.AppendInt(b, tenths, 10)
	b = append(b, '|')
	return string(b)
}

// MoneyValue returns a value that renders as an amount ("49,90 €", "€49.90").
func MoneyValue(minor int64, currency string) string {
	b := make([]byte, 0, 24)
	b = append(b, tag, 'M')
	b = strconv.AppendInt(b, minor, 10)
	b = append(b, '|')
	b = append(b, currency...)
	return string(b)
}

var zones sync.Map // name → *time.Location

func loadZone(name string) *time.Location {
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	zones.Store(name, loc)
	return loc
}

func (t *langTable) appendValue(buf []byte, v string) []byte {
	if len(v) < 3 || v[0] != tag {
		return append(buf, v...)
	}
	kind := v[1]
	body := v[2:]
	bar := strings.IndexByte(body, '|')
	if bar < 0 {
		return buf
	}
	num, err := strconv.ParseInt(body[:bar], 10, 64)
	if err != nil {
		return buf
	}
	switch kind {
	case 'N':
		if num < 0 {
			buf = append(buf, '-')
			num = -num
		}
		buf = strconv.AppendInt(buf, num/10, 10)
		buf = append(buf, t.decimal...)
		return append(buf, byte('0'+num%10))
	case 'M':
		return t.appendMoney(buf, num, body[bar+1:])
	case 'D', 'T', 'H':
		tm := time.Unix(num, 0).In(loadZone(body[bar+1:]))
		if kind != 'H' {
			buf = t.appendDate(buf, tm)
		}
		if kind == 'T' {
			buf = t.appendMsg(buf, "format.at")
		}
		if kind != 'D' {
			buf = appendClock(buf, tm)
		}
	}
	return buf
}

func (t *langTable) appendMsg(buf []byte, key string) []byte {
	if m := t.msgs[key]; m != nil {
		for _, p := range m.other {
			buf = append(buf, p.lit...)
		}
	}
	return buf
}

func appendClock(buf []byte, tm time.Time) []byte {
	h, m, _ := tm.Clock()
	buf = append(buf, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10))
	return buf
}

// appendDate renders format.date with weekday, day, month placeholders.
func (t *langTable) appendDate(buf []byte, tm time.Time) []byte {
	m := t.msgs["format.date"]
	if m == nil {
		return buf
	}
	for _, p := range m.other {
		switch p.arg {
		case "":
			buf = append(buf, p.lit...)
		case "weekday":
			buf = append(buf, t.weekdays[tm.Weekday()]...)
		case "day":
			if tm.Day() == 1 && t.dayOne != "" {
				buf = append(buf, t.dayOne...) // French and Italian say "1er", "1º"
			} else {
				buf = strconv.AppendInt(buf, int64(tm.Day()), 10)
			}
		case "month":
			buf = append(buf, t.months[tm.Month()-1]...)
		case "year":
			buf = strconv.AppendInt(buf, int64(tm.Year()), 10)
		}
	}
	return buf
}

// appendMoney renders format.money with amount and symbol placeholders.
func (t *langTable) appendMoney(buf []byte, minor int64, cur string) []byte {
	m := t.msgs["format.money"]
	if m == nil {
		return buf
	}
	if minor < 0 { // the sign goes before the whole amount: -£19.99, -19,99 €
		buf = append(buf, '-')
		minor = -minor
	}
	for _, p := range m.other {
		switch p.arg {
		case "":
			buf = append(buf, p.lit...)
		case "amount":
			buf = t.appendAmount(buf, minor, minorDigits(cur), t.moneyDec)
		case "symbol":
			if s, ok := t.msgs["format.currency."+cur]; ok && len(s.other) > 0 {
				buf = append(buf, s.other[0].lit...)
			} else {
				buf = append(buf, cur...)
			}
		}
	}
	return buf
}

// appendAmount writes an amount given in the currency's minor unit with
// the language's separators and the currency's number of decimals.
func (t *langTable) appendAmount(buf []byte, minor int64, digits int, dec string) []byte {
	if minor < 0 {
		buf = append(buf, '-')
		minor = -minor
	}
	scale := int64(1)
	for range digits {
		scale *= 10
	}
	units, frac := minor/scale, minor%scale
	var tmp [24]byte
	d := strconv.AppendInt(tmp[:0], units, 10)
	for i, ch := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			buf = append(buf, t.group...)
		}
		buf = append(buf, ch)
	}
	if digits == 0 {
		return buf
	}
	buf = append(buf, dec...)
	f := strconv.AppendInt(tmp[:0], frac+scale, 10) // leading 1 keeps the zeros
	return append(buf, f[1:]...)
}

// minorDigits is the number of decimals of a currency in ISO 4217 (CLDR's
// data in golang.org/x/text/currency): 2 for EUR, GBP and CHF, 0 for JPY,
// 3 for KWD; 2 for a code it does not know.
func minorDigits(code string) int {
	return digitsOf.get(code, func(code string) int {
		if u, err := currency.ParseISO(code); err == nil {
			d, _ := currency.Standard.Rounding(u)
			return d
		}
		return 2
	})
}

var digitsOf = memo[string, int]{max: 512}

// AppendValue renders one typed value (a date, a money amount, plain text)
// in lang onto buf.
func (c *Catalog) AppendValue(buf []byte, lang, v string) []byte {
	return c.table(lang).appendValue(buf, v)
}

// List returns a list entry (such as format.days_short) in lang.
func (c *Catalog) List(lang, key string) []string {
	if m, ok := c.table(lang).msgs[key]; ok {
		return m.list
	}
	return nil
}
