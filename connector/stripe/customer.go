package stripe

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	stripego "github.com/stripe/stripe-go/v86"

	"github.com/tandemsync/tandem"
)

// fields are the customer fields Tandem and Stripe share; a link's base is
// their JSON.
type fields struct {
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Phone    string            `json:"phone"`
	Address  tandem.Address    `json:"address"`
	Metadata map[string]string `json:"metadata"` // without tandem_id
	// TandemID is the tandem_id metadata the Stripe customer holds.
	TandemID string `json:"tandem_id"`
}

func fieldsOf(c *tandem.Customer) fields {
	return fields{Name: c.Name, Email: c.Email, Phone: c.Phone, Address: c.Address, Metadata: maps.Clone(c.Metadata),
		TandemID: c.ID}
}

// customer returns the local fields f holds.
func (f fields) customer() *tandem.Customer {
	return &tandem.Customer{Name: f.Name, Email: f.Email, Phone: f.Phone, Address: f.Address, Metadata: maps.Clone(f.Metadata)}
}

// fieldsOfStripe reads the shared fields of a Stripe customer.
func fieldsOfStripe(c *stripego.Customer) fields {
	f := fields{Name: c.Name, Email: c.Email, Phone: c.Phone, Metadata: map[string]string{},
		TandemID: c.Metadata[MetadataKey]}
	if c.Address != nil {
		f.Address = tandem.Address{Line1: c.Address.Line1, Line2: c.Address.Line2, City: c.Address.City,
			State: c.Address.State, PostalCode: c.Address.PostalCode, Country: c.Address.Country}
	}
	for k, v := range c.Metadata {
		if k != MetadataKey {
			f.Metadata[k] = v
		}
	}
	return f
}

// equal reports whether f and g hold the same values (no metadata and
// empty metadata are the same).
func (f fields) equal(g fields) bool {
	return f.Name == g.Name && f.Email == g.Email && f.Phone == g.Phone && f.Address == g.Address &&
		maps.Equal(f.Metadata, g.Metadata) && f.TandemID == g.TandemID
}

// createIntent is what a create saves before calling Stripe: the key and
// the parameters to replay it with, and since when to look for the customer
// it may have made.
type createIntent struct {
	Key    string `json:"key"`
	Fields fields `json:"fields"`
	Since  int64  `json:"since"` // unix seconds
}

// pushCustomer makes the Stripe customer match the local one: create it,
// send the fields that changed since the base, or delete it.
func (c *Connector) pushCustomer(ctx context.Context, req *tandem.PushRequest) (*tandem.PushResult, error) {
	rec, link := req.Record, req.Link
	want := fieldsOf(rec.Customer)
	remoteID := link.RemoteID
	var base *fields
	if len(link.Base) > 0 {
		base = new(fields)
		if err := json.Unmarshal(link.Base, base); err != nil {
			return nil, &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("stripe: decode base: %w", err)}
		}
	}
	if remoteID == "" && len(link.Intent) > 0 {
		// An earlier create's outcome is unknown: finish that create first.
		var intent createIntent
		if err := json.Unmarshal(link.Intent, &intent); err != nil {
			return nil, &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("stripe: decode intent: %w", err)}
		}
		id, err := c.create(ctx, req, intent)
		if err != nil {
			return nil, err
		}
		remoteID, base = id, &intent.Fields
	}

	switch {
	case rec.Deleted && remoteID == "":
		return &tandem.PushResult{}, nil // it never reached Stripe
	case rec.Deleted:
		if err := c.deleteCustomer(ctx, remoteID, idempotencyKey(rec.Ref, "delete", rec.Version)); err != nil {
			return nil, err
		}
		return &tandem.PushResult{RemoteID: remoteID}, nil
	case remoteID == "":
		intent := createIntent{Key: idempotencyKey(rec.Ref, "create", rec.Version), Fields: want,
			Since: time.Now().Add(-time.Minute).Unix()}
		id, err := c.create(ctx, req, intent)
		if err != nil {
			return nil, err
		}
		return result(id, want)
	}
	if base == nil || !base.equal(want) {
		if err := c.update(ctx, remoteID, idempotencyKey(rec.Ref, "update", rec.Version), base, want); err != nil {
			return nil, err
		}
	}
	return result(remoteID, want)
}

func result(remoteID string, base fields) (*tandem.PushResult, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	return &tandem.PushResult{RemoteID: remoteID, Base: b}, nil
}

// create makes the Stripe customer of req's record as intent says, saving
// the intent first. When Stripe's answer leaves the outcome unknown, it
// looks for the customer the call may have made; if there is none, it
// tries again under a fresh key, saved first too.
func (c *Connector) create(ctx context.Context, req *tandem.PushRequest, intent createIntent) (string, error) {
	for attempt := 0; ; attempt++ {
		if err := c.saveIntent(ctx, req, intent); err != nil {
			return "", err
		}
		params := &stripego.CustomerCreateParams{}
		setCreateFields(params, intent.Fields, req.Record.Ref.ID)
		params.SetIdempotencyKey(intent.Key)
		var cust *stripego.Customer
		err := c.call(ctx, "create", func() (err error) {
			cust, err = c.api.V1Customers.Create(ctx, params)
			return err
		})
		if err == nil {
			return cust.ID, nil
		}
		if class(err) != tandem.Ambiguous || attempt > 0 {
			return "", err
		}
		id, ferr := c.findByTandemID(ctx, req.Record.Ref.ID, intent.Since)
		switch {
		case ferr != nil:
			return "", err
		case id != "":
			return id, nil
		}
		intent.Key = freshKey(intent.Key)
	}
}

func (c *Connector) saveIntent(ctx context.Context, req *tandem.PushRequest, intent createIntent) error {
	b, err := json.Marshal(intent)
	if err != nil {
		return err
	}
	if err := req.SaveIntent(ctx, b); err != nil {
		return fmt.Errorf("stripe: save intent: %w", err)
	}
	return nil
}

// update sends the fields of want that differ from base (all of them
// without a base). When the outcome is unknown, it reads the customer: if
// the change is there, done; if not, it writes again under a fresh key,
// since Stripe replays the failure for the first one.
func (c *Connector) update(ctx context.Context, id, key string, base *fields, want fields) error {
	params := &stripego.CustomerUpdateParams{}
	setUpdateFields(params, base, want)
	params.SetIdempotencyKey(key)
	send := func() error {
		return c.call(ctx, "update", func() error {
			_, err := c.api.V1Customers.Update(ctx, id, params)
			return err
		})
	}
	err := send()
	if class(err) != tandem.Ambiguous {
		return err
	}
	var cur *stripego.Customer
	if gerr := c.call(ctx, "retrieve", func() (err error) {
		cur, err = c.api.V1Customers.Retrieve(ctx, id, nil)
		return err
	}); gerr != nil {
		return err
	}
	if !cur.Deleted && fieldsOfStripe(cur).equal(want) {
		return nil
	}
	params.SetIdempotencyKey(freshKey(key))
	return send()
}

// deleteCustomer deletes a Stripe customer; one already gone is fine.
func (c *Connector) deleteCustomer(ctx context.Context, id, key string) error {
	return c.remove(ctx, "delete", key, func(key string) error {
		params := &stripego.CustomerDeleteParams{}
		params.SetIdempotencyKey(key)
		_, err := c.api.V1Customers.Delete(ctx, id, params)
		return err
	})
}

// remove makes one delete under key, named op for the observer: an object
// already gone is fine. After an unknown outcome it deletes again under a
// fresh key (Stripe replays the failure for the first), which finds the
// object gone or deletes it.
func (c *Connector) remove(ctx context.Context, op, key string, del func(key string) error) error {
	var raw error
	send := func(key string) error {
		return c.call(ctx, op, func() error {
			raw = del(key)
			return raw
		})
	}
	err := send(key)
	if class(err) == tandem.Ambiguous {
		err = send(freshKey(key))
	}
	if err != nil && isMissing(raw) {
		return nil
	}
	return err
}

// findByTandemID returns the Stripe customer created since the given time
// whose metadata names localID, "" if there is none.
func (c *Connector) findByTandemID(ctx context.Context, localID string, since int64) (string, error) {
	params := &stripego.CustomerListParams{CreatedRange: &stripego.RangeQueryParams{GreaterThanOrEqual: since}}
	params.Limit = stripego.Int64(pageSize)
	return findTagged(ctx, c, "list_customers", c.api.V1Customers.List(ctx, params).All(ctx), localID,
		func(cust *stripego.Customer) (string, string) { return cust.ID, cust.Metadata[MetadataKey] })
}

// findTagged returns the id of the first listed object whose tandem_id is
// localID, "" if there is none; tagOf reads an object's id and tandem_id.
// Lists are consistent at once, unlike Stripe's search.
func findTagged[T any](ctx context.Context, c *Connector, op string, objects stripego.Seq2[T, error], localID string,
	tagOf func(T) (id, tandemID string)) (string, error) {
	var found string
	err := list(ctx, c, op, objects, func(obj T) bool {
		if id, tag := tagOf(obj); tag == localID {
			found = id
		}
		return found == ""
	})
	return found, err
}

// freshKey derives a new idempotency key from one whose failure Stripe
// would replay.
func freshKey(key string) string {
	return key + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

func setCreateFields(p *stripego.CustomerCreateParams, f fields, localID string) {
	p.Name, p.Email, p.Phone = optional(f.Name), optional(f.Email), optional(f.Phone)
	if f.Address != (tandem.Address{}) {
		p.Address = addressParams(f.Address)
	}
	for k, v := range f.Metadata {
		p.AddMetadata(k, v)
	}
	p.AddMetadata(MetadataKey, localID)
}

// setUpdateFields sets the fields of want that differ from base; without a
// base, all of them. An empty value unsets a field in Stripe.
func setUpdateFields(p *stripego.CustomerUpdateParams, base *fields, want fields) {
	all := base == nil
	if all {
		base = &fields{}
	}
	if all || want.Name != base.Name {
		p.Name = stripego.String(want.Name)
	}
	if all || want.Email != base.Email {
		p.Email = stripego.String(want.Email)
	}
	if all || want.Phone != base.Phone {
		p.Phone = stripego.String(want.Phone)
	}
	if all || want.Address != base.Address {
		if want.Address == (tandem.Address{}) {
			p.AddExtra("address", "")
		} else {
			p.Address = addressParams(want.Address)
		}
	}
	for k, v := range metadataChanges(base.Metadata, want.Metadata) {
		p.AddMetadata(k, v)
	}
	if all || want.TandemID != base.TandemID {
		p.AddMetadata(MetadataKey, want.TandemID)
	}
}

// metadataChanges are the metadata keys to send to turn base into want:
// the new and changed ones, and the removed ones as "" (which unsets a key
// in Stripe).
func metadataChanges(base, want map[string]string) map[string]string {
	changes := map[string]string{}
	for k, v := range want {
		if old, ok := base[k]; !ok || old != v {
			changes[k] = v
		}
	}
	for k := range base {
		if _, ok := want[k]; !ok {
			changes[k] = ""
		}
	}
	return changes
}

func addressParams(a tandem.Address) *stripego.AddressParams {
	return &stripego.AddressParams{Line1: optional(a.Line1), Line2: optional(a.Line2), City: optional(a.City),
		State: optional(a.State), PostalCode: optional(a.PostalCode), Country: optional(a.Country)}
}

// optional is nil for an empty string, so that a create leaves it unset.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
