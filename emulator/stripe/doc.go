// Package stripe is a stateful, in-process emulator of the part of the Stripe
// API that Tandem uses: customers, invoices and invoice items, events and
// signed webhooks. Tandem's tests and `tandem dev` run against it instead of
// a Stripe account.
//
// It is faithful where Tandem depends on Stripe's behaviour: the real
// stripe-go client works against it unchanged (form-encoded requests in
// bracket notation, Stripe's JSON objects, lists and errors), every change
// makes an event that names the request and idempotency key that caused it,
// idempotency keys replay the first answer, and webhooks are signed the way
// stripe-go's webhook package verifies them. It can also misbehave on purpose
// (Faults): rate limits, 500s before or after a change is made, latency, and
// webhooks that are dropped, duplicated or reordered.
//
// Invoices follow Stripe's lifecycle
// (https://docs.stripe.com/invoicing/integration/workflow-transitions):
//
//	POST   /v1/invoices                     → draft                 invoice.created
//	POST   /v1/invoices/{id}                draft¹                  invoice.updated
//	DELETE /v1/invoices/{id}                draft → gone (404)      invoice.deleted
//	POST   /v1/invoices/{id}/finalize       draft → open            invoice.finalized
//	                                        draft → paid (0 due)    invoice.finalized, invoice.paid
//	POST   /v1/invoices/{id}/pay            draft², open,           invoice.paid, and
//	                                        uncollectible → paid    invoice.payment_succeeded unless
//	                                                                paid_out_of_band=true
//	POST   /v1/invoices/{id}/void           open, uncollectible     invoice.voided
//	                                          → void
//	POST   /v1/invoices/{id}/mark_uncollectible  open → uncollectible  invoice.marked_uncollectible
//	GET    /v1/invoices, /v1/invoices/{id}, /v1/invoices/{id}/lines
//	POST, GET, DELETE /v1/invoiceitems[/{id}]   on a draft, or pending  invoiceitem.created|updated|deleted,
//	                                                                and invoice.updated when the
//	                                                                draft's amounts change
//
// ¹ A finalized invoice takes only metadata and auto_advance. ² A draft is
// finalized first, in the same call (and invoice.finalized comes first).
//
// Any other action is refused with a 400 invalid_request_error whose message
// names the invoice's status; changing the lines of a finalized invoice is
// invoice_not_editable. Amounts are integers in minor units: an item is
// quantity × unit_amount_decimal (or amount), the invoice's total the sum of
// its lines; an invoice embeds its first 10 lines. A number (PREFIX-0001)
// and a hosted_invoice_url are given at finalization. There are no payment
// methods: pay without paid_out_of_band charges successfully, and a failed
// payment is made through the Editor (FailInvoicePayment): the invoice keeps
// its status, counts attempt_count and makes invoice.payment_failed. As at
// this API version, the invoice names no PaymentIntent: the first attempt
// makes one and an invoice payment tying it to the invoice
// (GET /v1/invoice_payments?invoice=), and the reason of a failed attempt is
// the PaymentIntent's last_payment_error (GET /v1/payment_intents/{id}).
// Not emulated: products and prices (price_data,
// pricing), taxes, discounts, credit balances, the minimum charge amount,
// sending, automatic advancement and collection.
//
// Use it as an http.Handler and point stripe-go at it:
//
//	em, err := stripe.New(stripe.Config{SecretKey: "sk_test_x", Webhook: stripe.Webhook{URL: u, Secret: "whsec_x"}})
//	srv := httptest.NewServer(em)
//	sc := stripego.NewClient("sk_test_x", stripego.WithBackends(stripego.NewBackendsWithConfig(
//		&stripego.BackendConfig{URL: stripego.String(srv.URL)})))
//
// Layout: emulator.go holds the Emulator and its routes; api.go, form.go,
// list.go, idempotency.go, errors.go and ids.go are the core every resource
// shares; events.go and webhook.go make and deliver events; faults.go holds
// the fault switches. Each resource has one file for its object and rules
// (customer.go, invoice.go, invoiceitem.go) and one for its endpoints
// (customer_api.go, invoice_api.go, which serves invoice items too);
// payment.go holds the read-only PaymentIntents of invoice payments and
// their endpoints.
// editor.go changes state as a dashboard user or behind the API's back;
// dashboard.go serves the HTML page at /.
package stripe
