package stripe

import (
	"net/http"
	"testing"

	stripego "github.com/stripe/stripe-go/v86"
)

// A failed payment attempt is read as Stripe answers it at this API
// version: the invoice's invoice payment names its PaymentIntent, whose
// last_payment_error says why; a later successful charge clears it.
func TestPaymentFailureOnPaymentIntent(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	inv := invoiceIn(t, h.em, h.customer(t, "Ada"), InvoiceOpen)
	other := invoiceIn(t, h.em, h.customer(t, "Grace"), InvoiceOpen)
	if _, err := h.em.Dashboard().ChargeInvoice(other.ID); err != nil {
		t.Fatal(err)
	}
	payments := func() []*stripego.InvoicePayment {
		t.Helper()
		list := h.client.V1InvoicePayments.List(ctx, &stripego.InvoicePaymentListParams{Invoice: stripego.String(inv.ID)})
		if err := list.Err(); err != nil {
			t.Fatal(err)
		}
		return list.Data()
	}
	if p := payments(); len(p) != 0 {
		t.Fatalf("invoice payments before any attempt: %+v", p)
	}

	reason := PaymentError{Type: "card_error", Code: "card_declined", DeclineCode: "insufficient_funds",
		Message: "Your card has insufficient funds."}
	if _, err := h.em.Dashboard().FailInvoicePayment(inv.ID, reason); err != nil {
		t.Fatal(err)
	}
	if _, err := h.em.Dashboard().FailInvoicePayment(inv.ID, reason); err != nil {
		t.Fatal(err)
	}
	p := payments()
	if len(p) != 1 || p[0].Payment == nil || p[0].Payment.Type != "payment_intent" || p[0].Payment.PaymentIntent == nil ||
		p[0].Status != "open" || p[0].Invoice.ID != inv.ID || p[0].AmountRequested != 1000 {
		t.Fatalf("invoice payments after two failed attempts: %+v", p)
	}
	piID := p[0].Payment.PaymentIntent.ID
	pi, err := h.client.V1PaymentIntents.Retrieve(ctx, piID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := pi.LastPaymentError; e == nil || e.Type != "card_error" || e.Code != "card_declined" ||
		e.DeclineCode != "insufficient_funds" || e.Msg != reason.Message || pi.Status != "requires_payment_method" {
		t.Fatalf("PaymentIntent %+v, last_payment_error %+v", pi, pi.LastPaymentError)
	}

	if _, err := h.em.Dashboard().ChargeInvoice(inv.ID); err != nil {
		t.Fatal(err)
	}
	if pi, err = h.client.V1PaymentIntents.Retrieve(ctx, piID, nil); err != nil {
		t.Fatal(err)
	}
	if pi.LastPaymentError != nil || pi.Status != "succeeded" || pi.AmountReceived != 1000 {
		t.Fatalf("after a successful charge: %+v", pi)
	}
	if p := payments(); len(p) != 1 || p[0].Status != "paid" || p[0].AmountPaid != 1000 {
		t.Fatalf("invoice payments after the charge: %+v", p)
	}

	_, err = h.client.V1PaymentIntents.Retrieve(ctx, "pi_missing", nil)
	checkError(t, err, http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "intent")
}
