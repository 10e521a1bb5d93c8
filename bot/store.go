package bot

import (
	"context"
	"errors"
)

// SessionStore keeps each conversation's encoded dialog state under a
// version. Implementations: adapters/redis (one key per conversation, a Lua
// compare-and-set). Every store must pass bottest.TestSessionStore.
type SessionStore interface {
	// Load returns the conversation's state and version (nil and 0 for a new
	// conversation) and whether inputID was already processed.
	Load(ctx context.Context, conv, inputID string) (Session, error)
	// Save stores data under a new version if the stored version is still
	// expect, records inputID as processed and appends the transcript lines,
	// atomically, and returns the new version. Versions are opaque: a
	// conversation begun again (after Delete, or expired) never reuses a
	// version of the one before, so that a copy of the old session held
	// elsewhere cannot pass for the new one. It returns ErrConflict when another turn saved first and
	// ErrDuplicate when inputID was processed already; then nothing is
	// written.
	//
	// pending is what the turn still has to do outside Redis (its replies
	// and effects, encoded by the service): it is kept under inputID until
	// MarkDone, so that a redelivered input whose turn was stored but not
	// carried out (a crash in between) is carried out then.
	//
	// The store keeps none of data, transcript and pending after Save
	// returns: the caller writes its next turn into the same buffers.
	Save(ctx context.Context, conv string, expect uint64, data []byte, inputID string, transcript [][]byte, pending []byte) (version uint64, err error)
	// MarkDone forgets the pending work of inputID (if it is still the
	// conversation's pending input).
	MarkDone(ctx context.Context, conv, inputID string) error
	// Transcript returns the last n transcript lines, oldest first, byte
	// for byte as saved: a redelivered turn's replies are read back from
	// its lines (see encodePending).
	Transcript(ctx context.Context, conv string, n int) ([]string, error)
	// Delete forgets the conversation: its state, processed inputs and
	// transcript.
	Delete(ctx context.Context, conv string) error
}

// LazyDoner is a SessionStore that can mark a turn done without the caller
// waiting: the Redis store sends the mark with the next pipeline of saves.
// A mark lost in a crash makes a redelivery of that input repeat its
// replies (at least once; see docs/security.md).
type LazyDoner interface {
	MarkDoneLater(conv, inputID string)
	// MarkingDone reports whether such a mark is still on its way.
	MarkingDone(conv, inputID string) bool
}

// Session is a stored conversation state.
type Session struct {
	Data    []byte
	Version uint64
	Seen    bool   // the input asked about in Load was processed already
	Pending []byte // its work not yet carried out (only when Seen)
}

var (
	// ErrConflict means the session changed since it was loaded.
	ErrConflict = errors.New("session changed concurrently")
	// ErrDuplicate means the input was processed already.
	ErrDuplicate = errors.New("input already processed")
)
