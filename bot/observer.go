package bot

import "time"

// Observer is told what happens, for metrics. Labels are low-cardinality
// names (journey, language, reason, outcome), never ids or text.
type Observer interface {
	// Turn reports one handled turn: the journey it ended in, the language,
	// how long it took and whether it failed.
	Turn(journey, lang string, took time.Duration, failed bool)
	// Journey reports a journey started or finished ("started", "finished").
	Journey(journey, lang, what string)
	// Escalation reports a case handed to agents, by reason, from the
	// journey it was handed over in and the customer's language.
	Escalation(reason, journey, lang string)
	// Compensation reports a membership month granted.
	Compensation()
	// Agent reports the time from escalation to an agent's claim
	// ("claim"), to their first reply ("first_reply") or to the end of the
	// hand-off ("handoff").
	Agent(what string, took time.Duration)
	// Satisfaction reports a customer's rating (1-5) of a resolved case, by
	// the case's kind and the language.
	Satisfaction(kind, lang string, rating int)
	// Proactive reports what became of a shop event the bot tells first,
	// by event type: received, sent, held (quiet hours), limited,
	// not_linked, opted_out, gone, answered (the customer replied).
	Proactive(kind, outcome string)
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Turn(string, string, time.Duration, bool) {}
func (nopObserver) Journey(string, string, string)           {}
func (nopObserver) Escalation(string, string, string)        {}
func (nopObserver) Compensation()                            {}
func (nopObserver) Agent(string, time.Duration)              {}
func (nopObserver) Satisfaction(string, string, int)         {}
func (nopObserver) Proactive(string, string)                 {}
