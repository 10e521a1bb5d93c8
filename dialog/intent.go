package dialog

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The intents the engine itself knows: a yes, a no, and nothing. Every
// other intent is declared in the manifest (dialog/flows/manifest.yaml).
const (
	IntentYes     = "yes"
	IntentNo      = "no"
	IntentUnknown = "unknown"
)

//go:embed lexicon/*.yaml
var lexiconFS embed.FS

// Matcher finds the intent of a free-text message across all four
// languages. It forgives case, accents, punctuation and one typo per word of
// four or more letters. It is safe for concurrent use and allocates nothing
// per call in the common case.
type Matcher struct {
	words   map[string]int32   // word → id
	deletes map[string][]int32 // word with one letter deleted → ids
	wordStr []string
	byFirst map[int32][]int32 // first word id → phrase ids
	phrases []phrase
	pool    sync.Pool
	topic   map[int32]bool // words that say the message is about the topic (lexicon "topic")
	langs   []uint8        // per word: bit i set when Languages[i]'s lexicon has it
	// ordinals per language: folded word → position (1-based, -1 the last);
	// fillers: words that carry no choice ("the", "one", "bitte").
	ordinals map[string]map[string]int
	fillers  map[string]map[string]bool
	// intents in priority order, their weights, and the topic intent's
	// index (-1: none), from the manifest
	prio   []string
	weight []int
	topicI int
}

type phrase struct {
	intent int // index in prio
	words  []int32
}

// NewMatcher builds a matcher for the manifest's intents from the embedded
// lexicon.
func NewMatcher(mf *Manifest) (*Matcher, error) { return NewMatcherFS(lexiconFS, "lexicon", mf) }

// NewMatcherFS builds a matcher from <dir>/<lang>.yaml files in fsys.
func NewMatcherFS(fsys fs.FS, dir string, mf *Manifest) (*Matcher, error) {
	if mf == nil || len(mf.Intents) == 0 {
		return nil, fmt.Errorf("load lexicon: no intents (the manifest declares them)")
	}
	if len(mf.Intents) > maxIntents {
		return nil, fmt.Errorf("load lexicon: %d intents, at most %d", len(mf.Intents), maxIntents)
	}
	m := &Matcher{topicI: -1,
		words:    map[string]int32{},
		deletes:  map[string][]int32{},
		byFirst:  map[int32][]int32{},
		topic:    map[int32]bool{},
		ordinals: map[string]map[string]int{},
		fillers:  map[string]map[string]bool{},
	}
	for i, d := range mf.Intents {
		m.prio = append(m.prio, d.Name)
		m.weight = append(m.weight, d.Weight)
		if d.Topic {
			m.topicI = i
		}
	}
	for li, lang := range Languages {
		name := path.Join(dir, lang+".yaml")
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("load lexicon: %w", err)
		}
		var lex map[string][]string
		if err := yaml.Unmarshal(data, &lex); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		m.ordinals[lang] = map[string]int{}
		m.fillers[lang] = map[string]bool{}
		for intent, list := range lex {
			if pos, ok := strings.CutPrefix(intent, "ordinal."); ok {
				n := -1
				if pos != "last" {
					if _, err := fmt.Sscanf(pos, "%d", &n); err != nil || n < 1 || n > 16 {
						return nil, fmt.Errorf("%s: %s: ordinals are ordinal.1 … ordinal.16 or ordinal.last", name, intent)
					}
				}
				for _, w := range list {
					m.ordinals[lang][Fold(w)] = n
				}
				continue
			}
			if intent == "filler" {
				for _, w := range list {
					for _, f := range strings.Fields(Fold(w)) {
						m.fillers[lang][f] = true
					}
				}
				continue
			}
			if intent == "topic" {
				for _, w := range list {
					for _, f := range strings.Fields(Fold(w)) {
						id := m.word(f)
						m.topic[id] = true
						m.langs[id] |= 1 << li
					}
				}
				continue
			}
			idx := m.priority(intent)
			if idx < 0 {
				return nil, fmt.Errorf("%s: unknown intent %q", name, intent)
			}
			for _, p := range list {
				if err := m.add(idx, p, uint8(1)<<li); err != nil {
					return nil, fmt.Errorf("%s: %s: %w", name, intent, err)
				}
			}
		}
	}
	m.pool.New = func() any { return new(scratch) }
	return m, nil
}

// maxIntents bounds the manifest's intents (the matcher's scratch space).
const maxIntents = 32

func (m *Matcher) priority(intent string) int {
	for i, p := range m.prio {
		if p == intent {
			return i
		}
	}
	return -1
}

func (m *Matcher) add(intent int, p string, lang uint8) error {
	f := Fold(p)
	if f == "" {
		return fmt.Errorf("empty phrase %q", p)
	}
	ph := phrase{intent: intent}
	for _, w := range strings.Fields(f) {
		id := m.word(w)
		m.langs[id] |= lang
		ph.words = append(ph.words, id)
	}
	id := int32(len(m.phrases))
	m.phrases = append(m.phrases, ph)
	m.byFirst[ph.words[0]] = append(m.byFirst[ph.words[0]], id)
	return nil
}

func (m *Matcher) word(w string) int32 {
	if id, ok := m.words[w]; ok {
		return id
	}
	id := int32(len(m.wordStr))
	m.words[w] = id
	m.wordStr = append(m.wordStr, w)
	m.langs = append(m.langs, 0)
	if len(w) >= 4 {
		for i := 0; i < len(w); i++ {
			d := w[:i] + w[i+1:]
			if !containsID(m.deletes[d], id) {
				m.deletes[d] = append(m.deletes[d], id)
			}
		}
	}
	return id
}

func containsID(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

const (
	maxTokens = 64
	maxCands  = 6
)

type scratch struct {
	fuzzy uint8 // languages whose words may match with a typo
	buf   []byte
	del   []byte
	spans [maxTokens][2]int
	cands [maxTokens][maxCands]int32
	ncand [maxTokens]int
	score [maxIntents]int
}

// Match returns the intent of text and its score (0 for IntentUnknown),
// forgiving typos against every language's words.
func (m *Matcher) Match(text string) (string, int) { return m.match(0xff, text) }

// MatchIn is Match for a customer of lang: words of any language match
// exactly, but a typo is forgiven only against lang's own words (so the
// German "lange" is not the French "langue").
func (m *Matcher) MatchIn(lang, text string) (string, int) {
	for i, l := range Languages {
		if l == lang {
			return m.match(1<<i, text)
		}
	}
	return m.match(0xff, text)
}

func (m *Matcher) match(fuzzy uint8, text string) (string, int) {
	s := m.pool.Get().(*scratch)
	defer m.pool.Put(s)
	s.fuzzy = fuzzy
	s.buf = fold(s.buf[:0], text)
	n := 0
	for i := 0; i < len(s.buf) && n < maxTokens; {
		j := i
		for j < len(s.buf) && s.buf[j] != ' ' {
			j++
		}
		s.spans[n] = [2]int{i, j}
		s.ncand[n] = 0
		m.candidates(s, n, s.buf[i:j])
		n++
		i = j + 1
	}
	for i := range s.score {
		s.score[i] = 0
	}
	for t := 0; t < n; t++ {
		for c := 0; c < s.ncand[t]; c++ {
			for _, pid := range m.byFirst[s.cands[t][c]] {
				ph := &m.phrases[pid]
				if t+len(ph.words) > n || !m.phraseAt(s, t, ph) {
					continue
				}
				// the longest matching phrase counts, weighted by how
				// specific the intent is
				if sc := (len(ph.words) + 1) * m.weight[ph.intent]; sc > s.score[ph.intent] {
					s.score[ph.intent] = sc
				}
			}
		}
	}
	best, bestScore := -1, 0
	for i := range m.prio {
		if s.score[i] > bestScore {
			best, bestScore = i, s.score[i]
		}
	}
	if best < 0 {
		// nothing specific, but about the topic (a topic word, or a long
		// number): the manifest's topic intent, the commonest question
		if m.topicI >= 0 && m.aboutTopic(s, n) {
			return m.prio[m.topicI], 1
		}
		return IntentUnknown, 0
	}
	return m.prio[best], bestScore
}

func (m *Matcher) aboutTopic(s *scratch, n int) bool {
	for t := 0; t < n; t++ {
		tok := s.buf[s.spans[t][0]:s.spans[t][1]]
		if len(tok) >= 7 && allDigits(string(tok)) {
			return true
		}
		for c := 0; c < s.ncand[t]; c++ {
			if m.topic[s.cands[t][c]] {
				return true
			}
		}
	}
	return false
}

func (m *Matcher) phraseAt(s *scratch, t int, ph *phrase) bool {
	for k, w := range ph.words {
		found := false
		for c := 0; c < s.ncand[t+k]; c++ {
			if s.cands[t+k][c] == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (m *Matcher) push(s *scratch, t int, id int32) {
	for c := 0; c < s.ncand[t]; c++ {
		if s.cands[t][c] == id {
			return
		}
	}
	if s.ncand[t] < maxCands {
		s.cands[t][s.ncand[t]] = id
		s.ncand[t]++
	}
}

// pushFuzzy adds a typo match if the word belongs to a language whose
// typos are forgiven.
func (m *Matcher) pushFuzzy(s *scratch, t int, id int32) {
	if m.langs[id]&s.fuzzy != 0 {
		m.push(s, t, id)
	}
}

// candidates collects the lexicon words within one edit of tok.
func (m *Matcher) candidates(s *scratch, t int, tok []byte) {
	if id, ok := m.words[string(tok)]; ok {
		m.push(s, t, id)
	}
	if len(tok) < 4 {
		return
	}
	// tok has one letter too few: tok is a deletion of a lexicon word.
	for _, id := range m.deletes[string(tok)] {
		m.pushFuzzy(s, t, id)
	}
	if len(tok) < 5 {
		// a four-letter word forgives only a missing letter: "come" must not
		// become "code", nor "aime" "aide"
		return
	}
	for i := 0; i < len(tok); i++ {
		s.del = append(append(s.del[:0], tok[:i]...), tok[i+1:]...)
		// one letter too many
		if id, ok := m.words[string(s.del)]; ok {
			m.pushFuzzy(s, t, id)
		}
		// one letter replaced or two swapped: verify the distance
		for _, id := range m.deletes[string(s.del)] {
			if osa1(tok, m.wordStr[id]) {
				m.pushFuzzy(s, t, id)
			}
		}
	}
}

// osa1 reports whether a and b are within one substitution or adjacent
// transposition of each other (equal length assumed by the callers' deletes).
func osa1(a []byte, b string) bool {
	if len(a) != len(b) {
		return len(a)-len(b) == 1 || len(b)-len(a) == 1
	}
	diff := -1
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] {
			if diff >= 0 {
				// a second difference: only a transposition of i-1,i is fine
				return diff == i-1 && a[i] == b[i-1] && a[i-1] == b[i] && !differsAfter(a, b, i+1)
			}
			diff = i
		}
	}
	return true
}

func differsAfter(a []byte, b string, from int) bool {
	for i := from; i < len(a); i++ {
		if a[i] != b[i] {
			return true
		}
	}
	return false
}

// Intents returns the names the matcher answers with: the manifest's
// intents and "unknown", sorted.
func (m *Matcher) Intents() []string {
	out := append([]string{IntentUnknown}, m.prio...)
	sort.Strings(out)
	return out
}

// Ordinal reads a folded message that names a position: "the second one",
// "das zweite bitte", "le dernier", "2nd", "3º". It returns the position
// (1-based; -1 for the last). Ordinal words of every language count, filler
// words of the customer's language and English are ignored; anything else
// in the message means it is not an ordinal.
func (m *Matcher) Ordinal(lang, folded string) (int, bool) {
	pos, found := 0, false
	for w := range strings.FieldsSeq(folded) {
		if m.fillers[lang][w] || m.fillers["en"][w] {
			continue
		}
		n, ok := m.ordinalWord(lang, w)
		if !ok || found {
			return 0, false
		}
		pos, found = n, true
	}
	return pos, found
}

func (m *Matcher) ordinalWord(lang, w string) (int, bool) {
	if n, ok := m.ordinals[lang][w]; ok {
		return n, true
	}
	for _, l := range Languages {
		if n, ok := m.ordinals[l][w]; ok {
			return n, true
		}
	}
	// a typo ("secnod", "zwiete", "deuxiemme"), as in phrases: one edit in
	// a word of five letters or more, when every ordinal word so near names
	// the same position
	if len(w) >= 5 {
		pos := 0
		for _, l := range Languages {
			for o, n := range m.ordinals[l] {
				if !sameWord(o, w) {
					continue
				}
				if pos != 0 && pos != n {
					return 0, false
				}
				pos = n
			}
		}
		if pos != 0 {
			return pos, true
		}
	}
	// digits with an ordinal ending: 2nd, 3rd, 2e, 2eme, 2o, 2a, 2te
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	if i == 0 || i > 2 {
		return 0, false
	}
	switch w[i:] {
	case "st", "nd", "rd", "th", "e", "er", "re", "ere", "eme", "o", "a", "te", "ter", "ten":
		n := 0
		for _, c := range w[:i] {
			n = n*10 + int(c-'0')
		}
		return n, n > 0
	}
	return 0, false
}

// contentWords counts the words of a folded message that are not filler.
func (m *Matcher) contentWords(lang string, toks []string) int {
	n := 0
	for _, w := range toks {
		if !m.fillers[lang][w] && !m.fillers["en"][w] {
			n++
		}
	}
	return n
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
