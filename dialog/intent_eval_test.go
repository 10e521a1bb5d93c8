package dialog_test

import (
	"testing"

	"github.com/parcelbot/parcelbot/dialog"
)

// TestIntentAccuracy measures the matcher on the evaluation set in
// dialog/testdata/intents (realistic phrasings, colloquial, without
// accents, with typos) and fails any language under 90%.
func TestIntentAccuracy(t *testing.T) { evalIntents(t, "", 40, 0.90) }

// TestIntentAccuracyHeldOut measures a second set, written after the
// lexicon was tuned on the first and never tuned against: the honest
// figure. It fails under 75%, a floor against regressions, not a target.
func TestIntentAccuracyHeldOut(t *testing.T) { evalIntents(t, "heldout", 20, 0.75) }

func evalIntents(t *testing.T, dir string, minLines int, floor float64) {
	m := newMatcher(t)
	valid := map[string]bool{}
	for _, i := range m.Intents() {
		valid[i] = true
	}
	right, total := map[string]int{}, map[string]int{}
	for _, x := range readSet(t, dir) {
		if !valid[x.intent] {
			t.Fatalf("%s/%s.tsv: unknown intent %q", dir, x.lang, x.intent)
		}
		total[x.lang]++
		if got, _ := m.MatchIn(x.lang, x.text); got == x.intent {
			right[x.lang]++
		} else {
			t.Logf("%s: %q = %s, want %s", x.lang, x.text, got, x.intent)
		}
	}
	for _, lang := range dialog.Languages {
		acc := float64(right[lang]) / float64(max(total[lang], 1))
		t.Logf("%s: %d/%d = %.1f%%", lang, right[lang], total[lang], 100*acc)
		if total[lang] < minLines {
			t.Errorf("%s: only %d phrasings, want at least %d", lang, total[lang], minLines)
		}
		if acc < floor {
			t.Errorf("%s: accuracy %.1f%% is under %.0f%%", lang, 100*acc, 100*floor)
		}
	}
}

// TestIntentAccuracyFresh measures the lexicon alone on the fresh set
// (issue 13), written before the classifier: the baseline the classifier
// improves on (82-90 % when it was written; 79-88 % once the 12
// damaged-parcel messages per language were added, whose wordings the
// lexicon's short phrase list mostly lacks — the classifier reads 92 % of
// them).
func TestIntentAccuracyFresh(t *testing.T) { evalIntents(t, "fresh", 75, 0.75) }
