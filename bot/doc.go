// Package bot is parcelbot's service: it takes a message from any channel,
// loads the conversation's session, runs one dialog turn, stores the session
// with a compare-and-set that also drops redelivered messages, sends the
// replies and carries out the turn's effects (escalation to the agent desk,
// relaying to an agent). It defines the interfaces it needs where it uses
// them: SessionStore, Channel, Desk and Shop.
package bot
