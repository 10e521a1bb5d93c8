package dialog_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
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
	for _, lang := range dialog.Languages {
		f, err := os.Open(filepath.Join("testdata", "intents", dir, lang+".tsv"))
		if err != nil {
			t.Fatal(err)
		}
		total, right := 0, 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			want, text, ok := strings.Cut(line, "\t")
			if !ok || !valid[want] {
				t.Fatalf("%s.tsv: bad line %q", lang, line)
			}
			total++
			if got, _ := m.MatchIn(lang, text); got == want {
				right++
			} else {
				t.Logf("%s: %q = %s, want %s", lang, text, got, want)
			}
		}
		f.Close()
		acc := float64(right) / float64(total)
		t.Logf("%s: %d/%d = %.1f%%", lang, right, total, 100*acc)
		if total < minLines {
			t.Errorf("%s: only %d phrasings, want at least %d", lang, total, minLines)
		}
		if acc < floor {
			t.Errorf("%s: accuracy %.1f%% is under %.0f%%", lang, 100*acc, 100*floor)
		}
	}
}
