package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
)

// TestClassify answers a real stripe-go call with each kind of Stripe
// failure and checks what the connector makes of it.
func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		class  tandem.ProviderClass
		delay  time.Duration
		text   string // in the error message
		// outcome is what the observer hears.
		outcome string
	}{
		{"invalid parameter", 400, nil,
			`{"error":{"type":"invalid_request_error","code":"parameter_invalid_string","message":"Invalid email address: x","param":"email"}}`,
			tandem.Permanent, 0, "Invalid email address: x (param email)", tandem.CallPermanent},
		{"bad key", 401, nil, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`,
			tandem.Permanent, 0, "401", tandem.CallPermanent},
		{"missing", 404, nil, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such customer"}}`,
			tandem.Permanent, 0, "resource_missing", tandem.CallNotFound},
		{"same key other params", 400, nil, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`,
			tandem.Permanent, 0, "idempotency_error", tandem.CallPermanent},
		{"key in use", 409, nil, `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"in use"}}`,
			tandem.Retry, 0, "", tandem.CallRetry},
		{"lock timeout", 429, nil, `{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"locked"}}`,
			tandem.Retry, 0, "", tandem.CallRetry},
		{"rate limit with Retry-After", 429, map[string]string{"Retry-After": "3"},
			`{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`,
			tandem.RetryLater, 3 * time.Second, "", tandem.CallRateLimited},
		{"rate limit", 429, nil, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`,
			tandem.RetryLater, time.Second, "", tandem.CallRateLimited},
		{"server error", 500, nil, `{"error":{"type":"api_error","message":"Something went wrong"}}`,
			tandem.Ambiguous, 0, "api_error", tandem.CallAmbiguous},
		{"should retry", 400, map[string]string{"Stripe-Should-Retry": "true"},
			`{"error":{"type":"invalid_request_error","message":"try again"}}`, tandem.Retry, 0, "", tandem.CallRetry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Request-Id", "req_test")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, calls := newObservedConnector(t, srv.URL, nil)
			err := c.call(context.Background(), "retrieve", func() error {
				_, err := c.api.V1Customers.Retrieve(context.Background(), "cus_1", nil)
				return err
			})
			calls.want(t, "retrieve "+tc.outcome)
			var pe *tandem.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a ProviderError", err)
			}
			if pe.Class != tc.class || pe.Delay != tc.delay {
				t.Fatalf("class %v delay %v, want %v %v (%v)", pe.Class, pe.Delay, tc.class, tc.delay, err)
			}
			if !strings.Contains(err.Error(), tc.text) || strings.Contains(err.Error(), testKey) {
				t.Fatalf("message %q: want it to contain %q and never the key", err, tc.text)
			}
		})
	}
}

func TestClassifyNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	c, calls := newObservedConnector(t, srv.URL, nil)
	err := c.call(context.Background(), "retrieve", func() error {
		_, err := c.api.V1Customers.Retrieve(context.Background(), "cus_1", nil)
		return err
	})
	if class(err) != tandem.Retry {
		t.Fatalf("unreachable Stripe: %v, want Retry", err)
	}
	calls.want(t, "retrieve network")
}

// TestClassifyTimeout: a Stripe that answers too late is retried with the
// same key (the write may or may not have happened; the key makes the retry
// safe).
func TestClassifyTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c, calls := newObservedConnector(t, srv.URL, &http.Client{Timeout: 50 * time.Millisecond})
	err := c.call(context.Background(), "retrieve", func() error {
		_, err := c.api.V1Customers.Retrieve(context.Background(), "cus_1", nil)
		return err
	})
	if class(err) != tandem.Retry {
		t.Fatalf("timeout: %v, want Retry", err)
	}
	calls.want(t, "retrieve network")
}

// TestThrottledSlowsEveryone: after a 429, the budget pauses every caller
// and halves the rate, then restores it.
func TestThrottledSlowsEveryone(t *testing.T) {
	b := newBudget(20)
	b.throttled(50 * time.Millisecond)
	if got := b.limiter.Limit(); got != 10 {
		t.Fatalf("limit after a 429 = %v, want 10", got)
	}
	start := time.Now()
	if err := b.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("a call went out %v after a 429 asking for 50ms", waited)
	}
	b.mu.Lock()
	b.restoreAt = time.Now().Add(-time.Millisecond) // the slowdown is over
	b.mu.Unlock()
	if err := b.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := b.limiter.Limit(); got != 20 {
		t.Fatalf("limit after the slowdown = %v, want 20 again", got)
	}
}

const testKey = "sk_test_connector"

func newTestConnector(t *testing.T, url string) *Connector {
	t.Helper()
	c, _ := newObservedConnector(t, url, nil)
	return c
}

// newObservedConnector returns a connector to url (through httpClient,
// when not nil) whose calls are recorded.
func newObservedConnector(t testing.TB, url string, httpClient *http.Client) (*Connector, *callLog) {
	t.Helper()
	calls := &callLog{}
	c, err := New(Config{SecretKey: testKey, APIURL: url, RateLimit: 1000, HTTPClient: httpClient, Observer: calls})
	if err != nil {
		t.Fatal(err)
	}
	return c, calls
}

// callLog is a tandem.CallObserver that records "operation outcome" of
// every call.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) ProviderCall(integration, operation, outcome string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, operation+" "+outcome)
}

// want fails the test unless the calls recorded are exactly want.
func (l *callLog) want(t *testing.T, want ...string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Equal(l.calls, want) {
		t.Fatalf("calls observed: %q, want %q", l.calls, want)
	}
}

// TestListPagesObserved: every page of a list is one call to the observer,
// the failed one with its outcome.
func TestListPagesObserved(t *testing.T) {
	var pages atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := pages.Add(1)
		if page == 3 {
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`))
			return
		}
		var data []string
		for i := range pageSize {
			data = append(data, fmt.Sprintf(`{"id":"cus_%d_%d","object":"customer","metadata":{}}`, page, i))
		}
		fmt.Fprintf(w, `{"object":"list","url":"/v1/customers","has_more":true,"data":[%s]}`, strings.Join(data, ","))
	}))
	defer srv.Close()
	c, calls := newObservedConnector(t, srv.URL, nil)
	id, err := c.findByTandemID(context.Background(), "tdmc_absent", 0)
	if class(err) != tandem.RetryLater || id != "" {
		t.Fatalf("find: %q, %v; want the 429 of the third page", id, err)
	}
	calls.want(t, "list_customers ok", "list_customers ok", "list_customers rate_limited")
}
