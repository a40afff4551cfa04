package stripe

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Customer is a Stripe customer. An empty string is a field Stripe answers
// as null.
type Customer struct {
	ID          string
	Created     int64 // unix seconds
	Name        string
	Email       string
	Phone       string
	Description string
	Address     *Address // nil: no address
	Metadata    map[string]string
	// Deleted is set once the customer is deleted; the API then answers
	// only {"id", "object", "deleted": true} for it.
	Deleted bool
}

// Address is a postal address.
type Address struct {
	Line1, Line2, City, State, PostalCode, Country string
}

// CustomerParams are the changes of a customer create or update, with
// Stripe's semantics: a nil field stays as it is, "" removes it.
type CustomerParams struct {
	Name, Email, Phone, Description *string
	// Address replaces the whole address; the zero Address removes it.
	Address *Address
	// Metadata is merged into the customer's; a key set to "" is removed.
	Metadata map[string]string
	// ClearMetadata removes every key before Metadata is merged (metadata=).
	ClearMetadata bool
}

// textFields are the customer's plain text fields: their parameter, their
// length limit, and where they are in a Customer and in CustomerParams.
var textFields = []struct {
	param string
	max   int
	of    func(*Customer) *string
	in    func(*CustomerParams) **string
}{
	{"name", 256, func(c *Customer) *string { return &c.Name }, func(p *CustomerParams) **string { return &p.Name }},
	{"email", 512, func(c *Customer) *string { return &c.Email }, func(p *CustomerParams) **string { return &p.Email }},
	{"phone", 20, func(c *Customer) *string { return &c.Phone }, func(p *CustomerParams) **string { return &p.Phone }},
	{"description", 5000, func(c *Customer) *string { return &c.Description },
		func(p *CustomerParams) **string { return &p.Description }},
}

// addressFields are the fields of an address: their parameter inside
// address[...] and where they are in an Address.
var addressFields = []struct {
	param string
	of    func(*Address) *string
}{
	{"line1", func(a *Address) *string { return &a.Line1 }},
	{"line2", func(a *Address) *string { return &a.Line2 }},
	{"city", func(a *Address) *string { return &a.City }},
	{"state", func(a *Address) *string { return &a.State }},
	{"postal_code", func(a *Address) *string { return &a.PostalCode }},
	{"country", func(a *Address) *string { return &a.Country }},
}

// Stripe's limits on metadata.
const (
	maxMetadataKeys     = 50
	maxMetadataKeyLen   = 40
	maxMetadataValueLen = 500
	maxAddressFieldLen  = 5000
)

// apply returns c changed by p, or Stripe's error for the first parameter it
// refuses. c itself is left as it is.
func (p CustomerParams) apply(c Customer) (Customer, error) {
	next := c.clone()
	for _, f := range textFields {
		v := *f.in(&p)
		if v == nil {
			continue
		}
		if err := checkLength(f.param, *v, f.max); err != nil {
			return Customer{}, err
		}
		*f.of(&next) = *v
	}
	if p.Email != nil && *p.Email != "" && !validEmail(*p.Email) {
		return Customer{}, invalidParam("email", "email_invalid", "Invalid email address: %s", *p.Email)
	}
	if p.Address != nil {
		a := *p.Address
		for _, f := range addressFields {
			if err := checkLength("address["+f.param+"]", *f.of(&a), maxAddressFieldLen); err != nil {
				return Customer{}, err
			}
		}
		next.Address = &a
		if a == (Address{}) {
			next.Address = nil
		}
	}
	var err error
	if next.Metadata, err = applyMetadata(next.Metadata, p.Metadata, p.ClearMetadata); err != nil {
		return Customer{}, err
	}
	return next, nil
}

// applyMetadata returns m, which the caller owns, changed as a request's
// metadata parameters say: emptied first when clear is set (metadata=), then
// each key of set merged in, a key set to "" removed. It returns Stripe's
// error for the first key or value it refuses.
func applyMetadata(m, set map[string]string, clear bool) (map[string]string, error) {
	if clear || m == nil {
		m = map[string]string{}
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		v := set[k]
		if err := checkMetadata(k, v); err != nil {
			return nil, err
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	if n := len(m); n > maxMetadataKeys {
		return nil, invalidParam("metadata", "",
			"Invalid metadata: an object can have up to %d keys, but this one would have %d.", maxMetadataKeys, n)
	}
	return m, nil
}

func checkLength(param, v string, limit int) error {
	if utf8.RuneCountInString(v) <= limit {
		return nil
	}
	shown := v
	if len(shown) > 40 {
		shown = shown[:40] + "..."
	}
	return invalidParam(param, "", "Invalid string: %s; must be at most %d characters", shown, limit)
}

func checkMetadata(k, v string) error {
	switch {
	case k == "":
		return invalidParam("metadata", "", "Metadata keys must not be empty.")
	case strings.ContainsAny(k, "[]"):
		return invalidParam("metadata", "", "Metadata keys may not contain '[' or ']': %s", k)
	case utf8.RuneCountInString(k) > maxMetadataKeyLen:
		return invalidParam("metadata", "",
			"Metadata keys can have up to %d characters, but you passed in a key with %d characters.",
			maxMetadataKeyLen, utf8.RuneCountInString(k))
	case utf8.RuneCountInString(v) > maxMetadataValueLen:
		return invalidParam("metadata["+k+"]", "",
			"Metadata values can have up to %d characters, but you passed in a value with %d characters.",
			maxMetadataValueLen, utf8.RuneCountInString(v))
	}
	return nil
}

// validEmail is a loose check, in the spirit of Stripe's: one @ with
// something on each side and no spaces.
func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " \t\r\n")
}

// previousAttributes returns the old values of the fields that changed from
// old to next, as a customer.updated event carries them: whole fields, and
// for metadata only the keys that changed (null for a key that is new).
func previousAttributes(old, next Customer) map[string]any {
	prev := map[string]any{}
	for _, f := range textFields {
		if was := *f.of(&old); was != *f.of(&next) {
			prev[f.param] = nullable(was)
		}
	}
	if !equalAddress(old.Address, next.Address) {
		prev["address"] = old.Address
	}
	if metadata := metadataChanges(old.Metadata, next.Metadata); len(metadata) > 0 {
		prev["metadata"] = metadata
	}
	return prev
}

// metadataChanges returns the old values of the metadata keys that differ
// from old to next, as previous_attributes carries them: null for a key
// that is new.
func metadataChanges(old, next map[string]string) map[string]any {
	changed := map[string]any{}
	for k, v := range old {
		if next[k] != v {
			changed[k] = v
		}
	}
	for k := range next {
		if _, ok := old[k]; !ok {
			changed[k] = nil
		}
	}
	return changed
}

func equalAddress(a, b *Address) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// clone returns a copy of c that shares nothing with it.
func (c Customer) clone() Customer {
	c.Metadata = maps.Clone(c.Metadata)
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	if c.Address != nil {
		a := *c.Address
		c.Address = &a
	}
	return c
}

// MarshalJSON encodes the customer as Stripe's API answers it. Fields Tandem
// does not use carry the values of a new test-mode customer.
func (c Customer) MarshalJSON() ([]byte, error) {
	type invoiceSettings struct {
		CustomFields         any `json:"custom_fields"`
		DefaultPaymentMethod any `json:"default_payment_method"`
		Footer               any `json:"footer"`
		RenderingOptions     any `json:"rendering_options"`
	}
	metadata := c.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	return json.Marshal(struct {
		ID               string            `json:"id"`
		Object           string            `json:"object"`
		Address          *Address          `json:"address"`
		Balance          int64             `json:"balance"`
		Created          int64             `json:"created"`
		Currency         any               `json:"currency"`
		DefaultSource    any               `json:"default_source"`
		Deleted          bool              `json:"deleted,omitempty"`
		Delinquent       bool              `json:"delinquent"`
		Description      *string           `json:"description"`
		Discount         any               `json:"discount"`
		Email            *string           `json:"email"`
		InvoiceSettings  invoiceSettings   `json:"invoice_settings"`
		Livemode         bool              `json:"livemode"`
		Metadata         map[string]string `json:"metadata"`
		Name             *string           `json:"name"`
		Phone            *string           `json:"phone"`
		PreferredLocales []string          `json:"preferred_locales"`
		Shipping         any               `json:"shipping"`
		TaxExempt        string            `json:"tax_exempt"`
		TestClock        any               `json:"test_clock"`
	}{
		ID: c.ID, Object: "customer", Address: c.Address, Created: c.Created, Deleted: c.Deleted,
		Description: nullable(c.Description), Email: nullable(c.Email), Metadata: metadata,
		Name: nullable(c.Name), Phone: nullable(c.Phone), PreferredLocales: []string{}, TaxExempt: "none",
	})
}

// MarshalJSON encodes the address as Stripe does, with null for empty fields.
func (a Address) MarshalJSON() ([]byte, error) {
	m := make(map[string]*string, len(addressFields))
	for _, f := range addressFields {
		m[f.param] = nullable(*f.of(&a))
	}
	return json.Marshal(m)
}

// nullable is s, or nil (JSON null) when s is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// addCustomer creates a customer. The caller holds e.mu.
func (e *Emulator) addCustomer(p CustomerParams, o origin) (Customer, error) {
	c, err := p.apply(Customer{ID: newID("cus"), Created: e.now().Unix()})
	if err != nil {
		return Customer{}, err
	}
	e.customers.add(c.ID, &c)
	e.emit("customer.created", c, nil, o)
	return c.clone(), nil
}

// changeCustomer updates a customer; a change that changes nothing makes no
// event. The caller holds e.mu.
func (e *Emulator) changeCustomer(id string, p CustomerParams, o origin) (Customer, error) {
	c, err := e.liveCustomer(id)
	if err != nil {
		return Customer{}, err
	}
	next, err := p.apply(*c)
	if err != nil {
		return Customer{}, err
	}
	prev := previousAttributes(*c, next)
	*c = next
	if len(prev) > 0 {
		e.emit("customer.updated", next, prev, o)
	}
	return next.clone(), nil
}

// removeCustomer deletes a customer. The caller holds e.mu.
func (e *Emulator) removeCustomer(id string, o origin) (Customer, error) {
	c, err := e.liveCustomer(id)
	if err != nil {
		return Customer{}, err
	}
	c.Deleted = true
	e.emit("customer.deleted", *c, nil, o)
	return c.clone(), nil
}

// liveCustomer is the customer id unless it is missing or deleted.
func (e *Emulator) liveCustomer(id string) (*Customer, error) {
	c, ok := e.customers.get(id)
	if !ok || c.Deleted {
		return nil, resourceMissing("customer", "id", id)
	}
	return c, nil
}
