package console

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/parcelbot/parcelbot/bot"
	"github.com/parcelbot/parcelbot/dialog"
)

var (
	_ bot.Channel = (*Chat)(nil)
	_ bot.Channel = (*Recorder)(nil)
	_ bot.Desk    = (*Desk)(nil)
)

type recHandler struct {
	msgs   []bot.Message
	agents []bot.AgentAction
}

func (h *recHandler) Handle(_ context.Context, m bot.Message) error {
	h.msgs = append(h.msgs, m)
	return nil
}

func (h *recHandler) Agent(_ context.Context, a bot.AgentAction) error {
	h.agents = append(h.agents, a)
	return nil
}

func TestLinesBecomeInputs(t *testing.T) {
	var out bytes.Buffer
	h := &recHandler{}
	desk := NewDesk(&out)
	c := New(strings.NewReader("2\nyes please\n@52.5,13.4\n@north pole\n!claim\n!reply on it\n!resolve refund\n!dance\n"), &out,
		Options{Lang: "de", Customer: "C-1", Echo: true, Agent: h, Desk: desk})
	_ = c.Send(context.Background(), "1", "de", []dialog.Reply{{Text: "Frage?", Buttons: []dialog.Button{{Label: "Ja, bitte", Data: "4.0"}, {Label: "Nein", Data: "4.1"}}}})
	_ = desk.Escalate(context.Background(), bot.Escalation{Case: "PB-TEST23", Journey: "human", Lang: "de"})
	if err := c.Run(context.Background(), h, false); err != nil {
		t.Fatal(err)
	}
	if len(h.msgs) != 4 {
		t.Fatalf("%d messages: %+v", len(h.msgs), h.msgs)
	}
	if in := h.msgs[0].Input; in.Button != "4.1" || in.LangHint != "de" || h.msgs[0].LinkCustomer != "C-1" {
		t.Errorf("'2' pressed %+v", in)
	}
	if in := h.msgs[1].Input; in.Text != "yes please" || in.Button != "" {
		t.Errorf("text: %+v", in)
	}
	if l := h.msgs[2].Input.Location; l == nil || l.Lat != 52.5 || l.Lon != 13.4 {
		t.Errorf("location: %+v", h.msgs[2].Input)
	}
	if in := h.msgs[3].Input; in.Text != "@north pole" || in.Location != nil {
		t.Errorf("a bad location is text: %+v", in)
	}
	if h.msgs[0].ID == h.msgs[1].ID {
		t.Error("two lines with one id")
	}
	if len(h.agents) != 3 || h.agents[0].Kind != dialog.AgentClaim || h.agents[1].Text != "on it" || h.agents[2].How != "refund" || h.agents[0].Case != "PB-TEST23" {
		t.Errorf("agent actions: %+v", h.agents)
	}
	for _, want := range []string{"[1] Ja, bitte", "[2] Nein", "to the agent desk ─ case PB-TEST23", "agent commands: !claim"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestButtonByLabelIgnoresCaseAndAccents(t *testing.T) {
	h := &recHandler{}
	c := New(strings.NewReader("francais\n"), &bytes.Buffer{}, Options{Echo: true})
	_ = c.Send(context.Background(), "1", "en", []dialog.Reply{{Text: "?", Buttons: []dialog.Button{{Label: "Français", Data: "2.2"}}}})
	_ = c.Run(context.Background(), h, false)
	if len(h.msgs) != 1 || h.msgs[0].Input.Button != "2.2" {
		t.Fatalf("%+v", h.msgs)
	}
}
