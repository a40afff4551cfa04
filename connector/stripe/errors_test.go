package stripe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
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
	}{
		{"invalid parameter", 400, nil,
			`{"error":{"type":"invalid_request_error","code":"parameter_invalid_string","message":"Invalid email address: x","param":"email"}}`,
			tandem.Permanent, 0, "Invalid email address: x (param email)"},
		{"bad key", 401, nil, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`,
			tandem.Permanent, 0, "401"},
		{"missing", 404, nil, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such customer"}}`,
			tandem.Permanent, 0, "resource_missing"},
		{"same key other params", 400, nil, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`,
			tandem.Permanent, 0, "idempotency_error"},
		{"key in use", 409, nil, `{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"in use"}}`,
			tandem.Retry, 0, ""},
		{"lock timeout", 429, nil, `{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"locked"}}`,
			tandem.Retry, 0, ""},
		{"rate limit with Retry-After", 429, map[string]string{"Retry-After": "3"},
			`{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`,
			tandem.RetryLater, 3 * time.Second, ""},
		{"rate limit", 429, nil, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`,
			tandem.RetryLater, time.Second, ""},
		{"server error", 500, nil, `{"error":{"type":"api_error","message":"Something went wrong"}}`,
			tandem.Ambiguous, 0, "api_error"},
		{"should retry", 400, map[string]string{"Stripe-Should-Retry": "true"},
			`{"error":{"type":"invalid_request_error","message":"try again"}}`, tandem.Retry, 0, ""},
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
			c := newTestConnector(t, srv.URL)
			err := c.call(context.Background(), func() error {
				_, err := c.api.V1Customers.Retrieve(context.Background(), "cus_1", nil)
				return err
			})
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
	c := newTestConnector(t, srv.URL)
	err := c.call(context.Background(), func() error {
		_, err := c.api.V1Customers.Retrieve(context.Background(), "cus_1", nil)
		return err
	})
	if class(err) != tandem.Retry {
		t.Fatalf("unreachable Stripe: %v, want Retry", err)
	}
}

// TestClassifyTimeout: a Stripe that answers too late is retried with the
// same key (the write may or may not have happened; the key makes the retry
// safe).
func TestClassifyTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c, err := New(Config{SecretKey: testKey, APIURL: srv.URL, RateLimit: 1000,
		HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.call(context.Background(), func() error {
		_, err := c.api.V1Customers.Retrieve(context.Background(), "cus_1", nil)
		return err
	})
	if class(err) != tandem.Retry {
		t.Fatalf("timeout: %v, want Retry", err)
	}
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
	c, err := New(Config{SecretKey: testKey, APIURL: url, RateLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
