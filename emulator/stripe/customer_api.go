package stripe

// The /v1/customers endpoints.

import (
	"maps"
	"slices"
)

// retrieveCustomer answers a deleted customer with Stripe's deleted stub.
func (e *Emulator) retrieveCustomer(c *call) (any, error) {
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	id := c.r.PathValue("id")
	cus, ok := e.customers.get(id)
	switch {
	case !ok:
		return nil, resourceMissing("customer", "id", id)
	case cus.Deleted:
		return deletedObject{ID: id, Object: "customer", Deleted: true}, nil
	}
	return cus, nil
}

// listCustomers answers GET /v1/customers: newest first, deleted customers
// left out, filtered by exact email and by created.
func (e *Emulator) listCustomers(c *call) (any, error) {
	lp, created, err := parseListParams(c.form)
	if err != nil {
		return nil, err
	}
	email, byEmail := c.form.string("email")
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	return e.customers.page(lp, func(cus *Customer) bool {
		return !cus.Deleted && created.contains(cus.Created) && (!byEmail || cus.Email == email)
	}, "customer", "/v1/customers")
}

// readCustomerParams reads the parameters of a customer create or update,
// leaving any others for the caller.
func readCustomerParams(f *form) (CustomerParams, error) {
	var p CustomerParams
	for _, tf := range textFields {
		if v, ok := f.string(tf.param); ok {
			*tf.in(&p) = &v
		}
	}
	fields, cleared, err := f.hash("address")
	if err != nil {
		return p, err
	}
	if cleared || len(fields) > 0 {
		p.Address = &Address{}
		for _, af := range addressFields {
			*af.of(p.Address) = fields[af.param]
			delete(fields, af.param)
		}
		if len(fields) > 0 {
			return p, unknownParam("address[" + slices.Sorted(maps.Keys(fields))[0] + "]")
		}
	}
	p.Metadata, p.ClearMetadata, err = f.hash("metadata")
	return p, err
}
