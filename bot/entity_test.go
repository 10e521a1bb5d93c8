package bot_test

import (
	"testing"
	"unicode/utf8"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
)

func TestFindOrderNumber(t *testing.T) {
	f, err := bot.ParseOrderFormat("NNN-NNNNNNN-NNNNNNN")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{"302-1001111-4007777", "302-1001111-4007777"},
		{"my order is 302-1001111-4007777, thanks", "302-1001111-4007777"},
		{"302 1001111 4007777", "302-1001111-4007777"},
		{"30210011114007777", "302-1001111-4007777"},
		{"Bestellung:302-1001111-4007777.", "302-1001111-4007777"},
		{"1302-1001111-4007777", ""},
		{"302-1001111-40077771", ""},
		{"302-100111-4007777", ""},
		{"call 0800 123 4567", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := f.Find(tc.in); got != tc.want {
			t.Errorf("Find(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "-NNN", "NNN-", "NNNAAA", "---"} {
		if _, err := bot.ParseOrderFormat(bad); err == nil {
			t.Errorf("ParseOrderFormat(%q) accepted", bad)
		}
	}
	g, err := bot.ParseOrderFormat("AA-NNNNNN")
	if err != nil || g.Find("order ab-123456 please") != "AB-123456" {
		t.Errorf("letter format: %v %q", err, g.Find("order ab-123456 please"))
	}
}

func TestFindPostcode(t *testing.T) {
	of, _ := bot.ParseOrderFormat("NNN-NNNNNNN-NNNNNNN")
	tests := []struct{ in, want string }{
		{"10115", "10115"},
		{"PLZ ist 80331.", "80331"},
		{"mon code postal: 75011", "75011"},
		{"sw1a 1aa", "SW1A 1AA"},
		{"it's M1 1AE", "M1 1AE"},
		{"EC1A1BB", "EC1A 1BB"},
		{"302-1001111-4007777", ""},
		{"302-1001111-4007777 10115", "10115"},
		{"123456", ""},
		{"1234", ""},
		{"hello", ""},
	}
	for _, tc := range tests {
		if got := bot.FindPostcode(tc.in, of); got != tc.want {
			t.Errorf("FindPostcode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzEntities(f *testing.F) {
	of, _ := bot.ParseOrderFormat("NNN-NNNNNNN-NNNNNNN")
	for _, s := range []string{"302-1001111-4007777", "sw1a 1aa", "10115", "302 1001111 4007777 80331", "ÄÖÜ-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if on := of.Find(s); on != "" && (len(on) != 19 || of.Find(on) != on) {
			t.Fatalf("Find(%q) = %q is not canonical", s, on)
		}
		if pc := bot.FindPostcode(s, of); pc != "" && bot.FindPostcode(pc, of) != pc {
			t.Fatalf("FindPostcode(%q) = %q is not canonical", s, pc)
		}
		if c := dialog.Clean(s); !utf8.ValidString(c) || len(c) > dialog.MaxInputBytes || dialog.Clean(c) != c {
			t.Fatalf("Clean(%q) = %q is not clean", s, c)
		}
	})
}

func TestFindLanguage(t *testing.T) {
	for text, want := range map[string]string{
		"can we do this in German please":          "de",
		"Können wir auf Englisch weiterschreiben?": "en",
		"on peut parler en anglais ?":              "en",
		"possiamo parlare in FRANCESE?":            "fr",
		"Auf Französisch bitte":                    "fr",
		"italiano":                                 "it",
		"where is my parcel":                       "",
		"English or German?":                       "", // two: the customer picks
		"my friend Angela":                         "",
	} {
		if got := bot.FindLanguage(text); got != want {
			t.Errorf("FindLanguage(%q) = %q, want %q", text, got, want)
		}
	}
}
