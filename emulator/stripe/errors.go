package stripe

import (
	"fmt"
	"net/http"
)

// Error is an error in Stripe's shape, answered as
// {"error": {"type": ..., "code": ..., "message": ..., "param": ...}} with
// Status as the HTTP status. The Editor's methods return it too.
type Error struct {
	Status  int    `json:"-"`
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`

	// rejected marks an error raised before the endpoint ran (its parameters
	// were refused): Stripe saves no result under the idempotency key then.
	rejected bool
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// invalidParam is a 400 for a parameter Stripe refuses before running the endpoint.
func invalidParam(param, code, format string, args ...any) *Error {
	return &Error{
		Status: http.StatusBadRequest, Type: "invalid_request_error", Code: code, Param: param,
		Message: fmt.Sprintf(format, args...), rejected: true,
	}
}

func unknownParam(param string) *Error {
	return invalidParam(param, "parameter_unknown", "Received unknown parameter: %s", param)
}

// resourceMissing is Stripe's 404 for an id that names nothing.
func resourceMissing(kind, param, id string) *Error {
	return &Error{
		Status: http.StatusNotFound, Type: "invalid_request_error", Code: "resource_missing", Param: param,
		Message: fmt.Sprintf("No such %s: '%s'", kind, id),
	}
}

func unrecognizedURL(r *http.Request) *Error {
	return &Error{
		Status: http.StatusNotFound, Type: "invalid_request_error", rejected: true,
		Message: fmt.Sprintf("Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", r.Method, r.URL.Path),
	}
}

func unauthorized(r *http.Request) *Error {
	msg := "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
	if r.Header.Get("Authorization") != "" {
		msg = "Invalid API Key provided."
	}
	return &Error{Status: http.StatusUnauthorized, Type: "invalid_request_error", Message: msg, rejected: true}
}

func rateLimited() *Error {
	return &Error{
		Status: http.StatusTooManyRequests, Type: "invalid_request_error", Code: "rate_limit", rejected: true,
		Message: "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
	}
}

func apiFailure() *Error {
	return &Error{Status: http.StatusInternalServerError, Type: "api_error", Message: "An unknown error occurred"}
}
