// Package stripe is a stateful, in-process emulator of the part of the Stripe
// API that Tandem uses: customers, events and signed webhooks. Tandem's tests
// and `tandem dev` run against it instead of a Stripe account.
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
// (customer.go) and one for its endpoints (customer_api.go). editor.go
// changes state as a dashboard user or behind the API's back; dashboard.go
// serves the HTML page at /.
package stripe
