package dialog

import (
	"strconv"
	"strings"
)

// A typed answer to a step with buttons is understood, in this order, as:
//
//  1. the button's number as shown ("2", "#2");
//  2. its label, folded (case, accents, emoji and punctuation ignored);
//  3. an ordinal ("the second one", "das zweite", "le dernier", "il primo"),
//     also with a typo in a word of five letters or more ("das zweiet");
//  4. its label with a typo (one edit; two for long labels);
//  5. a yes or a no, for buttons marked with those intents — only a short
//     message that is one;
//  6. a synonym of the label (locale files, synonyms.<label key>) or the
//     label itself inside a longer message ("just give me my money back").
//
// Anything that matches two buttons equally, or none, is no answer: the step
// is asked again rather than guessed.

// answer returns the index (as pressIndex takes it) of the button text
// names, if it names exactly one.
func (t *turn) answer(s *Step, text string) (int, bool) {
	if text == "" {
		return 0, false
	}
	nd := 0 // dynamic buttons are shown first
	if s.Choices {
		nd = len(t.st.Choices)
	}
	shown := nd + len(s.Buttons)
	if shown == 0 {
		return 0, false
	}
	// shownIdx maps a 0-based position as shown to pressIndex's index
	shownIdx := func(p int) int {
		if p < nd {
			return len(s.Buttons) + p
		}
		return p - nd
	}
	if n, ok := buttonNumber(text); ok && n >= 1 && n <= shown {
		return shownIdx(n - 1), true
	}
	ft := Fold(text)
	if ft == "" {
		return 0, false
	}
	var lbuf, kbuf [24]string
	labels, keys := lbuf[:0], kbuf[:0]
	if shown > len(lbuf) {
		labels, keys = make([]string, 0, shown), make([]string, 0, shown)
	}
	labels, keys = labels[:shown], keys[:shown]
	for p := 0; p < shown; p++ {
		i := shownIdx(p)
		if i < len(s.Buttons) {
			keys[p] = s.Buttons[i].Label
			labels[p] = t.e.cat.foldedText(t.st.Locale(), keys[p], t)
		} else {
			c := t.st.Choices[i-len(s.Buttons)]
			keys[p] = c.Key
			labels[p] = Fold(c.Label)
		}
	}
	for p, l := range labels {
		if l != "" && l == ft {
			return shownIdx(p), true
		}
	}
	if p, ok := t.e.matcher.Ordinal(t.st.Lang, ft); ok {
		switch {
		case p == -1:
			return shownIdx(shown - 1), true
		case p >= 1 && p <= shown:
			return shownIdx(p - 1), true
		}
	}
	if p, ok := uniqueBest(shown, func(p int) int { return typoScore(labels[p], ft) }); ok {
		return shownIdx(p), true
	}
	if v, ok := t.yesNo(text); ok {
		for i := range s.Buttons {
			if s.Buttons[i].Intent == v {
				return i, true
			}
		}
	}
	var tbuf, lfbuf [16]string // the words of the message and of a label, without allocating for short ones
	toks := appendFields(tbuf[:0], ft)
	content := t.e.matcher.contentWords(t.st.Lang, toks)
	score := func(p int) int {
		best := phraseScore(appendFields(lfbuf[:0], labels[p]), toks, content)
		if keys[p] == "" {
			return best
		}
		for _, syn := range t.e.cat.synonyms(t.st.Locale(), keys[p]) {
			if sc := phraseScore(syn, toks, content); sc > best {
				best = sc
			}
		}
		return best
	}
	if p, ok := uniqueBest(shown, score); ok {
		return shownIdx(p), true
	}
	return 0, false
}

// buttonNumber reads "2", "2.", "#2" or "(2)".
func buttonNumber(text string) (int, bool) {
	s := strings.Trim(strings.TrimSpace(text), "#.() ")
	if s == "" || len(s) > 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// uniqueBest returns the position with the highest positive score, unless
// another position has it too.
func uniqueBest(n int, score func(int) int) (int, bool) {
	best, bestScore, tie := -1, 0, false
	for p := 0; p < n; p++ {
		sc := score(p)
		switch {
		case sc > bestScore:
			best, bestScore, tie = p, sc, false
		case sc == bestScore && sc > 0:
			tie = true
		}
	}
	return best, best >= 0 && !tie
}

// typoScore scores text as label with a typo: one edit (two for labels of
// 12 letters or more); the fewer edits, the higher, so that of "Berlin 1"
// and "Berlin 3" the nearer wins. 0: not the label. Labels shorter than 4
// letters need an exact match.
func typoScore(label, text string) int {
	if len(label) < 4 {
		return 0
	}
	max := 1
	if len(label) >= 12 {
		max = 2
	}
	if d := editDistance(label, text, max); d >= 1 && d <= max {
		return max + 1 - d
	}
	return 0
}

// phraseScore scores a phrase (folded words) found in the message's words:
// its number of words when they appear in order and together, with a typo
// forgiven in words of five letters or more. A one-word phrase counts only
// when the message says little else (content words are the message's words
// that are not filler such as "the", "please", "bitte").
func phraseScore(phrase, toks []string, content int) int {
	n := len(phrase)
	if n == 0 || n > len(toks) {
		return 0
	}
	if n == 1 && content > 2 {
		return 0
	}
	for i := 0; i+n <= len(toks); i++ {
		ok := true
		for j, w := range phrase {
			if !sameWord(w, toks[i+j]) {
				ok = false
				break
			}
		}
		if ok {
			return n
		}
	}
	return 0
}

func sameWord(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) < 5 || len(b) < 5 {
		return false
	}
	return editDistance(a, b, 1) == 1
}

// editDistance is the optimal string alignment distance of a and b (an
// adjacent swap counts once), or max+1 when it is larger than max.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1
	}
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return max + 1
	}
	var rows [3][65]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := prev[j] + 1
			if w := cur[j-1] + 1; w < v {
				v = w
			}
			if w := prev[j-1] + cost; w < v {
				v = w
			}
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				if w := prev2[j-2] + 1; w < v {
					v = w
				}
			}
			cur[j] = v
			if v < rowMin {
				rowMin = v
			}
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if prev[len(b)] > max {
		return max + 1
	}
	return prev[len(b)]
}

// appendFields appends the space-separated words of s to dst.
func appendFields(dst []string, s string) []string {
	for w := range strings.FieldsSeq(s) {
		dst = append(dst, w)
	}
	return dst
}
