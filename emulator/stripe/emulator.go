package stripe

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Config configures an Emulator. Only SecretKey is required.
type Config struct {
	// SecretKey is the API key callers send as "Authorization: Bearer <key>"
	// (or as the user of basic auth).
	SecretKey string
	// Webhook, when its URL is set, receives every event. SetWebhook changes it.
	Webhook Webhook
	// WebhookAttempts bounds the delivery attempts of one event (default 5).
	WebhookAttempts int
	// WebhookBackoff is the wait before the first retry of a failed delivery;
	// it doubles after each failure (default 100ms).
	WebhookBackoff time.Duration
	// WebhookTimeout bounds one delivery attempt (default 10s).
	WebhookTimeout time.Duration
	// Faults are active from the start; SetFaults changes them.
	Faults Faults
	// Seed seeds the random source of the faults' probabilities, so that a
	// run can be reproduced.
	Seed uint64
	// Now is the clock of the objects' created timestamps (default time.Now).
	Now func() time.Time
	// Logger receives failed webhook deliveries (default: discarded).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.WebhookAttempts == 0 {
		c.WebhookAttempts = 5
	}
	if c.WebhookBackoff == 0 {
		c.WebhookBackoff = 100 * time.Millisecond
	}
	if c.WebhookTimeout == 0 {
		c.WebhookTimeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.SecretKey == "" {
		errs = append(errs, errors.New("stripe emulator: SecretKey is required"))
	}
	if err := c.Webhook.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.WebhookAttempts < 0 || c.WebhookBackoff < 0 || c.WebhookTimeout < 0 {
		errs = append(errs, errors.New("stripe emulator: webhook attempts, backoff and timeout must not be negative"))
	}
	if err := c.Faults.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (w Webhook) validate() error {
	if w.URL != "" && w.Secret == "" {
		return errors.New("stripe emulator: a webhook endpoint needs a Secret")
	}
	return nil
}

// Emulator is an in-process Stripe: an http.Handler serving the API under
// /v1/ and a dashboard page at /, with methods to read and change its state
// and to switch faults on and off. It is safe for concurrent use. Close it
// to stop its webhook deliveries.
type Emulator struct {
	secretKey string
	now       func() time.Time
	faults    *faultState
	webhooks  *deliverer
	handler   http.Handler

	// mu guards the state. API operations run whole under it, so writes are
	// serialized and two requests with one idempotency key cannot overlap.
	mu           sync.Mutex
	customers    collection[Customer]
	invoices     collection[Invoice]
	invoiceItems collection[InvoiceItem]
	// paymentIntents are the PaymentIntents of invoices' payment attempts.
	paymentIntents collection[PaymentIntent]
	events         collection[Event]
	// invoiceNumbers counts the finalized invoices of each customer.
	invoiceNumbers map[string]int
	idempotency    map[string]savedResponse
	requests       []Request
}

// New returns an emulator with no customers and no events.
func New(cfg Config) (*Emulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	e := &Emulator{
		secretKey:      cfg.SecretKey,
		now:            cfg.Now,
		faults:         newFaultState(cfg.Seed, cfg.Faults),
		customers:      newCollection[Customer](),
		invoices:       newCollection[Invoice](),
		invoiceItems:   newCollection[InvoiceItem](),
		paymentIntents: newCollection[PaymentIntent](),
		events:         newCollection[Event](),
		invoiceNumbers: map[string]int{},
		idempotency:    map[string]savedResponse{},
	}
	e.webhooks = newDeliverer(cfg, e.markDelivered)
	e.handler = e.routes()
	return e, nil
}

// routes lists everything the emulator serves.
func (e *Emulator) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h endpoint) { mux.Handle(pattern, e.api(h)) }
	api("POST /v1/customers", createEndpoint(readCustomerParams, e.addCustomer))
	api("GET /v1/customers", e.listCustomers)
	api("GET /v1/customers/{id}", e.retrieveCustomer)
	api("POST /v1/customers/{id}", updateEndpoint(readCustomerParams, e.changeCustomer))
	api("DELETE /v1/customers/{id}", deleteEndpoint("customer", e.removeCustomer))
	api("POST /v1/invoices", createEndpoint(readNewInvoiceParams, e.addInvoice))
	api("GET /v1/invoices", e.listInvoices)
	api("GET /v1/invoices/{id}", e.retrieveInvoice)
	api("POST /v1/invoices/{id}", updateEndpoint(readInvoiceParams, e.changeInvoice))
	api("DELETE /v1/invoices/{id}", deleteEndpoint("invoice", e.removeInvoice))
	api("GET /v1/invoices/{id}/lines", e.listInvoiceLines)
	api("POST /v1/invoices/{id}/finalize", e.lifecycleEndpoint(finalization, "auto_advance"))
	api("POST /v1/invoices/{id}/pay", e.payInvoice)
	api("POST /v1/invoices/{id}/void", e.lifecycleEndpoint(voiding))
	api("POST /v1/invoices/{id}/mark_uncollectible", e.lifecycleEndpoint(markingUncollectible))
	api("POST /v1/invoiceitems", createEndpoint(readNewInvoiceItemParams, e.addInvoiceItem))
	api("GET /v1/invoiceitems", e.listInvoiceItems)
	api("GET /v1/invoiceitems/{id}", e.retrieveInvoiceItem)
	api("POST /v1/invoiceitems/{id}", updateEndpoint(readInvoiceItemParams, e.changeInvoiceItem))
	api("DELETE /v1/invoiceitems/{id}", deleteEndpoint("invoiceitem", e.removeInvoiceItem))
	api("GET /v1/invoice_payments", e.listInvoicePayments)
	api("GET /v1/payment_intents/{id}", e.retrievePaymentIntent)
	api("GET /v1/events", e.listEvents)
	api("GET /v1/events/{id}", e.retrieveEvent)
	api("/v1/", func(c *call) (any, error) { return nil, unrecognizedURL(c.r) })

	mux.HandleFunc("GET /{$}", e.dashboardPage)
	mux.HandleFunc("POST /dashboard/customers", e.dashboardCreate)
	mux.HandleFunc("POST /dashboard/customers/{id}", e.dashboardUpdate)
	mux.HandleFunc("POST /dashboard/customers/{id}/delete", e.dashboardDelete)
	mux.HandleFunc("POST /dashboard/invoices", e.dashboardCreateInvoice)
	mux.HandleFunc("POST /dashboard/invoices/{id}/{action}", e.dashboardInvoiceAction)
	return mux
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.handler.ServeHTTP(w, r) }

// SetWebhook sets the endpoint later events are delivered to; an empty URL
// stops deliveries. Deliveries already queued keep their endpoint.
func (e *Emulator) SetWebhook(w Webhook) error {
	if err := w.validate(); err != nil {
		return err
	}
	e.webhooks.setEndpoint(w)
	return nil
}

// SetFaults replaces the active faults. Their counts of occasions and the
// rate limiter's bucket start afresh.
func (e *Emulator) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	e.faults.set(f)
	return nil
}

// WaitWebhooks waits until every queued webhook delivery has been made or
// given up on, or ctx is done.
func (e *Emulator) WaitWebhooks(ctx context.Context) error {
	return e.webhooks.wait(ctx)
}

// Close stops webhook deliveries for good: those pending, and the events
// made later, are not delivered. The API keeps answering.
func (e *Emulator) Close() error {
	e.webhooks.stop()
	return nil
}

// Customer returns the customer id, deleted or not.
func (e *Emulator) Customer(id string) (Customer, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.customers.cloned(id, Customer.clone)
}

// Customers returns every customer, deleted ones included, oldest first.
func (e *Emulator) Customers() []Customer {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.customers.clonedAll(Customer.clone)
}

// Invoice returns the invoice id, deleted or not.
func (e *Emulator) Invoice(id string) (Invoice, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.invoices.cloned(id, Invoice.clone)
}

// Invoices returns every invoice, deleted drafts included, oldest first.
func (e *Emulator) Invoices() []Invoice {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.invoices.clonedAll(Invoice.clone)
}

// InvoiceItems returns every invoice item, deleted ones included, oldest
// first.
func (e *Emulator) InvoiceItems() []InvoiceItem {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.invoiceItems.clonedAll(InvoiceItem.clone)
}

// Events returns every event, oldest first.
func (e *Emulator) Events() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Event, len(e.events.all))
	for i, ev := range e.events.all {
		out[i] = *ev
		out[i].Data.Object = slices.Clone(ev.Data.Object)
		out[i].Data.PreviousAttributes = slices.Clone(ev.Data.PreviousAttributes)
	}
	return out
}

// Requests returns the API requests answered so far, in the order their
// answers were made.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Request(nil), e.requests...)
}
