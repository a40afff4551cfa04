package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Decode implements tandem.Source for customer events.
func (c *Connector) Decode(ev *tandem.InboundEvent) (*tandem.RemoteChange, bool, error) {
	var e event
	if err := json.Unmarshal(ev.Payload, &e); err != nil {
		return nil, false, fmt.Errorf("stripe: decode event %s: %w", ev.ID, err)
	}
	switch e.Type {
	case "customer.created", "customer.updated", "customer.deleted":
	default:
		return nil, false, nil
	}
	var cust stripego.Customer
	if err := json.Unmarshal(e.Data.Object, &cust); err != nil {
		return nil, false, fmt.Errorf("stripe: decode customer of event %s: %w", ev.ID, err)
	}
	ch, err := change(&cust, e.Created)
	if err != nil {
		return nil, false, err
	}
	ch.Deleted = ch.Deleted || e.Type == "customer.deleted"
	ch.Ours = strings.HasPrefix(e.idempotencyKey(), "tandem:")
	ch.At = time.Unix(e.Created, 0)
	return ch, true, nil
}

// Fetch implements tandem.Source: the customer as Stripe has it now.
func (c *Connector) Fetch(ctx context.Context, kind tandem.Kind, remoteID string) (*tandem.RemoteChange, error) {
	if kind != tandem.KindCustomer {
		return nil, &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("stripe: %s records are not synced", kind)}
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

// Snapshot implements tandem.Source.
func (c *Connector) Snapshot(kind tandem.Kind, base []byte) (tandem.Fields, error) {
	if kind != tandem.KindCustomer {
		return tandem.Fields{}, fmt.Errorf("stripe: %s records are not synced", kind)
	}
	var f fields
	if err := json.Unmarshal(base, &f); err != nil {
		return tandem.Fields{}, fmt.Errorf("stripe: decode base: %w", err)
	}
	return tandem.Fields{Customer: f.customer()}, nil
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

// List implements tandem.Lister: one page of Stripe's live customers, newest
// first, each as a change at the time of listing (Stripe does not list
// deleted customers).
func (c *Connector) List(ctx context.Context, kind tandem.Kind, cursor string) ([]*tandem.RemoteChange, string, error) {
	if kind != tandem.KindCustomer {
		return nil, "", &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("stripe: %s records are not synced", kind)}
	}
	params := &stripego.CustomerListParams{}
	params.Limit = stripego.Int64(pageSize)
	if cursor != "" {
		params.StartingAfter = stripego.String(cursor)
	}
	var list *stripego.V1List[*stripego.Customer]
	err := c.call(ctx, "list_customers", func() error {
		list = c.api.V1Customers.List(ctx, params)
		return list.Err()
	})
	if err != nil {
		return nil, "", err
	}
	now := time.Now().Unix()
	page := make([]*tandem.RemoteChange, 0, len(list.Data()))
	for _, cust := range list.Data() {
		ch, err := change(cust, now)
		if err != nil {
			return nil, "", err
		}
		page = append(page, ch)
	}
	next := ""
	if list.Meta().HasMore && len(page) > 0 {
		next = page[len(page)-1].RemoteID
	}
	return page, next, nil
}
