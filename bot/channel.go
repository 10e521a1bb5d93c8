package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/parcelbot/parcelbot/dialog"
)

// Channel delivers the bot's replies to a customer. Conversation ids are
// "<channel>:<chat>" ("tg:123456", "console:1"); the service routes by the
// part before the colon.
type Channel interface {
	// Name is the conversation id prefix this channel owns ("tg").
	Name() string
	// Send delivers replies to the chat, in order.
	Send(ctx context.Context, chat string, lang string, replies []dialog.Reply) error
}

// Message is one thing a customer did on a channel.
type Message struct {
	Conversation string // "<channel>:<chat>"
	ID           string // unique per conversation and stable across redelivery
	Input        dialog.Input
	// LinkCustomer links a new conversation to a customer without a token.
	// Only trusted channels set it (the console and conversation tests).
	LinkCustomer string
	// Durable makes Handle return only once the turn's done mark is
	// written, so that the channel's acknowledgement (a webhook's 200)
	// means a redelivery to any replica is dropped, not repeated. Without
	// it the mark goes with the next pipeline of saves (a polling channel
	// keeps the update in its spool until Handle returns).
	Durable bool
}

// Ack is a channel's acknowledgement of the message being handled, when it
// can carry the turn's reply (a Telegram webhook's answer may hold one Bot
// API call). A channel's Send that puts the reply there sets Carried and
// Body; Handle then leaves the turn's pending work unmarked, so that if the
// acknowledgement is lost the channel delivers the message again and the
// reply is sent again (the next save of the conversation clears it).
type Ack struct {
	Carried bool
	Body    []byte
}

type ackKey struct{}

// WithAck returns ctx carrying a.
func WithAck(ctx context.Context, a *Ack) context.Context { return context.WithValue(ctx, ackKey{}, a) }

// AckFrom returns the Ack in ctx, or nil.
func AckFrom(ctx context.Context) *Ack { a, _ := ctx.Value(ackKey{}).(*Ack); return a }

// splitConv splits "tg:123" into "tg" and "123".
func splitConv(conv string) (channel, chat string) {
	channel, chat, _ = strings.Cut(conv, ":")
	return channel, chat
}

// FileOpener is a channel that can hand over the files customers sent in
// it (a photo of a damaged parcel, for the agent).
type FileOpener interface {
	OpenFile(ctx context.Context, fileID string, max int64) ([]byte, string, error)
}

// OpenFile reads a file the customer of conv sent ("photo:<id>" or
// "document:<id>", as a 'files' question keeps it) from the conversation's
// channel, at most dialog.DefaultMaxFileBytes.
func (s *Service) OpenFile(ctx context.Context, conv, ref string) ([]byte, string, error) {
	name, _ := splitConv(conv)
	ch, ok := s.channels[name]
	if !ok {
		return nil, "", fmt.Errorf("open file: no channel %q", name)
	}
	fo, ok := ch.(FileOpener)
	if !ok {
		return nil, "", fmt.Errorf("open file: channel %q keeps no files", name)
	}
	_, id, found := strings.Cut(ref, ":")
	if !found || id == "" {
		return nil, "", fmt.Errorf("open file: bad reference")
	}
	return fo.OpenFile(ctx, id, dialog.DefaultMaxFileBytes)
}
