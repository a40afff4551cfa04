package salesforce

import (
	"fmt"
	"net/http"
)

// Error is one Salesforce REST error, answered as a JSON array of one
// {message, errorCode, fields} with Status as the HTTP status. The Editor's
// methods return it too.
type Error struct {
	Status    int      `json:"-"`
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

// Error returns the code and the message.
func (e *Error) Error() string { return e.ErrorCode + ": " + e.Message }

// itemError is an error as the composite API reports it for one record:
// with statusCode instead of errorCode.
type itemError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func (e *Error) item() itemError {
	fields := e.Fields
	if fields == nil {
		fields = []string{}
	}
	return itemError{StatusCode: e.ErrorCode, Message: e.Message, Fields: fields}
}

func newError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, ErrorCode: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(code, format string, args ...any) *Error {
	return newError(http.StatusBadRequest, code, format, args...)
}

func notFound() *Error {
	return newError(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
}

func invalidSession() *Error {
	return newError(http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
}

func requestLimitExceeded(what string) *Error {
	return newError(http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "%s Limit exceeded.", what)
}

func serverError() *Error {
	return newError(http.StatusInternalServerError, "UNKNOWN_EXCEPTION",
		"An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)")
}

func unavailable() *Error {
	return newError(http.StatusServiceUnavailable, "SERVER_UNAVAILABLE", "Server is temporarily unavailable.")
}
