package dialog_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/locales"
)

func TestMatcherExamples(t *testing.T) {
	m := newMatcher(t)
	tests := []struct{ text, want string }{
		{"where is my order", "track"},
		{"Where is my order???", "track"},
		{"wo bleibt mein Paket", "track"},
		{"wo ist mein pakett", "track"}, // typo
		{"où est mon colis", "track"},
		{"ou est mon colis", "track"}, // no accents
		{"il pacco non è arrivato", "missing"},
		{"mein Paket wurde gestohlen", "stolen"},
		{"my parcel was stolen from the porch", "stolen"},
		{"colis marqué livré mais rien reçu", "missing"},
		{"mi serve la password per il corriere", "password"},
		{"the locker won't open", "locker"},
		{"Packstation defekt", "locker"},
		{"I want to talk to a human", "human"},
		{"Mensch bitte", "human"},
		{"je veux un conseiller", "human"},
		{"operatore", "human"},
		{"hallo", "help"},
		{"ja", "yes"},
		{"non", "no"},
		{"my cases", "cases"},
		{"change language", "language"},
		{"asdfgh qwerty", "unknown"},
		{"", "unknown"},
		{"🙂", "unknown"},
	}
	for _, tc := range tests {
		if got, _ := m.Match(tc.text); got != tc.want {
			t.Errorf("Match(%q) = %s, want %s", tc.text, got, tc.want)
		}
	}
}

func TestIntentsAreTheDocumentedSet(t *testing.T) {
	m := newMatcher(t)
	got := strings.Join(m.Intents(), " ")
	want := "bye cases change damaged help human language locker missing no password smalltalk stolen thanks track unknown yes"
	if got != want {
		t.Fatalf("intents %q, want %q", got, want)
	}
}

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  hello   world \n", "hello world"},
		{"a\x00b\x07c", "a b c"},
		{"zero\u200bwidth", "zerowidth"},
		{"\u202eevil\u202c", "evil"},
		{"bad\xffutf8", "badutf8"},
		{"ok", "ok"},
	}
	for _, tc := range tests {
		if got := dialog.Clean(tc.in); got != tc.want {
			t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := dialog.Clean(strings.Repeat("ü", 5000))
	if len(long) > dialog.MaxInputBytes || !utf8.ValidString(long) {
		t.Errorf("long input: %d bytes, valid %v", len(long), utf8.ValidString(long))
	}
	// the cut falls right after a space: the space goes with the word that did not fit
	cut := dialog.Clean(strings.Repeat("!", dialog.MaxInputBytes-1) + " \x00 ab")
	if cut != strings.Repeat("!", dialog.MaxInputBytes-1) || dialog.Clean(cut) != cut {
		t.Errorf("cut after a space: %d bytes ending %q", len(cut), cut[len(cut)-3:])
	}
}

func TestDatesAndMoneyPerLanguage(t *testing.T) {
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	// 23:30 UTC on Sunday is already Monday in Berlin
	tm := time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC).In(berlin)
	args := mapArgs{"d": dialog.DateValue(tm), "dt": dialog.DateTimeValue(tm), "m": dialog.MoneyValue(4990, "EUR"), "big": dialog.MoneyValue(123456789, "GBP")}
	tests := []struct{ lang, date, datetime, money, big string }{
		{"en", "Monday 23 November", "Monday 23 November at 00:30", "€49.90", "£1,234,567.89"},
		{"de", "Montag, 23. November", "Montag, 23. November um 00:30", "49,90 €", "1.234.567,89 £"},
		{"fr", "lundi 23 novembre", "lundi 23 novembre à 00:30", "49,90 €", "1 234 567,89 £"},
		{"it", "lunedì 23 novembre", "lunedì 23 novembre alle 00:30", "49,90 €", "1.234.567,89 £"},
	}
	for _, tc := range tests {
		got := [4]string{}
		for i, k := range []string{"d", "dt", "m", "big"} {
			got[i] = string(cat.AppendValue(nil, tc.lang, args[k]))
		}
		want := [4]string{tc.date, tc.datetime, tc.money, tc.big}
		if got != want {
			t.Errorf("%s: got %q, want %q", tc.lang, got, want)
		}
	}
}

// The first of a month is "1er" in French and "1º" in Italian.
func TestFirstOfTheMonth(t *testing.T) {
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	first := dialog.DateValue(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	second := dialog.DateValue(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	for lang, want := range map[string][2]string{
		"en": {"Tuesday 1 December", "Wednesday 2 December"},
		"de": {"Dienstag, 1. Dezember", "Mittwoch, 2. Dezember"},
		"fr": {"mardi 1er décembre", "mercredi 2 décembre"},
		"it": {"martedì 1º dicembre", "mercoledì 2 dicembre"},
	} {
		got := [2]string{string(cat.AppendValue(nil, lang, first)), string(cat.AppendValue(nil, lang, second))}
		if got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
}

func TestPlurals(t *testing.T) {
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang, count, want string
	}{
		{"en", "1", "It's 1 day late"}, {"en", "2", "It's 2 days late"},
		{"de", "1", "Es ist 1 Tag"}, {"de", "3", "Es ist 3 Tage"},
		{"fr", "1", "Il a 1 jour de retard"}, {"fr", "2", "Il a 2 jours de retard"},
		{"it", "1", "di 1 giorno"}, {"it", "4", "di 4 giorni"},
	}
	for _, tc := range tests {
		got := cat.Text(tc.lang, "track.late", mapArgs{"count": tc.count})
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: got %q, want it to contain %q", tc.lang, tc.count, got, tc.want)
		}
	}
}

type mapArgs map[string]string

func (m mapArgs) Lookup(k string) (string, bool) { v, ok := m[k]; return v, ok }

func FuzzMatch(f *testing.F) {
	m := newMatcher(f)
	for _, s := range []string{"where is my order", "wo bleibt mein paket", "colis volé", "\xff", "ééé", strings.Repeat("a ", 100)} {
		f.Add(s)
	}
	valid := map[string]bool{}
	for _, i := range m.Intents() {
		valid[i] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		intent, score := m.Match(s)
		if !valid[intent] || score < 0 || (intent == "unknown") != (score == 0) {
			t.Fatalf("Match(%q) = %q, %d", s, intent, score)
		}
	})
}

func FuzzConvoParse(f *testing.F) {
	f.Add("name\n#begin\nLANG de\n#me\nhallo\n#bot\nHallo*\nBUTTONS a|b\n#me\nBUTTON a\n")
	f.Add("x\n#agent\nREPLY hi\n#bot\nNOREPLY\n")
	f.Add("x\n#me\nLOCATION 1,2\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := dialog.ParseConvo("f.convo.txt", strings.NewReader(s))
		if err == nil && (c.Name == "" || len(c.Steps) == 0) {
			t.Fatalf("accepted a convo without name or steps: %+v", c)
		}
	})
}

// Folding is Unicode's (x/text): compatibility forms, accents and case in
// every script, plus the ligatures French writers use for two letters.
func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Ça MARCHE, allez-y !":  "ca marche allez y",
		"Straße":                "strasse",
		"STRASSE":               "strasse",
		"œuvre Æsop":            "oeuvre aesop",
		"Wo isch mis Päckli?":   "wo isch mis packli",
		"ＤＥＬＩＶＥＲＥＤ":             "delivered", // full-width letters
		"ﬁnd my parcel":         "find my parcel",
		"macché, c'è un errore": "macche c e un errore",
		"ΠΑΚΈΤΟ":                "πακετο",
		"  spaces\tand\nlines ": "spaces and lines",
		// English contractions join, as customers also type them; French
		// and Italian elisions stay apart
		"it won't open":         "it wont open",
		"I haven’t received it": "i havent received it",
		"I'll look":             "ill look",
		"l'ho già detto":        "l ho gia detto",
		"c'est ça":              "c est ca",
		"'quoted'":              "quoted",
		"won\u02bct":            "wont", // the modifier letter apostrophe (two bytes)
		"ʇʎʼ\xad":               "ʇʎʼ",  // at the end of the text: no panic (found by FuzzTurn)
	} {
		if got := dialog.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// Plural forms follow CLDR's rules (x/text/feature/plural): French takes
// "one" for 0, English, German and Italian "other".
func TestPluralFormsFromCLDR(t *testing.T) {
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, count, want string }{
		{"fr", "0", "Il a 0 jour de retard"}, {"fr", "1000000", "Il a 1000000 jours"}, {"en", "0", "It's 0 days late"},
		{"de", "0", "Es ist 0 Tage"}, {"it", "0", "di 0 giorni"}, {"en", "-1", "It's -1 day late"},
	} {
		if got := cat.Text(tc.lang, "track.late", mapArgs{"count": tc.count}); !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: %q, want %q in it", tc.lang, tc.count, got, tc.want)
		}
	}
}

// Amounts take their currency's decimals from ISO 4217 (x/text/currency):
// none for yen, three for Kuwaiti dinar.
func TestMoneyDecimalsPerCurrency(t *testing.T) {
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang  string
		minor int64
		cur   string
		want  string
	}{
		{"en", 4990, "EUR", "€49.90"}, {"de", 123456, "JPY", "123.456 JPY"},
		{"fr", 12345, "KWD", "12,345 KWD"}, {"it", 5, "CHF", "0,05 CHF"}, {"en", -1999, "GBP", "-£19.99"}, {"de", -4990, "EUR", "-49,90 €"},
	} {
		if got := string(cat.AppendValue(nil, tc.lang, dialog.MoneyValue(tc.minor, tc.cur))); got != tc.want {
			t.Errorf("%s %d %s: %q, want %q", tc.lang, tc.minor, tc.cur, got, tc.want)
		}
	}
}

// Regional variants: US English spelling and dates, Swiss German without ß
// and with Swiss amounts, Swiss French and Italian with NPA; a region
// without a file (de-AT) writes its language.
func TestRegionalVariants(t *testing.T) {
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	day := dialog.DateValue(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	chf := dialog.MoneyValue(123450, "CHF")
	for _, tc := range []struct{ locale, date, money string }{
		{"en", "Monday 23 November", "CHF 1,234.50"},
		{"en-US", "Monday, November 23", "CHF 1,234.50"},
		{"de", "Montag, 23. November", "1.234,50 CHF"},
		{"de-CH", "Montag, 23. November", "CHF 1’234.50"},
		{"de-AT", "Montag, 23. November", "1.234,50 CHF"},
		{"fr-CH", "lundi 23 novembre", "CHF 1 234.50"},
		{"it-CH", "lunedì 23 novembre", "CHF 1’234.50"},
	} {
		if got := string(cat.AppendValue(nil, tc.locale, day)); got != tc.date {
			t.Errorf("%s date: %q, want %q", tc.locale, got, tc.date)
		}
		if got := string(cat.AppendValue(nil, tc.locale, chf)); got != tc.money {
			t.Errorf("%s money: %q, want %q", tc.locale, got, tc.money)
		}
	}
	if got := cat.Text("en-US", "missing.place.mailbox", nil); got != "put in your mailbox" {
		t.Errorf("en-US mailbox: %q", got)
	}
	if got := cat.Text("en", "missing.place.mailbox", nil); !strings.Contains(got, "letterbox") {
		t.Errorf("en (British) mailbox: %q", got)
	}
	absent := map[string]string{"en-US": "postcode", "de-CH": "ß", "fr-CH": "code postal", "it-CH": "CAP"}
	for locale, word := range absent {
		changed := 0
		for _, k := range cat.Keys() {
			v := cat.Text(locale, k, nil)
			if strings.Contains(v, word) {
				t.Errorf("%s %s still says %q: %s", locale, k, word, v)
			}
			if v != cat.Text(locale[:2], k, nil) {
				changed++
			}
		}
		if changed == 0 {
			t.Errorf("%s: no text differs from %s", locale, locale[:2])
		}
	}
	if got := cat.Text("de-CH", "claim.investigation", nil); !strings.HasPrefix(got, "Ausserdem") {
		t.Errorf("de-CH: %q", got)
	}
}

func TestSplitLocale(t *testing.T) {
	for in, want := range map[string][2]string{
		"de-CH": {"de", "CH"}, "fr_be": {"fr", "BE"}, "EN": {"en", ""}, "en-us": {"en", "US"},
		"pt-BR": {"en", ""}, "de-": {"de", ""}, "de-C1": {"de", ""}, "": {"en", ""}, "it-CH-x": {"it", ""},
	} {
		if l, r := dialog.SplitLocale(in); [2]string{l, r} != want {
			t.Errorf("SplitLocale(%q) = %s, %s; want %v", in, l, r, want)
		}
	}
}
