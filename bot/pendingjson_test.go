package bot

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/parcelbot/parcelbot/dialog"
)

// stdPending is the pending work as encoding/json writes it (HTML characters
// not escaped), the encoding appendPending must match byte for byte.
func stdPending(t *testing.T, p *pendingWork) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendPending(t *testing.T) {
	for _, p := range []pendingWork{
		{Lang: "en"},
		{Lang: "de-CH", Customer: "C-1001", Case: "PB-7K2F9Q",
			Replies: []dialog.Reply{
				{Text: "Bestellung 302-1001111-4007777: unterwegs.\nZugesagt: Mittwoch — \"bald\" <b>&</b>", Buttons: []dialog.Button{{Label: "👤 Mensch", Data: "4.0"}, {Label: "↩ Menü", Data: "4.1"}}},
				{Text: "tab\there, bell\a, nul\x00, bad \xff utf-8, line\u2028sep\u2029", Separate: true},
				{Text: "", Buttons: []dialog.Button{}},
			},
			Effects: []dialog.Effect{
				{Kind: "escalate", Args: []dialog.Slot{{Name: "case", Value: "PB-1"}, {Name: "fact.order value", Value: "€ 12.50"}}},
				{Kind: "forget"},
				{Kind: "relay", Args: []dialog.Slot{}},
			}},
	} {
		got, want := appendPending(nil, &p), stdPending(t, &p)
		if !bytes.Equal(got, want) {
			t.Errorf("appendPending:\n got %s\nwant %s", got, want)
		}
		var back pendingWork
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("decode %s: %v", got, err)
		}
	}
}

// FuzzPendingJSON: appendPending writes what encoding/json writes, for any
// strings (invalid UTF-8, control characters, quotes) and shapes.
func FuzzPendingJSON(f *testing.F) {
	f.Add("en", "C-1", "", "Hello \"you\"\n", "👤 Agent", "4.0", "escalate", "case", "PB-1", uint8(0x2d))
	f.Add("", "", "PB-9", "\x00\x1f\x7f\xff\xfe\u2028", "<&>", "", "", "", "\\", uint8(0xff))
	f.Fuzz(func(t *testing.T, lang, customer, cas, text, label, data, kind, name, value string, shape uint8) {
		p := pendingWork{Lang: lang, Customer: customer, Case: cas}
		for i := range int(shape & 3) {
			r := dialog.Reply{Text: strings.Repeat(text, i+1), Separate: shape&4 != 0}
			if shape&8 != 0 {
				r.Buttons = []dialog.Button{}
				for j := range i {
					r.Buttons = append(r.Buttons, dialog.Button{Label: label + strings.Repeat("x", j), Data: data})
				}
			}
			p.Replies = append(p.Replies, r)
		}
		for i := range int(shape>>4) & 3 {
			e := dialog.Effect{Kind: kind}
			if shape&64 != 0 {
				e.Args = []dialog.Slot{}
				for range i {
					e.Args = append(e.Args, dialog.Slot{Name: name, Value: value})
				}
			}
			p.Effects = append(p.Effects, e)
		}
		got, want := appendPending(nil, &p), stdPending(t, &p)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendPending:\n got %q\nwant %q", got, want)
		}
		var back, wantBack pendingWork
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("decode %q: %v", got, err)
		}
		_ = json.Unmarshal(want, &wantBack)
		if !reflect.DeepEqual(back, wantBack) {
			t.Fatalf("decoded %+v, want %+v", back, wantBack)
		}
	})
}
