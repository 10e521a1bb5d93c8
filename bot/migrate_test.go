package bot_test

import (
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/parcelbot/parcelbot/adapters/demo"
	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/bot/bottest"
	"github.com/parcelbot/parcelbot/dialog"
)

// Sessions stored by the previous version of the engine (state encoding 1,
// one return target instead of a stack; files written by that code) go on
// where they stood.
func TestSessionsOfTheFirstEncodingGoOn(t *testing.T) {
	d, err := demo.Default(testNow)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := bot.NewEngine(strictConfig(), bot.Backends{Shop: d, Writer: d, Records: bottest.NewRecords()})
	if err != nil {
		t.Fatal(err)
	}
	load := func(t *testing.T, name string) dialog.State {
		t.Helper()
		raw, err := os.ReadFile("../dialog/testdata/state/" + name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if b[1] != 1 {
			t.Fatalf("%s is not a version 1 session", name)
		}
		var st dialog.State
		if err := st.UnmarshalBinary(b); err != nil {
			t.Fatalf("decode %s: %v", name, err)
		}
		return st
	}
	turn := func(t *testing.T, st *dialog.State, in dialog.Input) string {
		t.Helper()
		var res dialog.Result
		if err := eng.Turn(context.Background(), st, &in, testNow, &res); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range res.Replies {
			b.WriteString(r.Text + "\n")
		}
		return b.String()
	}

	t.Run("a called flow returns to its caller", func(t *testing.T) {
		// waiting for the postcode inside identify, called by tracking
		st := load(t, "v1-called.hex")
		if len(st.Stack) != 1 || st.Stack[0].Flow != "track" || st.Stack[0].Step != "lookup" || st.Journey != "track" {
			t.Fatalf("stack %+v, journey %q", st.Stack, st.Journey)
		}
		out := turn(t, &st, dialog.Input{Text: "10115"})
		if !strings.Contains(out, "302-1012221-4085547") || !strings.Contains(out, "zugestellt") {
			t.Fatalf("the tracking answer did not follow the postcode:\n%s", out)
		}
		if len(st.Stack) != 0 {
			t.Errorf("stack after the return: %+v", st.Stack)
		}
		// and the state, encoded anew, is version 2 and reads back
		enc := st.AppendBinary(nil)
		var again dialog.State
		if err := again.UnmarshalBinary(enc); err != nil || enc[1] != 2 {
			t.Fatalf("re-encoded: version %d, %v", enc[1], err)
		}
	})
	t.Run("unlabelled choices are still pressed", func(t *testing.T) {
		st := load(t, "v1-choices.hex")
		if len(st.Choices) != 3 || st.Choices[1].Value != "refund" {
			t.Fatalf("choices %+v", st.Choices)
		}
		// buttons carry the session's sequence number: dynamic choices
		// come after the step's one static button (Talk to a person)
		out := turn(t, &st, dialog.Input{Button: "3.2"})
		if !strings.Contains(out, "refund") {
			t.Fatalf("pressing the stored refund choice:\n%s", out)
		}
	})
	t.Run("a hand-over goes on", func(t *testing.T) {
		st := load(t, "v1-agent.hex")
		if st.Mode != dialog.ModeAgent || st.Case != "PB-7K2F9Q" {
			t.Fatalf("mode %d case %q", st.Mode, st.Case)
		}
		var res dialog.Result
		in := dialog.Input{Text: "bonjour, des nouvelles ?"}
		if err := eng.Turn(context.Background(), &st, &in, testNow, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Replies) != 0 || len(res.Effects) != 1 || res.Effects[0].Kind != dialog.EffectRelay {
			t.Fatalf("want the message relayed to the agent, got %+v", res)
		}
	})
}
