package stripe

import (
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	stripego "github.com/stripe/stripe-go/v86"
)

func TestIdempotentReplay(t *testing.T) {
	h := newHarness(t, Config{})
	first := h.create(t, "tandem:create:1", &stripego.CustomerCreateParams{Name: stripego.String("Ada")})
	again := h.create(t, "tandem:create:1", &stripego.CustomerCreateParams{Name: stripego.String("Ada")})
	if again.ID != first.ID {
		t.Errorf("replay made customer %s, first was %s", again.ID, first.ID)
	}
	if got := again.LastResponse.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("Idempotent-Replayed = %q on the replay", got)
	}
	if got := first.LastResponse.Header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("Idempotent-Replayed = %q on the first answer", got)
	}
	if again.LastResponse.RequestID == first.LastResponse.RequestID ||
		again.LastResponse.Header.Get("Original-Request") != first.LastResponse.RequestID {
		t.Errorf("replay: Request-Id %s, Original-Request %s; first Request-Id %s", again.LastResponse.RequestID,
			again.LastResponse.Header.Get("Original-Request"), first.LastResponse.RequestID)
	}
	if n, e := len(h.em.Customers()), len(h.em.Events()); n != 1 || e != 1 {
		t.Errorf("%d customers and %d events, want one of each", n, e)
	}

	// A delete is replayed too, instead of answering 404 the second time.
	del := &stripego.CustomerDeleteParams{}
	del.SetIdempotencyKey("tandem:delete:1")
	for range 2 {
		if _, err := h.client.V1Customers.Delete(t.Context(), first.ID, del); err != nil {
			t.Fatalf("delete with a replayed key: %v", err)
		}
	}

	want := []Request{
		{Method: "POST", Path: "/v1/customers", IdempotencyKey: "tandem:create:1", Status: 200},
		{Method: "POST", Path: "/v1/customers", IdempotencyKey: "tandem:create:1", Status: 200, Replayed: true},
		{Method: "DELETE", Path: "/v1/customers/" + first.ID, IdempotencyKey: "tandem:delete:1", Status: 200},
		{Method: "DELETE", Path: "/v1/customers/" + first.ID, IdempotencyKey: "tandem:delete:1", Status: 200, Replayed: true},
	}
	if diff := cmp.Diff(want, h.em.Requests(), cmpopts.IgnoreFields(Request{}, "ID")); diff != "" {
		t.Errorf("request log (-want +got):\n%s", diff)
	}
}

func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.create(t, "key-1", &stripego.CustomerCreateParams{Name: stripego.String("Ada")})

	other := &stripego.CustomerCreateParams{Name: stripego.String("Grace")}
	other.SetIdempotencyKey("key-1")
	_, err := h.client.V1Customers.Create(t.Context(), other)
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeIdempotency, "", "")

	up := &stripego.CustomerUpdateParams{Name: stripego.String("Ada")}
	up.SetIdempotencyKey("key-1")
	_, err = h.client.V1Customers.Update(t.Context(), c.ID, up)
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeIdempotency, "", "")

	if n := len(h.em.Customers()); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
}

// Stripe saves no result for a request refused for its parameters, so the
// key can be used again with good ones.
func TestRefusedRequestIsNotSaved(t *testing.T) {
	h := newHarness(t, Config{})
	bad := &stripego.CustomerCreateParams{Email: stripego.String("not an email")}
	bad.SetIdempotencyKey("key-1")
	if _, err := h.client.V1Customers.Create(t.Context(), bad); err == nil {
		t.Fatal("a bad email was accepted")
	}
	h.create(t, "key-1", &stripego.CustomerCreateParams{Email: stripego.String("ada@example.com")})
}

func TestConcurrentRequestsWithOneKey(t *testing.T) {
	h := newHarness(t, Config{})
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			p := &stripego.CustomerCreateParams{Name: stripego.String("Ada")}
			p.SetIdempotencyKey("same")
			c, err := h.client.V1Customers.Create(t.Context(), p)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = c.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("one key made several customers: %v", ids)
		}
	}
	if n := len(h.em.Events()); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}
