package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/tandemsync/tandem"
)

// maxAnswer bounds the body of one answer read (a query page of 2,000
// records is a few MB).
const maxAnswer = 32 << 20

// callOptions tags every call, so that Salesforce (CDC's changeOrigin) can
// tell Tandem's writes apart.
const callOptions = "client=tandem"

// dataPath returns the path of a REST resource of the configured version:
// dataPath("/sobjects/Contact") is "/services/data/v62.0/sobjects/Contact".
func (c *Connector) dataPath(resource string) string {
	return "/services/data/v" + c.cfg.APIVersion + resource
}

// do makes one API call, named op for the observer, inside the budget:
// path is relative to the instance URL, body (unless nil) is sent as JSON,
// and out (unless nil) receives the JSON of a successful answer. When the
// session has ended, it signs in again and repeats the call once. It
// returns the answer's status (also with a failure, which is classified).
func (c *Connector) do(ctx context.Context, op, method, path string, body, out any) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("salesforce: encode %s: %w", op, err)}
		}
	}
	if err := c.budget.take(ctx); err != nil {
		return 0, err
	}
	for attempt := 0; ; attempt++ {
		cr, err := c.session.get(ctx)
		if err != nil {
			c.report(op, 0, err)
			return 0, err
		}
		status, header, answer, err := c.send(ctx, cr, method, path, payload)
		if err != nil {
			c.report(op, 0, err)
			return 0, err
		}
		if attempt == 0 && isSessionRefused(status, answer) {
			c.session.expired(cr.gen)
			continue
		}
		if status < 200 || status > 299 {
			perr := classify(status, header, answer)
			c.report(op, status, perr)
			return status, perr
		}
		if out != nil && len(answer) > 0 {
			if err := json.Unmarshal(answer, out); err != nil {
				perr := &tandem.ProviderError{Class: tandem.Retry,
					Err: fmt.Errorf("salesforce: %s: decode the %d answer: %w", op, status, err)}
				c.report(op, status, perr)
				return status, perr
			}
		}
		c.report(op, status, nil)
		return status, nil
	}
}

// send makes one HTTP request with the session cr and returns the answer;
// a request that got no answer is a Retry.
func (c *Connector) send(ctx context.Context, cr credentials, method, path string, payload []byte) (
	status int, header http.Header, answer []byte, err error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, cr.instance+path, body)
	if err != nil {
		return 0, nil, nil, &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("salesforce: %w", err)}
	}
	req.Header.Set("Authorization", "Bearer "+cr.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sforce-Call-Options", callOptions)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, &tandem.ProviderError{Class: tandem.Retry, Err: fmt.Errorf("salesforce: %s: %w", method, err)}
	}
	defer resp.Body.Close()
	c.budget.observe(resp.Header)
	answer, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, nil, &tandem.ProviderError{Class: tandem.Retry, Err: fmt.Errorf("salesforce: read the answer: %w", err)}
	}
	return resp.StatusCode, resp.Header, answer, nil
}

// report tells the observer the outcome of one call: its status (0 for
// none) and its classified failure.
func (c *Connector) report(op string, status int, err error) {
	if c.observer == nil {
		return
	}
	c.observer.ProviderCall(Name, op, outcome(status, err))
}

func outcome(status int, err error) string {
	switch {
	case err == nil:
		return tandem.CallOK
	case status == http.StatusNotFound:
		return tandem.CallNotFound
	}
	switch class(err) {
	case tandem.RetryLater:
		return tandem.CallRateLimited
	case tandem.Permanent:
		return tandem.CallPermanent
	}
	if status == 0 {
		return tandem.CallNetwork
	}
	return tandem.CallRetry
}
