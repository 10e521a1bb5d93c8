package dialog_test

import (
	"bytes"
	"context"
	"io/fs"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/locales"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// testFlows is a small journey set built from real locale keys.
var testFlows = map[string]string{
	"manifest.yaml": `
manifest: 1
menu: [/start, /language]
journeys: [track]
actions:
  lookup: {outcomes: [ok, missing], reads: [order], writes: [order]}
  set_language: {outcomes: [ok], reads: [lang], writes: [lang]}
` + realIntents(),
	"menu.yaml": `
flow: menu
commands: [/start]
intents: [help]
start: start
steps:
  start:
    say: menu.title
    buttons:
      - {label: menu.track, goto: track}
      - {label: menu.language, goto: language}
  again:
    say: menu.again
    buttons:
      - {label: menu.track, goto: track}
`,
	"track.yaml": `
flow: track
intents: [track]
title: journey.track
slots:
  order: {type: order_number, fill: any, shared: true}
  picked: {}
start: ask
steps:
  ask:
    say: order.ask
    ask: order
    validate: order_number
    invalid: order.invalid
    next: sub
    buttons:
      - {label: btn.menu, goto: menu}
  sub:
    call: sub
    next: lookup
  lookup:
    action: lookup
    on: {ok: pick, missing: ask}
  pick:
    say: order.pick
    ask: picked
    validate: choice
    choices: true
    next: done
    buttons:
      - {label: btn.menu, goto: menu}
  done:
    say: menu.again
    goto: menu.again
`,
	"sub.yaml": `
flow: sub
start: confirm
steps:
  confirm:
    say: order.ask_postcode
    buttons:
      - {label: btn.yes, intent: yes, goto: back}
      - {label: btn.no, intent: no, goto: menu}
  back:
    return: true
`,
	"language.yaml": `
flow: language
commands: [/language]
slots: [lang]
start: choose
steps:
  choose:
    say: language.choose
    buttons:
      - {label: lang.de, set: {lang: de}, goto: apply}
  apply:
    action: set_language
    on: {ok: done}
  done:
    say: language.set
    goto: menu.again
`,
	"human.yaml": `
flow: human
intents: [human]
start: offer
steps:
  offer:
    say: human.offer
    buttons:
      - {label: btn.yes, goto: menu}
`,
}

// realIntents is the intents section of the real manifest: the test flows
// use the real lexicon, whose phrases name those intents.
func realIntents() string {
	b, err := fs.ReadFile(dialog.Flows(), dialog.ManifestFile)
	if err != nil {
		panic(err)
	}
	src := string(b)
	i := strings.Index(src, "\nintents:\n")
	j := strings.Index(src[i+1:], "\n\n")
	return src[i+1 : i+1+j+1]
}

func newEngine(t testing.TB, flows map[string]string) *dialog.Engine {
	t.Helper()
	e, err := build(flows)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func build(flows map[string]string) (*dialog.Engine, error) {
	fsys := fstest.MapFS{}
	for k, v := range flows {
		fsys[k] = &fstest.MapFile{Data: []byte(strings.TrimLeft(v, "\n"))}
	}
	cat, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		return nil, err
	}
	// order numbers as the demo writes them; the real type lives in bot
	orderRE := regexp.MustCompile(`\b\d{3}-\d{7}-\d{7}\b`)
	orderType := dialog.SlotType{Find: func(s string) string { return orderRE.FindString(s) },
		Accept: func(s string) (string, bool) { v := orderRE.FindString(s); return v, v != "" }}
	return dialog.New(dialog.Config{
		Flows: fsys, Catalog: cat, Types: map[string]dialog.SlotType{"order_number": orderType},
		Globals: map[string]string{"shop": "Testshop"}, OfferHuman: "human.offer", Strict: true,
		Actions: map[string]dialog.Action{
			"lookup": func(_ context.Context, c *dialog.Call) (dialog.Outcome, error) {
				if strings.HasPrefix(c.Slot("order"), "000") {
					c.SetSlot("order", "")
					return "missing", nil
				}
				c.Choice("first", "A")
				c.Choice("second", "B")
				return "ok", nil
			},
		},
	})
}

// convo drives an engine turn by turn.
type convo struct {
	t   *testing.T
	e   *dialog.Engine
	st  dialog.State
	res dialog.Result
}

func (c *convo) do(in dialog.Input) []dialog.Reply {
	c.t.Helper()
	if err := c.e.Turn(context.Background(), &c.st, &in, now, &c.res); err != nil {
		c.t.Fatalf("turn %+v: %v", in, err)
	}
	// round-trip the state as the store would
	var next dialog.State
	if err := next.UnmarshalBinary(c.st.AppendBinary(nil)); err != nil {
		c.t.Fatalf("state round trip: %v", err)
	}
	c.st = next
	return append([]dialog.Reply(nil), c.res.Replies...)
}

func (c *convo) say(text string) []dialog.Reply { return c.do(dialog.Input{Text: text}) }

func (c *convo) press(label string, rs []dialog.Reply) []dialog.Reply {
	c.t.Helper()
	for _, r := range rs {
		for _, b := range r.Buttons {
			if b.Label == label {
				return c.do(dialog.Input{Button: b.Data})
			}
		}
	}
	c.t.Fatalf("no button %q in %+v", label, rs)
	return nil
}

func last(rs []dialog.Reply) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[len(rs)-1].Text
}

func TestMenuAndLanguage(t *testing.T) {
	c := &convo{t: t, e: newEngine(t, testFlows)}
	rs := c.say("hello")
	if !strings.Contains(last(rs), "Testshop") || len(rs[0].Buttons) != 2 {
		t.Fatalf("greeting: %+v", rs)
	}
	rs = c.press("🌐 Language", rs)
	rs = c.press("Deutsch", rs)
	if c.st.Lang != "de" || !c.st.LangFixed {
		t.Fatalf("language not set: %+v", c.st)
	}
	if !strings.Contains(rs[0].Text, "Deutsch") || !strings.Contains(last(rs), "sonst noch") {
		t.Fatalf("after choosing German: %+v", rs)
	}
	// the channel's hint no longer overrides the choice
	c.do(dialog.Input{Text: "hi", LangHint: "fr"})
	if c.st.Lang != "de" {
		t.Fatalf("lang = %s after a French hint, want de", c.st.Lang)
	}
}

func TestChannelLanguageHint(t *testing.T) {
	c := &convo{t: t, e: newEngine(t, testFlows)}
	c.do(dialog.Input{Text: "/start", LangHint: "it-CH"})
	if c.st.Lang != "it" {
		t.Fatalf("lang = %q, want it", c.st.Lang)
	}
	c.do(dialog.Input{Text: "/start", LangHint: "pt-BR"})
	if c.st.Lang != "en" {
		t.Fatalf("lang = %q for pt-BR, want en", c.st.Lang)
	}
}

func TestOrderFromSentenceIsNotAskedAgain(t *testing.T) {
	c := &convo{t: t, e: newEngine(t, testFlows)}
	rs := c.say("where is my parcel 123-1234567-1234567 please")
	if c.st.Get("order") != "123-1234567-1234567" {
		t.Fatalf("order slot = %q", c.st.Get("order"))
	}
	if !strings.Contains(last(rs), "postcode") {
		t.Fatalf("want the called sub-flow's question, got %q", last(rs))
	}
	rs = c.say("yes")
	if !strings.Contains(last(rs), "Which order") || len(rs[len(rs)-1].Buttons) != 3 {
		t.Fatalf("after return: %+v", rs)
	}
	// dynamic choices come first, by number as shown
	rs = c.say("2")
	if c.st.Get("picked") != "B" {
		t.Fatalf("picked = %q, want B (the second button shown)", c.st.Get("picked"))
	}
	if !strings.Contains(last(rs), "Anything else") {
		t.Fatalf("end: %+v", rs)
	}
}

func TestInvalidAnswerThenHumanOffer(t *testing.T) {
	c := &convo{t: t, e: newEngine(t, testFlows)}
	c.press("📦 Where is my parcel?", c.say("/start"))
	rs := c.say("blah blah")
	if len(rs) != 2 || !strings.Contains(rs[0].Text, "doesn't look like an order number") {
		t.Fatalf("first miss: %+v", rs)
	}
	rs = c.say("qwertz")
	if !strings.Contains(last(rs), "talk to a person") {
		t.Fatalf("second miss should offer a human: %+v", rs)
	}
	if c.st.Misses != 0 {
		t.Fatalf("misses = %d after the offer", c.st.Misses)
	}
}

func TestStaleAndForgedButtonsChangeNothing(t *testing.T) {
	c := &convo{t: t, e: newEngine(t, testFlows)}
	first := c.say("/start")
	c.press("📦 Where is my parcel?", first)
	for _, data := range []string{first[0].Buttons[1].Data, "999.0", "x", "", "1.99", "-1.0", "1..0", strings.Repeat("9", 64)} {
		if data == "" {
			continue
		}
		rs := c.do(dialog.Input{Button: data})
		if !strings.Contains(rs[0].Text, "earlier message") {
			t.Errorf("button %q: got %q", data, rs[0].Text)
		}
		if c.st.Flow != "track" || c.st.Step != "ask" {
			t.Errorf("button %q moved the conversation to %s.%s", data, c.st.Flow, c.st.Step)
		}
	}
}

func TestBadTextNeverPanics(t *testing.T) {
	c := &convo{t: t, e: newEngine(t, testFlows)}
	for _, s := range []string{"", " ", "\x00\x01", strings.Repeat("ä", 5000), "\u202eevil", "🙂🙂🙂", "\xff\xfe", "/", "/nosuch", "/start@parcelbot"} {
		rs := c.say(s)
		if len(rs) == 0 || last(rs) == "" {
			t.Errorf("input %q got no answer", s)
		}
		for _, r := range rs {
			if strings.Contains(r.Text, "[") && strings.Contains(r.Text, "]") && strings.Contains(r.Text, ".") && !strings.Contains(r.Text, "/") {
				t.Errorf("input %q: a raw locale key leaked: %q", s, r.Text)
			}
		}
	}
}

func TestInvalidFlowsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, file, from, to, want string
	}{
		{"unknown step", "track.yaml", "next: done", "next: nowhere", "track.yaml:28: unknown step \"nowhere\""},
		{"unknown action", "track.yaml", "action: lookup", "action: lokup", "track.yaml:21: step lookup: unknown action \"lokup\""},
		{"unknown outcome", "track.yaml", "on: {ok: pick, missing: ask}", "on: {ok: pick, missing: ask, gone: ask}", "track.yaml:22: step lookup: action lookup has no outcome \"gone\""},
		{"outcome goes nowhere", "track.yaml", "on: {ok: pick, missing: ask}", "on: {ok: pick}", "outcome \"missing\" of action lookup goes nowhere"},
		{"unknown slot", "track.yaml", "ask: picked", "ask: pickd", "track.yaml:25: step pick: unknown slot \"pickd\""},
		{"unknown locale key", "menu.yaml", "say: menu.again", "say: menu.agian", "menu.yaml:12: step again: unknown locale key \"menu.agian\""},
		{"unknown validator", "track.yaml", "validate: order_number", "validate: ordernum", "track.yaml:12: step ask: validate must be one of"},
		{"dead end", "sub.yaml", "    return: true", "    say: menu.again", "sub.yaml:9: step back: a dead end"},
		{"unknown field", "sub.yaml", "return: true", "retrun: true", "sub.yaml:10: step back: unknown field \"retrun\""},
		{"bad yaml", "menu.yaml", "steps:", "steps: [", "menu.yaml:"},
		{"call that cannot return", "sub.yaml", "    return: true", "    goto: menu", "track.yaml:17: step sub calls flow sub, which never returns"},
		{"call cycle", "sub.yaml", "  back:\n    return: true", "  back:\n    call: sub\n    next: again\n  again:\n    return: true", "calls flow sub, which calls back into itself"},
		{"skip on an action step", "track.yaml", "  lookup:\n", "  lookup:\n    skip: {picked: pick}\n", "step lookup: an action step only has 'action' and 'on'"},
		{"skip of unknown slot", "track.yaml", "  pick:\n", "  pick:\n    skip: {nothing: done}\n", "track.yaml:24: step pick: skip: unknown slot \"nothing\""},
		{"fill without a type", "track.yaml", "type: order_number, fill: any", "type: ordernum, fill: any", "slot order: fill needs a type that finds values in text"},
		{"unknown title key", "track.yaml", "title: journey.track", "title: journey.trakc", "title: unknown locale key \"journey.trakc\""},
		{"action without a function", "manifest.yaml", "actions:\n", "actions:\n  ghost: {outcomes: [ok]}\n", "manifest.yaml:5: action ghost has no function"},
		{"function without a declaration", "manifest.yaml", "  lookup: {outcomes: [ok, missing], reads: [order], writes: [order]}\n", "", "action lookup is not declared"},
		{"outcome not declared", "manifest.yaml", "outcomes: [ok, missing]", "outcomes: [ok]", "track.yaml:22: step lookup: action lookup has no outcome \"missing\""},
		{"slot read that nothing writes", "manifest.yaml", "reads: [order]", "reads: [order, mood]", "manifest.yaml:5: action lookup reads slot \"mood\", which no question"},
		{"menu command no flow has", "manifest.yaml", "menu: [/start, /language]", "menu: [/start, /languages]", "manifest.yaml:2: menu: /languages is no flow's command"},
		{"journey that is no flow", "manifest.yaml", "journeys: [track]", "journeys: [trak]", "manifest.yaml:3: journeys: no flow \"trak\""},
		{"intent a flow starts but the manifest lacks", "manifest.yaml", "  human: {weight: 2, offer: menu.human}\n", "", "en.yaml: unknown intent \"human\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flows := map[string]string{}
			for k, v := range testFlows {
				flows[k] = v
			}
			if !strings.Contains(flows[tc.file], tc.from) {
				t.Fatalf("%s has no %q", tc.file, tc.from)
			}
			flows[tc.file] = strings.Replace(flows[tc.file], tc.from, tc.to, 1)
			_, err := build(flows)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	st := dialog.State{Lang: "fr", Region: "CH", LangFixed: true, Customer: "C-1", Journey: "track", Flow: "track", Step: "ask",
		Stack: []dialog.Frame{{Kind: dialog.FrameCall, Flow: "x", Step: "y"}, {Kind: dialog.FrameDigression, Flow: "a", Step: "b", Journey: "a",
			Slots: []dialog.Slot{{"k", "v"}}, Facts: []dialog.Slot{{"f", "g"}}, Choices: []dialog.Choice{{"L", "V", "K"}}}},
		Seq: 65535, Misses: 1, Mode: dialog.ModeAgent, Case: "PB-ABCDEF", Updated: now.Unix(), Origin: "p.q",
		Facts: []dialog.Slot{{"status", "in transit"}},
		Slots: []dialog.Slot{{"order", "123"}, {"postcode", "75011"}}, Choices: []dialog.Choice{{"A", "a", ""}, {"B", "b", "k.b"}}}
	var got dialog.State
	if err := got.UnmarshalBinary(st.AppendBinary(nil)); err != nil {
		t.Fatal(err)
	}
	got.Version = st.Version
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("got %+v\nwant %+v", got, st)
	}
	if n := len(st.AppendBinary(nil)); n > 200 {
		t.Errorf("encoded state is %d bytes", n)
	}
}

// TestStateCopyTo: a copy equals the state, also into a State that held
// a bigger one, and changing the copy's lists leaves the state as it was
// (a service keeps one copy between turns and works on the other).
func TestStateCopyTo(t *testing.T) {
	st := dialog.State{Lang: "de", Flow: "track", Step: "ask", Slots: []dialog.Slot{{"order", "1"}}, Facts: []dialog.Slot{{"eta", "Monday"}},
		Choices: []dialog.Choice{{"A", "a", ""}},
		Stack:   []dialog.Frame{{Kind: dialog.FrameDigression, Flow: "a", Step: "b", Slots: []dialog.Slot{{"k", "v"}}, Facts: []dialog.Slot{{"f", "g"}}}}}
	want := st.AppendBinary(nil)
	var big dialog.State
	big.Slots = make([]dialog.Slot, 3, 8)
	big.Stack = []dialog.Frame{{Slots: make([]dialog.Slot, 2, 4)}, {Kind: dialog.FrameCall, Flow: "x", Step: "y"}}
	for _, dst := range []*dialog.State{{}, &big} {
		st.CopyTo(dst)
		if got := dst.AppendBinary(nil); !bytes.Equal(got, want) {
			t.Fatalf("copy %+v, state %+v", dst, st)
		}
		dst.Slots[0].Value = "2"
		dst.Facts[0].Value = "Friday"
		dst.Choices[0].Value = "b"
		dst.Stack[0].Slots[0].Value = "w"
		dst.Stack[0].Facts = append(dst.Stack[0].Facts[:0], dialog.Slot{"f", "h"})
		if got := st.AppendBinary(nil); !bytes.Equal(got, want) {
			t.Fatalf("changing the copy changed the state: %+v", st)
		}
	}
}

func TestButtonData(t *testing.T) {
	tests := []struct {
		in   string
		seq  uint16
		idx  int
		good bool
	}{
		{"1.0", 1, 0, true}, {"65535.63", 65535, 63, true}, {"65536.0", 0, 0, false}, {"1.64", 0, 0, false},
		{"1", 0, 0, false}, {".1", 0, 0, false}, {"1.", 0, 0, false}, {"a.b", 0, 0, false}, {"+1.0", 0, 0, false},
		{"1.0.0", 0, 0, false}, {"", 0, 0, false},
	}
	for _, tc := range tests {
		seq, idx, ok := dialog.ParseButtonData(tc.in)
		if ok != tc.good || seq != tc.seq || idx != tc.idx {
			t.Errorf("ParseButtonData(%q) = %d, %d, %v", tc.in, seq, idx, ok)
		}
	}
}

func FuzzButtonData(f *testing.F) {
	for _, s := range []string{"1.0", "65535.63", "x", "1..2", "99999.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		seq, idx, ok := dialog.ParseButtonData(s)
		if ok && (idx < 0 || idx >= 64) {
			t.Fatalf("%q decoded to index %d", s, idx)
		}
		_ = seq
	})
}

func FuzzStateDecode(f *testing.F) {
	st := dialog.State{Lang: "de", Flow: "track", Step: "ask", Slots: []dialog.Slot{{"order", "1"}}, Choices: []dialog.Choice{{"x", "x", ""}},
		Stack: []dialog.Frame{{Kind: dialog.FrameDigression, Flow: "a", Step: "b", Facts: []dialog.Slot{{"f", "g"}}}}}
	f.Add(st.AppendBinary(nil))
	f.Add([]byte("P\x01"))
	seed := st.AppendBinary(nil)
	e := newEngine(f, testFlows)
	f.Fuzz(func(t *testing.T, b []byte) {
		// decoding into a State that held another one (as the service's
		// reused buffers do) gives what decoding into a fresh one gives
		var reused dialog.State
		if err := reused.UnmarshalBinary(seed); err != nil {
			t.Fatal(err)
		}
		errReused := reused.UnmarshalBinary(b)
		var s dialog.State
		if err := s.UnmarshalBinary(b); err != nil {
			if errReused == nil {
				t.Fatalf("a reused State accepted what a fresh one refuses: %v", err)
			}
			return
		}
		if errReused != nil || !bytes.Equal(reused.AppendBinary(nil), s.AppendBinary(nil)) {
			t.Fatalf("decoded into a reused State: %v, %+v; fresh: %+v", errReused, reused, s)
		}
		var again dialog.State
		if err := again.UnmarshalBinary(s.AppendBinary(nil)); err != nil {
			t.Fatalf("re-encoding a decoded state fails: %v", err)
		}
		// the engine's decoding (names not copied) gives the same state
		var named dialog.State
		if err := e.Decode(&named, b); err != nil || !bytes.Equal(named.AppendBinary(nil), s.AppendBinary(nil)) {
			t.Fatalf("Engine.Decode: %v, %+v; UnmarshalBinary: %+v", err, named, s)
		}
	})
}

// TestDecodeAllocatesNoNames: a stored state whose strings are all the
// engine's names (flows, steps, slots, languages) decodes into a reused
// State without allocating; UnmarshalBinary copies each string.
func TestDecodeAllocatesNoNames(t *testing.T) {
	e := newEngine(t, testFlows)
	var st dialog.State
	st.Lang = "de"
	if err := e.Turn(context.Background(), &st, &dialog.Input{Text: "/track"}, time.Now(), &dialog.Result{}); err != nil {
		t.Fatal(err)
	}
	st.Slots = append(st.Slots, dialog.Slot{Name: "lang", Value: "de"})
	b := st.AppendBinary(nil)
	if st.Flow == "" || st.Step == "" {
		t.Fatalf("the turn left no flow and step: %+v", st)
	}
	var into dialog.State
	if err := e.Decode(&into, b); err != nil {
		t.Fatal(err)
	}
	if got := testing.AllocsPerRun(100, func() { _ = e.Decode(&into, b) }); got != 0 {
		t.Errorf("Engine.Decode allocated %v times per state of names only", got)
	}
	if got := testing.AllocsPerRun(100, func() { _ = into.UnmarshalBinary(b) }); got == 0 {
		t.Errorf("UnmarshalBinary allocated nothing: the test's state holds no string")
	}
	if !bytes.Equal(into.AppendBinary(nil), b) {
		t.Errorf("decoded %+v, stored %+v", into, st)
	}
}

// FuzzTurn feeds arbitrary text and button data to the engine: it must never
// panic, always answer, and leave a state that encodes and decodes.
func FuzzTurn(f *testing.F) {
	e := newEngine(f, testFlows)
	for _, s := range []string{"hello", "/start", "where is 123-1234567-1234567", "1", "2.0", "\x00", "yes", "no"} {
		f.Add(s, "", uint16(0))
	}
	f.Add("", "1.0", uint16(1))
	f.Fuzz(func(t *testing.T, text, button string, seq uint16) {
		st := dialog.State{Seq: seq}
		var res dialog.Result
		files := []dialog.File{{ID: text, Kind: button, Size: int64(seq) << 10, MIME: text}}
		for _, in := range []dialog.Input{{Text: "/start"}, {Text: text, Button: button}, {Text: text}, {Files: files}, {Text: text, Files: files}} {
			if err := e.Turn(context.Background(), &st, &in, now, &res); err != nil {
				t.Fatalf("turn(%q, %q): %v", text, button, err)
			}
			if len(res.Replies) == 0 {
				t.Fatalf("turn(%q, %q): no reply", text, button)
			}
			var back dialog.State
			if err := back.UnmarshalBinary(st.AppendBinary(nil)); err != nil {
				t.Fatalf("state does not round-trip: %v", err)
			}
		}
	})
}

// In strict mode (conversation tests) a message shown with a placeholder
// nothing set fails the turn, naming the key and the placeholder, instead
// of showing the customer a sentence with a hole in it.
func TestStrictModeRefusesAnUnsetPlaceholder(t *testing.T) {
	flows := map[string]string{}
	for k, v := range testFlows {
		flows[k] = v
	}
	flows["menu.yaml"] = strings.Replace(flows["menu.yaml"], "      - {label: menu.language, goto: language}\n",
		"      - {label: menu.language, goto: language}\n      - {label: menu.track, goto: blank}\n", 1)
	flows["blank.yaml"] = `
flow: blank
start: show
steps:
  show:
    say: track.estimate
    goto: menu.again
`
	e := newEngine(t, flows)
	var st dialog.State
	var res dialog.Result
	if err := e.Turn(context.Background(), &st, &dialog.Input{Text: "/start"}, now, &res); err != nil {
		t.Fatal(err)
	}
	data := ""
	for _, b := range res.Replies[len(res.Replies)-1].Buttons {
		data = b.Data // the last button: blank
	}
	err := e.Turn(context.Background(), &st, &dialog.Input{Button: data}, now, &res)
	if err == nil || !strings.Contains(err.Error(), "track.estimate") || !strings.Contains(err.Error(), "{estimate}") {
		t.Fatalf("turn with an unset placeholder: %v", err)
	}
}

func TestResultNamesThePressedButton(t *testing.T) {
	c := &convo{t: t, e: newEngine(t, testFlows)}
	rs := c.say("hello")
	if c.res.Pressed != "" {
		t.Fatalf("a typed message: Pressed = %q", c.res.Pressed)
	}
	stale := rs[0].Buttons[0].Data
	c.press("📦 Where is my parcel?", rs)
	if c.res.Pressed != "📦 Where is my parcel?" {
		t.Fatalf("a menu button: Pressed = %q", c.res.Pressed)
	}
	rs = c.say("123-1234567-1234567")
	rs = c.press(rs[len(rs)-1].Buttons[0].Label, rs)
	if c.res.Pressed == "" || c.res.Pressed != c.e.Catalog().Text("en", "btn.yes", nil) {
		t.Fatalf("a yes button: Pressed = %q", c.res.Pressed)
	}
	c.press("second", rs)
	if c.res.Pressed != "second" {
		t.Fatalf("an action's choice: Pressed = %q", c.res.Pressed)
	}
	c.do(dialog.Input{Button: stale})
	if c.res.Pressed != "" {
		t.Fatalf("a stale button: Pressed = %q", c.res.Pressed)
	}
}
