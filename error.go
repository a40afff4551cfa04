package tandem

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each layer maps them to its own terms in one place (httpapi to
// HTTP statuses).
const (
	ECONFLICT     = "conflict"     // the request conflicts with stored state
	EINTERNAL     = "internal"     // a bug or an unexpected failure
	EINVALID      = "invalid"      // the input is not acceptable
	ENOTFOUND     = "not_found"    // no such record
	EPRECONDITION = "precondition" // the record changed since the caller read it
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) is unreachable
)

// Error is an application error with a code callers can act on. Field names
// the offending input field, when there is one.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("tandem: %s: %s", e.Field, e.Message)
	}
	return "tandem: " + e.Message
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID *Error about one input field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic message that reveals nothing internal.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ProviderClass says what a failed call to a provider means for the engine.
type ProviderClass int

// The classes of provider failures.
const (
	// Retry: transient; try again with backoff, with the same idempotency key.
	Retry ProviderClass = iota
	// Permanent: the request can never succeed as it is; park the record.
	Permanent
	// RetryLater: the provider asked to wait (rate limit); try after Delay.
	RetryLater
	// Ambiguous: the provider may or may not have applied the write; find out
	// before writing again.
	Ambiguous
)

// ProviderError is a provider failure as classified by its connector.
type ProviderError struct {
	Class ProviderClass
	// Delay is how long to wait before the next attempt (RetryLater).
	Delay time.Duration
	Err   error
}

func (e *ProviderError) Error() string { return e.Err.Error() }
func (e *ProviderError) Unwrap() error { return e.Err }
