package stripe

// The /v1/invoices and /v1/invoiceitems endpoints.

import "slices"

// retrieveInvoice answers 404 for a deleted draft, as Stripe does.
func (e *Emulator) retrieveInvoice(c *call) (any, error) {
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	return e.liveInvoice(c.r.PathValue("id"), "invoice")
}

// lifecycleEndpoint is an endpoint that moves an invoice through lc. It
// accepts, and ignores, the parameters in ignored.
func (e *Emulator) lifecycleEndpoint(lc lifecycle, ignored ...string) endpoint {
	return func(c *call) (any, error) {
		for _, name := range ignored {
			c.form.string(name)
		}
		if err := c.form.unknown(); err != nil {
			return nil, err
		}
		return e.advance(c.r.PathValue("id"), lc, c.origin)
	}
}

// payInvoice answers POST /v1/invoices/{id}/pay: marked paid with
// paid_out_of_band=true, charged otherwise.
func (e *Emulator) payInvoice(c *call) (any, error) {
	outOfBand, err := c.form.optionalBool("paid_out_of_band")
	if err != nil {
		return nil, err
	}
	lc := charge
	if outOfBand != nil && *outOfBand {
		lc = outOfBandPayment
	}
	return e.lifecycleEndpoint(lc, "forgive", "off_session", "payment_method")(c)
}

// listInvoices answers GET /v1/invoices: newest first, deleted drafts left
// out, filtered by customer, status, collection_method and created.
func (e *Emulator) listInvoices(c *call) (any, error) {
	lp, created, err := parseListParams(c.form)
	if err != nil {
		return nil, err
	}
	customer, byCustomer := c.form.string("customer")
	status, byStatus := c.form.string("status")
	if byStatus && !slices.Contains([]InvoiceStatus{InvoiceDraft, InvoiceOpen, InvoicePaid, InvoiceUncollectible, InvoiceVoid},
		InvoiceStatus(status)) {
		return nil, invalidParam("status", "", "Invalid status: must be one of draft, open, void, paid, or uncollectible")
	}
	method, byMethod := c.form.string("collection_method")
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	return e.invoices.page(lp, func(inv *Invoice) bool {
		return !inv.Deleted && created.contains(inv.Created) &&
			(!byCustomer || inv.Customer == customer) &&
			(!byStatus || inv.Status == InvoiceStatus(status)) &&
			(!byMethod || inv.CollectionMethod == method)
	}, "invoice", "/v1/invoices")
}

// listInvoiceLines answers GET /v1/invoices/{id}/lines: the lines in the
// order they were added, paginated by line id.
func (e *Emulator) listInvoiceLines(c *call) (any, error) {
	lp, err := parsePageParams(c.form)
	if err != nil {
		return nil, err
	}
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	inv, err := e.liveInvoice(c.r.PathValue("id"), "invoice")
	if err != nil {
		return nil, err
	}
	// page walks newest first: a collection of the lines from last to
	// first gives them in their order.
	lines := newCollection[LineItem]()
	for _, l := range slices.Backward(inv.Lines) {
		line := LineItem(l)
		lines.add(line.LineID, &line)
	}
	return lines.page(lp, func(*LineItem) bool { return true }, "line item", "/v1/invoices/"+inv.ID+"/lines")
}

// readNewInvoiceParams reads the parameters of an invoice create.
func readNewInvoiceParams(f *form) (InvoiceParams, error) {
	p, err := readInvoiceParams(f)
	if err != nil {
		return p, err
	}
	p.Customer, _ = f.string("customer")
	p.Currency, _ = f.string("currency")
	switch behavior, _ := f.string("pending_invoice_items_behavior"); behavior {
	case "", "exclude":
	case "include":
		p.IncludePending = true
	default:
		return p, invalidParam("pending_invoice_items_behavior", "",
			"Invalid pending_invoice_items_behavior: must be one of exclude or include")
	}
	return p, nil
}

// readInvoiceParams reads the parameters of an invoice update, which an
// invoice create takes too.
func readInvoiceParams(f *form) (InvoiceParams, error) {
	var p InvoiceParams
	var err error
	if v, ok := f.string("description"); ok {
		p.Description = &v
	}
	if v, ok := f.string("collection_method"); ok {
		p.CollectionMethod = &v
	}
	if p.DueDate, err = f.optionalInt("due_date"); err != nil {
		return p, err
	}
	if p.DaysUntilDue, err = f.optionalInt("days_until_due"); err != nil {
		return p, err
	}
	if p.AutoAdvance, err = f.optionalBool("auto_advance"); err != nil {
		return p, err
	}
	p.Metadata, p.ClearMetadata, err = f.hash("metadata")
	return p, err
}

// retrieveInvoiceItem answers 404 for a deleted item.
func (e *Emulator) retrieveInvoiceItem(c *call) (any, error) {
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	id := c.r.PathValue("id")
	it, ok := e.invoiceItems.get(id)
	if !ok || it.Deleted {
		return nil, resourceMissing("invoiceitem", "id", id)
	}
	return it, nil
}

// listInvoiceItems answers GET /v1/invoiceitems: newest first, deleted
// items left out, filtered by customer, invoice, pending and created.
func (e *Emulator) listInvoiceItems(c *call) (any, error) {
	lp, created, err := parseListParams(c.form)
	if err != nil {
		return nil, err
	}
	customer, byCustomer := c.form.string("customer")
	invoice, byInvoice := c.form.string("invoice")
	pending, err := c.form.optionalBool("pending")
	if err != nil {
		return nil, err
	}
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	return e.invoiceItems.page(lp, func(it *InvoiceItem) bool {
		return !it.Deleted && created.contains(it.Created) &&
			(!byCustomer || it.Customer == customer) &&
			(!byInvoice || it.Invoice == invoice) &&
			(pending == nil || (it.Invoice == "") == *pending)
	}, "invoiceitem", "/v1/invoiceitems")
}

// readNewInvoiceItemParams reads the parameters of an invoice item create.
func readNewInvoiceItemParams(f *form) (InvoiceItemParams, error) {
	p, err := readInvoiceItemParams(f)
	p.Customer, _ = f.string("customer")
	p.Invoice, _ = f.string("invoice")
	p.Currency, _ = f.string("currency")
	return p, err
}

// readInvoiceItemParams reads the parameters of an invoice item update,
// which an invoice item create takes too.
func readInvoiceItemParams(f *form) (InvoiceItemParams, error) {
	var p InvoiceItemParams
	var err error
	if v, ok := f.string("description"); ok {
		p.Description = &v
	}
	if v, ok := f.string("unit_amount_decimal"); ok {
		p.UnitAmountDecimal = &v
	}
	if p.Quantity, err = f.optionalInt("quantity"); err != nil {
		return p, err
	}
	if p.Amount, err = f.optionalInt("amount"); err != nil {
		return p, err
	}
	p.Metadata, p.ClearMetadata, err = f.hash("metadata")
	return p, err
}
