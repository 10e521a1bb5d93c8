package bot

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/parcelbot/parcelbot/dialog"
)

// stdPending is the pending work as encoding/json writes its stored form
// (HTML characters not escaped), the encoding appendPending must match byte
// for byte.
func stdPending(t *testing.T, p *pendingWork) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(storedOf(p)); err != nil {
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
		{Lang: "fr", Lines: 3, Sum: 4000000000, Replies: []dialog.Reply{
			{Text: "read back from the transcript", Buttons: []dialog.Button{{Label: "Oui", Data: "7.0"}}, Separate: true},
			{Text: "also"},
		}},
	} {
		got, want := appendPending(nil, &p), stdPending(t, &p)
		if !bytes.Equal(got, want) {
			t.Errorf("appendPending:\n got %s\nwant %s", got, want)
		}
		back, err := decodePending(got)
		if err != nil {
			t.Fatalf("decode %s: %v", got, err)
		}
		if want := withoutTexts(p); !reflect.DeepEqual(back, want) {
			t.Errorf("decoded %+v\nwant %+v", back, want)
		}
	}
}

// withoutTexts is p as decodePending returns it: the replies' texts left
// out when they are in the transcript, empty button lists as none, bytes
// that are not UTF-8 as U+FFFD.
func withoutTexts(p pendingWork) pendingWork {
	var rs []dialog.Reply
	for _, r := range p.Replies {
		if p.Lines != 0 {
			r.Text = ""
		}
		r.Text = strings.ToValidUTF8(r.Text, "\uFFFD")
		if len(r.Buttons) == 0 {
			r.Buttons = nil
		}
		rs = append(rs, r)
	}
	p.Replies = rs
	return p
}

// Pending work stored by the build before (the replies' texts in, the
// field names of dialog.Reply) is still carried out.
func TestDecodePendingOfTheLayoutBefore(t *testing.T) {
	before := `{"l":"de","c":"C-1","r":[{"Text":"Hallo","Buttons":[{"Label":"Ja","Data":"3.0"}],"Separate":false},{"Text":"Zwei","Buttons":null,"Separate":true}],"e":[{"Kind":"escalate","Args":null}]}`
	p, err := decodePending([]byte(before))
	if err != nil {
		t.Fatal(err)
	}
	want := pendingWork{Lang: "de", Customer: "C-1",
		Replies: []dialog.Reply{{Text: "Hallo", Buttons: []dialog.Button{{Label: "Ja", Data: "3.0"}}}, {Text: "Zwei", Separate: true}},
		Effects: []dialog.Effect{{Kind: "escalate"}}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("decoded %+v\nwant %+v", p, want)
	}
}

// FuzzPendingJSON: appendPending writes what encoding/json writes, for any
// strings (invalid UTF-8, control characters, quotes) and shapes.
func FuzzPendingJSON(f *testing.F) {
	f.Add("en", "C-1", "", "Hello \"you\"\n", "👤 Agent", "4.0", "escalate", "case", "PB-1", uint8(0x2d))
	f.Add("", "", "PB-9", "\x00\x1f\x7f\xff\xfe\u2028", "<&>", "", "", "", "\\", uint8(0xff))
	f.Fuzz(func(t *testing.T, lang, customer, cas, text, label, data, kind, name, value string, shape uint8) {
		p := pendingWork{Lang: lang, Customer: customer, Case: cas}
		if shape&128 != 0 {
			p.Lines, p.Sum = int(shape&3)+1, uint32(len(text))*2654435761
		}
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
		back, err := decodePending(got)
		if err != nil {
			t.Fatalf("decode %q: %v", got, err)
		}
		if len(back.Replies) != len(p.Replies) || len(back.Effects) != len(p.Effects) || back.Lines != p.Lines || back.Sum != p.Sum {
			t.Fatalf("decoded %+v, want the shape of %+v", back, p)
		}
		for i, r := range back.Replies {
			if len(r.Buttons) != len(p.Replies[i].Buttons) || r.Separate != p.Replies[i].Separate || (p.Lines != 0) != (r.Text == "") && p.Replies[i].Text != "" {
				t.Fatalf("reply %d decoded %+v from %+v", i, r, p.Replies[i])
			}
		}
	})
}

// storedOf is p as stored: what appendPending must write, by encoding/json.
func storedOf(p *pendingWork) storedPending {
	sp := storedPending{Lang: p.Lang, Customer: p.Customer, Case: p.Case, Lines: p.Lines, Sum: p.Sum, Effects: p.Effects}
	for _, r := range p.Replies {
		sr := storedReply{Separate: r.Separate}
		if p.Lines == 0 {
			sr.Text = r.Text
		}
		for _, b := range r.Buttons {
			sr.Buttons = append(sr.Buttons, [2]string{b.Label, b.Data})
		}
		sp.Replies = append(sp.Replies, sr)
	}
	return sp
}
