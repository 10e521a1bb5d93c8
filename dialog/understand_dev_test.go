package dialog_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcelbot/parcelbot/dialog"
)

type labelled struct{ lang, intent, text string }

func readSet(t *testing.T, dir string) []labelled {
	t.Helper()
	var out []labelled
	for _, lang := range dialog.Languages {
		f, err := os.Open(filepath.Join("testdata", "intents", dir, lang+".tsv"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			want, text, ok := strings.Cut(line, "\t")
			if !ok {
				t.Fatalf("%s/%s.tsv: bad line %q", dir, lang, line)
			}
			out = append(out, labelled{lang, want, text})
		}
		f.Close()
	}
	return out
}

func newUnderstander(t testing.TB) *dialog.Understander {
	t.Helper()
	u, err := dialog.NewUnderstander(newMatcher(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestUnderstandDev checks the development sets (the lexicon's evaluation
// and old held-out sets, which tuning may look at): at least 90 % each.
func TestUnderstandDev(t *testing.T) {
	u := newUnderstander(t)
	for _, dir := range []string{"", "heldout"} {
		set := readSet(t, dir)
		right := map[string]int{}
		total := map[string]int{}
		for _, x := range set {
			got := u.Understand(x.lang, x.text, nil)
			total[x.lang]++
			if got[0].Intent == x.intent {
				right[x.lang]++
			} else {
				t.Logf("%s %s: %q = %s %.2f (%s %.2f), want %s", dir, x.lang, x.text, got[0].Intent, got[0].Confidence, got[1].Intent, got[1].Confidence, x.intent)
			}
		}
		for _, l := range dialog.Languages {
			t.Logf("dev %q %s: %d/%d", dir, l, right[l], total[l])
			if float64(right[l]) < 0.9*float64(total[l]) {
				t.Errorf("dev set %q %s: %d/%d under 90%%", dir, l, right[l], total[l])
			}
		}
	}
}
