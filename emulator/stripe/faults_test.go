package stripe

import (
	"net/http"
	"slices"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v86"
)

// With FailAfterApply the change is made and its event emitted, but the
// answer is a 500 that the idempotency key replays: the caller must look
// before retrying with a new key.
func TestFailAfterApply(t *testing.T) {
	h := newHarness(t, Config{Faults: Faults{FailAfterApply: Chance{Every: 1}}})
	p := &stripego.CustomerCreateParams{Name: stripego.String("Ada")}
	p.SetIdempotencyKey("key-1")
	_, err := h.client.V1Customers.Create(t.Context(), p)
	checkError(t, err, http.StatusInternalServerError, stripego.ErrorTypeAPI, "", "")
	if got := stripeError(t, err).LastResponse.Header.Get("Stripe-Should-Retry"); got != "false" {
		t.Errorf("Stripe-Should-Retry = %q, want false", got)
	}

	cs := h.em.Customers()
	if len(cs) != 1 || cs[0].Name != "Ada" {
		t.Fatalf("the change was not made: %+v", cs)
	}
	evs := h.em.Events()
	if len(evs) != 1 || evs[0].Type != "customer.created" ||
		evs[0].Request.IdempotencyKey == nil || *evs[0].Request.IdempotencyKey != "key-1" {
		t.Fatalf("events %+v, want customer.created for key-1", evs)
	}

	if err := h.em.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.V1Customers.Create(t.Context(), p)
	checkError(t, err, http.StatusInternalServerError, stripego.ErrorTypeAPI, "", "")
	if got := stripeError(t, err).LastResponse.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("the 500 was not a replay (Idempotent-Replayed %q)", got)
	}
	if n := len(h.em.Customers()); n != 1 {
		t.Errorf("the retry made another customer: %d", n)
	}
}

// With RejectWrites a write is refused with a 400 and nothing is made or
// saved: once the fault is off, the same key runs the write.
func TestRejectWrites(t *testing.T) {
	h := newHarness(t, Config{Faults: Faults{RejectWrites: Chance{Every: 1}}})
	p := &stripego.CustomerCreateParams{Name: stripego.String("Ada")}
	p.SetIdempotencyKey("key-1")
	_, err := h.client.V1Customers.Create(t.Context(), p)
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "")
	if n, e := len(h.em.Customers()), len(h.em.Events()); n != 0 || e != 0 {
		t.Fatalf("a refused write changed state: %d customers, %d events", n, e)
	}
	_, err = h.client.V1Customers.Retrieve(t.Context(), "cus_missing", nil)
	if se := stripeError(t, err); se.HTTPStatusCode != http.StatusNotFound {
		t.Fatalf("a read answered %d, want the 404 of its own", se.HTTPStatusCode)
	}
	if err := h.em.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	h.create(t, "key-1", &stripego.CustomerCreateParams{Name: stripego.String("Ada")})
}

func TestFailBeforeApply(t *testing.T) {
	h := newHarness(t, Config{Faults: Faults{FailBeforeApply: Chance{Every: 2}}})
	h.create(t, "key-1", &stripego.CustomerCreateParams{Name: stripego.String("Ada")}) // first occasion passes

	p := &stripego.CustomerCreateParams{Name: stripego.String("Grace")}
	p.SetIdempotencyKey("key-2")
	_, err := h.client.V1Customers.Create(t.Context(), p)
	checkError(t, err, http.StatusInternalServerError, stripego.ErrorTypeAPI, "", "")
	if n, e := len(h.em.Customers()), len(h.em.Events()); n != 1 || e != 1 {
		t.Fatalf("a request failed before applying changed state: %d customers, %d events", n, e)
	}
	// Nothing was saved under key-2: the retry runs.
	c := h.create(t, "key-2", &stripego.CustomerCreateParams{Name: stripego.String("Grace")})
	if c.LastResponse.Header.Get("Idempotent-Replayed") != "" || c.Name != "Grace" {
		t.Errorf("retry after a failure before applying: %+v", c)
	}
}

func TestProbabilisticFaultsAreReproducible(t *testing.T) {
	statuses := func(seed uint64) []int {
		h := newHarness(t, Config{Seed: seed, Faults: Faults{FailBeforeApply: Chance{Probability: 0.5}}})
		for range 20 {
			_ = h.client.V1Customers.List(t.Context(), &stripego.CustomerListParams{}).Err()
		}
		var out []int
		for _, r := range h.em.Requests() {
			out = append(out, r.Status)
		}
		return out
	}
	a, b := statuses(42), statuses(42)
	if !slices.Equal(a, b) {
		t.Errorf("one seed, two sequences:\n%v\n%v", a, b)
	}
	if !slices.Contains(a, 200) || !slices.Contains(a, 500) {
		t.Errorf("probability 0.5 over 20 requests gave %v", a)
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, Config{Faults: Faults{RateLimit: 0.001, RateBurst: 1}})
	if _, err := h.client.V1Customers.Create(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	_, err := h.client.V1Customers.Create(t.Context(), nil)
	checkError(t, err, http.StatusTooManyRequests, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeRateLimit, "")
	if n := len(h.em.Customers()); n != 1 {
		t.Errorf("a throttled request made a customer: %d customers", n)
	}

	if err := h.em.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.V1Customers.Create(t.Context(), nil); err != nil {
		t.Errorf("after lifting the limit: %v", err)
	}
}

func TestLatency(t *testing.T) {
	const latency = 50 * time.Millisecond
	h := newHarness(t, Config{Faults: Faults{Latency: latency}})
	start := time.Now()
	if err := h.client.V1Customers.List(t.Context(), nil).Err(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < latency {
		t.Errorf("request took %v, want at least %v", took, latency)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no secret key", Config{}},
		{"webhook without secret", Config{SecretKey: testKey, Webhook: Webhook{URL: "http://127.0.0.1:1"}}},
		{"probability above 1", Config{SecretKey: testKey, Faults: Faults{DropWebhooks: Chance{Probability: 1.5}}}},
		{"negative latency", Config{SecretKey: testKey, Faults: Faults{Latency: -time.Second}}},
	} {
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
	h := newHarness(t, Config{})
	if err := h.em.SetFaults(Faults{FailAfterApply: Chance{Every: -1}}); err == nil {
		t.Error("SetFaults accepted Every -1")
	}
	if err := h.em.SetWebhook(Webhook{URL: "http://127.0.0.1:1"}); err == nil {
		t.Error("SetWebhook accepted an endpoint without a secret")
	}
}
