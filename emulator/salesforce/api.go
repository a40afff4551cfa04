package salesforce

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Request is one API request the emulator answered (token requests are
// not listed).
type Request struct {
	Method string
	Path   string
	Query  string
	Status int
	// User is the user the session belongs to; empty without a session.
	User string
	// CallOptions is the Sforce-Call-Options header sent with it.
	CallOptions string
}

// call is one API request as an endpoint sees it.
type call struct {
	r       *http.Request
	version string // "62.0"
	user    string
}

// endpoint handles one API operation and returns the status and the value
// to answer as JSON (nil: no body), or an error (an *Error is answered as
// is, anything else as a 500). Endpoints run with e.mu held.
type endpoint func(c *call) (status int, body any, err error)

var versionPattern = regexp.MustCompile(`^v([1-9][0-9]?\.0)$`)

// api turns an endpoint into an http.Handler that does what Salesforce does
// around every API call, in this order: latency, the API version, the
// session, the daily limit, the faults, then the operation. Every answer
// carries Sforce-Limit-Info and every request is logged.
func (e *Emulator) api(h endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sleep(r.Context(), e.faults.latency())
		status, body, usage := e.answer(r, h)
		w.Header().Set("Sforce-Limit-Info", usage)
		if body != nil {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

// answer runs the endpoint under e.mu, logs the request and returns the
// status, the encoded body (nil: none) and the Sforce-Limit-Info value.
func (e *Emulator) answer(r *http.Request, h endpoint) (status int, body []byte, usage string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := &call{r: r}
	status, v, err := e.run(c, h)
	if err != nil {
		apiErr, ok := errors.AsType[*Error](err)
		if !ok {
			apiErr = serverError()
		}
		status, v = apiErr.Status, []*Error{apiErr}
	}
	if v != nil {
		body = mustJSON(v)
	}
	e.requests = append(e.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status,
		User: c.user, CallOptions: r.Header.Get("Sforce-Call-Options")})
	return status, body, fmt.Sprintf("api-usage=%d/%d", len(e.usage), e.cfg.DailyLimit)
}

// mustJSON encodes v, one of the emulator's own answers, which always encode.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("salesforce emulator: encoding JSON: " + err.Error())
	}
	return b
}

func (e *Emulator) run(c *call, h endpoint) (int, any, error) {
	m := versionPattern.FindStringSubmatch(c.r.PathValue("version"))
	if m == nil {
		return 0, nil, notFound()
	}
	c.version = m[1]
	if obj := c.r.PathValue("object"); obj != "" && obj != e.object {
		return 0, nil, notFound()
	}
	user, ok := e.authenticate(c.r)
	if !ok {
		return 0, nil, invalidSession()
	}
	c.user = user
	e.pruneUsage()
	if len(e.usage) >= e.cfg.DailyLimit {
		return 0, nil, requestLimitExceeded("TotalRequests")
	}
	e.usage = append(e.usage, e.now())
	if err := e.faults.before(); err != nil {
		return 0, nil, err
	}
	return h(c)
}

// pruneUsage forgets the API calls older than 24 hours.
func (e *Emulator) pruneUsage() {
	cutoff := e.now().Add(-24 * time.Hour)
	i := 0
	for i < len(e.usage) && !e.usage[i].After(cutoff) {
		i++
	}
	e.usage = e.usage[i:]
}

// decode reads the JSON body of c into v.
func (c *call) decode(v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, c.r.Body, 10<<20))
	if err := dec.Decode(v); err != nil {
		return badRequest("JSON_PARSER_ERROR", "%s", err)
	}
	return nil
}

// fields reads the JSON record of c's body as Fields.
func (c *call) fields() (Fields, error) {
	var body map[string]json.RawMessage
	if err := c.decode(&body); err != nil {
		return nil, err
	}
	fs, err := fieldsOf(body)
	if err != nil {
		return nil, err
	}
	return fs, nil
}

// fieldsOf turns a JSON record into Fields, leaving out attributes: values
// must be strings or null (null empties the field).
func fieldsOf(record map[string]json.RawMessage) (Fields, *Error) {
	fs := Fields{}
	for k, raw := range record {
		if k == "attributes" {
			continue
		}
		var v *string
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, badRequest("JSON_PARSER_ERROR", "Cannot deserialize instance of string from %s value for field %s",
				strings.TrimSpace(string(raw)), k)
		}
		if v != nil {
			fs[k] = *v
		} else {
			fs[k] = ""
		}
	}
	return fs, nil
}

// limits answers the daily API requests allocation.
func (e *Emulator) limits(*call) (int, any, error) {
	type limit struct {
		Max       int `json:"Max"`
		Remaining int `json:"Remaining"`
	}
	return http.StatusOK, map[string]limit{
		"DailyApiRequests": {Max: e.cfg.DailyLimit, Remaining: max(0, e.cfg.DailyLimit-len(e.usage))},
	}, nil
}
