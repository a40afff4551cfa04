package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v86"
	"github.com/stripe/stripe-go/v86/webhook"

	"github.com/tandemsync/tandem"
)

// Verify implements tandem.Source: the Stripe-Signature header must hold a
// valid signature of the raw body, made within five minutes, by one of the
// webhook secrets (several while a secret is rotated). Events are parsed as
// plain JSON, so an endpoint on another API version is still accepted.
func (c *Connector) Verify(d *tandem.Delivery) ([]tandem.InboundEvent, error) {
	body := d.Body
	if len(c.webhookSecrets) == 0 {
		return nil, &tandem.Error{Code: tandem.EINVALID, Message: "stripe: no webhook secret is configured"}
	}
	sig := d.Header.Get("Stripe-Signature")
	var err error
	for _, secret := range c.webhookSecrets {
		if err = webhook.ValidatePayload(body, sig, secret); err == nil {
			break
		}
	}
	if err != nil {
		return nil, &tandem.Error{Code: tandem.EINVALID, Field: "Stripe-Signature", Message: err.Error()}
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		return nil, &tandem.Error{Code: tandem.EINVALID, Message: "stripe: the body is not an event"}
	}
	return []tandem.InboundEvent{{ID: ev.ID, Type: ev.Type, Payload: body}}, nil
}

// event is the part of a Stripe event Tandem reads.
type event struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
	Request json.RawMessage `json:"request"`
}

// idempotencyKey returns the key of the API request that caused the event,
// "" for a change Stripe made itself. (Old API versions sent the request
// id as a plain string.)
func (e *event) idempotencyKey() string {
	var r struct {
		IdempotencyKey *string `json:"idempotency_key"`
	}
	if json.Unmarshal(e.Request, &r) != nil || r.IdempotencyKey == nil {
		return ""
	}
	return *r.IdempotencyKey
}

// keyVersion is the local version an idempotency key of Tandem's names
// (tandem:<kind>:<id>:<op>:v<version>[:…]), 0 for any other key.
func keyVersion(key string) int64 {
	parts := strings.Split(key, ":")
	if len(parts) < 5 || parts[0] != "tandem" || !strings.HasPrefix(parts[4], "v") {
		return 0
	}
	v, err := strconv.ParseInt(parts[4][1:], 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// invoiceEvents are the invoice event types Tandem syncs: each carries the
// whole invoice.
var invoiceEvents = []string{"invoice.created", "invoice.updated", "invoice.finalized", "invoice.paid",
	"invoice.payment_failed", "invoice.voided", "invoice.marked_uncollectible", "invoice.deleted"}

// Decode implements tandem.Source for customer and invoice events.
func (c *Connector) Decode(ev *tandem.InboundEvent) (*tandem.RemoteChange, bool, error) {
	var e event
	if err := json.Unmarshal(ev.Payload, &e); err != nil {
		return nil, false, fmt.Errorf("stripe: decode event %s: %w", ev.ID, err)
	}
	var ch *tandem.RemoteChange
	switch {
	case slices.Contains(customerEvents, e.Type):
		var cust stripego.Customer
		if err := json.Unmarshal(e.Data.Object, &cust); err != nil {
			return nil, false, fmt.Errorf("stripe: decode customer of event %s: %w", ev.ID, err)
		}
		var err error
		if ch, err = change(&cust, e.Created); err != nil {
			return nil, false, err
		}
	case slices.Contains(invoiceEvents, e.Type):
		var inv stripego.Invoice
		if err := json.Unmarshal(e.Data.Object, &inv); err != nil {
			return nil, false, fmt.Errorf("stripe: decode invoice of event %s: %w", ev.ID, err)
		}
		var lines []*stripego.InvoiceLineItem
		if inv.Lines != nil {
			lines = inv.Lines.Data
		}
		s := stateOfStripe(&inv, lines)
		if (inv.Lines != nil && inv.Lines.HasMore) || s.failed() {
			// The event holds only the first lines, or not why a payment
			// failed: have the engine read the whole invoice (Fetch)
			// rather than apply part of it.
			return &tandem.RemoteChange{Kind: tandem.KindInvoice, RemoteID: inv.ID, Nudge: true,
				At: time.Unix(e.Created, 0)}, true, nil
		}
		var err error
		if ch, err = invoiceChange(&inv, s, e.Created); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, nil
	}
	ch.Deleted = ch.Deleted || strings.HasSuffix(e.Type, ".deleted")
	ch.Ours = strings.HasPrefix(e.idempotencyKey(), "tandem:")
	ch.OursVersion = keyVersion(e.idempotencyKey())
	ch.At = time.Unix(e.Created, 0)
	return ch, true, nil
}

// Fetch implements tandem.Source: the customer or invoice as Stripe has
// it now.
func (c *Connector) Fetch(ctx context.Context, kind tandem.Kind, remoteID string) (*tandem.RemoteChange, error) {
	switch kind {
	case tandem.KindCustomer:
	case tandem.KindInvoice:
		inv, lines, err := c.retrieveInvoice(ctx, remoteID)
		if err != nil {
			return nil, err
		}
		return c.readInvoiceChange(ctx, inv, lines, time.Now().Unix())
	default:
		return nil, notSynced(kind)
	}
	var cust *stripego.Customer
	var raw error
	err := c.call(ctx, "retrieve", func() error {
		cust, raw = c.api.V1Customers.Retrieve(ctx, remoteID, nil)
		return raw
	})
	switch {
	case err != nil && isMissing(raw):
		cust = &stripego.Customer{ID: remoteID, Deleted: true}
	case err != nil:
		return nil, err
	}
	return change(cust, time.Now().Unix())
}

// notSynced is the error for a kind the connector does not sync.
func notSynced(kind tandem.Kind) error {
	return &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("stripe: %s records are not synced", kind)}
}

// Snapshot implements tandem.Source.
func (c *Connector) Snapshot(kind tandem.Kind, base []byte) (tandem.Fields, error) {
	switch kind {
	case tandem.KindCustomer:
		var f fields
		if err := json.Unmarshal(base, &f); err != nil {
			return tandem.Fields{}, fmt.Errorf("stripe: decode base: %w", err)
		}
		return tandem.Fields{Customer: f.customer()}, nil
	case tandem.KindInvoice:
		var s invoiceState
		if err := json.Unmarshal(base, &s); err != nil {
			return tandem.Fields{}, fmt.Errorf("stripe: decode base: %w", err)
		}
		return tandem.Fields{Invoice: s.invoice()}, nil
	}
	return tandem.Fields{}, fmt.Errorf("stripe: %s records are not synced", kind)
}

// readInvoiceChange is a Stripe invoice with all its lines as a remote
// change at watermark, with why its last payment failed if it did.
func (c *Connector) readInvoiceChange(ctx context.Context, inv *stripego.Invoice, lines []*stripego.InvoiceLineItem,
	watermark int64) (*tandem.RemoteChange, error) {
	s := stateOfStripe(inv, lines)
	if !inv.Deleted {
		if err := c.readFailure(ctx, inv.ID, s); err != nil {
			return nil, err
		}
	}
	return invoiceChange(inv, s, watermark)
}

// invoiceChange is a Stripe invoice, read as s, as a remote change at
// watermark.
func invoiceChange(inv *stripego.Invoice, s *invoiceState, watermark int64) (*tandem.RemoteChange, error) {
	if inv.ID == "" {
		return nil, errors.New("stripe: invoice without id")
	}
	ch := &tandem.RemoteChange{Kind: tandem.KindInvoice, RemoteID: inv.ID, Deleted: inv.Deleted, Watermark: watermark}
	if inv.Deleted && inv.Customer == nil {
		return ch, nil // only its id is known
	}
	base, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	ch.LocalID, ch.Fields, ch.Base = s.TandemID, tandem.Fields{Invoice: s.invoice()}, base
	if inv.Customer != nil {
		ch.CustomerRemoteID = inv.Customer.ID
	}
	return ch, nil
}

// change is a Stripe customer as a remote change at watermark.
func change(cust *stripego.Customer, watermark int64) (*tandem.RemoteChange, error) {
	if cust.ID == "" {
		return nil, errors.New("stripe: customer without id")
	}
	f := fieldsOfStripe(cust)
	base, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	return &tandem.RemoteChange{Kind: tandem.KindCustomer, RemoteID: cust.ID, LocalID: f.TandemID,
		Deleted: cust.Deleted, Fields: tandem.Fields{Customer: f.customer()}, Base: base, Watermark: watermark}, nil
}

// List implements tandem.Lister: one page of Stripe's live customers or
// invoices (with all their lines), newest first, each as a change at the
// time of listing (Stripe lists neither deleted customers nor deleted
// drafts).
func (c *Connector) List(ctx context.Context, kind tandem.Kind, cursor string) ([]*tandem.RemoteChange, string, error) {
	var (
		page    []*tandem.RemoteChange
		hasMore bool
		err     error
	)
	switch kind {
	case tandem.KindCustomer:
		page, hasMore, err = c.listCustomers(ctx, cursor)
	case tandem.KindInvoice:
		page, hasMore, err = c.listInvoices(ctx, cursor)
	default:
		return nil, "", notSynced(kind)
	}
	if err != nil {
		return nil, "", err
	}
	next := ""
	if hasMore && len(page) > 0 {
		next = page[len(page)-1].RemoteID
	}
	return page, next, nil
}

func (c *Connector) listCustomers(ctx context.Context, cursor string) ([]*tandem.RemoteChange, bool, error) {
	params := &stripego.CustomerListParams{}
	pageOf(&params.ListParams, cursor)
	return listChanges(ctx, c, "list_customers", func() *stripego.V1List[*stripego.Customer] {
		return c.api.V1Customers.List(ctx, params)
	}, change)
}

func (c *Connector) listInvoices(ctx context.Context, cursor string) ([]*tandem.RemoteChange, bool, error) {
	params := &stripego.InvoiceListParams{}
	pageOf(&params.ListParams, cursor)
	return listChanges(ctx, c, "list_invoices", func() *stripego.V1List[*stripego.Invoice] {
		return c.api.V1Invoices.List(ctx, params)
	}, func(inv *stripego.Invoice, now int64) (*tandem.RemoteChange, error) {
		lines, err := c.allLines(ctx, inv)
		if err != nil {
			return nil, err
		}
		return c.readInvoiceChange(ctx, inv, lines, now)
	})
}

// pageOf asks for the page of Stripe's largest size after cursor.
func pageOf(p *stripego.ListParams, cursor string) {
	p.Limit = stripego.Int64(pageSize)
	if cursor != "" {
		p.StartingAfter = stripego.String(cursor)
	}
}

// listChanges reads one page of a Stripe list, in one call named op, and
// returns its objects as changes at the time of listing, and whether more
// pages follow.
func listChanges[T any](ctx context.Context, c *Connector, op string, page func() *stripego.V1List[T],
	changeOf func(T, int64) (*tandem.RemoteChange, error)) ([]*tandem.RemoteChange, bool, error) {
	var list *stripego.V1List[T]
	err := c.call(ctx, op, func() error {
		list = page()
		return list.Err()
	})
	if err != nil {
		return nil, false, err
	}
	now := time.Now().Unix()
	changes := make([]*tandem.RemoteChange, 0, len(list.Data()))
	for _, obj := range list.Data() {
		ch, err := changeOf(obj, now)
		if err != nil {
			return nil, false, err
		}
		changes = append(changes, ch)
	}
	return changes, list.Meta().HasMore, nil
}
