package stripe

// Editor changes customers and invoices outside the API: as a person using Stripe's
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

// CreateInvoice creates a draft invoice with the invoice items in items,
// whose Customer and Invoice are filled in, one after the other as the
// dashboard does: an item it refuses leaves the invoice and the items before
// it made.
func (ed Editor) CreateInvoice(p InvoiceParams, items ...InvoiceItemParams) (Invoice, error) {
	ed.e.mu.Lock()
	defer ed.e.mu.Unlock()
	o := ed.origin()
	inv, err := ed.e.addInvoice(p, o)
	if err != nil {
		return Invoice{}, err
	}
	for _, it := range items {
		it.Customer, it.Invoice = inv.Customer, inv.ID
		if _, err := ed.e.addInvoiceItem(it, o); err != nil {
			return Invoice{}, err
		}
	}
	inv, _ = ed.e.invoices.cloned(inv.ID, Invoice.clone)
	return inv, nil
}

// FinalizeInvoice finalizes a draft: it becomes open, or paid when nothing
// is due.
func (ed Editor) FinalizeInvoice(id string) (Invoice, error) { return ed.advance(id, finalization) }

// PayInvoice marks an open or uncollectible invoice paid outside Stripe, as
// the dashboard's "Mark as paid" does (paid_out_of_band).
func (ed Editor) PayInvoice(id string) (Invoice, error) { return ed.advance(id, outOfBandPayment) }

// ChargeInvoice pays an open or uncollectible invoice with the customer's
// payment method, as Stripe's automatic collection does when it succeeds.
func (ed Editor) ChargeInvoice(id string) (Invoice, error) { return ed.advance(id, charge) }

// FailInvoicePayment is a payment attempt on an open or uncollectible
// invoice that fails for reason: the invoice keeps its status, counts the
// attempt and makes an invoice.payment_failed event.
func (ed Editor) FailInvoicePayment(id string, reason PaymentError) (Invoice, error) {
	return ed.advance(id, failedPayment(reason))
}

// VoidInvoice voids an open or uncollectible invoice.
func (ed Editor) VoidInvoice(id string) (Invoice, error) { return ed.advance(id, voiding) }

// MarkInvoiceUncollectible marks an open invoice uncollectible.
func (ed Editor) MarkInvoiceUncollectible(id string) (Invoice, error) {
	return ed.advance(id, markingUncollectible)
}

func (ed Editor) advance(id string, lc lifecycle) (Invoice, error) {
	ed.e.mu.Lock()
	defer ed.e.mu.Unlock()
	return ed.e.advance(id, lc, ed.origin())
}
