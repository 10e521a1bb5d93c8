package dialog_test

import (
	"testing"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/locales"
)

func BenchmarkMatch(b *testing.B) {
	m := newMatcher(b)
	for _, s := range []string{"where is my order", "mein Paket wurde gestohlen, was nun?", "colis marqué livré mais rien reçu", "il locker non si apre"} {
		b.Run(s[:8], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Match(s)
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		b.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	args := mapArgs{"promised": dialog.DateValue(time.Date(2026, 11, 23, 10, 0, 0, 0, berlin))}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = cat.Append(buf[:0], "de", "track.promised", args)
	}
}

func BenchmarkClean(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		dialog.Clean("wo bleibt mein Paket 302-1001111-4007777?")
	}
}

// newMatcher builds the matcher for the embedded manifest and lexicon.
func newMatcher(tb testing.TB) *dialog.Matcher {
	tb.Helper()
	mf, err := dialog.LoadManifest(dialog.Flows())
	if err != nil {
		tb.Fatal(err)
	}
	m, err := dialog.NewMatcher(mf)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
