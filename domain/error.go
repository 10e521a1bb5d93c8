package domain

import (
	"errors"
	"fmt"
)

// Error codes, in the style of a small closed set that every layer maps its
// failures onto. The customer-facing part of an error is a locale key, never
// English text.
const (
	ECONFLICT    = "conflict"    // the action conflicts with the current state
	EINTERNAL    = "internal"    // an unexpected failure
	EINVALID     = "invalid"     // the input is malformed
	ENOTFOUND    = "not_found"   // the thing does not exist (or must not be disclosed)
	EFORBIDDEN   = "forbidden"   // the caller may not see or do this
	ELIMIT       = "limit"       // a policy or rate limit forbids it
	EUNAVAILABLE = "unavailable" // an outside dependency is down; try again later
)

// Error is a domain error: a code, the locale key to show the customer, the
// operation that failed and the wrapped cause.
type Error struct {
	Code string // one of the E* constants
	Key  string // locale key for the customer, e.g. "error.order_not_found"
	Op   string // the operation, e.g. "lookup order"
	Err  error  // the cause, if any
}

// Error implements error. It never contains customer-facing text.
func (e *Error) Error() string {
	switch {
	case e.Op != "" && e.Err != nil:
		return fmt.Sprintf("%s: %s: %v", e.Op, e.Code, e.Err)
	case e.Op != "":
		return e.Op + ": " + e.Code
	case e.Err != nil:
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and locale key, and a cause
// formatted from format and args.
func Errorf(code, key, format string, args ...any) *Error {
	return &Error{Code: code, Key: key, Err: fmt.Errorf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorKey returns the locale key of the first *Error in err's chain that has
// one, and "error.internal" otherwise.
func ErrorKey(err error) string {
	var e *Error
	for err != nil {
		if errors.As(err, &e) {
			if e.Key != "" {
				return e.Key
			}
			err = e.Err
			continue
		}
		break
	}
	return "error.internal"
}
