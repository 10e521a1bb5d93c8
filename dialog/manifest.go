package dialog

import (
	"fmt"
	"io/fs"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ManifestFile is the manifest's name among the flow files.
const ManifestFile = "manifest.yaml"

// Manifest is dialog/flows/manifest.yaml: the intents in priority order,
// the command menu, the journeys that are counted, and every action with
// its outcomes and the slots it reads and writes. The engine checks the
// flows against it at load; channels and metrics read it from the engine.
type Manifest struct {
	Intents  []IntentDef
	Menu     []string // commands in menu order, with their slash
	Journeys []string // flows counted as journeys
	Events   []string // outside events that start a flow (the bot writes first)
	actions  map[string]*actionDecl
	order    []string // action names in file order
	lines    map[string]int
}

// IntentDef is one intent of the manifest.
type IntentDef struct {
	Name   string
	Weight int  // how much a matching phrase counts
	Topic  bool // the intent of a message about the topic that matches no phrase
	// Offer is the locale key of the button that offers this intent in
	// "Did you mean …?" when the bot is unsure; "" never offers it.
	Offer string
}

type actionDecl struct {
	outcomes, reads, writes []string
	line                    int
}

// Outcome is what an action returns; a step routes by it. Each action's
// outcomes are declared in the manifest.
type Outcome string

// LoadManifest reads manifest.yaml from the flow files.
func LoadManifest(fsys fs.FS) (*Manifest, error) {
	data, err := fs.ReadFile(fsys, ManifestFile)
	if err != nil {
		return nil, fmt.Errorf("load manifest: %w", err)
	}
	return ParseManifest(data)
}

// ParseManifest parses a manifest; errors name manifest.yaml and the line.
func ParseManifest(data []byte) (*Manifest, error) {
	errf := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", ManifestFile, line, fmt.Sprintf(format, args...))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", ManifestFile, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errf(1, "the manifest is a mapping with intents, menu, journeys and actions")
	}
	m := &Manifest{actions: map[string]*actionDecl{}, lines: map[string]int{}}
	doc := root.Content[0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		m.lines[k.Value] = k.Line
		switch k.Value {
		case "manifest":
			if v.Value != "1" {
				return nil, errf(v.Line, "manifest version %q: this parcelbot reads version 1", v.Value)
			}
		case "intents":
			if v.Kind != yaml.MappingNode {
				return nil, errf(v.Line, "intents must be a mapping name → {weight, topic, offer}")
			}
			topics := 0
			for j := 0; j+1 < len(v.Content); j += 2 {
				var d struct {
					Weight int    `yaml:"weight"`
					Topic  bool   `yaml:"topic"`
					Offer  string `yaml:"offer"`
				}
				if err := decodeStrict(v.Content[j+1], &d); err != nil {
					return nil, errf(v.Content[j].Line, "intent %s: %s", v.Content[j].Value, lineless(err))
				}
				name := v.Content[j].Value
				if d.Weight < 1 || d.Weight > 9 {
					return nil, errf(v.Content[j].Line, "intent %s: weight must be 1 to 9", name)
				}
				if d.Topic {
					topics++
				}
				m.lines["intent."+name] = v.Content[j].Line
				m.Intents = append(m.Intents, IntentDef{Name: name, Weight: d.Weight, Topic: d.Topic, Offer: d.Offer})
			}
			if topics > 1 {
				return nil, errf(v.Line, "only one intent can be the topic intent")
			}
			for _, must := range []string{IntentYes, IntentNo} {
				if m.intent(must) < 0 {
					return nil, errf(v.Line, "intents must include %q (yes/no questions)", must)
				}
			}
		case "menu":
			if err := v.Decode(&m.Menu); err != nil {
				return nil, errf(v.Line, "menu: %s", lineless(err))
			}
		case "journeys":
			if err := v.Decode(&m.Journeys); err != nil {
				return nil, errf(v.Line, "journeys: %s", lineless(err))
			}
		case "events":
			if err := v.Decode(&m.Events); err != nil {
				return nil, errf(v.Line, "events: %s", lineless(err))
			}
		case "actions":
			if v.Kind != yaml.MappingNode {
				return nil, errf(v.Line, "actions must be a mapping name → {outcomes, reads, writes}")
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				var d struct {
					Outcomes []string `yaml:"outcomes"`
					Reads    []string `yaml:"reads"`
					Writes   []string `yaml:"writes"`
				}
				name := v.Content[j].Value
				if err := decodeStrict(v.Content[j+1], &d); err != nil {
					return nil, errf(v.Content[j].Line, "action %s: %s", name, lineless(err))
				}
				if len(d.Outcomes) == 0 {
					return nil, errf(v.Content[j].Line, "action %s: no outcomes", name)
				}
				if _, dup := m.actions[name]; dup {
					return nil, errf(v.Content[j].Line, "action %s is declared twice", name)
				}
				m.actions[name] = &actionDecl{outcomes: d.Outcomes, reads: d.Reads, writes: d.Writes, line: v.Content[j].Line}
				m.order = append(m.order, name)
			}
		default:
			return nil, errf(k.Line, "unknown field %q", k.Value)
		}
	}
	if len(m.Intents) == 0 {
		return nil, errf(1, "no intents")
	}
	return m, nil
}

// intent returns the index of an intent in priority order, or -1.
func (m *Manifest) intent(name string) int {
	for i, d := range m.Intents {
		if d.Name == name {
			return i
		}
	}
	return -1
}

// line returns the manifest line of an entry ("menu", "intent.track").
func (m *Manifest) line(key string) int {
	if l, ok := m.lines[key]; ok {
		return l
	}
	return 1
}

// checkManifest cross-checks the compiled flows against the manifest: every
// menu command is a flow's command with a description in the locales,
// every journey is a flow, every slot an action reads is written somewhere.
func (e *Engine) checkManifest() error {
	mf := e.manifest
	errf := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", ManifestFile, line, fmt.Sprintf(format, args...))
	}
	for _, c := range mf.Menu {
		if _, ok := e.commands[c]; !ok {
			return errf(mf.line("menu"), "menu: %s is no flow's command", c)
		}
		if key := "commands." + strings.TrimPrefix(c, "/"); !e.cat.Has(key) {
			return errf(mf.line("menu"), "menu: %s needs a description, locale key %q", c, key)
		}
	}
	for _, j := range mf.Journeys {
		if _, ok := e.flows[j]; !ok {
			return errf(mf.line("journeys"), "journeys: no flow %q", j)
		}
		e.journeys[j] = true
	}
	for _, ev := range mf.Events {
		if _, ok := e.eventFlows[ev]; !ok {
			return errf(mf.line("events"), "events: no flow starts on %q (a flow's 'events')", ev)
		}
	}
	for _, name := range mf.order {
		d := mf.actions[name]
		for _, r := range d.reads {
			if !e.written[r] {
				return errf(d.line, "action %s reads slot %q, which no question, button, intent, filling or action writes", name, r)
			}
		}
	}
	return nil
}

// Manifest returns the engine's manifest.
func (e *Engine) Manifest() *Manifest { return e.manifest }

// Menu returns the command menu in order, without the slash ("start").
func (e *Engine) Menu() []string {
	out := make([]string, len(e.manifest.Menu))
	for i, c := range e.manifest.Menu {
		out[i] = strings.TrimPrefix(c, "/")
	}
	return out
}

// IsJourney reports whether a flow is counted as a journey.
func (e *Engine) IsJourney(flow string) bool { return e.journeys[flow] }
