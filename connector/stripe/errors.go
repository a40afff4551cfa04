package stripe

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	stripego "github.com/stripe/stripe-go/v86"

	"github.com/tandemsync/tandem"
)

// defaultRetryAfter is how long to wait after a 429 that names no delay.
const defaultRetryAfter = time.Second

// classify turns a failed call into a *tandem.ProviderError saying what it
// means, following Stripe's documented semantics:
//
//   - no answer (network error, timeout), 409 idempotency_key_in_use,
//     429 lock_timeout, or Stripe-Should-Retry: true → retry with the same key;
//   - 429 rate_limit → wait (Retry-After, or a second) and slow every call
//     down;
//   - any other 5xx → ambiguous: Stripe may have applied the write and will
//     replay the failure for the same key;
//   - other 4xx (invalid parameters, authentication, missing object,
//     idempotency_error) → permanent.
func (c *Connector) classify(err error) error {
	var se *stripego.Error
	if !errors.As(err, &se) {
		return &tandem.ProviderError{Class: tandem.Retry, Err: fmt.Errorf("stripe: %w", err)}
	}
	pe := &tandem.ProviderError{Err: describe(se)}
	var header http.Header
	if se.LastResponse != nil {
		header = se.LastResponse.Header
	}
	switch status := se.HTTPStatusCode; {
	case header.Get("Stripe-Should-Retry") == "true",
		status == http.StatusConflict && se.Code == stripego.ErrorCodeIdempotencyKeyInUse,
		status == http.StatusTooManyRequests && se.Code == stripego.ErrorCodeLockTimeout:
		pe.Class = tandem.Retry
	case status == http.StatusTooManyRequests:
		pe.Class, pe.Delay = tandem.RetryLater, retryAfter(header)
		c.budget.throttled(pe.Delay)
	case status >= 500:
		pe.Class = tandem.Ambiguous
	case status == 0:
		pe.Class = tandem.Retry // no HTTP answer at all
	default:
		pe.Class = tandem.Permanent
	}
	return pe
}

// describe is a Stripe error as people read it: status, type and code, and
// Stripe's own message (which never holds the API key).
func describe(se *stripego.Error) error {
	code := string(se.Type)
	if se.Code != "" {
		code += "/" + string(se.Code)
	}
	msg := fmt.Sprintf("stripe: %d %s: %s", se.HTTPStatusCode, code, se.Msg)
	if se.Param != "" {
		msg += " (param " + se.Param + ")"
	}
	if se.RequestID != "" {
		msg += " [" + se.RequestID + "]"
	}
	return errors.New(msg)
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return defaultRetryAfter
}

// isMissing reports a 404 resource_missing: the object is not (or no longer)
// in Stripe.
func isMissing(err error) bool {
	var se *stripego.Error
	return errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound
}

// class returns the class of a classified error.
func class(err error) tandem.ProviderClass {
	var pe *tandem.ProviderError
	if errors.As(err, &pe) {
		return pe.Class
	}
	return tandem.Retry
}
