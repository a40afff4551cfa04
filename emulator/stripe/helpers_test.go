package stripe

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v86"
	"github.com/stripe/stripe-go/v86/webhook"
)

const testKey = "sk_test_emulator"

// harness is an emulator behind an HTTP server, with a real stripe-go client.
type harness struct {
	em     *Emulator
	url    string
	client *stripego.Client
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	if cfg.SecretKey == "" {
		cfg.SecretKey = testKey
	}
	if cfg.WebhookBackoff == 0 {
		cfg.WebhookBackoff = 5 * time.Millisecond
	}
	em, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em)
	t.Cleanup(func() {
		srv.Close()
		_ = em.Close()
	})
	return &harness{em: em, url: srv.URL, client: newClient(srv.URL, cfg.SecretKey)}
}

// newClient is stripe-go pointed at url, without its own retries, as Tandem
// configures it.
func newClient(url, key string) *stripego.Client {
	return stripego.NewClient(key, stripego.WithBackends(stripego.NewBackendsWithConfig(&stripego.BackendConfig{
		URL:               stripego.String(url),
		MaxNetworkRetries: stripego.Int64(0),
		LeveledLogger:     &stripego.LeveledLogger{Level: stripego.LevelNull},
	})))
}

// create creates a customer through the API, with an idempotency key unless key is empty.
func (h *harness) create(t *testing.T, key string, p *stripego.CustomerCreateParams) *stripego.Customer {
	t.Helper()
	if key != "" {
		p.SetIdempotencyKey(key)
	}
	c, err := h.client.V1Customers.Create(t.Context(), p)
	if err != nil {
		t.Fatalf("create customer: %v", err)
	}
	return c
}

// waitWebhooks waits, for at most 5 seconds, until no delivery is pending.
func (h *harness) waitWebhooks(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := h.em.WaitWebhooks(ctx); err != nil {
		t.Fatalf("webhook deliveries still pending: %v", err)
	}
}

// stripeError returns err as the *stripe.Error stripe-go decoded, or fails.
func stripeError(t *testing.T, err error) *stripego.Error {
	t.Helper()
	var se *stripego.Error
	if !errors.As(err, &se) {
		t.Fatalf("got error %v (%T), want a *stripe.Error", err, err)
	}
	return se
}

// checkError checks that err is the Stripe error with this status, type, code and param.
func checkError(t *testing.T, err error, status int, typ stripego.ErrorType, code stripego.ErrorCode, param string) {
	t.Helper()
	se := stripeError(t, err)
	if se.HTTPStatusCode != status || se.Type != typ || se.Code != code || se.Param != param {
		t.Errorf("got error %d %s code=%q param=%q (%s), want %d %s code=%q param=%q",
			se.HTTPStatusCode, se.Type, se.Code, se.Param, se.Msg, status, typ, code, param)
	}
	if se.RequestID == "" {
		t.Error("error answer has no Request-Id")
	}
}

// receiver is a webhook endpoint that verifies every delivery with
// stripe-go's webhook.ConstructEvent, as Tandem will.
type receiver struct {
	t      *testing.T
	secret string
	url    string

	mu       sync.Mutex
	failures int // answer 500 to this many more deliveries
	attempts int
	events   []stripego.Event // verified and acknowledged, in arrival order
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t, secret: "whsec_test_secret"}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ev, err := webhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), rc.secret)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	switch {
	case err != nil:
		rc.t.Errorf("webhook does not verify: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
	case rc.failures > 0:
		rc.failures--
		http.Error(w, "failing on purpose", http.StatusInternalServerError)
	default:
		rc.events = append(rc.events, ev)
	}
}

func (rc *receiver) webhook() Webhook { return Webhook{URL: rc.url, Secret: rc.secret} }

func (rc *receiver) failNext(n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.failures = n
}

// received returns the ids of the events acknowledged so far, and the
// number of delivery attempts.
func (rc *receiver) received() (ids []string, attempts int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, ev := range rc.events {
		ids = append(ids, ev.ID)
	}
	return ids, rc.attempts
}

func (rc *receiver) receivedEvents() []stripego.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]stripego.Event(nil), rc.events...)
}

// eventIDs returns the ids of the emulator's events, oldest first.
func eventIDs(em *Emulator) []string {
	var ids []string
	for _, ev := range em.Events() {
		ids = append(ids, ev.ID)
	}
	return ids
}

// fakeClock is a Config.Now that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
