package dialog

import (
	"io/fs"
	"testing"
)

// The lexicon's score bands (lexBand) are features because a longer, more
// specific phrase is a surer sign: on the training data the top band is
// right almost always, the lowest far less often.
func TestLexiconBandsGrowSurer(t *testing.T) {
	m := embeddedMatcher(t)
	sub, _ := fs.Sub(nluFS, "nlu")
	ex, _, err := LoadNLU(sub, m.Intents())
	if err != nil {
		t.Fatal(err)
	}
	var right, total [4]int
	for _, e := range ex {
		in, sc := m.MatchIn(e.Lang, e.Text)
		if in == IntentUnknown {
			continue
		}
		b := lexBand(sc)
		total[b]++
		if in == e.Intent {
			right[b]++
		}
	}
	var prec [4]float64
	for b := range prec {
		prec[b] = float64(right[b]) / float64(max(total[b], 1))
		t.Logf("band %d: %d/%d right", b, right[b], total[b])
	}
	if prec[3] < 0.95 || prec[3] < prec[0] || prec[2] < prec[0] {
		t.Errorf("the lexicon's bands no longer grow surer: %.2f", prec)
	}
}
