// Package stripe is Tandem's connector to Stripe: it writes local records to
// Stripe with stripe-go (its own retries off), maps fields both ways,
// classifies every failure for the engine, and keeps all calls of one
// process inside the configured rate budget.
//
// Every write carries an Idempotency-Key that starts with "tandem:" and is
// derived from the record and the version written, so retries and restarts
// replay instead of writing twice. A create first saves its key and
// parameters as the push's intent: a retry whose first attempt had an
// unknown outcome replays that same create, even if the record changed
// meanwhile, and never creates a second Stripe customer. An invoice push
// saves its intent the same way, then, when retried, works from what
// Stripe holds (the invoice and its items), so that no line is added twice.
package stripe

import (
	"context"
	"fmt"
	"net/http"
	"time"

	stripego "github.com/stripe/stripe-go/v86"

	"github.com/tandemsync/tandem"
)

// Name is the integration's name: the origin of changes from Stripe and the
// name of its links.
const Name = "stripe"

// MetadataKey is the Stripe metadata key holding Tandem's id of a record.
const MetadataKey = "tandem_id"

// Config configures the connector.
type Config struct {
	// SecretKey is the Stripe API key (sk_test_… or sk_live_…).
	SecretKey string
	// APIURL overrides Stripe's API address (an emulator, stripe-mock).
	APIURL string
	// RateLimit is the most requests per second this process sends.
	RateLimit float64
	// HTTPClient, when set, replaces the default client (30 s timeout).
	HTTPClient *http.Client
	// WebhookSecrets are the whsec_ secrets webhook deliveries may be signed
	// with (several while one is rotated).
	WebhookSecrets []string
	// Observer, when set, is told the outcome of every call to Stripe.
	Observer tandem.CallObserver
}

// Connector is the Stripe integration.
type Connector struct {
	api            *stripego.Client
	budget         *budget
	webhookSecrets []string
	observer       tandem.CallObserver
}

// New returns a connector for cfg.
func New(cfg Config) (*Connector, error) {
	if cfg.SecretKey == "" {
		return nil, fmt.Errorf("stripe: no secret key")
	}
	if cfg.RateLimit <= 0 {
		return nil, fmt.Errorf("stripe: rate limit must be positive, not %v", cfg.RateLimit)
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	backend := &stripego.BackendConfig{
		HTTPClient:        httpClient,
		MaxNetworkRetries: stripego.Int64(0), // the engine retries, after we classify
		LeveledLogger:     &stripego.LeveledLogger{Level: stripego.LevelNull},
	}
	if cfg.APIURL != "" {
		backend.URL = stripego.String(cfg.APIURL)
	}
	api := stripego.NewClient(cfg.SecretKey, stripego.WithBackends(stripego.NewBackendsWithConfig(backend)))
	return &Connector{api: api, budget: newBudget(cfg.RateLimit), webhookSecrets: cfg.WebhookSecrets,
		observer: cfg.Observer}, nil
}

var _ tandem.Selective = (*Connector)(nil)

// Name implements tandem.Integration.
func (c *Connector) Name() string { return Name }

// Kinds implements tandem.Selective: customers and their invoices.
func (c *Connector) Kinds() []tandem.Kind {
	return []tandem.Kind{tandem.KindCustomer, tandem.KindInvoice}
}

// Push implements tandem.Integration.
func (c *Connector) Push(ctx context.Context, req *tandem.PushRequest) (*tandem.PushResult, error) {
	switch req.Record.Ref.Kind {
	case tandem.KindCustomer:
		return c.pushCustomer(ctx, req)
	case tandem.KindInvoice:
		return c.pushInvoice(ctx, req)
	}
	return nil, &tandem.ProviderError{Class: tandem.Permanent,
		Err: fmt.Errorf("stripe: %s records are not synced", req.Record.Ref.Kind)}
}

// idempotencyKey is the key of one write: the same record, version and
// operation always give the same key.
func idempotencyKey(ref tandem.Ref, op string, version int64) string {
	return fmt.Sprintf("tandem:%s:%s:%s:v%d", ref.Kind, ref.ID, op, version)
}
