package dialog

import (
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A flow file (dialog/flows/*.yaml) describes one journey as steps. See
// docs/flows.md for the format; in short:
//
//	flow: track                  # the flow's name
//	commands: [/track]           # commands that start it at any step
//	intents: [track]             # free-text intents that start it at any step
//	title: journey.track         # "Shall we go back to {journey}?": makes it resumable
//	slots:                       # slots it asks for or sets, with their types
//	  order: {type: order_number, fill: any, shared: true, resets: [postcode]}
//	  option: {}                 # (or a plain list of names)
//	start: identify              # first step
//	steps:
//	  identify: {call: identify, next: lookup}
//	  lookup:   {action: track_order, on: {in_transit: moving, late: late}}
//	  moving:
//	    say: track.moving        # locale key (or a list of keys)
//	    buttons:
//	      - {label: btn.menu, goto: menu}
//
// A step either runs an action and moves on by its outcome, or says its
// messages and then waits (ask, buttons, choices), calls another flow, returns
// to the caller, or goes to a target. Targets are "step", "flow" or
// "flow.step".
type flowFile struct {
	Flow     string              `yaml:"flow"`
	Commands []string            `yaml:"commands"`
	Intents  intentStarts        `yaml:"intents"`
	Events   []string            `yaml:"events"`
	Slots    slotDecls           `yaml:"slots"`
	Keep     bool                `yaml:"keep"`
	Title    string              `yaml:"title"`
	Anytime  bool                `yaml:"anytime"`
	Resets   bool                `yaml:"resets"`
	Aside    bool                `yaml:"aside"`
	Location string              `yaml:"location"`
	Start    string              `yaml:"start"`
	Steps    map[string]stepSpec `yaml:"steps"`
	order    []string            // step names in file order
	lines    map[string]int
}

// intentStarts reads either a list of intents or a map intent → slots to set.
type intentStarts map[string]map[string]string

func (is *intentStarts) UnmarshalYAML(n *yaml.Node) error {
	*is = intentStarts{}
	switch n.Kind {
	case yaml.SequenceNode:
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, i := range list {
			(*is)[i] = nil
		}
		return nil
	case yaml.MappingNode:
		var m map[string]map[string]string
		if err := n.Decode(&m); err != nil {
			return err
		}
		*is = m
		return nil
	}
	return fmt.Errorf("line %d: intents must be a list or a map", n.Line)
}

// slotDecl is a slot as a flow declares it.
type slotDecl struct {
	Type   string   `yaml:"type"`
	Fill   string   `yaml:"fill"` // any: from any message of a journey; first: from the one that starts it
	Shared bool     `yaml:"shared"`
	Resets []string `yaml:"resets"`
}

// slotDecls reads either a list of names or a map name → declaration, in
// file order.
type slotDecls struct {
	names []string
	decl  map[string]slotDecl
	line  int
}

func (sd *slotDecls) UnmarshalYAML(n *yaml.Node) error {
	sd.decl = map[string]slotDecl{}
	sd.line = n.Line
	switch n.Kind {
	case yaml.SequenceNode:
		return n.Decode(&sd.names)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			var d slotDecl
			if n.Content[i+1].Kind == yaml.MappingNode {
				if err := decodeStrict(n.Content[i+1], &d); err != nil {
					return err
				}
			}
			name := n.Content[i].Value
			sd.names = append(sd.names, name)
			sd.decl[name] = d
		}
		return nil
	}
	return fmt.Errorf("line %d: slots must be a list or a map", n.Line)
}

type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

type stepSpec struct {
	Say      stringList        `yaml:"say"`
	Action   string            `yaml:"action"`
	On       map[string]string `yaml:"on"`
	Ask      string            `yaml:"ask"`
	Validate string            `yaml:"validate"`
	Invalid  string            `yaml:"invalid"`
	Received string            `yaml:"received"`
	Next     string            `yaml:"next"`
	Buttons  []buttonSpec      `yaml:"buttons"`
	Choices  bool              `yaml:"choices"`
	Goto     string            `yaml:"goto"`
	Call     string            `yaml:"call"`
	Return   bool              `yaml:"return"`
	Reask    bool              `yaml:"reask"`
	End      bool              `yaml:"end"`
	Separate bool              `yaml:"separate"`
	Resume   bool              `yaml:"resume"`
	Dispatch bool              `yaml:"dispatch"`
	Skip     map[string]string `yaml:"skip"`
	line     int
	lines    map[string]int // field → line
}

// at returns the line of field, or the step's line.
func (s *stepSpec) at(field string) int {
	if l, ok := s.lines[field]; ok {
		return l
	}
	return s.line
}

type buttonSpec struct {
	Label  string            `yaml:"label"`
	Goto   string            `yaml:"goto"`
	Set    map[string]string `yaml:"set"`
	Intent string            `yaml:"intent"`
	line   int
}

func (b *buttonSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain buttonSpec
	var p plain
	if err := decodeStrict(n, &p); err != nil {
		return err
	}
	*b = buttonSpec(p)
	b.line = n.Line
	return nil
}

func (s *stepSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain stepSpec
	var p plain
	if err := decodeStrict(n, &p); err != nil {
		return err
	}
	*s = stepSpec(p)
	s.line = n.Line
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	s.lines = map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		s.lines[n.Content[i].Value] = n.Content[i].Line
	}
	return nil
}

// decodeStrict decodes n into v, refusing fields v's struct does not have.
// (yaml's KnownFields does not reach Node.Decode, and re-encoding the node
// would lose anchors.)
func decodeStrict(n *yaml.Node, v any) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	known := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := 0; i < t.NumField(); i++ {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); tag != "" {
			known[tag] = true
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !known[k] {
			return fmt.Errorf("line %d: unknown field %q", n.Content[i].Line, k)
		}
	}
	return n.Decode(v)
}

// Step is a compiled step.
type Step struct {
	Flow     *Flow
	Name     string
	Say      []string
	Action   *actionDef
	On       map[string]*Step
	Ask      string
	Validate string
	Invalid  string
	// Received is said after each file a 'files' question takes ({count}
	// of {max}), with the step's buttons, while more may come.
	Received string
	Next     *Step
	Buttons  []ButtonDef
	Choices  bool
	Goto     *Step
	Call     *Flow
	Return   bool
	Reask    bool
	End      bool // the journey rests here: the next message starts afresh
	Separate bool // its message stands alone (channels must not merge it)
	Resume   bool // goes back to the journey the customer interrupted
	// Dispatch: the value a choice sets is an intent, and choosing it
	// starts that intent's journey as if the customer had typed it ("Did
	// you mean …?"); 'next' is where a choice without a journey goes.
	Dispatch bool
	Skips    []SkipRule
	File     string
	Line     int
}

// SkipRule: when Slot is known, the step is passed over for Goto (what
// the customer already said is not asked again).
type SkipRule struct {
	Slot string
	Goto *Step
}

// skip returns where to go instead of s, or nil.
func (s *Step) skip(st *State) *Step {
	for _, r := range s.Skips {
		if st.Get(r.Slot) != "" {
			return r.Goto
		}
	}
	return nil
}

// leavesFlow reports whether a step waits only with buttons that lead out
// of its flow (to the menu, to a person): it asks nothing of its own.
func (s *Step) leavesFlow() bool {
	if s.Ask != "" || s.Choices || len(s.Buttons) == 0 {
		return false
	}
	for _, b := range s.Buttons {
		if b.Goto == nil || b.Goto.Flow == s.Flow {
			return false
		}
	}
	return true
}

// waits reports whether the step waits for the customer.
func (s *Step) waits() bool { return s.Ask != "" || len(s.Buttons) > 0 || s.Choices }

// ButtonDef is a compiled static button.
type ButtonDef struct {
	Label  string // locale key
	Goto   *Step  // nil: the step's Next
	Set    []Slot
	Intent string // a typed intent that presses this button (yes, no)
}

// Flow is a compiled flow.
type Flow struct {
	Name    string
	Keep    bool   // started by a command or intent, it keeps what the journey learned
	Title   string // locale key naming the journey when it is offered again
	Anytime bool   // its command works during a hand-over too
	Resets  bool   // starting it forgets interrupted journeys
	Aside   bool   // said in passing: the journey it interrupted goes on at once
	// LocationSlot: a location shared outside a question starts this flow
	// with the location in this slot.
	LocationSlot string
	Start        *Step
	Steps        map[string]*Step
	Intents      map[string][]Slot
	File         string
}

// builtinTypes are the slot types the engine knows itself.
var builtinTypes = []string{"yesno", "choice", "text", "location", "files"}

func builtinType(name string) bool { return containsStr(builtinTypes, name) }

// validType reports whether an ask step may name the type.
func (e *Engine) validType(name string) bool {
	_, ok := e.types[name]
	return ok || builtinType(name)
}

func (e *Engine) typeNames() []string {
	names := append([]string(nil), builtinTypes...)
	for n := range e.types {
		names = append(names, n)
	}
	sort.Strings(names[len(builtinTypes):])
	return names
}

// loadFlows parses and compiles every *.yaml file in fsys's root.
func (e *Engine) loadFlows(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("load flows: %w", err)
	}
	var files []*flowFile
	var names []string
	for _, ent := range entries {
		if ent.IsDir() || path.Ext(ent.Name()) != ".yaml" || ent.Name() == ManifestFile {
			continue
		}
		data, err := fs.ReadFile(fsys, ent.Name())
		if err != nil {
			return fmt.Errorf("load flows: %w", err)
		}
		ff, err := parseFlowFile(ent.Name(), data)
		if err != nil {
			return err
		}
		files = append(files, ff)
		names = append(names, ent.Name())
	}
	if len(files) == 0 {
		return fmt.Errorf("load flows: no *.yaml files")
	}
	// First pass: create flows and steps so targets can resolve.
	for i, ff := range files {
		file := names[i]
		if ff.Flow == "" {
			return fmt.Errorf("%s:1: missing 'flow:' name", file)
		}
		if _, dup := e.flows[ff.Flow]; dup {
			return fmt.Errorf("%s:1: flow %q is defined twice", file, ff.Flow)
		}
		f := &Flow{Name: ff.Flow, Steps: map[string]*Step{}, File: file, Intents: map[string][]Slot{}, Keep: ff.Keep,
			Title: ff.Title, Anytime: ff.Anytime, Resets: ff.Resets, Aside: ff.Aside, LocationSlot: ff.Location}
		e.flows[ff.Flow] = f
		for _, name := range ff.order {
			sp := ff.Steps[name]
			if strings.Contains(name, ".") {
				return fmt.Errorf("%s:%d: step name %q must not contain a dot", file, sp.line, name)
			}
			f.Steps[name] = &Step{Flow: f, Name: name, File: file, Line: sp.line}
		}
		for _, s := range ff.Slots.names {
			e.slots[s] = true
		}
		if ff.Start == "" {
			return fmt.Errorf("%s:1: missing 'start:'", file)
		}
		if f.Start = f.Steps[ff.Start]; f.Start == nil {
			return fmt.Errorf("%s:%d: start: unknown step %q", file, ff.lines["start"], ff.Start)
		}
	}
	for i, ff := range files {
		if err := e.declareSlots(names[i], ff); err != nil {
			return err
		}
	}
	for i, ff := range files {
		if err := e.compileFlow(names[i], ff); err != nil {
			return err
		}
	}
	return e.checkCalls()
}

// declareSlots takes a flow's slot declarations: types, filling, sharing.
func (e *Engine) declareSlots(file string, ff *flowFile) error {
	line := ff.Slots.line
	for _, name := range ff.Slots.names {
		d := ff.Slots.decl[name]
		if d.Shared {
			e.sharedSlots[name] = true
		}
		for _, r := range d.Resets {
			if !e.slots[r] {
				return fmt.Errorf("%s:%d: slot %s resets unknown slot %q", file, line, name, r)
			}
		}
		switch d.Fill {
		case "":
			if d.Type != "" && !e.validType(d.Type) {
				return fmt.Errorf("%s:%d: slot %s: unknown type %q (one of %v)", file, line, name, d.Type, e.typeNames())
			}
			continue
		case "any", "first":
		default:
			return fmt.Errorf("%s:%d: slot %s: fill must be any or first", file, line, name)
		}
		t, ok := e.types[d.Type]
		if !ok || t.Find == nil {
			return fmt.Errorf("%s:%d: slot %s: fill needs a type that finds values in text (one of %v)", file, line, name, e.typeNames()[len(builtinTypes):])
		}
		sp := slotSpec{Name: name, Type: t, Resets: d.Resets}
		e.written[name] = true
		if d.Fill == "any" {
			e.fillAny = append(e.fillAny, sp)
		} else {
			e.fillFirst = append(e.fillFirst, sp)
		}
	}
	if ff.Location != "" {
		if !e.slots[ff.Location] {
			return fmt.Errorf("%s:1: location: unknown slot %q", file, ff.Location)
		}
		if e.locationFlow != nil {
			return fmt.Errorf("%s:1: flow %s already starts on a shared location", file, e.locationFlow.Name)
		}
		e.locationFlow = e.flows[ff.Flow]
		e.written[ff.Location] = true
	}
	return nil
}

// checkCalls refuses a flow graph whose calls cannot return: a called flow
// must reach a 'return' step from its start, and no flow may call itself,
// directly or through others (the stack would only grow).
func (e *Engine) checkCalls() error {
	names := make([]string, 0, len(e.flows))
	for n := range e.flows {
		names = append(names, n)
	}
	sort.Strings(names)
	calls := map[string][]*Step{} // flow → its call steps
	for _, n := range names {
		f := e.flows[n]
		for _, s := range f.Steps {
			if s.Call != nil {
				calls[n] = append(calls[n], s)
			}
		}
	}
	for _, n := range names {
		for _, s := range calls[n] {
			if !reachesReturn(s.Call) {
				return fmt.Errorf("%s:%d: step %s calls flow %s, which never returns (no 'return' step reachable from its start)", s.File, s.Line, s.Name, s.Call.Name)
			}
		}
	}
	// a call cycle: flow a calls b ... calls a
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string, via *Step) error
	visit = func(n string, via *Step) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("%s:%d: step %s calls flow %s, which calls back into itself", via.File, via.Line, via.Name, n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, s := range calls[n] {
			if err := visit(s.Call.Name, s); err != nil {
				return err
			}
		}
		state[n] = 2
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return err
		}
	}
	return nil
}

// reachesReturn reports whether a 'return' step is reachable from f's start
// without leaving f.
func reachesReturn(f *Flow) bool {
	seen := map[*Step]bool{}
	var walk func(s *Step) bool
	walk = func(s *Step) bool {
		if s == nil || s.Flow != f || seen[s] {
			return false
		}
		seen[s] = true
		if s.Return {
			return true
		}
		next := []*Step{s.Next, s.Goto}
		for _, t := range s.On {
			next = append(next, t)
		}
		for _, b := range s.Buttons {
			next = append(next, b.Goto)
		}
		for _, r := range s.Skips {
			next = append(next, r.Goto)
		}
		for _, t := range next {
			if walk(t) {
				return true
			}
		}
		return false
	}
	return walk(f.Start)
}

func parseFlowFile(file string, data []byte) (*flowFile, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %s", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:1: a flow file is a mapping with flow, start and steps", file)
	}
	doc := root.Content[0]
	ff := &flowFile{lines: map[string]int{}}
	// Decode top level strictly, except steps, which keep their order and lines.
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		var err error
		switch k.Value {
		case "flow":
			err = v.Decode(&ff.Flow)
		case "commands":
			err = v.Decode(&ff.Commands)
		case "intents":
			err = v.Decode(&ff.Intents)
		case "events":
			err = v.Decode(&ff.Events)
		case "slots":
			err = v.Decode(&ff.Slots)
		case "keep":
			err = v.Decode(&ff.Keep)
		case "title":
			err = v.Decode(&ff.Title)
			ff.lines["title"] = v.Line
		case "anytime":
			err = v.Decode(&ff.Anytime)
		case "resets":
			err = v.Decode(&ff.Resets)
		case "aside":
			err = v.Decode(&ff.Aside)
		case "location":
			err = v.Decode(&ff.Location)
		case "start":
			err = v.Decode(&ff.Start)
			ff.lines["start"] = v.Line
		case "steps":
			if v.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s:%d: steps must be a mapping", file, v.Line)
			}
			ff.Steps = map[string]stepSpec{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				name := v.Content[j].Value
				var sp stepSpec
				if err := v.Content[j+1].Decode(&sp); err != nil {
					return nil, fmt.Errorf("%s:%d: step %s: %s", file, errLine(err, v.Content[j].Line), name, lineless(err))
				}
				sp.line = v.Content[j].Line
				if sp.lines == nil {
					sp.lines = map[string]int{}
				}
				if _, dup := ff.Steps[name]; dup {
					return nil, fmt.Errorf("%s:%d: step %s is defined twice", file, sp.line, name)
				}
				ff.Steps[name] = sp
				ff.order = append(ff.order, name)
			}
		default:
			return nil, fmt.Errorf("%s:%d: unknown field %q", file, k.Line, k.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %s", file, v.Line, k.Value, lineless(err))
		}
	}
	return ff, nil
}

// errLine returns the line of a "line N: ..." error (yaml's and ours), or def.
func errLine(err error, def int) int {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n  ")
	var n int
	if _, e := fmt.Sscanf(s, "line %d:", &n); e == nil && n > 0 {
		return n
	}
	return def
}

// lineless strips yaml's own "line N:" prefixes; callers add file:line.
func lineless(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n  ")
	for strings.HasPrefix(s, "line ") {
		i := strings.Index(s, ": ")
		if i < 0 {
			break
		}
		s = s[i+2:]
	}
	s = strings.ReplaceAll(s, " in type dialog.plain", "")
	return s
}

func (e *Engine) compileFlow(file string, ff *flowFile) error {
	f := e.flows[ff.Flow]
	errf := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	target := func(line int, t string) (*Step, error) {
		if t == "" {
			return nil, nil
		}
		s := e.resolve(f, t)
		if s == nil {
			return nil, errf(line, "unknown step %q", t)
		}
		return s, nil
	}
	var err error
	if ff.Title != "" && !e.cat.Has(ff.Title) {
		return errf(ff.lines["title"], "title: unknown locale key %q", ff.Title)
	}
	for _, c := range ff.Commands {
		if !strings.HasPrefix(c, "/") || strings.ContainsAny(c, " \t") {
			return errf(1, "command %q must be /word", c)
		}
		if prev, dup := e.commands[c]; dup {
			return errf(1, "command %s is already started by flow %s", c, prev.Name)
		}
		e.commands[c] = f
	}
	for _, ev := range ff.Events {
		if !containsStr(e.manifest.Events, ev) {
			return errf(1, "event %q is not declared in %s", ev, ManifestFile)
		}
		if prev, dup := e.eventFlows[ev]; dup {
			return errf(1, "event %s already starts flow %s", ev, prev.Name)
		}
		e.eventFlows[ev] = f
	}
	for intent, set := range ff.Intents {
		if e.matcher.priority(intent) < 0 || intent == IntentYes || intent == IntentNo {
			return errf(1, "intent %q cannot start a flow (declare it in %s; yes and no never start one)", intent, ManifestFile)
		}
		if prev, dup := e.intentFlows[intent]; dup {
			return errf(1, "intent %s already starts flow %s", intent, prev.Name)
		}
		e.intentFlows[intent] = f
		var slots []Slot
		for k, v := range set {
			if !e.slots[k] {
				return errf(1, "intent %s sets unknown slot %q", intent, k)
			}
			slots = append(slots, Slot{k, v})
			e.written[k] = true
		}
		sort.Slice(slots, func(i, j int) bool { return slots[i].Name < slots[j].Name })
		f.Intents[intent] = slots
	}
	for _, name := range ff.order {
		sp := ff.Steps[name]
		s := f.Steps[name]
		line := sp.line
		for _, k := range sp.Say {
			if !e.cat.Has(k) {
				return errf(sp.at("say"), "step %s: unknown locale key %q", name, k)
			}
		}
		s.Say = sp.Say
		if sp.Invalid != "" && !e.cat.Has(sp.Invalid) {
			return errf(sp.at("invalid"), "step %s: unknown locale key %q", name, sp.Invalid)
		}
		s.Invalid, s.Ask, s.Validate, s.Choices, s.Return, s.Reask, s.End, s.Separate, s.Resume = sp.Invalid, sp.Ask, sp.Validate, sp.Choices, sp.Return, sp.Reask, sp.End, sp.Separate, sp.Resume
		s.Dispatch = sp.Dispatch
		if sp.Received != "" {
			if !e.cat.Has(sp.Received) {
				return errf(sp.at("received"), "step %s: unknown locale key %q", name, sp.Received)
			}
			s.Received = sp.Received
		}
		skipSlots := make([]string, 0, len(sp.Skip))
		for k := range sp.Skip {
			skipSlots = append(skipSlots, k)
		}
		sort.Strings(skipSlots)
		for _, k := range skipSlots {
			if !e.slots[k] {
				return errf(sp.at("skip"), "step %s: skip: unknown slot %q", name, k)
			}
			to, err := target(sp.at("skip"), sp.Skip[k])
			if err != nil {
				return err
			}
			if to == s {
				return errf(sp.at("skip"), "step %s: skip: a step cannot skip to itself", name)
			}
			s.Skips = append(s.Skips, SkipRule{Slot: k, Goto: to})
		}
		if sp.Action != "" {
			a, ok := e.actions[sp.Action]
			if !ok {
				return errf(sp.at("action"), "step %s: unknown action %q", name, sp.Action)
			}
			if len(sp.Say) > 0 || sp.Ask != "" || len(sp.Buttons) > 0 || sp.Goto != "" || sp.Call != "" || sp.Return || sp.End || sp.Resume || len(sp.Skip) > 0 {
				return errf(line, "step %s: an action step only has 'action' and 'on'", name)
			}
			s.Action = a
			s.On = map[string]*Step{}
			for out, t := range sp.On {
				if out != "*" && !containsStr(a.outcomes, out) {
					return errf(sp.at("on"), "step %s: action %s has no outcome %q (it has %v)", name, a.name, out, a.outcomes)
				}
				if s.On[out], err = target(sp.at("on"), t); err != nil {
					return err
				}
			}
			if _, any := s.On["*"]; !any {
				for _, out := range a.outcomes {
					if _, ok := s.On[out]; !ok {
						return errf(sp.at("on"), "step %s: outcome %q of action %s goes nowhere", name, out, a.name)
					}
				}
			}
			continue
		}
		if len(sp.On) > 0 {
			return errf(line, "step %s: 'on' needs an action", name)
		}
		if sp.Ask != "" {
			if !e.slots[sp.Ask] {
				return errf(sp.at("ask"), "step %s: unknown slot %q (declare it under slots:)", name, sp.Ask)
			}
			if sp.Validate == "" {
				if d, ok := ff.Slots.decl[sp.Ask]; ok {
					sp.Validate = d.Type
					s.Validate = d.Type
				}
			}
			if !e.validType(sp.Validate) {
				return errf(sp.at("validate"), "step %s: validate must be one of %v", name, e.typeNames())
			}
			if sp.Next == "" {
				return errf(line, "step %s: an ask step needs 'next'", name)
			}
			e.written[sp.Ask] = true
		} else if sp.Validate != "" {
			return errf(line, "step %s: 'validate' needs 'ask'", name)
		}
		if sp.Choices && sp.Ask == "" {
			return errf(line, "step %s: 'choices' needs 'ask' (the slot a choice sets)", name)
		}
		if sp.Dispatch && !sp.Choices {
			return errf(line, "step %s: 'dispatch' needs 'choices' (the intents offered)", name)
		}
		if s.Next, err = target(sp.at("next"), sp.Next); err != nil {
			return err
		}
		if s.Goto, err = target(sp.at("goto"), sp.Goto); err != nil {
			return err
		}
		if sp.Call != "" {
			cf, ok := e.flows[sp.Call]
			if !ok {
				return errf(sp.at("call"), "step %s: unknown flow %q", name, sp.Call)
			}
			if s.Next == nil {
				return errf(line, "step %s: a call needs 'next', where to continue after it", name)
			}
			s.Call = cf
		}
		for _, b := range sp.Buttons {
			if !e.cat.Has(b.Label) {
				return errf(b.line, "step %s: unknown locale key %q", name, b.Label)
			}
			bd := ButtonDef{Label: b.Label, Intent: b.Intent}
			if b.Intent != "" && e.matcher.priority(b.Intent) < 0 {
				return errf(b.line, "step %s: unknown intent %q", name, b.Intent)
			}
			if bd.Goto, err = target(b.line, b.Goto); err != nil {
				return err
			}
			if bd.Goto == nil && s.Next == nil {
				return errf(b.line, "step %s: button %s goes nowhere (no goto, no next)", name, b.Label)
			}
			for k, v := range b.Set {
				if !e.slots[k] {
					return errf(b.line, "step %s: button sets unknown slot %q", name, k)
				}
				bd.Set = append(bd.Set, Slot{k, v})
				e.written[k] = true
			}
			sort.Slice(bd.Set, func(i, j int) bool { return bd.Set[i].Name < bd.Set[j].Name })
			s.Buttons = append(s.Buttons, bd)
		}
		moves := 0
		for _, m := range []bool{s.waits(), s.Call != nil, s.Return, s.Goto != nil, s.End, s.Resume} {
			if m {
				moves++
			}
		}
		if moves == 0 {
			return errf(line, "step %s: a dead end: it must wait (ask, buttons), call, return, resume, goto or end", name)
		}
		if moves > 1 {
			return errf(line, "step %s: only one of ask/buttons, call, return, resume, goto and end", name)
		}
		// a flow the bot starts itself (an event) may end without a word:
		// news that no longer concern the chat are not told
		if (s.waits() || (s.End && len(ff.Events) == 0)) && len(s.Say) == 0 {
			return errf(line, "step %s: a step that waits must say something", name)
		}
	}
	return nil
}

// resolve finds "step" (in f), "flow" (its start) or "flow.step".
func (e *Engine) resolve(f *Flow, t string) *Step {
	if fl, st, ok := strings.Cut(t, "."); ok {
		if ff, ok := e.flows[fl]; ok {
			return ff.Steps[st]
		}
		return nil
	}
	if f != nil {
		if s, ok := f.Steps[t]; ok {
			return s
		}
	}
	if ff, ok := e.flows[t]; ok {
		return ff.Start
	}
	return nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
