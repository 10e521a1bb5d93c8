package dialog

import (
	"io/fs"
	"math"
	"testing"
)

// cvScores trains on all folds but one and collects the raw scores of the
// left-out fold's examples, for every fold.
func cvScores(t *testing.T, folds int) (scores [][]float64, labels []int, u *Understander, ex []Example) {
	t.Helper()
	m := embeddedMatcher(t)
	u, err := NewUnderstander(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := fs.Sub(nluFS, "nlu")
	ex, cfg, err := LoadNLU(sub, m.Intents())
	if err != nil {
		t.Fatal(err)
	}
	li := map[string]int{}
	for i, l := range m.Intents() {
		li[l] = i
	}
	for f := 0; f < folds; f++ {
		var train, test []Example
		var extra [][]string
		for i, e := range ex {
			if i%folds == f {
				test = append(test, e)
			} else {
				train = append(train, e)
				extra = append(extra, u.lex(e.Lang, e.Text))
			}
		}
		c, err := TrainClassifier(train, extra, m.Intents(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := &clsScratch{}
		for _, e := range test {
			s.fold = fold(s.fold[:0], e.Text)
			s.features(s.fold, u.lex(e.Lang, e.Text))
			c.vector(s)
			c.scores(s)
			scores = append(scores, append([]float64(nil), s.scores...))
			labels = append(labels, li[e.Intent])
		}
	}
	return scores, labels, u, ex
}

// nll and ece of scores at temperature temp; acc is the accuracy.
func calibration(scores [][]float64, labels []int, temp float64) (nll, ece, acc float64) {
	const bins = 10
	var conf, hit [bins]float64
	var count [bins]int
	p := make([]float64, 0, 32)
	for i, sc := range scores {
		p = append(p[:0], sc...)
		softmax(p, temp)
		best := 0
		for j := range p {
			if p[j] > p[best] {
				best = j
			}
		}
		nll -= math.Log(max(p[labels[i]], 1e-12))
		b := min(int(p[best]*bins), bins-1)
		count[b]++
		conf[b] += p[best]
		if best == labels[i] {
			hit[b]++
			acc++
		}
	}
	n := float64(len(scores))
	for b := range count {
		if count[b] > 0 {
			ece += math.Abs(conf[b]-hit[b]) / n
		}
	}
	return nll / n, ece, acc / n
}

// TestCalibration checks that the configured temperature is the one that
// fits 5-fold cross-validated predictions of the training data best (to
// the grid's step), and reports the calibration error.
func TestCalibration(t *testing.T) {
	scores, labels, u, _ := cvScores(t, 5)
	best, bestNLL := 0.0, math.Inf(1)
	for temp := 0.3; temp <= 3.0001; temp += 0.05 {
		if nll, _, _ := calibration(scores, labels, temp); nll < bestNLL {
			best, bestNLL = temp, nll
		}
	}
	_, ece, acc := calibration(scores, labels, u.cfg.Temperature)
	_, ece1, _ := calibration(scores, labels, 1)
	t.Logf("5-fold CV on %d training examples: accuracy %.1f%%; best temperature %.2f; configured %.2f with ECE %.3f (%.3f at 1.0)",
		len(scores), 100*acc, best, u.cfg.Temperature, ece, ece1)
	if math.Abs(best-u.cfg.Temperature) > 0.1 {
		t.Errorf("dialog/nlu/config.yaml: temperature %.2f, but %.2f fits the cross-validated predictions best: update it", u.cfg.Temperature, best)
	}
	if ece > 0.05 {
		t.Errorf("calibration error %.3f over 0.05", ece)
	}
}

// BenchmarkTrain: training the classifier on the embedded data, as every
// start does once.
func BenchmarkTrain(b *testing.B) {
	m := embeddedMatcher(b)
	sub, _ := fs.Sub(nluFS, "nlu")
	ex, cfg, err := LoadNLU(sub, m.Intents())
	if err != nil {
		b.Fatal(err)
	}
	u, err := NewUnderstander(m, nil)
	if err != nil {
		b.Fatal(err)
	}
	extra := u.verdicts(ex)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := TrainClassifier(ex, extra, m.Intents(), cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// embeddedMatcher is the lexicon matcher of the embedded manifest.
func embeddedMatcher(t testing.TB) *Matcher {
	t.Helper()
	mf, err := LoadManifest(Flows())
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(mf)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
