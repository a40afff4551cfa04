package stripe

import "encoding/json"

// PaymentIntent is the PaymentIntent of an invoice's payment attempts,
// made at the first attempt (a payment outside Stripe makes none). At this
// API version an invoice does not name it: its invoice payment does
// (GET /v1/invoice_payments?invoice=), and the reason of a failed attempt
// is its last_payment_error. Its state is read from its invoice.
type PaymentIntent struct {
	ID string
	// PaymentID is the invoice payment (inpay_…) tying it to Invoice.
	PaymentID string
	Invoice   string
	Created   int64 // unix seconds
}

// paymentIntentView is a PaymentIntent with its invoice, as the API
// answers it.
type paymentIntentView struct {
	pi  PaymentIntent
	inv Invoice
}

// status is the PaymentIntent's status: succeeded once its invoice is paid
// by it, waiting for a payment method after a failed attempt.
func (v paymentIntentView) status() string {
	if v.inv.Status == InvoicePaid && !v.inv.PaidOutOfBand {
		return "succeeded"
	}
	return "requires_payment_method"
}

// MarshalJSON encodes the PaymentIntent as Stripe's API answers it.
func (v paymentIntentView) MarshalJSON() ([]byte, error) {
	type lastError struct {
		Code        string  `json:"code"`
		DeclineCode *string `json:"decline_code"`
		Message     string  `json:"message"`
		Type        string  `json:"type"`
	}
	var last *lastError
	if e := v.inv.LastPaymentError; e != nil {
		last = &lastError{Code: e.Code, DeclineCode: nullable(e.DeclineCode), Message: e.Message, Type: e.Type}
	}
	var received int64
	if v.status() == "succeeded" {
		received = v.inv.AmountPaid
	}
	return json.Marshal(struct {
		ID                 string            `json:"id"`
		Object             string            `json:"object"`
		Amount             int64             `json:"amount"`
		AmountCapturable   int64             `json:"amount_capturable"`
		AmountReceived     int64             `json:"amount_received"`
		CaptureMethod      string            `json:"capture_method"`
		ClientSecret       string            `json:"client_secret"`
		ConfirmationMethod string            `json:"confirmation_method"`
		Created            int64             `json:"created"`
		Currency           string            `json:"currency"`
		Customer           string            `json:"customer"`
		Description        *string           `json:"description"`
		LastPaymentError   *lastError        `json:"last_payment_error"`
		LatestCharge       any               `json:"latest_charge"`
		Livemode           bool              `json:"livemode"`
		Metadata           map[string]string `json:"metadata"`
		PaymentMethod      any               `json:"payment_method"`
		PaymentMethodTypes []string          `json:"payment_method_types"`
		Status             string            `json:"status"`
	}{
		ID: v.pi.ID, Object: "payment_intent", Amount: v.inv.Total(), AmountReceived: received,
		CaptureMethod: "automatic", ClientSecret: v.pi.ID + "_secret_emulator", ConfirmationMethod: "automatic",
		Created: v.pi.Created, Currency: v.inv.Currency, Customer: v.inv.Customer,
		Description: nullable("Payment for Invoice"), LastPaymentError: last, Metadata: map[string]string{},
		PaymentMethodTypes: []string{"card"}, Status: v.status(),
	})
}

// invoicePaymentView is the invoice payment of a PaymentIntent, as the API
// answers it.
type invoicePaymentView paymentIntentView

// MarshalJSON encodes the invoice payment as Stripe's API answers it.
func (v invoicePaymentView) MarshalJSON() ([]byte, error) {
	type payment struct {
		PaymentIntent string `json:"payment_intent"`
		Type          string `json:"type"`
	}
	status, paid := "open", paymentIntentView(v).status() == "succeeded"
	var paidAt, canceledAt *int64
	switch {
	case paid:
		status, paidAt = "paid", nullableTime(v.inv.Transitions.PaidAt)
	case v.inv.Status == InvoiceVoid:
		status, canceledAt = "canceled", nullableTime(v.inv.Transitions.VoidedAt)
	}
	var amountPaid *int64
	if paid {
		amountPaid = &v.inv.AmountPaid
	}
	return json.Marshal(struct {
		ID                string            `json:"id"`
		Object            string            `json:"object"`
		AmountPaid        *int64            `json:"amount_paid"`
		AmountRequested   int64             `json:"amount_requested"`
		Created           int64             `json:"created"`
		Currency          string            `json:"currency"`
		Invoice           string            `json:"invoice"`
		IsDefault         bool              `json:"is_default"`
		Livemode          bool              `json:"livemode"`
		Payment           payment           `json:"payment"`
		Status            string            `json:"status"`
		StatusTransitions map[string]*int64 `json:"status_transitions"`
	}{
		ID: v.pi.PaymentID, Object: "invoice_payment", AmountPaid: amountPaid, AmountRequested: v.inv.Total(),
		Created: v.pi.Created, Currency: v.inv.Currency, Invoice: v.inv.ID, IsDefault: true,
		Payment: payment{PaymentIntent: v.pi.ID, Type: "payment_intent"}, Status: status,
		StatusTransitions: map[string]*int64{"canceled_at": canceledAt, "paid_at": paidAt},
	})
}

// attempted records a payment attempt on inv: its PaymentIntent, made at
// the first. The caller holds e.mu.
func (e *Emulator) attempted(inv *Invoice) {
	if inv.PaymentIntent != "" {
		return
	}
	pi := PaymentIntent{ID: newID("pi"), PaymentID: newID("inpay"), Invoice: inv.ID, Created: e.now().Unix()}
	e.paymentIntents.add(pi.ID, &pi)
	inv.PaymentIntent = pi.ID
}

// retrievePaymentIntent answers GET /v1/payment_intents/{id}.
func (e *Emulator) retrievePaymentIntent(c *call) (any, error) {
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	id := c.r.PathValue("id")
	pi, ok := e.paymentIntents.get(id)
	if !ok {
		return nil, resourceMissing("payment_intent", "intent", id)
	}
	inv, _ := e.invoices.get(pi.Invoice)
	return paymentIntentView{pi: *pi, inv: inv.clone()}, nil
}

// listInvoicePayments answers GET /v1/invoice_payments: newest first,
// filtered by invoice.
func (e *Emulator) listInvoicePayments(c *call) (any, error) {
	lp, err := parsePageParams(c.form)
	if err != nil {
		return nil, err
	}
	invoice, byInvoice := c.form.string("invoice")
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	payments := newCollection[invoicePaymentView]()
	for _, pi := range e.paymentIntents.all {
		inv, _ := e.invoices.get(pi.Invoice)
		payments.add(pi.PaymentID, &invoicePaymentView{pi: *pi, inv: inv.clone()})
	}
	return payments.page(lp, func(p *invoicePaymentView) bool { return !byInvoice || p.inv.ID == invoice },
		"invoice_payment", "/v1/invoice_payments")
}
