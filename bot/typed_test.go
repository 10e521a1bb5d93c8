package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/bot/bottest"
	"github.com/parcelbot/parcelbot/dialog"
)

// market is what a customer of one language uses to reach every step: the
// country's order numbers and postcode, and a linked customer.
type market struct {
	lang, prefix, postcode, customer string
}

var markets = []market{
	{"en", "206", "SW1A 1AA", "C-1010"},
	{"de", "302", "10115", "C-1001"},
	{"fr", "403", "75011", "C-1004"},
	{"it", "405", "20121", "C-1007"},
}

// scenario suffixes of the demo orders (README, "Try every journey")
var scenarios = []string{
	"-1001111-4007777", "-1004444-4031108", "-1006666-4046662", "-1008888-4062216", "-1011110-4077770",
	"-1012221-4085547", "-1013332-4093324", "-1016665-4116655", "-1017776-4124432", "-1018887-4132209",
	"-1019998-4139986", "-1022220-4155540",
}

// lockstep runs the same conversation on two engines with their own shop
// data and records: one taps, the other types. As long as both take the
// same transitions, their backends see the same writes and stay alike.
type lockstep struct {
	t    *testing.T
	a, b *dialog.Engine
}

func newLockstep(t *testing.T) *lockstep {
	mk := func() *dialog.Engine {
		d, err := demo.Default(testNow)
		if err != nil {
			t.Fatal(err)
		}
		e, err := bot.NewEngine(strictConfig(), bot.Backends{Shop: d, Writer: d, Records: bottest.NewRecords()})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	return &lockstep{t: t, a: mk(), b: mk()}
}

type node struct {
	st   dialog.State
	last dialog.Reply // how the waiting step was rendered
	path string       // how it was reached, for failure messages
}

func turnOn(t *testing.T, e *dialog.Engine, st *dialog.State, in dialog.Input) []dialog.Reply {
	t.Helper()
	var res dialog.Result
	if err := e.Turn(context.Background(), st, &in, testNow, &res); err != nil {
		t.Fatalf("turn %+v: %v", in, err)
	}
	return append([]dialog.Reply(nil), res.Replies...)
}

func copyState(st dialog.State) dialog.State {
	var c dialog.State
	if err := c.UnmarshalBinary(st.AppendBinary(nil)); err != nil {
		panic(err)
	}
	return c
}

func render(r dialog.Reply) string {
	var labels []string
	for _, b := range r.Buttons {
		labels = append(labels, b.Label)
	}
	return r.Text + "\n[" + strings.Join(labels, " | ") + "]"
}

func renderAll(rs []dialog.Reply) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(render(r) + "\n")
	}
	return b.String()
}

// typo lower-cases label and deletes a letter in the middle of its longest
// word; labels with no word of four letters or more are typed exactly
// (in lower case): a typo there would make another word.
func typo(label string) string {
	s := strings.ToLower(label)
	words := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) })
	longest := ""
	for _, w := range words {
		if utf8.RuneCountInString(w) > utf8.RuneCountInString(longest) {
			longest = w
		}
	}
	if utf8.RuneCountInString(longest) < 4 {
		return s
	}
	rs := []rune(longest)
	mid := len(rs) / 2
	broken := string(rs[:mid]) + string(rs[mid+1:])
	return strings.Replace(s, longest, broken, 1)
}

// For every step that waits, in every language: a nonsense message is no
// answer, and the step is asked again exactly as it was first shown (text
// and buttons); and every button typed in lower case with a typo takes the
// same transition as tapping it.
func TestEveryStepUnderstandsTypedAnswers(t *testing.T) {
	for _, m := range markets {
		t.Run(m.lang, func(t *testing.T) {
			ls := newLockstep(t)
			var queue []node
			seen := map[string]bool{}
			add := func(st dialog.State, rs []dialog.Reply, path string) {
				if st.Mode != dialog.ModeBot || st.Flow == "" || len(rs) == 0 {
					return
				}
				key := st.Journey + ":" + st.Flow + "." + st.Step
				if seen[key] {
					return
				}
				seen[key] = true
				queue = append(queue, node{st: copyState(st), last: rs[len(rs)-1], path: path})
			}
			seed := func(customer string, inputs ...string) {
				sa, sb := dialog.State{Customer: customer, Lang: m.lang, LangFixed: true}, dialog.State{Customer: customer, Lang: m.lang, LangFixed: true}
				var rs []dialog.Reply
				for _, text := range inputs {
					rs = turnOn(t, ls.a, &sa, dialog.Input{Text: text})
					turnOn(t, ls.b, &sb, dialog.Input{Text: text})
					add(sa, rs, customer+": "+strings.Join(inputs, " / "))
				}
			}
			for _, cmd := range []string{"/start", "/track", "/missing", "/password", "/locker", "/change", "/language", "/forget", "/cases", "/help"} {
				seed("", cmd)
				seed(m.customer, cmd)
			}
			for _, sfx := range scenarios {
				seed("", "/track", m.prefix+sfx, m.postcode)
				seed("", "/missing", m.prefix+sfx, m.postcode)
				seed(m.customer, "/track", m.prefix+sfx)
				seed(m.customer, "/missing", m.prefix+sfx)
				seed(m.customer, "/password", m.prefix+sfx)
				seed(m.customer, "/change", m.prefix+sfx)
				seed(m.customer, "/locker")
			}
			steps := 0
			for len(queue) > 0 {
				n := queue[0]
				queue = queue[1:]
				steps++
				first := render(n.last)

				// nonsense is no answer: the same message and buttons again
				sa, sb := copyState(n.st), copyState(n.st)
				rs := turnOn(t, ls.a, &sa, dialog.Input{Text: "purple xylophone quantum"})
				turnOn(t, ls.b, &sb, dialog.Input{Text: "purple xylophone quantum"})
				if len(rs) == 0 || render(rs[len(rs)-1]) != first {
					t.Errorf("%s.%s (reached by %s): asked again differently\nfirst:\n%s\nagain:\n%s", n.st.Flow, n.st.Step, n.path, first, renderAll(rs))
				}
				if sa.Flow != n.st.Flow || sa.Step != n.st.Step {
					t.Errorf("%s.%s: nonsense moved the conversation to %s.%s", n.st.Flow, n.st.Step, sa.Flow, sa.Step)
				}

				for _, btn := range n.last.Buttons {
					tapped, typed := copyState(n.st), copyState(n.st)
					ra := turnOn(t, ls.a, &tapped, dialog.Input{Button: btn.Data})
					text := typo(btn.Label)
					rb := turnOn(t, ls.b, &typed, dialog.Input{Text: text})
					if got, want := renderAll(rb), renderAll(ra); got != want || typed.Flow != tapped.Flow || typed.Step != tapped.Step {
						t.Errorf("%s.%s (reached by %s): typing %q is not tapping %q\ntapped → %s.%s:\n%s\ntyped → %s.%s:\n%s",
							n.st.Flow, n.st.Step, n.path, text, btn.Label, tapped.Flow, tapped.Step, want, typed.Flow, typed.Step, got)
						continue
					}
					add(tapped, ra, n.path+fmt.Sprintf(" / [%s]", btn.Label))
				}
			}
			// the walk must reach the journeys' steps, not only the menu
			if steps < 50 {
				t.Errorf("only %d waiting steps reached: %v", steps, seen)
			}
			t.Logf("%d waiting steps checked", steps)
		})
	}
}

// strictConfig makes the engine fail a turn whose action uses a slot the
// manifest does not declare for it: the walk over every step checks the
// manifest against the code.
func strictConfig() bot.Config {
	c := bot.DefaultConfig()
	c.Strict = true
	return c
}
