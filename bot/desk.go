package bot

import (
	"context"
	"time"
)

// Desk is where human agents work: the console desk prints cases, the Slack
// desk opens a thread per case. Agents answer through the service's
// AgentReply, AgentHandBack and AgentResolve methods.
type Desk interface {
	// Escalate opens a case for agents with everything the bot learned.
	Escalate(ctx context.Context, e Escalation) error
	// Relay adds a customer's message to an open case.
	Relay(ctx context.Context, caseID, text string) error
}

// Eraser is a desk that can remove a customer's words from a case when
// the customer asks for erasure (Service.Forget): the Slack desk replaces
// the relayed messages in the case's thread and notes the erasure there.
type Eraser interface {
	Erase(ctx context.Context, caseID string) error
}

// Escalation is a case handed to agents. It never carries a delivery
// password, a link token or a full street address.
type Escalation struct {
	Case         string
	Conversation string
	Lang         string
	Journey      string
	Order        string
	Reason       string // a machine reason ("customer_asked", "approval", "stuck_parcel")
	Facts        []Fact // what the bot established and did
	LastMessages []string
	// Photos are the customer's photos of the case ("photo:<id>" as the
	// channel names them; Service.OpenFile reads one).
	Photos []string
	At     time.Time
}

// Fact is one labelled thing the bot learned, for the agent.
type Fact struct {
	Label, Value string
}
