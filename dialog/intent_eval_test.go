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
func TestIntentAccuracy(t *testing.T) {
	m, err := dialog.NewMatcher()
	if err != nil {
		t.Fatal(err)
	}
	valid := map[string]bool{}
	for _, i := range dialog.Intents() {
		valid[i] = true
	}
	for _, lang := range dialog.Languages {
		f, err := os.Open(filepath.Join("testdata", "intents", lang+".tsv"))
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
			if got, _ := m.Match(text); got == want {
				right++
			} else {
				t.Logf("%s: %q = %s, want %s", lang, text, got, want)
			}
		}
		f.Close()
		acc := float64(right) / float64(total)
		t.Logf("%s: %d/%d = %.1f%%", lang, right, total, 100*acc)
		if total < 40 {
			t.Errorf("%s: only %d phrasings, want at least 40", lang, total)
		}
		if acc < 0.90 {
			t.Errorf("%s: accuracy %.1f%% is under 90%%", lang, 100*acc)
		}
	}
}
