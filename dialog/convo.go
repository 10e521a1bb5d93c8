package dialog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Convo is a parsed conversation test (*.convo.txt), a format based on
// BotiumScript convo files; docs/conversation-tests.md describes it:
//
//	Track an order in German          <- first line: the name
//
//	#begin                            <- optional settings
//	LANG de
//	CUSTOMER C-1001
//	NOW 2026-11-23T10:00:00+01:00
//
//	#me                               <- the customer says or does something
//	wo ist mein paket
//
//	#bot                              <- the next bot message must match
//	Um welche Bestellung geht es?
//	BUTTONS *|Andere Bestellung|↩ Hauptmenü
//
//	#me
//	BUTTON Andere Bestellung
type Convo struct {
	Name     string
	File     string
	Settings ConvoSettings
	Steps    []ConvoStep
}

// ConvoSettings come from the #begin section.
type ConvoSettings struct {
	Lang     string    // LANG: the channel's language code
	Customer string    // CUSTOMER: the chat is linked to this customer
	Now      time.Time // NOW: the clock (zero: the real time)
	Data     string    // DATA: a data file instead of the demo, relative to the convo file
}

// ConvoStep is one #me, #bot or #agent section.
type ConvoStep struct {
	Kind string // "me", "bot", "agent" or "event"
	Line int
	// me
	Text     string
	Button   string    // BUTTON label-or-data
	Location *Location // LOCATION lat,lon
	// Files: PHOTO id [bytes], or DOCUMENT id media-type [bytes]
	Files []File
	// bot
	Expect     string   // glob the message text must match ("" = any)
	Negate     bool     // the text must NOT match (the section's text starts with "!")
	Buttons    []string // BUTTONS a|b|c: labels in order (globs); nil: not checked
	HasButtons bool
	NoReply    bool // NOREPLY: the bot must say nothing to this #me
	// agent
	Command string // CLAIM, REPLY <text>, RESOLVE <how>, HANDBACK
	Arg     string
}

// ParseConvo parses a convo file; errors carry file:line.
func ParseConvo(file string, r io.Reader) (*Convo, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	c := &Convo{File: file}
	var cur *ConvoStep
	var text []string
	section := ""
	line := 0
	errf := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	flush := func() error {
		if cur == nil {
			return nil
		}
		t := strings.TrimSpace(strings.Join(text, "\n"))
		switch cur.Kind {
		case "me":
			if cur.Button == "" && cur.Location == nil {
				cur.Text = t
			} else if t != "" {
				return fmt.Errorf("%s:%d: a #me section has either text, BUTTON or LOCATION", file, cur.Line)
			}
		case "bot":
			if strings.HasPrefix(t, "!") {
				cur.Negate = true
				t = strings.TrimSpace(t[1:])
			}
			cur.Expect = t
			if cur.NoReply && (t != "" || cur.HasButtons) {
				return fmt.Errorf("%s:%d: NOREPLY stands alone in its #bot section", file, cur.Line)
			}
		}
		c.Steps = append(c.Steps, *cur)
		cur, text = nil, nil
		return nil
	}
	for sc.Scan() {
		line++
		raw := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			c.Name = strings.TrimSpace(strings.TrimPrefix(raw, "\ufeff"))
			if c.Name == "" || strings.HasPrefix(c.Name, "#") {
				return nil, errf("the first line is the test's name")
			}
			continue
		}
		trim := strings.TrimSpace(raw)
		if strings.HasPrefix(trim, "#") && !strings.HasPrefix(trim, "##") {
			if err := flush(); err != nil {
				return nil, err
			}
			section = strings.ToLower(strings.TrimSpace(trim[1:]))
			switch section {
			case "begin":
				if len(c.Steps) > 0 {
					return nil, errf("#begin must come before #me and #bot")
				}
			case "me", "bot", "agent", "event":
				cur = &ConvoStep{Kind: section, Line: line}
			default:
				return nil, errf("unknown section %q (want #begin, #me, #bot, #agent or #event)", trim)
			}
			continue
		}
		if section == "" {
			if trim != "" {
				return nil, errf("text before the first section")
			}
			continue
		}
		if section == "begin" {
			if trim == "" {
				continue
			}
			key, val, _ := strings.Cut(trim, " ")
			val = strings.TrimSpace(val)
			switch strings.ToUpper(key) {
			case "LANG":
				c.Settings.Lang = val
			case "CUSTOMER":
				c.Settings.Customer = val
			case "NOW":
				t, err := time.Parse(time.RFC3339, val)
				if err != nil {
					return nil, errf("NOW wants an RFC 3339 time such as 2026-11-23T10:00:00+01:00")
				}
				c.Settings.Now = t
			case "DATA":
				c.Settings.Data = val
			default:
				return nil, errf("unknown setting %q (want LANG, CUSTOMER, NOW or DATA)", key)
			}
			continue
		}
		word, rest, _ := strings.Cut(trim, " ")
		rest = strings.TrimSpace(rest)
		switch {
		case cur.Kind == "me" && word == "BUTTON":
			if rest == "" {
				return nil, errf("BUTTON needs a label")
			}
			cur.Button = rest
		case cur.Kind == "me" && (word == "PHOTO" || word == "DOCUMENT"):
			f, err := parseConvoFile(word, rest)
			if err != nil {
				return nil, errf("%v", err)
			}
			cur.Files = append(cur.Files, f)
		case cur.Kind == "me" && word == "LOCATION":
			a, b, ok := strings.Cut(rest, ",")
			lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
			lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
			if !ok || err1 != nil || err2 != nil {
				return nil, errf("LOCATION wants lat,lon")
			}
			cur.Location = &Location{Lat: lat, Lon: lon}
		case cur.Kind == "bot" && word == "BUTTONS":
			cur.HasButtons = true
			cur.Buttons = nil
			if rest != "" {
				for _, b := range strings.Split(rest, "|") {
					cur.Buttons = append(cur.Buttons, strings.TrimSpace(b))
				}
			}
		case cur.Kind == "bot" && word == "NOREPLY" && rest == "":
			cur.NoReply = true
		case cur.Kind == "event":
			// news from outside the bot tells first: "<name> <argument>"
			if trim == "" {
				continue
			}
			if cur.Command != "" {
				return nil, errf("one event per #event section")
			}
			cur.Command, cur.Arg = word, rest
		case cur.Kind == "agent":
			if trim == "" {
				continue
			}
			if cur.Command != "" {
				return nil, errf("one agent command per #agent section")
			}
			switch word {
			case "CLAIM", "HANDBACK":
			case "REPLY", "RESOLVE":
				if rest == "" {
					return nil, errf("%s needs an argument", word)
				}
			default:
				return nil, errf("unknown agent command %q (want CLAIM, REPLY, RESOLVE or HANDBACK)", word)
			}
			cur.Command, cur.Arg = word, rest
		default:
			text = append(text, raw)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if c.Name == "" {
		return nil, fmt.Errorf("%s:1: empty convo file", file)
	}
	if len(c.Steps) == 0 {
		return nil, fmt.Errorf("%s:%d: no #me or #bot sections", file, line)
	}
	return c, nil
}

// ConvoSession is one running conversation for the runner: the channel and
// service behind it are the driver's business.
type ConvoSession interface {
	// Send delivers the customer's input and returns the bot messages it
	// caused, in order.
	Send(in Input) ([]Reply, error)
	// Agent plays the agent (CLAIM, REPLY text, RESOLVE how, HANDBACK) and
	// returns the bot messages the customer got.
	Agent(command, arg string) ([]Reply, error)
	// Event tells news from outside (an #event section: its name and
	// argument) and returns the bot messages the customer got.
	Event(name, arg string) ([]Reply, error)
	Close()
}

// ConvoDriver starts sessions.
type ConvoDriver func(c *Convo) (ConvoSession, error)

// ConvoFailure describes the first mismatch of a failed convo.
type ConvoFailure struct {
	File       string
	Line       int
	Expected   string
	Got        string
	Transcript []string
}

func (f *ConvoFailure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d\n  expected: %s\n  got:      %s\n  transcript so far:\n", f.File, f.Line, f.Expected, f.Got)
	for _, l := range f.Transcript {
		b.WriteString("    ")
		b.WriteString(strings.ReplaceAll(l, "\n", "\n         "))
		b.WriteByte('\n')
	}
	return b.String()
}

// RunConvo runs c through a driver. A mismatch returns a *ConvoFailure.
func RunConvo(c *Convo, drive ConvoDriver) error {
	s, err := drive(c)
	if err != nil {
		return fmt.Errorf("%s: start: %w", c.File, err)
	}
	defer s.Close()
	var queue []Reply
	var last []Button
	var transcript []string
	fail := func(line int, expected, got string) error {
		return &ConvoFailure{File: c.File, Line: line, Expected: expected, Got: got, Transcript: transcript}
	}
	record := func(rs []Reply) {
		for _, r := range rs {
			t := "bot: " + r.Text
			if len(r.Buttons) > 0 {
				labels := make([]string, len(r.Buttons))
				for i, b := range r.Buttons {
					labels[i] = b.Label
				}
				t += "\n[" + strings.Join(labels, " | ") + "]"
				last = r.Buttons
			}
			transcript = append(transcript, t)
		}
		queue = append(queue[:0], rs...)
	}
	for _, st := range c.Steps {
		switch st.Kind {
		case "me":
			in := Input{Text: st.Text, Location: st.Location, Files: st.Files, LangHint: c.Settings.Lang}
			shown := "me: " + st.Text
			if len(st.Files) > 0 {
				shown = "me: " + describeFiles(st.Files)
			}
			if st.Button != "" {
				data, ok := findButton(last, st.Button)
				if !ok {
					return fail(st.Line, "a button "+strconv.Quote(st.Button), "buttons "+labelsOf(last))
				}
				in = Input{Button: data, LangHint: c.Settings.Lang}
				shown = "me: [" + st.Button + "]"
			} else if st.Location != nil {
				shown = fmt.Sprintf("me: 📍 %v,%v", st.Location.Lat, st.Location.Lon)
			}
			transcript = append(transcript, shown)
			rs, err := s.Send(in)
			if err != nil {
				return fmt.Errorf("%s:%d: %w", c.File, st.Line, err)
			}
			record(rs)
		case "agent", "event":
			// the agent's action, or news from outside, told to the customer
			transcript = append(transcript, st.Kind+": "+strings.TrimSpace(st.Command+" "+st.Arg))
			rs, err := outside(s, st)
			if err != nil {
				return fmt.Errorf("%s:%d: %s %s: %w", c.File, st.Line, st.Kind, st.Command, err)
			}
			record(rs)
		case "bot":
			if st.NoReply {
				if len(queue) > 0 {
					return fail(st.Line, "no reply", queue[0].Text)
				}
				continue
			}
			if len(queue) == 0 {
				return fail(st.Line, describe(st), "no more bot messages")
			}
			r := queue[0]
			queue = queue[1:]
			if st.Expect != "" && GlobMatch(st.Expect, r.Text) == st.Negate {
				return fail(st.Line, describe(st), r.Text)
			}
			if st.HasButtons && !buttonsMatch(st.Buttons, r.Buttons) {
				return fail(st.Line, "BUTTONS "+strings.Join(st.Buttons, "|"), "BUTTONS "+labelsOf(r.Buttons))
			}
		}
	}
	return nil
}

func describe(st ConvoStep) string {
	if st.Negate {
		return "a message NOT matching " + strconv.Quote(st.Expect)
	}
	if st.Expect == "" {
		return "a message"
	}
	return st.Expect
}

func labelsOf(bs []Button) string {
	if len(bs) == 0 {
		return "(none)"
	}
	l := make([]string, len(bs))
	for i, b := range bs {
		l[i] = b.Label
	}
	return strings.Join(l, "|")
}

func buttonsMatch(want []string, got []Button) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if !GlobMatch(want[i], got[i].Label) {
			return false
		}
	}
	return true
}

// findButton finds a button by label (glob, case-insensitive), by its
// position ("2") or by its data.
func findButton(bs []Button, want string) (string, bool) {
	for _, b := range bs {
		if GlobMatch(want, b.Label) || b.Data == want {
			return b.Data, true
		}
	}
	if n, err := strconv.Atoi(want); err == nil && n >= 1 && n <= len(bs) {
		return bs[n-1].Data, true
	}
	return "", false
}

// GlobMatch reports whether text matches pattern as a whole: '*' matches
// any run of characters, letters compare case-insensitively and every run
// of white space counts as one space.
func GlobMatch(pattern, text string) bool {
	p := normalizeSpace(strings.ToLower(pattern))
	t := normalizeSpace(strings.ToLower(text))
	return glob(p, t)
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func glob(p, t string) bool {
	// iterative matcher with backtracking to the last star
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case pi < len(p) && p[pi] == t[ti]:
			pi++
			ti++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// ErrNoConvos is returned by callers that found nothing to run.
var ErrNoConvos = errors.New("no *.convo.txt files found")

// ParseConvoBytes is ParseConvo on a byte slice.
func ParseConvoBytes(file string, b []byte) (*Convo, error) {
	return ParseConvo(file, bytes.NewReader(b))
}

// caseIDs are replaced by "PB-*" in recorded convos: a case id is derived
// from what the case is about and would tie a test to one data file.
var caseIDs = regexp.MustCompile(`\bPB-[0-9A-Z]{6}\b`)

// RecordConvo runs c's #me and #agent sections, ignoring its #bot sections,
// and returns the convo file with a #bot section for every message the bot
// sent (text and buttons, NOREPLY when it said nothing). header is the
// file's text before its first section (name and #begin settings), kept as
// it is. A CX team writes what the customer says, records, reads what the
// bot answered, and keeps it as the test (`parcelbot test -record`).
func RecordConvo(c *Convo, header string, drive ConvoDriver) (string, error) {
	s, err := drive(c)
	if err != nil {
		return "", fmt.Errorf("%s: start: %w", c.File, err)
	}
	defer s.Close()
	var b strings.Builder
	b.WriteString(strings.TrimRight(header, "\n"))
	b.WriteString("\n")
	var last []Button
	for _, st := range c.Steps {
		var rs []Reply
		switch st.Kind {
		case "me":
			in := Input{Text: st.Text, Location: st.Location, Files: st.Files, LangHint: c.Settings.Lang}
			b.WriteString("\n#me\n")
			switch {
			case len(st.Files) > 0:
				b.WriteString(describeFiles(st.Files) + "\n")
			case st.Button != "":
				data, ok := findButton(last, st.Button)
				if !ok {
					return "", fmt.Errorf("%s:%d: no button %q (buttons %s)", c.File, st.Line, st.Button, labelsOf(last))
				}
				in = Input{Button: data, LangHint: c.Settings.Lang}
				b.WriteString("BUTTON " + st.Button + "\n")
			case st.Location != nil:
				fmt.Fprintf(&b, "LOCATION %v,%v\n", st.Location.Lat, st.Location.Lon)
			default:
				b.WriteString(st.Text + "\n")
			}
			if rs, err = s.Send(in); err != nil {
				return "", fmt.Errorf("%s:%d: %w", c.File, st.Line, err)
			}
		case "agent", "event":
			b.WriteString("\n#" + st.Kind + "\n" + strings.TrimSpace(st.Command+" "+st.Arg) + "\n")
			if rs, err = outside(s, st); err != nil {
				return "", fmt.Errorf("%s:%d: %s %s: %w", c.File, st.Line, st.Kind, st.Command, err)
			}
		default:
			continue
		}
		if len(rs) == 0 {
			b.WriteString("\n#bot\nNOREPLY\n")
		}
		for _, r := range rs {
			b.WriteString("\n#bot\n")
			b.WriteString(caseIDs.ReplaceAllString(strings.ReplaceAll(r.Text, "*", "?"), "PB-*") + "\n")
			if len(r.Buttons) > 0 {
				b.WriteString("BUTTONS " + labelsOf(r.Buttons) + "\n")
				last = r.Buttons
			}
		}
	}
	return b.String(), nil
}

// ConvoHeader returns the part of a convo file before its first section.
func ConvoHeader(src []byte) string {
	lines := strings.SplitAfter(string(src), "\n")
	var b strings.Builder
	for _, l := range lines {
		switch strings.TrimSpace(l) {
		case "#me", "#bot", "#agent", "#event":
			return b.String()
		}
		b.WriteString(l)
	}
	return b.String()
}

// outside runs an #agent or #event section.
func outside(s ConvoSession, st ConvoStep) ([]Reply, error) {
	if st.Kind == "event" {
		return s.Event(st.Command, st.Arg)
	}
	return s.Agent(st.Command, st.Arg)
}

// parseConvoFile reads the fields of "PHOTO id [bytes]" or "DOCUMENT id
// type [bytes]" (100 KB by default).
func parseConvoFile(word, rest string) (File, error) {
	parts := strings.Fields(rest)
	f := File{Kind: strings.ToLower(word), Size: 100 << 10, MIME: "image/jpeg"}
	if len(parts) == 0 {
		return f, fmt.Errorf("%s needs an id", word)
	}
	f.ID, parts = parts[0], parts[1:]
	if len(parts) > 0 && strings.Contains(parts[0], "/") {
		f.MIME, parts = parts[0], parts[1:]
	}
	if len(parts) > 0 {
		n, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil || n < 0 {
			return f, fmt.Errorf("%q is not a size in bytes", parts[0])
		}
		f.Size = n
	}
	return f, nil
}

// describeFiles is how files are written in a convo file and transcript.
func describeFiles(fs []File) string {
	var lines []string
	for _, f := range fs {
		if f.Kind == "document" {
			lines = append(lines, fmt.Sprintf("DOCUMENT %s %s %d", f.ID, f.MIME, f.Size))
		} else {
			lines = append(lines, fmt.Sprintf("PHOTO %s %d", f.ID, f.Size))
		}
	}
	return strings.Join(lines, "\n")
}
