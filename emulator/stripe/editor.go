package stripe

// Editor changes customers outside the API: as a person using Stripe's
// dashboard, or behind the API's back. Get one from Emulator.Dashboard or
// Emulator.Silent. Errors are *Error, as the API would answer them.
type Editor struct {
	e      *Emulator
	silent bool
}

// Dashboard returns an Editor whose changes are made as a dashboard user:
// each makes its event, whose request has an id but no idempotency key.
func (e *Emulator) Dashboard() Editor { return Editor{e: e} }

// Silent returns an Editor whose changes make no event at all, as if their
// webhooks were lost and the event log with them: drift that only a
// reconciliation can find.
func (e *Emulator) Silent() Editor { return Editor{e: e, silent: true} }

func (ed Editor) origin() origin {
	return origin{requestID: newID("req"), silent: ed.silent}
}

// CreateCustomer creates a customer.
func (ed Editor) CreateCustomer(p CustomerParams) (Customer, error) {
	ed.e.mu.Lock()
	defer ed.e.mu.Unlock()
	return ed.e.addCustomer(p, ed.origin())
}

// UpdateCustomer updates the customer id as p says.
func (ed Editor) UpdateCustomer(id string, p CustomerParams) (Customer, error) {
	ed.e.mu.Lock()
	defer ed.e.mu.Unlock()
	return ed.e.changeCustomer(id, p, ed.origin())
}

// DeleteCustomer deletes the customer id and returns its last state.
func (ed Editor) DeleteCustomer(id string) (Customer, error) {
	ed.e.mu.Lock()
	defer ed.e.mu.Unlock()
	return ed.e.removeCustomer(id, ed.origin())
}
