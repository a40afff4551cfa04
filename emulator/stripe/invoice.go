package stripe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// InvoiceStatus is where an invoice is in its lifecycle.
type InvoiceStatus string

// The statuses of an invoice. A deleted draft has no status: it is gone.
const (
	InvoiceDraft         InvoiceStatus = "draft"
	InvoiceOpen          InvoiceStatus = "open"
	InvoicePaid          InvoiceStatus = "paid"
	InvoiceUncollectible InvoiceStatus = "uncollectible"
	InvoiceVoid          InvoiceStatus = "void"
)

// The collection methods of an invoice.
const (
	chargeAutomatically = "charge_automatically"
	sendInvoice         = "send_invoice"
)

// Invoice is a Stripe invoice. An empty string or a zero time is a field
// Stripe answers as null. Its amounts are in minor units and come from its
// lines.
type Invoice struct {
	ID               string
	Customer         string
	Created          int64 // unix seconds
	Currency         string
	Description      string
	CollectionMethod string // charge_automatically or send_invoice
	DueDate          int64  // unix seconds; only for send_invoice
	AutoAdvance      bool
	Status           InvoiceStatus
	// Number is given at finalization: the customer's prefix and the count
	// of its finalized invoices, such as "K3F9QZ1A-0001".
	Number string
	// HostedInvoiceURL is given at finalization.
	HostedInvoiceURL string
	AmountPaid       int64
	// PaidOutOfBand is set when the invoice was marked paid outside Stripe
	// (pay with paid_out_of_band=true).
	PaidOutOfBand bool
	Transitions   StatusTransitions
	// AttemptCount counts the payment attempts; Attempted is set after the
	// first, or once the invoice is paid.
	AttemptCount int64
	Attempted    bool
	// LastPaymentError is why the latest payment attempt failed, nil if none
	// did. Stripe keeps it on the attempt's PaymentIntent: the API answers
	// it as that PaymentIntent's last_payment_error.
	LastPaymentError *PaymentError
	// PaymentIntent is the id of the PaymentIntent of the payment attempts,
	// "" before the first; the API names it only through the invoice's
	// invoice payment.
	PaymentIntent string
	Metadata      map[string]string
	// Lines are the invoice items on the invoice, in the order they were added.
	Lines []InvoiceItem
	// Deleted is set once the draft is deleted; the API then answers 404
	// for it, as Stripe does.
	Deleted bool
}

// StatusTransitions are the times (unix seconds, 0 for not yet) an
// invoice changed status.
type StatusTransitions struct {
	FinalizedAt           int64 `json:"finalized_at"`
	MarkedUncollectibleAt int64 `json:"marked_uncollectible_at"`
	PaidAt                int64 `json:"paid_at"`
	VoidedAt              int64 `json:"voided_at"`
}

// PaymentError is why a payment attempt failed, as a PaymentIntent's
// last_payment_error says it.
type PaymentError struct {
	Type        string // card_error
	Code        string // card_declined
	DeclineCode string // insufficient_funds
	Message     string
}

// Total is the sum of the invoice's lines.
func (inv Invoice) Total() int64 {
	var total int64
	for _, l := range inv.Lines {
		total += l.Amount
	}
	return total
}

// AmountRemaining is what is left to pay.
func (inv Invoice) AmountRemaining() int64 { return inv.Total() - inv.AmountPaid }

// InvoiceParams are the changes of an invoice create or update: a nil field
// stays as it is, "" removes it.
type InvoiceParams struct {
	Customer         string // create only
	Currency         string // create only; default usd
	Description      *string
	CollectionMethod *string
	DueDate          *int64
	DaysUntilDue     *int64
	AutoAdvance      *bool
	// IncludePending pulls the customer's pending invoice items into a new
	// invoice (pending_invoice_items_behavior=include).
	IncludePending bool
	// Metadata is merged into the invoice's; a key set to "" is removed.
	Metadata map[string]string
	// ClearMetadata removes every key before Metadata is merged (metadata=).
	ClearMetadata bool
}

// draftOnly returns the first parameter of p that only a draft takes, or
// "": a finalized invoice takes metadata and auto_advance.
func (p InvoiceParams) draftOnly() string {
	for _, f := range []struct {
		param string
		set   bool
	}{
		{"collection_method", p.CollectionMethod != nil}, {"days_until_due", p.DaysUntilDue != nil},
		{"description", p.Description != nil}, {"due_date", p.DueDate != nil},
	} {
		if f.set {
			return f.param
		}
	}
	return ""
}

// apply returns inv changed by p, or Stripe's error for the first
// parameter it refuses. inv itself is left as it is.
func (p InvoiceParams) apply(inv Invoice, now int64) (Invoice, error) {
	next := inv.clone()
	if param := p.draftOnly(); next.Status != InvoiceDraft && param != "" {
		err := wrongStatus("Finalized invoices can't be updated in this way. This invoice is %s.", next.Status)
		err.Param = param
		return Invoice{}, err
	}
	if p.Description != nil {
		if err := checkLength("description", *p.Description, 1500); err != nil {
			return Invoice{}, err
		}
		next.Description = *p.Description
	}
	if p.AutoAdvance != nil {
		next.AutoAdvance = *p.AutoAdvance
	}
	if p.CollectionMethod != nil {
		switch m := *p.CollectionMethod; m {
		case chargeAutomatically, sendInvoice:
			next.CollectionMethod = m
			if m == chargeAutomatically && p.DueDate == nil && p.DaysUntilDue == nil {
				next.DueDate = 0 // Stripe's due_date is null under automatic collection
			}
		default:
			return Invoice{}, invalidParam("collection_method", "",
				"Invalid collection_method: must be one of charge_automatically or send_invoice")
		}
	}
	if p.DueDate != nil && p.DaysUntilDue != nil {
		return Invoice{}, invalidParam("due_date", "",
			"You may only specify one of these parameters: days_until_due, due_date.")
	}
	switch {
	case p.DueDate != nil:
		if *p.DueDate != 0 && *p.DueDate < now {
			return Invoice{}, invalidParam("due_date", "", "Invoice due dates must be in the future.")
		}
		next.DueDate = *p.DueDate
	case p.DaysUntilDue != nil:
		if *p.DaysUntilDue < 0 {
			return Invoice{}, invalidParam("days_until_due", "", "days_until_due must not be negative.")
		}
		next.DueDate = inv.Created + *p.DaysUntilDue*24*60*60
	}
	if next.CollectionMethod == chargeAutomatically && next.DueDate != 0 {
		return Invoice{}, invalidParam("", "",
			"You can only specify 'due_date' or 'days_until_due' if invoice collection method is 'send_invoice'.")
	}
	if next.CollectionMethod == sendInvoice && next.DueDate == 0 {
		return Invoice{}, invalidParam("", "",
			"If invoice collection method is 'send_invoice', you must specify 'due_date' or 'days_until_due'.")
	}
	var err error
	if next.Metadata, err = applyMetadata(next.Metadata, p.Metadata, p.ClearMetadata); err != nil {
		return Invoice{}, err
	}
	return next, nil
}

// notEditable is Stripe's refusal to change what finalization froze.
func notEditable(format string, args ...any) *Error {
	return &Error{
		Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "invoice_not_editable",
		Message: fmt.Sprintf(format, args...),
	}
}

// clone returns a copy of inv that shares nothing with it.
func (inv Invoice) clone() Invoice {
	inv.Metadata = maps.Clone(inv.Metadata)
	if inv.Metadata == nil {
		inv.Metadata = map[string]string{}
	}
	inv.Lines = slices.Clone(inv.Lines)
	for i := range inv.Lines {
		inv.Lines[i] = inv.Lines[i].clone()
	}
	if inv.LastPaymentError != nil {
		pe := *inv.LastPaymentError
		inv.LastPaymentError = &pe
	}
	return inv
}

// embeddedLines is how many lines an invoice carries in lines.data; the
// rest are read from /v1/invoices/{id}/lines.
const embeddedLines = 10

// MarshalJSON encodes the invoice as Stripe's API answers it. Fields Tandem
// does not use carry the values of a one-off test-mode invoice.
func (inv Invoice) MarshalJSON() ([]byte, error) {
	type automaticTax struct {
		Enabled   bool `json:"enabled"`
		Liability any  `json:"liability"`
		Status    any  `json:"status"`
	}
	lines := listPage[LineItem]{Object: "list", Data: []LineItem{}, URL: "/v1/invoices/" + inv.ID + "/lines"}
	for i, l := range inv.Lines {
		if i == embeddedLines {
			lines.HasMore = true
			break
		}
		lines.Data = append(lines.Data, LineItem(l))
	}
	total := inv.Total()
	metadata := inv.Metadata
	if metadata == nil {
		metadata = map[string]string{}
	}
	var invoicePDF *string
	if inv.HostedInvoiceURL != "" {
		invoicePDF = nullable(inv.HostedInvoiceURL + "/pdf")
	}
	var finalizedAt *int64
	if inv.Transitions.FinalizedAt != 0 {
		finalizedAt = &inv.Transitions.FinalizedAt
	}
	var paidOffStripe int64
	if inv.PaidOutOfBand {
		paidOffStripe = inv.AmountPaid
	}
	return json.Marshal(struct {
		ID                       string             `json:"id"`
		Object                   string             `json:"object"`
		AccountCountry           string             `json:"account_country"`
		AccountName              string             `json:"account_name"`
		AccountTaxIDs            any                `json:"account_tax_ids"`
		AmountDue                int64              `json:"amount_due"`
		AmountOverpaid           int64              `json:"amount_overpaid"`
		AmountPaid               int64              `json:"amount_paid"`
		AmountPaidOffStripe      int64              `json:"amount_paid_off_stripe"`
		AmountRemaining          int64              `json:"amount_remaining"`
		AmountShipping           int64              `json:"amount_shipping"`
		Application              any                `json:"application"`
		AttemptCount             int64              `json:"attempt_count"`
		Attempted                bool               `json:"attempted"`
		AutoAdvance              bool               `json:"auto_advance"`
		AutomaticTax             automaticTax       `json:"automatic_tax"`
		AutomaticallyFinalizesAt any                `json:"automatically_finalizes_at"`
		BillingReason            string             `json:"billing_reason"`
		CollectionMethod         string             `json:"collection_method"`
		Created                  int64              `json:"created"`
		Currency                 string             `json:"currency"`
		CustomFields             any                `json:"custom_fields"`
		Customer                 string             `json:"customer"`
		CustomerAccount          any                `json:"customer_account"`
		CustomerAddress          any                `json:"customer_address"`
		CustomerEmail            any                `json:"customer_email"`
		CustomerName             any                `json:"customer_name"`
		CustomerPhone            any                `json:"customer_phone"`
		CustomerShipping         any                `json:"customer_shipping"`
		CustomerTaxExempt        string             `json:"customer_tax_exempt"`
		CustomerTaxIDs           []any              `json:"customer_tax_ids"`
		DefaultPaymentMethod     any                `json:"default_payment_method"`
		DefaultSource            any                `json:"default_source"`
		DefaultTaxRates          []any              `json:"default_tax_rates"`
		Deleted                  bool               `json:"deleted,omitempty"`
		Description              *string            `json:"description"`
		Discounts                []string           `json:"discounts"`
		DueDate                  *int64             `json:"due_date"`
		EffectiveAt              *int64             `json:"effective_at"`
		EndingBalance            any                `json:"ending_balance"`
		Footer                   any                `json:"footer"`
		FromInvoice              any                `json:"from_invoice"`
		HostedInvoiceURL         *string            `json:"hosted_invoice_url"`
		InvoicePDF               *string            `json:"invoice_pdf"`
		Issuer                   map[string]string  `json:"issuer"`
		LastFinalizationError    any                `json:"last_finalization_error"`
		LatestRevision           any                `json:"latest_revision"`
		Lines                    listPage[LineItem] `json:"lines"`
		Livemode                 bool               `json:"livemode"`
		Metadata                 map[string]string  `json:"metadata"`
		NextPaymentAttempt       any                `json:"next_payment_attempt"`
		Number                   *string            `json:"number"`
		OnBehalfOf               any                `json:"on_behalf_of"`
		Parent                   any                `json:"parent"`
		PaymentSettings          map[string]any     `json:"payment_settings"`
		PeriodEnd                int64              `json:"period_end"`
		PeriodStart              int64              `json:"period_start"`
		PostPaymentCreditNotes   int64              `json:"post_payment_credit_notes_amount"`
		PrePaymentCreditNotes    int64              `json:"pre_payment_credit_notes_amount"`
		ReceiptNumber            any                `json:"receipt_number"`
		Rendering                any                `json:"rendering"`
		ShippingCost             any                `json:"shipping_cost"`
		ShippingDetails          any                `json:"shipping_details"`
		StartingBalance          int64              `json:"starting_balance"`
		StatementDescriptor      any                `json:"statement_descriptor"`
		Status                   InvoiceStatus      `json:"status"`
		StatusTransitions        StatusTransitions  `json:"status_transitions"`
		Subtotal                 int64              `json:"subtotal"`
		SubtotalExcludingTax     int64              `json:"subtotal_excluding_tax"`
		TestClock                any                `json:"test_clock"`
		Total                    int64              `json:"total"`
		TotalDiscountAmounts     []any              `json:"total_discount_amounts"`
		TotalExcludingTax        int64              `json:"total_excluding_tax"`
		TotalPretaxCreditAmounts []any              `json:"total_pretax_credit_amounts"`
		TotalTaxes               []any              `json:"total_taxes"`
		WebhooksDeliveredAt      *int64             `json:"webhooks_delivered_at"`
	}{
		ID: inv.ID, Object: "invoice", AccountCountry: "US", AccountName: "Stripe emulator",
		AmountDue: total, AmountPaid: inv.AmountPaid, AmountPaidOffStripe: paidOffStripe,
		AmountRemaining: inv.AmountRemaining(), AttemptCount: inv.AttemptCount, Attempted: inv.Attempted,
		AutoAdvance: inv.AutoAdvance, BillingReason: "manual", CollectionMethod: inv.CollectionMethod,
		Created: inv.Created, Currency: inv.Currency, Customer: inv.Customer, CustomerTaxExempt: "none",
		CustomerTaxIDs: []any{}, DefaultTaxRates: []any{}, Deleted: inv.Deleted,
		Description: nullable(inv.Description), Discounts: []string{}, DueDate: nullableTime(inv.DueDate),
		EffectiveAt: finalizedAt, HostedInvoiceURL: nullable(inv.HostedInvoiceURL), InvoicePDF: invoicePDF,
		Issuer: map[string]string{"type": "self"}, Lines: lines, Metadata: metadata, Number: nullable(inv.Number),
		PaymentSettings: map[string]any{"default_mandate": nil, "payment_method_options": nil, "payment_method_types": nil},
		PeriodEnd:       inv.Created, PeriodStart: inv.Created, Status: inv.Status, StatusTransitions: inv.Transitions,
		Subtotal: total, SubtotalExcludingTax: total, Total: total, TotalDiscountAmounts: []any{},
		TotalExcludingTax: total, TotalPretaxCreditAmounts: []any{}, TotalTaxes: []any{},
		WebhooksDeliveredAt: nullableTime(inv.Created),
	})
}

// MarshalJSON encodes the transition times as Stripe does, null for not yet.
func (t StatusTransitions) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]*int64{
		"finalized_at":            nullableTime(t.FinalizedAt),
		"marked_uncollectible_at": nullableTime(t.MarkedUncollectibleAt),
		"paid_at":                 nullableTime(t.PaidAt),
		"voided_at":               nullableTime(t.VoidedAt),
	})
}

// nullableTime is t, or nil (JSON null) when it is zero.
func nullableTime(t int64) *int64 {
	if t == 0 {
		return nil
	}
	return &t
}

// changedFields returns the old values of the top-level JSON fields that
// differ between old and next, as an *.updated event's previous_attributes
// carries them: whole fields, except metadata (only the keys that changed)
// and the fields in skip.
func changedFields(old, next any, oldMetadata, nextMetadata map[string]string, skip ...string) map[string]any {
	var was, is map[string]json.RawMessage
	if json.Unmarshal(mustJSON(old), &was) != nil || json.Unmarshal(mustJSON(next), &is) != nil {
		panic("stripe emulator: decoding an object it encoded")
	}
	prev := map[string]any{}
	for k, v := range was {
		if k != "metadata" && !slices.Contains(skip, k) && !bytes.Equal(v, is[k]) {
			prev[k] = v
		}
	}
	if metadata := metadataChanges(oldMetadata, nextMetadata); len(metadata) > 0 {
		prev["metadata"] = metadata
	}
	return prev
}

// invoicePreviousAttributes is changedFields for an invoice. Lines are left
// out: their changes have invoiceitem events.
func invoicePreviousAttributes(old, next Invoice) map[string]any {
	return changedFields(old, next, old.Metadata, next.Metadata, "lines")
}

// addInvoice creates a draft invoice for a live customer. The caller holds
// e.mu.
func (e *Emulator) addInvoice(p InvoiceParams, o origin) (Invoice, error) {
	if err := e.billedCustomer(p.Customer); err != nil {
		return Invoice{}, err
	}
	currency, err := checkCurrency(p.Currency)
	if err != nil {
		return Invoice{}, err
	}
	if p.CollectionMethod == nil {
		p.CollectionMethod = ptr(chargeAutomatically)
	}
	now := e.now().Unix()
	inv, err := p.apply(Invoice{
		ID: newID("in"), Customer: p.Customer, Created: now, Currency: currency, Status: InvoiceDraft,
	}, now)
	if err != nil {
		return Invoice{}, err
	}
	e.invoices.add(inv.ID, &inv)
	if p.IncludePending {
		for _, it := range slices.Backward(e.invoiceItems.all) { // newest first, as Stripe sweeps them
			if !it.Deleted && it.Invoice == "" && it.Customer == inv.Customer && it.Currency == inv.Currency {
				it.Invoice = inv.ID
				inv.Lines = append(inv.Lines, it.clone())
			}
		}
	}
	e.emit("invoice.created", inv, nil, o)
	return inv.clone(), nil
}

// billedCustomer checks the customer parameter of an invoice or invoice
// item: required, and a live customer.
func (e *Emulator) billedCustomer(id string) error {
	if id == "" {
		return invalidParam("customer", "parameter_missing", "Missing required param: customer.")
	}
	if _, err := e.liveCustomer(id); err != nil {
		err.(*Error).Param = "customer"
		return err
	}
	return nil
}

// checkCurrency returns the currency, lower case, defaulting to usd.
func checkCurrency(c string) (string, error) {
	if c == "" {
		return "usd", nil
	}
	c = strings.ToLower(c)
	if len(c) != 3 || strings.Trim(c, "abcdefghijklmnopqrstuvwxyz") != "" {
		return "", invalidParam("currency", "", "Invalid currency: %s. Stripe currently supports these currencies: usd, eur, gbp, ...", c)
	}
	return c, nil
}

// ptr returns a pointer to a copy of v, for optional parameters.
func ptr[T any](v T) *T { return &v }

// changeInvoice updates an invoice; a change that changes nothing makes no
// event. The caller holds e.mu.
func (e *Emulator) changeInvoice(id string, p InvoiceParams, o origin) (Invoice, error) {
	inv, err := e.liveInvoice(id, "id")
	if err != nil {
		return Invoice{}, err
	}
	next, err := p.apply(*inv, e.now().Unix())
	if err != nil {
		return Invoice{}, err
	}
	prev := invoicePreviousAttributes(*inv, next)
	*inv = next
	if len(prev) > 0 {
		e.emit("invoice.updated", next, prev, o)
	}
	return next.clone(), nil
}

// removeInvoice deletes a draft, and the invoice items on it (Stripe leaves
// them on the deleted draft, where nothing can change them). The caller
// holds e.mu.
func (e *Emulator) removeInvoice(id string, o origin) (Invoice, error) {
	inv, err := e.liveInvoice(id, "invoice")
	if err != nil {
		return Invoice{}, err
	}
	if inv.Status != InvoiceDraft {
		return Invoice{}, wrongStatus("You can only delete draft invoices. This invoice is %s.", inv.Status)
	}
	inv.Deleted = true
	for _, l := range inv.Lines {
		if it, ok := e.invoiceItems.get(l.ID); ok {
			it.Deleted = true
		}
	}
	e.emit("invoice.deleted", *inv, nil, o)
	return inv.clone(), nil
}

// liveInvoice is the invoice id unless it is missing or deleted. param is
// what Stripe's 404 names: "invoice" on GET and DELETE, "id" on the POSTs.
func (e *Emulator) liveInvoice(id, param string) (*Invoice, error) {
	inv, ok := e.invoices.get(id)
	if !ok || inv.Deleted {
		return nil, resourceMissing("invoice", param, id)
	}
	return inv, nil
}

// wrongStatus is Stripe's refusal of an action the invoice's status does
// not allow; its message names the status.
func wrongStatus(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
}

// notOpen is Stripe's refusal to void, or mark uncollectible, an invoice
// that is not open, with the status named after Stripe's sentence.
func notOpen(inv Invoice) *Error {
	return wrongStatus("You can only pass in open invoices. This invoice isn't open: it is %s.", inv.Status)
}

// lifecycle is one status change of an invoice: the statuses it starts
// from, the refusal for any other, and what it does, returning the events
// it makes.
type lifecycle struct {
	from   []InvoiceStatus
	refuse func(Invoice) *Error
	apply  func(inv *Invoice, now int64) []string
}

// The status changes of the lifecycle endpoints and the dashboard, after
// https://docs.stripe.com/invoicing/integration/workflow-transitions.
var (
	finalization = lifecycle{
		from: []InvoiceStatus{InvoiceDraft},
		refuse: func(inv Invoice) *Error {
			return wrongStatus(
				"This invoice is already finalized, you can't re-finalize a non-draft invoice. Its status is %s.", inv.Status)
		},
		apply: func(inv *Invoice, now int64) []string {
			inv.Status, inv.Transitions.FinalizedAt = InvoiceOpen, now
			inv.HostedInvoiceURL = "https://invoice.stripe.com/i/acct_emulator/test_" + inv.ID
			if inv.Total() > 0 {
				return []string{"invoice.finalized"}
			}
			// Stripe settles an invoice with nothing due at finalization.
			inv.Status, inv.Transitions.PaidAt, inv.Attempted = InvoicePaid, now, true
			return []string{"invoice.finalized", "invoice.paid"}
		},
	}

	charge = payment(false)

	// outOfBandPayment is pay with paid_out_of_band=true.
	outOfBandPayment = payment(true)

	voiding = lifecycle{
		from: []InvoiceStatus{InvoiceOpen, InvoiceUncollectible},
		refuse: func(inv Invoice) *Error {
			if inv.Status == InvoicePaid {
				return wrongStatus("Invoices with `paid` payments cannot be voided.")
			}
			return notOpen(inv)
		},
		apply: func(inv *Invoice, now int64) []string {
			inv.Status, inv.Transitions.VoidedAt = InvoiceVoid, now
			return []string{"invoice.voided"}
		},
	}

	markingUncollectible = lifecycle{
		from: []InvoiceStatus{InvoiceOpen},
		refuse: func(inv Invoice) *Error {
			if inv.Status == InvoiceUncollectible {
				return wrongStatus("This invoice has already been marked uncollectible.")
			}
			return notOpen(inv)
		},
		apply: func(inv *Invoice, now int64) []string {
			inv.Status, inv.Transitions.MarkedUncollectibleAt = InvoiceUncollectible, now
			return []string{"invoice.marked_uncollectible"}
		},
	}
)

// payment is the lifecycle of a successful pay: charged (the emulator has
// no payment methods and pretends the customer's default one paid), or
// marked paid outside Stripe, which is no payment attempt. A draft is
// finalized first, in the same call.
func payment(outOfBand bool) lifecycle {
	return lifecycle{
		from: []InvoiceStatus{InvoiceDraft, InvoiceOpen, InvoiceUncollectible},
		refuse: func(inv Invoice) *Error {
			if inv.Status == InvoicePaid {
				return wrongStatus("Invoice is already paid")
			}
			return wrongStatus("You can only pay open or uncollectible invoices. This invoice is %s.", inv.Status)
		},
		apply: func(inv *Invoice, now int64) []string {
			var events []string
			if inv.Status == InvoiceDraft {
				if events = finalization.apply(inv, now); inv.Status == InvoicePaid {
					return events
				}
			}
			inv.Status, inv.Transitions.PaidAt = InvoicePaid, now
			inv.AmountPaid, inv.PaidOutOfBand = inv.Total(), outOfBand
			if outOfBand {
				return append(events, "invoice.paid")
			}
			inv.Attempted = true
			inv.AttemptCount++
			inv.LastPaymentError = nil
			return append(events, "invoice.paid", "invoice.payment_succeeded")
		},
	}
}

// failedPayment is the lifecycle of a payment attempt that fails for
// reason: the invoice keeps its status.
func failedPayment(reason PaymentError) lifecycle {
	return lifecycle{
		from: []InvoiceStatus{InvoiceOpen, InvoiceUncollectible},
		refuse: func(inv Invoice) *Error {
			return wrongStatus("You can only pay open or uncollectible invoices. This invoice is %s.", inv.Status)
		},
		apply: func(inv *Invoice, _ int64) []string {
			inv.Attempted = true
			inv.AttemptCount++
			inv.LastPaymentError = &reason
			return []string{"invoice.payment_failed"}
		},
	}
}

// advance moves the invoice id through one status change. The caller holds
// e.mu.
func (e *Emulator) advance(id string, lc lifecycle, o origin) (Invoice, error) {
	inv, err := e.liveInvoice(id, "id")
	if err != nil {
		return Invoice{}, err
	}
	if !slices.Contains(lc.from, inv.Status) {
		return Invoice{}, lc.refuse(*inv)
	}
	finalizing, attempts := inv.Status == InvoiceDraft, inv.AttemptCount
	events := lc.apply(inv, e.now().Unix())
	if inv.AttemptCount > attempts {
		e.attempted(inv)
	}
	if finalizing {
		// Stripe numbers a customer's invoices in one sequence, after the
		// customer's invoice prefix.
		e.invoiceNumbers[inv.Customer]++
		prefix := strings.ToUpper(inv.Customer[len(inv.Customer)-8:])
		inv.Number = fmt.Sprintf("%s-%04d", prefix, e.invoiceNumbers[inv.Customer])
	}
	for _, typ := range events {
		e.emit(typ, *inv, nil, o)
	}
	return inv.clone(), nil
}
