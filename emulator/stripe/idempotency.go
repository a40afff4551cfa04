package stripe

// idempotentRequest is what an idempotency key is bound to by its first use.
type idempotentRequest struct {
	endpoint string // "POST /v1/customers"
	params   string // the form, encoded with sorted keys
}

// savedResponse is the first answer given under an idempotency key. The
// emulator keeps keys for its lifetime (Stripe: at least 24 hours).
type savedResponse struct {
	idempotentRequest
	requestID string
	response  response
}

// replay answers a request that reuses key: the first answer again, or
// Stripe's idempotency_error when the request is not the same as the first.
func (s savedResponse) replay(r idempotentRequest, key string) response {
	switch {
	case r.endpoint != s.endpoint:
		return errorResponse(idempotencyError(
			"Keys for idempotent requests can only be used for the same endpoint they were first used for ('%s' vs '%s'). Try using a key other than '%s' if you meant to execute a different request.",
			s.endpoint, r.endpoint, key))
	case r.params != s.params:
		return errorResponse(idempotencyError(
			"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.",
			key))
	}
	res := s.response
	res.originalRequest = s.requestID
	return res
}

func idempotencyError(format string, args ...any) *Error {
	err := invalidParam("", "", format, args...)
	err.Type = "idempotency_error"
	return err
}
