package dialog

import (
	"bytes"
	"cmp"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The intent classifier: the free-text understanding that the lexicon's
// exact phrases cannot give (issue 13). It is trained at start-up from the
// examples in dialog/nlu/<lang>.yaml (Rasa's NLU format) and is a
// multinomial logistic regression over TF-IDF weighted features of the
// folded text:
//
//   - character n-grams of 3 to 5 letters within each word ("<pak", "paket",
//     "ket>"), which forgive typos, inflections and compounds;
//   - words and pairs of adjacent words;
//   - the lexicon's verdict on the message (its intent, or none), so that a
//     phrase the CX team wrote is a strong, but not the only, signal.
//
// Its probabilities are calibrated by a temperature (dialog/nlu/config.yaml)
// fitted on cross-validated predictions of the training data, so that a
// confidence of 0.8 is right about four times in five. Training is
// deterministic: the same files give the same model.

//go:embed nlu/*.yaml
var nluFS embed.FS

// NLUConfig is dialog/nlu/config.yaml.
type NLUConfig struct {
	// Threshold: below this confidence the bot does not act on its best
	// guess but asks "Did you mean …?" (or says it did not understand).
	Threshold float64 `yaml:"threshold"`
	// Offer: an intent is offered in "Did you mean …?" from this
	// confidence on.
	Offer float64 `yaml:"offer"`
	// Temperature divides the model's scores before the softmax.
	Temperature float64 `yaml:"temperature"`
	Epochs      int     `yaml:"epochs"`
	Rate        float64 `yaml:"rate"` // SGD learning rate
	L2          float64 `yaml:"l2"`
	// Lexicon is the weight of the lexicon's verdict beside the text's
	// features (which together weigh 1).
	Lexicon float64 `yaml:"lexicon"`
	Seed    uint64  `yaml:"seed"`
}

// Example is one training message.
type Example struct {
	Lang, Intent, Text string
}

// LoadNLU reads the training data (nlu/<lang>.yaml for every language) and
// nlu/config.yaml from fsys. Every intent must be one of intents.
func LoadNLU(fsys fs.FS, intents []string) ([]Example, NLUConfig, error) {
	var cfg NLUConfig
	b, err := fs.ReadFile(fsys, "config.yaml")
	if err != nil {
		return nil, cfg, fmt.Errorf("load nlu config: %w", err)
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		return nil, cfg, fmt.Errorf("nlu config.yaml: %w", err)
	}
	if cfg.Threshold <= 0 || cfg.Threshold >= 1 || cfg.Offer <= 0 || cfg.Offer > cfg.Threshold || cfg.Temperature <= 0 || cfg.Epochs <= 0 || cfg.Rate <= 0 {
		return nil, cfg, fmt.Errorf("nlu config.yaml: need 0 < offer <= threshold < 1, temperature > 0, epochs > 0, rate > 0")
	}
	var out []Example
	for _, lang := range Languages {
		name := lang + ".yaml"
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, cfg, fmt.Errorf("load nlu %s: %w", name, err)
		}
		var doc struct {
			NLU []struct {
				Intent   string `yaml:"intent"`
				Examples string `yaml:"examples"`
			} `yaml:"nlu"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, cfg, fmt.Errorf("nlu %s: %w", name, err)
		}
		for _, it := range doc.NLU {
			if !slices.Contains(intents, it.Intent) {
				return nil, cfg, fmt.Errorf("nlu %s: intent %q is not in the manifest (%s)", name, it.Intent, strings.Join(intents, " "))
			}
			for _, line := range strings.Split(it.Examples, "\n") {
				line = strings.TrimSpace(line)
				text, ok := strings.CutPrefix(line, "- ")
				if !ok {
					if line != "" {
						return nil, cfg, fmt.Errorf("nlu %s: intent %s: %q is not a '- ' list item", name, it.Intent, line)
					}
					continue
				}
				if text = strings.TrimSpace(text); text != "" {
					out = append(out, Example{Lang: lang, Intent: it.Intent, Text: text})
				}
			}
		}
	}
	return out, cfg, nil
}

// Classifier is a trained intent classifier. It is safe for concurrent use.
type Classifier struct {
	labels []string
	cols   map[uint64]int32 // feature hash → column
	idf    []float32
	w      []float32 // column-major: w[col*K+k]
	bias   []float32
	temp   float64
	extraW float32   // the value of an extra feature
	pool   sync.Pool // *clsScratch
}

// Scored is an intent with its confidence.
type Scored struct {
	Intent     string
	Confidence float64
}

type clsScratch struct {
	nText  int // s.hashes[:nText] are the text's features, the rest extra
	fold   []byte
	pad    []byte
	hashes []uint64
	cols   []int32
	vals   []float32
	scores []float64
}

// FNV-1a, 64 bit, over a kind byte and the feature's bytes.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvStart begins a feature's hash with its kind; fnvAdd adds bytes.
func fnvStart(kind byte) uint64 { return (fnvOffset ^ uint64(kind)) * fnvPrime }

func fnvAdd[T string | []byte](h uint64, b T) uint64 {
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * fnvPrime
	}
	return h
}

// features appends the hashes of folded's features to s.hashes: words
// (digit runs by their length only: an order number is a shape, not a
// word), word pairs, character 3- to 5-grams of each word, and extra.
func (s *clsScratch) features(folded []byte, extra []string) {
	s.hashes = s.hashes[:0]
	var prev []byte
	for rest := folded; len(rest) > 0; {
		var tok []byte
		tok, rest, _ = bytes.Cut(rest, space)
		if len(tok) == 0 {
			continue
		}
		shape := allDigitBytes(tok)
		if shape {
			tok = digitShape[min(len(tok), len(digitShape)-1)]
		}
		s.hashes = append(s.hashes, fnvAdd(fnvStart('w'), tok))
		if prev != nil {
			s.hashes = append(s.hashes, fnvAdd(fnvAdd(fnvAdd(fnvStart('b'), prev), space), tok))
		}
		prev = tok
		if shape {
			continue
		}
		s.pad = append(append(append(s.pad[:0], '<'), tok...), '>')
		for n := 3; n <= 5; n++ {
			for i := 0; i+n <= len(s.pad); i++ {
				s.hashes = append(s.hashes, fnvAdd(fnvStart('c'), s.pad[i:i+n]))
			}
		}
	}
	s.nText = len(s.hashes)
	for _, x := range extra {
		s.hashes = append(s.hashes, fnvAdd(fnvStart('x'), x))
	}
}

// digitShape names a run of digits by its length (1 to 8, 9 or more).
var digitShape = [][]byte{[]byte("#0"), []byte("#1"), []byte("#2"), []byte("#3"), []byte("#4"),
	[]byte("#5"), []byte("#6"), []byte("#7"), []byte("#8"), []byte("#9+")}

var space = []byte{' '}

func allDigitBytes(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// vector turns s.hashes into TF-IDF weighted, L2-normalised columns of c
// (features unknown to the model are dropped); the extra features follow
// with the weight c.extraW each, outside the normalisation, so that the
// lexicon's verdict is not diluted by a long message.
func (c *Classifier) vector(s *clsScratch) {
	s.cols = s.cols[:0]
	for _, h := range s.hashes[:s.nText] {
		if col, ok := c.cols[h]; ok {
			s.cols = append(s.cols, col)
		}
	}
	slices.Sort(s.cols)
	s.vals = s.vals[:0]
	n := 0
	var norm float64
	for i := 0; i < len(s.cols); {
		j := i
		for j < len(s.cols) && s.cols[j] == s.cols[i] {
			j++
		}
		v := (1 + float32(math.Log(float64(j-i)))) * c.idf[s.cols[i]]
		s.cols[n] = s.cols[i]
		s.vals = append(s.vals, v)
		norm += float64(v) * float64(v)
		n++
		i = j
	}
	s.cols = s.cols[:n]
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for i := range s.vals {
			s.vals[i] *= inv
		}
	}
	for _, h := range s.hashes[s.nText:] {
		if col, ok := c.cols[h]; ok {
			s.cols = append(s.cols, col)
			s.vals = append(s.vals, c.extraW)
		}
	}
}

// scores fills s.scores with the raw scores of every label.
func (c *Classifier) scores(s *clsScratch) {
	k := len(c.labels)
	s.scores = s.scores[:0]
	for i := 0; i < k; i++ {
		s.scores = append(s.scores, float64(c.bias[i]))
	}
	for i, col := range s.cols {
		v := float64(s.vals[i])
		row := c.w[int(col)*k : int(col)*k+k]
		for j, w := range row {
			s.scores[j] += v * float64(w)
		}
	}
}

// softmax turns scores into probabilities in place, dividing by temp.
func softmax(scores []float64, temp float64) {
	hi := math.Inf(-1)
	for _, v := range scores {
		hi = max(hi, v)
	}
	var sum float64
	for i, v := range scores {
		scores[i] = math.Exp((v - hi) / temp)
		sum += scores[i]
	}
	for i := range scores {
		scores[i] /= sum
	}
}

// Predict appends every intent with its calibrated confidence, likeliest
// first, to out. text is the customer's message as typed; extra are
// further features (the lexicon's verdict).
func (c *Classifier) Predict(text string, extra []string, out []Scored) []Scored {
	s, _ := c.pool.Get().(*clsScratch)
	if s == nil {
		s = &clsScratch{}
	}
	defer c.pool.Put(s)
	s.fold = fold(s.fold[:0], text)
	s.features(s.fold, extra)
	c.vector(s)
	c.scores(s)
	softmax(s.scores, c.temp)
	start := len(out)
	for i, p := range s.scores {
		out = append(out, Scored{Intent: c.labels[i], Confidence: p})
	}
	slices.SortStableFunc(out[start:], func(a, b Scored) int { return cmp.Compare(b.Confidence, a.Confidence) })
	return out
}

// Labels returns the intents the classifier knows, in training order.
func (c *Classifier) Labels() []string { return c.labels }

// Size returns the number of features and the bytes of the model's
// weights and tables (for the memory budget).
func (c *Classifier) Size() (features, bytes int) {
	n := len(c.cols)
	return n, n*len(c.labels)*4 + n*4 + n*(8+4+8) // weights, idf, map entries (approx.)
}

// trainInput is one example's vector and label.
type trainInput struct {
	cols  []int32
	vals  []float32
	label int
}

// TrainClassifier trains a classifier on examples; extra[i] are example
// i's further features (extra may be nil: none). labels fixes the label
// order.
func TrainClassifier(examples []Example, extra [][]string, labels []string, cfg NLUConfig) (*Classifier, error) {
	if len(examples) == 0 {
		return nil, fmt.Errorf("train classifier: no examples")
	}
	li := map[string]int{}
	for i, l := range labels {
		li[l] = i
	}
	c := &Classifier{labels: labels, cols: map[uint64]int32{}, temp: cfg.Temperature, extraW: float32(cfg.Lexicon)}
	s := &clsScratch{}
	hashes := make([][]uint64, len(examples))
	nText := make([]int, len(examples))
	var df []int
	for i, ex := range examples {
		if _, ok := li[ex.Intent]; !ok {
			return nil, fmt.Errorf("train classifier: intent %q of %q not among the labels", ex.Intent, ex.Text)
		}
		var x []string
		if extra != nil {
			x = extra[i]
		}
		s.fold = fold(s.fold[:0], ex.Text)
		s.features(s.fold, x)
		seen := map[uint64]bool{}
		for _, h := range s.hashes {
			col, ok := c.cols[h]
			if !ok {
				col = int32(len(c.cols))
				c.cols[h] = col
				df = append(df, 0)
			}
			if !seen[h] {
				seen[h] = true
				df[col]++
			}
		}
		hashes[i] = slices.Clone(s.hashes)
		nText[i] = s.nText
	}
	n := float64(len(examples))
	c.idf = make([]float32, len(df))
	for col, d := range df {
		c.idf[col] = float32(math.Log((n+1)/(float64(d)+1)) + 1)
	}
	inputs := make([]trainInput, len(examples))
	for i, ex := range examples {
		s.hashes, s.nText = hashes[i], nText[i]
		c.vector(s)
		inputs[i] = trainInput{cols: slices.Clone(s.cols), vals: slices.Clone(s.vals), label: li[ex.Intent]}
	}
	k := len(labels)
	c.w = make([]float32, len(df)*k)
	c.bias = make([]float32, k)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	order := make([]int, len(inputs))
	for i := range order {
		order[i] = i
	}
	grad := make([]float64, k)
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		lr := cfg.Rate / (1 + 0.1*float64(epoch))
		for _, idx := range order {
			in := &inputs[idx]
			s.cols, s.vals = in.cols, in.vals
			c.scores(s)
			softmax(s.scores, 1)
			for j := range grad {
				grad[j] = s.scores[j]
			}
			grad[in.label]--
			for j := range c.bias {
				c.bias[j] -= float32(lr * grad[j])
			}
			decay := float32(1 - lr*cfg.L2)
			for i, col := range in.cols {
				v := float64(in.vals[i])
				row := c.w[int(col)*k : int(col)*k+k]
				for j := range row {
					row[j] = row[j]*decay - float32(lr*grad[j]*v)
				}
			}
		}
	}
	return c, nil
}

// trained caches classifiers by their training data, so that many engines
// over the same files (tests, the convo runner) train once.
var trained struct {
	mu sync.Mutex
	m  map[string]*Classifier
}

func cachedClassifier(key string, train func() (*Classifier, error)) (*Classifier, error) {
	trained.mu.Lock()
	defer trained.mu.Unlock()
	if c, ok := trained.m[key]; ok {
		return c, nil
	}
	c, err := train()
	if err != nil {
		return nil, err
	}
	if trained.m == nil {
		trained.m = map[string]*Classifier{}
	}
	if len(trained.m) < 8 {
		trained.m[key] = c
	}
	return c, nil
}
