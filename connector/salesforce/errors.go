package salesforce

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tandemsync/tandem"
)

// Delays of RetryLater answers.
const (
	// concurrentDelay: Salesforce refused a call for too many long requests
	// at once (ConcurrentPerOrgLongTxn); they end within minutes.
	concurrentDelay = 5 * time.Second
	// defaultRetryAfter: a 429 (from a proxy in front) naming no delay.
	defaultRetryAfter = 5 * time.Second
	// exhaustedDelay: the org's daily allocation is spent; its oldest
	// requests leave the rolling 24 hours at a pace we cannot see.
	exhaustedDelay = 10 * time.Minute
)

// apiError is one error of a REST error answer: a JSON array of them.
// Composite items spell the code statusCode instead.
type apiError struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
}

func (e apiError) code() string {
	if e.ErrorCode != "" {
		return e.ErrorCode
	}
	return e.StatusCode
}

func (e apiError) String() string {
	s := e.code() + ": " + e.Message
	if len(e.Fields) > 0 {
		s += " (fields " + strings.Join(e.Fields, ", ") + ")"
	}
	return s
}

// transientCodes are error codes of a refused record that may pass when
// the same write is repeated.
var transientCodes = map[string]bool{
	"UNABLE_TO_LOCK_ROW": true, // another save holds the record
	// Composite allOrNone: this record was fine, another one failed.
	"ALL_OR_NONE_OPERATION_ROLLED_BACK": true,
	"SERVER_UNAVAILABLE":                true,
}

// classify turns a failed answer into a *tandem.ProviderError, following
// the REST API's documented answers:
//
//   - 403 REQUEST_LIMIT_EXCEEDED (Salesforce's 429) → RetryLater: minutes
//     for the daily allocation (TotalRequests), seconds for concurrent long
//     requests; a 429 from something in front → RetryLater too;
//   - 5xx → Retry: every write Tandem makes is an upsert by external id or
//     a delete, so repeating one that did apply does no harm;
//   - 401 (still refused after a fresh sign-in) → Retry, with a new sign-in;
//   - UNABLE_TO_LOCK_ROW → Retry;
//   - 300 (several records hold the external id), validation errors
//     (REQUIRED_FIELD_MISSING, INVALID_FIELD, DUPLICATE_VALUE,
//     FIELD_CUSTOM_VALIDATION_EXCEPTION, STRING_TOO_LONG, ...), 404 and every
//     other 4xx → Permanent, with Salesforce's message.
func classify(status int, header http.Header, body []byte) *tandem.ProviderError {
	errs := parseErrors(body)
	var code string
	if len(errs) > 0 {
		code = errs[0].code()
	}
	pe := &tandem.ProviderError{Class: tandem.Permanent, Err: describe(status, errs, body)}
	switch {
	case status == http.StatusMultipleChoices:
		pe.Err = fmt.Errorf("%w (several records hold this external id)", pe.Err)
	case status == http.StatusForbidden && code == "REQUEST_LIMIT_EXCEEDED":
		pe.Class, pe.Delay = tandem.RetryLater, concurrentDelay
		if strings.Contains(errs[0].Message, "TotalRequests") {
			pe.Delay = exhaustedDelay
		}
	case status == http.StatusTooManyRequests:
		pe.Class, pe.Delay = tandem.RetryLater, retryAfter(header)
	case status >= 500, status == http.StatusUnauthorized, transientCodes[code]:
		pe.Class = tandem.Retry
	}
	return pe
}

// classifyItem classifies the failure of one record of a composite call.
func classifyItem(errs []apiError) *tandem.ProviderError {
	pe := &tandem.ProviderError{Class: tandem.Permanent, Err: describe(0, errs, nil)}
	if len(errs) > 0 && transientCodes[errs[0].code()] {
		pe.Class = tandem.Retry
	}
	return pe
}

// describe is a failed answer as people read it: the status, and
// Salesforce's errors, or the start of a body that holds none.
func describe(status int, errs []apiError, body []byte) error {
	var b strings.Builder
	b.WriteString("salesforce:")
	if status != 0 {
		fmt.Fprintf(&b, " %d", status)
	}
	for i, e := range errs {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString(" " + e.String())
	}
	if len(errs) == 0 && len(body) > 0 {
		const most = 200
		s := strings.TrimSpace(string(body))
		if len(s) > most {
			s = s[:most] + "…"
		}
		b.WriteString(" " + s)
	}
	return errors.New(b.String())
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return defaultRetryAfter
}

// parseErrors returns the errors of a REST error answer; none when the body
// is something else (a 300's list of records, a proxy's HTML page).
func parseErrors(body []byte) []apiError {
	var errs []apiError
	if json.Unmarshal(body, &errs) != nil {
		return nil
	}
	for _, e := range errs {
		if e.code() == "" {
			return nil
		}
	}
	return errs
}

// isSessionRefused reports a 401 INVALID_SESSION_ID answer.
func isSessionRefused(status int, body []byte) bool {
	errs := parseErrors(body)
	return status == http.StatusUnauthorized && len(errs) > 0 && errs[0].code() == "INVALID_SESSION_ID"
}

// class returns the class of a classified error.
func class(err error) tandem.ProviderClass {
	var pe *tandem.ProviderError
	if errors.As(err, &pe) {
		return pe.Class
	}
	return tandem.Retry
}
