package stripe

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	stripego "github.com/stripe/stripe-go/v86"
)

// Request is one API request the emulator answered.
type Request struct {
	ID             string // its Request-Id
	Method         string
	Path           string
	IdempotencyKey string
	Status         int
	// Replayed is set when the answer was the idempotency key's first one.
	Replayed bool
}

// call is one API request as an endpoint sees it.
type call struct {
	r      *http.Request
	form   *form
	origin origin
}

// endpoint handles one API operation and returns the object to answer, or an
// error (an *Error is answered as is; anything else as a 500). Endpoints run
// with e.mu held.
type endpoint func(c *call) (any, error)

// createEndpoint is POST /v1/{resource}: the parameters read reads, and no
// others, made into an object by add.
func createEndpoint[P, T any](read func(*form) (P, error), add func(P, origin) (T, error)) endpoint {
	return updateEndpoint(read, func(_ string, p P, o origin) (T, error) { return add(p, o) })
}

// updateEndpoint is POST /v1/{resource}/{id}: the parameters read reads, and
// no others, applied to the object by change.
func updateEndpoint[P, T any](read func(*form) (P, error), change func(string, P, origin) (T, error)) endpoint {
	return func(c *call) (any, error) {
		p, err := read(c.form)
		if err != nil {
			return nil, err
		}
		if err := c.form.unknown(); err != nil {
			return nil, err
		}
		return change(c.r.PathValue("id"), p, c.origin)
	}
}

// deleteEndpoint is DELETE /v1/{resource}/{id}: the object deleted by
// remove, answered as Stripe's stub of a deleted object.
func deleteEndpoint[T any](object string, remove func(string, origin) (T, error)) endpoint {
	return func(c *call) (any, error) {
		if err := c.form.unknown(); err != nil {
			return nil, err
		}
		id := c.r.PathValue("id")
		if _, err := remove(id, c.origin); err != nil {
			return nil, err
		}
		return deletedObject{ID: id, Object: object, Deleted: true}, nil
	}
}

// response is an API answer ready to be written.
type response struct {
	status int
	body   []byte
	// originalRequest is, for a replay, the Request-Id of the first answer.
	originalRequest string
	// shouldRetry, when set, is sent as Stripe-Should-Retry.
	shouldRetry string
}

func errorResponse(err *Error) response {
	return response{status: err.Status, body: mustJSON(map[string]*Error{"error": err})}
}

func (res response) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if res.originalRequest != "" {
		h.Set("Idempotent-Replayed", "true")
		h.Set("Original-Request", res.originalRequest)
	}
	if res.shouldRetry != "" {
		h.Set("Stripe-Should-Retry", res.shouldRetry)
	}
	w.WriteHeader(res.status)
	_, _ = w.Write(res.body)
}

// api turns an endpoint into an http.Handler that does what Stripe does
// around every operation, in this order: Request-Id, latency,
// authentication, rate limit, idempotency replay, then the operation with
// faults on either side of it, and saving the answer under the key. Every
// request is logged.
func (e *Emulator) api(h endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newID("req")
		key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
		w.Header().Set("Request-Id", id)
		w.Header().Set("Stripe-Version", stripego.APIVersion)
		res := e.answer(r, origin{requestID: id, idempotencyKey: key}, h)
		e.mu.Lock()
		e.requests = append(e.requests, Request{
			ID: id, Method: r.Method, Path: r.URL.Path, IdempotencyKey: key, Status: res.status,
			Replayed: res.originalRequest != "",
		})
		e.mu.Unlock()
		res.write(w)
	})
}

func (e *Emulator) answer(r *http.Request, o origin, h endpoint) response {
	e.faults.delay(r.Context())
	if !e.authorized(r) {
		return errorResponse(unauthorized(r))
	}
	if !e.faults.allow() {
		return errorResponse(rateLimited())
	}
	if len(o.idempotencyKey) > 255 {
		return errorResponse(invalidParam("", "", "Idempotency-Key must be at most 255 characters."))
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return errorResponse(invalidParam("", "", "Invalid request body: %v", err))
	}
	// Stripe keeps the results of writes; reads need no key.
	write := r.Method == http.MethodPost || r.Method == http.MethodDelete
	key := o.idempotencyKey
	if !write {
		key = ""
	}
	request := idempotentRequest{endpoint: r.Method + " " + r.URL.Path, params: r.Form.Encode()}

	e.mu.Lock()
	defer e.mu.Unlock()
	if saved, ok := e.idempotency[key]; ok {
		return saved.replay(request, key)
	}
	if e.faults.fire(&e.faults.failBefore) {
		res := errorResponse(apiFailure())
		res.shouldRetry = "true" // nothing happened and nothing was saved
		return res
	}
	if write && e.faults.fire(&e.faults.reject) {
		return errorResponse(invalidParam("", "", "This request was refused (the emulator's RejectWrites fault)."))
	}
	f := newForm(r.Form)
	if _, err := f.list("expand"); err != nil { // accepted everywhere, expands nothing
		return errorResponse(asError(err))
	}
	res, saved := run(h, &call{r: r, form: f, origin: o})
	if write && res.status == http.StatusOK && e.faults.fire(&e.faults.failAfter) {
		res = errorResponse(apiFailure())
		res.shouldRetry = "false" // the change is made; the key replays this 500
	}
	if key != "" && saved {
		e.idempotency[key] = savedResponse{idempotentRequest: request, requestID: o.requestID, response: res}
	}
	return res
}

// run calls the endpoint and encodes its answer. saved reports whether
// Stripe would keep the answer under an idempotency key: not when the
// request was refused before the endpoint ran.
func run(h endpoint, c *call) (res response, saved bool) {
	v, err := h(c)
	if err != nil {
		apiErr := asError(err)
		return errorResponse(apiErr), !apiErr.rejected
	}
	return response{status: http.StatusOK, body: mustJSON(v)}, true
}

func asError(err error) *Error {
	if apiErr, ok := errors.AsType[*Error](err); ok {
		return apiErr
	}
	return apiFailure()
}

// authorized accepts the key as Stripe does: a bearer token, or the user of
// basic auth (curl -u sk_test_…:).
func (e *Emulator) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		got, _, ok = r.BasicAuth()
	}
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(e.secretKey)) == 1
}

// deletedObject is what Stripe answers for a deleted object.
type deletedObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// mustJSON encodes v, one of the emulator's own types, which always encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("stripe emulator: encoding JSON: " + err.Error())
	}
	return b
}
