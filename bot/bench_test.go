package bot_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/bot/bottest"
	"github.com/parcelbot/parcelbot/dialog"
)

// journeyTurns are one typical turn per journey, from a state reached by the
// inputs before it.
var journeyTurns = []struct {
	name     string
	customer string
	setup    []dialog.Input
	turn     dialog.Input
}{
	{"menu", "", nil, dialog.Input{Text: "hello"}},
	{"track/free-text", "", nil, dialog.Input{Text: "where is my parcel 302-1001111-4007777"}},
	{"track/postcode", "", []dialog.Input{{Text: "where is my parcel 302-1001111-4007777"}}, dialog.Input{Text: "10115"}},
	{"track/pick", "C-1001", []dialog.Input{{Text: "/track"}}, dialog.Input{Button: "?"}},
	{"language", "", []dialog.Input{{Text: "/language"}}, dialog.Input{Button: "?"}},
	{"human", "", nil, dialog.Input{Text: "I want to talk to a human"}},
	{"not-understood", "", []dialog.Input{{Text: "/track"}}, dialog.Input{Text: "purple elephant"}},
	{"missing/details", "C-1001", nil, dialog.Input{Text: "my parcel 302-1012221-4085547 never arrived"}},
	{"password/show", "C-1001", nil, dialog.Input{Text: "delivery password for 302-1016665-4116655"}},
	{"locker/find", "", []dialog.Input{{Text: "/locker"}, {Text: "3"}}, dialog.Input{Text: "Berlin"}},
	{"cases", "C-1001", nil, dialog.Input{Text: "/cases"}},
	{"damaged/photo", "C-1001", []dialog.Input{{Text: "my parcel 302-1015554-4108878 arrived damaged"}, {Text: "the content is broken"}, {Text: "no"}},
		dialog.Input{Files: []dialog.File{{ID: "AgACAgIAAxkBAAIB", Kind: "photo", Size: 120 << 10, MIME: "image/jpeg"}}}},
	{"news/delayed", "C-1001", nil, dialog.Input{Event: &dialog.Event{Name: "delayed", Slots: []dialog.Slot{{Name: "order", Value: "302-1004444-4031108"}}, Vars: []dialog.Slot{{Name: "event", Value: "delayed"}}}}},
}

// BenchmarkTurn measures one engine turn without I/O: decode the stored
// state, match intent, run the steps (the shop and records in memory),
// encode the state.
func BenchmarkTurn(b *testing.B) {
	d, err := demo.Default(testNow)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := bot.NewEngine(bot.DefaultConfig(), bot.Backends{Shop: d, Writer: d, Records: bottest.NewRecords()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, jt := range journeyTurns {
		b.Run(jt.name, func(b *testing.B) {
			st := dialog.State{Customer: jt.customer}
			var res dialog.Result
			for _, in := range jt.setup {
				if err := eng.Turn(ctx, &st, &in, testNow, &res); err != nil {
					b.Fatal(err)
				}
			}
			in := jt.turn
			if in.Button == "?" { // the first button offered by the setup
				in.Button = res.Replies[len(res.Replies)-1].Buttons[0].Data
			}
			stored := st.AppendBinary(nil)
			var enc []byte
			var s dialog.State
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := s.UnmarshalBinary(stored); err != nil {
					b.Fatal(err)
				}
				if err := eng.Turn(ctx, &s, &in, testNow, &res); err != nil {
					b.Fatal(err)
				}
				enc = s.AppendBinary(enc[:0])
			}
			b.ReportMetric(float64(len(enc)), "state-bytes")
		})
	}
}

// BenchmarkHandle measures a whole service turn on an in-process Redis:
// load, turn, compare-and-set save, reply to a recording channel.
func BenchmarkHandle(b *testing.B) {
	mr := miniredis.RunT(b)
	f := newFixture(b, mr, nil)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		m := bot.Message{Conversation: "t:" + fmt.Sprint(i%1000), ID: fmt.Sprint("u", i), Input: dialog.Input{Text: "hello"}}
		if err := f.svc.Handle(ctx, m); err != nil {
			b.Fatal(err)
		}
		f.rec.Take(fmt.Sprint(i % 1000))
	}
}
