// Package console is parcelbot's terminal channel: it reads the customer's
// lines from an io.Reader and writes the bot's messages to an io.Writer,
// with buttons shown as "[1] Label". Typing a button's number or its label
// presses it. It also provides a console agent desk that prints what an
// agent would receive, and a Recorder channel for conversation tests.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/domain"
)

// Handler processes one customer message (bot.Service.Handle).
type Handler interface {
	Handle(ctx context.Context, m bot.Message) error
}

// AgentHandler applies an agent's action (bot.Service.Agent).
type AgentHandler interface {
	Agent(ctx context.Context, a bot.AgentAction) error
}

// Chat is a console conversation.
type Chat struct {
	in       io.Reader
	out      io.Writer
	mu       sync.Mutex
	buttons  []dialog.Button // the buttons of the last message
	echo     bool
	lang     string
	customer string
	id       string
	n        int
	agent    AgentHandler
	desk     *Desk
	sim      Simulator
}

// Simulator tells a shop event in a conversation at once
// (bot.Service.Simulate).
type Simulator interface {
	Simulate(ctx context.Context, conv string, ev domain.ShopEvent) error
}

// Options configure a Chat.
type Options struct {
	Lang     string // the language code the "channel" reports, e.g. "de"
	Customer string // link the chat to this customer (the demo's --customer)
	Echo     bool   // print the customer's lines too (when stdin is not a terminal)
	// Agent and Desk let the console user play the agent of the latest
	// escalated case with lines starting with "!": !claim, !reply text,
	// !resolve refund|replacement|answered, !handback.
	Agent AgentHandler
	Desk  *Desk
	// Simulator, when set, makes "/simulate <type> <order> [day]" show the
	// order news the shop's event would send (as the order's customer).
	Simulator Simulator
}

// New returns a console chat reading in and writing out.
func New(in io.Reader, out io.Writer, o Options) *Chat {
	return &Chat{in: in, out: out, echo: o.Echo, lang: o.Lang, customer: o.Customer,
		id: strconv.FormatInt(time.Now().UnixNano(), 36), agent: o.Agent, desk: o.Desk, sim: o.Simulator}
}

// Name implements bot.Channel.
func (c *Chat) Name() string { return "console" }

// Conversation is the console's conversation id.
const Conversation = "console:1"

// Send implements bot.Channel: it prints the replies and remembers the last
// buttons so that "1" or a label presses them.
func (c *Chat) Send(_ context.Context, _ string, _ string, replies []dialog.Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range replies {
		if _, err := fmt.Fprintf(c.out, "\n%s\n", indent(r.Text, "  ")); err != nil {
			return fmt.Errorf("console send: %w", err)
		}
		if len(r.Buttons) > 0 {
			c.buttons = append(c.buttons[:0], r.Buttons...)
			for i, b := range r.Buttons {
				fmt.Fprintf(c.out, "  [%d] %s\n", i+1, b.Label)
			}
		}
	}
	return nil
}

func indent(s, pre string) string { return pre + strings.ReplaceAll(s, "\n", "\n"+pre) }

// Run reads lines until EOF or ctx ends, handing each to h. It starts the
// conversation with /start when greet is true.
func (c *Chat) Run(ctx context.Context, h Handler, greet bool) error {
	if greet {
		if err := c.handle(ctx, h, "/start"); err != nil {
			return err
		}
	}
	sc := bufio.NewScanner(c.in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for {
		if !c.echo {
			fmt.Fprint(c.out, "\n> ")
		}
		if !sc.Scan() {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		line := sc.Text()
		if c.echo {
			fmt.Fprintf(c.out, "\n> %s\n", line)
		}
		if err := c.handle(ctx, h, line); err != nil {
			fmt.Fprintf(c.out, "  (%v)\n", err)
		}
	}
	fmt.Fprintln(c.out)
	if err := sc.Err(); err != nil {
		return fmt.Errorf("console read: %w", err)
	}
	return nil
}

func (c *Chat) handle(ctx context.Context, h Handler, line string) error {
	if cmd, ok := strings.CutPrefix(strings.TrimSpace(line), "!"); ok && c.agent != nil && c.desk != nil {
		return c.playAgent(ctx, cmd)
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "/simulate"); ok && c.sim != nil {
		return c.simulate(ctx, strings.Fields(rest))
	}
	c.mu.Lock()
	c.n++
	m := bot.Message{Conversation: Conversation, ID: c.id + "-" + strconv.Itoa(c.n), LinkCustomer: c.customer}
	m.Input = c.input(line)
	c.mu.Unlock()
	return h.Handle(ctx, m)
}

// simulate tells "/simulate <type> <order> [2026-12-08]" as the shop's
// event would.
func (c *Chat) simulate(ctx context.Context, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: /simulate delayed|exception|out_for_delivery|delivered|ready_in_locker|locker_defect ORDER [expected day]")
	}
	c.mu.Lock()
	c.n++
	ev := domain.ShopEvent{ID: c.id + "-sim-" + strconv.Itoa(c.n), Type: domain.EventType(args[0]), Order: args[1], At: time.Now()}
	c.mu.Unlock()
	if len(args) > 2 {
		d, err := time.Parse(time.DateOnly, args[2])
		if err != nil {
			return fmt.Errorf("the expected day %q is not 2026-12-08", args[2])
		}
		ev.Expected = d
	}
	return c.sim.Simulate(ctx, Conversation, ev)
}

// playAgent runs "!claim", "!reply text", "!resolve how" or "!handback" as
// the agent of the latest escalated case.
func (c *Chat) playAgent(ctx context.Context, cmd string) error {
	caseID := c.desk.LastCase()
	if caseID == "" {
		return fmt.Errorf("no case has been escalated yet")
	}
	verb, rest, _ := strings.Cut(cmd, " ")
	c.mu.Lock()
	c.n++
	a := bot.AgentAction{ID: c.id + "-" + strconv.Itoa(c.n), Case: caseID, Agent: "console", Name: "console"}
	c.mu.Unlock()
	switch strings.ToLower(verb) {
	case "claim":
		a.Kind = dialog.AgentClaim
	case "reply":
		a.Kind, a.Text = dialog.AgentReply, rest
	case "resolve":
		a.Kind, a.How = dialog.AgentResolve, domain.Resolution(strings.TrimSpace(rest))
	case "handback":
		a.Kind = dialog.AgentHandBack
	default:
		return fmt.Errorf("agent commands: !claim, !reply text, !resolve refund|replacement|answered, !handback")
	}
	return c.agent.Agent(ctx, a)
}

// input turns a typed line into an input: a button number or label presses
// the button, "@lat,lon" shares a location, anything else is text.
func (c *Chat) input(line string) dialog.Input {
	in := dialog.Input{LangHint: c.lang}
	t := strings.TrimSpace(line)
	if n, err := strconv.Atoi(t); err == nil && n >= 1 && n <= len(c.buttons) {
		in.Button = c.buttons[n-1].Data
		return in
	}
	for _, b := range c.buttons {
		if t != "" && strings.EqualFold(dialog.Fold(t), dialog.Fold(b.Label)) {
			in.Button = b.Data
			return in
		}
	}
	if rest, ok := strings.CutPrefix(t, "@"); ok {
		a, b, ok := strings.Cut(rest, ",")
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if ok && err1 == nil && err2 == nil {
			in.Location = &dialog.Location{Lat: lat, Lon: lon}
			return in
		}
	}
	in.Text = line
	return in
}

// Desk is the console agent desk: it prints what an agent would receive.
type Desk struct {
	mu   sync.Mutex
	out  io.Writer
	last string
}

// LastCase returns the latest escalated case.
func (d *Desk) LastCase() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

// NewDesk returns a desk printing to out.
func NewDesk(out io.Writer) *Desk { return &Desk{out: out} }

// Escalate implements bot.Desk.
func (d *Desk) Escalate(_ context.Context, e bot.Escalation) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = e.Case
	fmt.Fprintf(d.out, "\n  ┌─ to the agent desk ─ case %s ─ %s ─ %s\n", e.Case, e.Journey, e.Lang)
	if e.Order != "" {
		fmt.Fprintf(d.out, "  │ order %s\n", e.Order)
	}
	for _, f := range e.Facts {
		fmt.Fprintf(d.out, "  │ %s: %s\n", f.Label, f.Value)
	}
	for _, m := range e.LastMessages {
		fmt.Fprintf(d.out, "  │ > %s\n", strings.ReplaceAll(m, "\n", "\n  │     "))
	}
	fmt.Fprintf(d.out, "  └─ reason: %s   (play the agent: !claim, !reply text, !resolve refund|replacement|answered, !handback)\n", e.Reason)
	return nil
}

// Relay implements bot.Desk.
func (d *Desk) Relay(_ context.Context, caseID, text string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, "  ─ to the agent (case %s): %s\n", caseID, text)
	return nil
}

// Recorder is a channel that keeps what it is sent, for conversation tests
// and the load generator.
type Recorder struct {
	mu      sync.Mutex
	name    string
	replies map[string][]dialog.Reply
}

// NewRecorder returns a recorder owning conversations "<name>:...".
func NewRecorder(name string) *Recorder {
	return &Recorder{name: name, replies: map[string][]dialog.Reply{}}
}

// Name implements bot.Channel.
func (r *Recorder) Name() string { return r.name }

// Send implements bot.Channel.
func (r *Recorder) Send(_ context.Context, chat, _ string, replies []dialog.Reply) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range replies {
		x.Buttons = append([]dialog.Button(nil), x.Buttons...)
		r.replies[chat] = append(r.replies[chat], x)
	}
	return nil
}

// Take returns and forgets what chat was sent.
func (r *Recorder) Take(chat string) []dialog.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.replies[chat]
	delete(r.replies, chat)
	return out
}
