package dialog_test

import (
	"testing"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/locales"
)

func BenchmarkMatch(b *testing.B) {
	m, err := dialog.NewMatcher()
	if err != nil {
		b.Fatal(err)
	}
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
