package stripe

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	stripego "github.com/stripe/stripe-go/v86"
	"github.com/stripe/stripe-go/v86/webhook"
)

func TestSignatureMatchesStripeGo(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event"}`)
	at := time.Unix(1_700_000_000, 0)
	want := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_x", Timestamp: at}).Header
	if got := signature("whsec_x", at, body); got != want {
		t.Errorf("signature %q, stripe-go makes %q", got, want)
	}
}

func TestWebhookDelivery(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, Config{Webhook: rc.webhook()})
	c := h.create(t, "tandem:push:1", &stripego.CustomerCreateParams{Name: stripego.String("Ada")})
	up := &stripego.CustomerUpdateParams{Email: stripego.String("ada@example.com")}
	up.SetIdempotencyKey("tandem:push:2")
	if _, err := h.client.V1Customers.Update(t.Context(), c.ID, up); err != nil {
		t.Fatal(err)
	}
	h.waitWebhooks(t)

	got := rc.receivedEvents()
	if len(got) != 2 {
		t.Fatalf("received %d events, want 2", len(got))
	}
	for i, want := range []struct{ typ, key string }{{"customer.created", "tandem:push:1"}, {"customer.updated", "tandem:push:2"}} {
		ev := got[i]
		if string(ev.Type) != want.typ || ev.Request.IdempotencyKey != want.key || ev.Data.Object["id"] != c.ID {
			t.Errorf("event %d: %s, key %q, object %v; want %s, key %q",
				i, ev.Type, ev.Request.IdempotencyKey, ev.Data.Object["id"], want.typ, want.key)
		}
	}
	for _, ev := range h.em.Events() {
		if ev.PendingWebhooks != 0 {
			t.Errorf("%s still has pending_webhooks %d after delivery", ev.ID, ev.PendingWebhooks)
		}
	}
}

// The endpoint can be set after the emulator started, as when the receiver
// only knows its URL once it listens.
func TestSetWebhookLater(t *testing.T) {
	h := newHarness(t, Config{})
	h.create(t, "", &stripego.CustomerCreateParams{Name: stripego.String("before")})
	rc := newReceiver(t)
	if err := h.em.SetWebhook(rc.webhook()); err != nil {
		t.Fatal(err)
	}
	h.create(t, "", &stripego.CustomerCreateParams{Name: stripego.String("after")})
	h.waitWebhooks(t)
	got := rc.receivedEvents()
	if len(got) != 1 || got[0].Data.Object["name"] != "after" {
		t.Errorf("received %v, want only the event made after SetWebhook", got)
	}
}

func TestWebhookRetries(t *testing.T) {
	rc := newReceiver(t)
	rc.failNext(2)
	h := newHarness(t, Config{Webhook: rc.webhook()})
	h.create(t, "", &stripego.CustomerCreateParams{})
	h.waitWebhooks(t)
	ids, attempts := rc.received()
	if !cmp.Equal(ids, eventIDs(h.em)) || attempts != 3 {
		t.Errorf("received %v in %d attempts, want %v in 3", ids, attempts, eventIDs(h.em))
	}
}

func TestWebhookGivesUp(t *testing.T) {
	rc := newReceiver(t)
	rc.failNext(100)
	h := newHarness(t, Config{Webhook: rc.webhook(), WebhookAttempts: 3})
	h.create(t, "", &stripego.CustomerCreateParams{})
	h.waitWebhooks(t)
	if ids, attempts := rc.received(); len(ids) != 0 || attempts != 3 {
		t.Errorf("received %v in %d attempts, want nothing in 3", ids, attempts)
	}
	failed := h.client.V1Events.List(t.Context(), &stripego.EventListParams{DeliverySuccess: stripego.Bool(false)})
	if err := failed.Err(); err != nil || len(failed.Data()) != 1 || failed.Data()[0].PendingWebhooks != 1 {
		t.Errorf("delivery_success=false lists %v (%v), want the undelivered event", failed.Data(), err)
	}
}

func TestWebhookToUnreachableEndpointGivesUp(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	h := newHarness(t, Config{Webhook: Webhook{URL: dead.URL, Secret: "whsec_x"}, WebhookAttempts: 2})
	h.create(t, "", &stripego.CustomerCreateParams{})
	h.waitWebhooks(t)
	if evs := h.em.Events(); evs[0].PendingWebhooks != 1 {
		t.Errorf("pending_webhooks %d after giving up, want 1", evs[0].PendingWebhooks)
	}
}

func TestWebhookFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults Faults
		events int
		// want maps the emulator's event ids, oldest first, to the ids
		// the endpoint should receive, in order.
		want func(ids []string) []string
	}{
		{"none", Faults{}, 3, func(ids []string) []string { return ids }},
		{"drop", Faults{DropWebhooks: Chance{Every: 2}}, 3, func(ids []string) []string { return []string{ids[0], ids[2]} }},
		{"duplicate", Faults{DuplicateWebhooks: Chance{Every: 1}}, 2,
			func(ids []string) []string { return []string{ids[0], ids[0], ids[1], ids[1]} }},
		{"reorder", Faults{ReorderWebhooks: Chance{Every: 1}, ReorderHold: time.Hour}, 4,
			func(ids []string) []string { return []string{ids[1], ids[0], ids[3], ids[2]} }},
		{"reorder without a later event", Faults{ReorderWebhooks: Chance{Every: 1}, ReorderHold: 10 * time.Millisecond}, 1,
			func(ids []string) []string { return ids }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			h := newHarness(t, Config{Webhook: rc.webhook(), Faults: tc.faults})
			for range tc.events {
				h.create(t, "", &stripego.CustomerCreateParams{})
			}
			h.waitWebhooks(t)
			ids := eventIDs(h.em)
			if len(ids) != tc.events {
				t.Fatalf("%d events, want %d: faults must not touch the event log", len(ids), tc.events)
			}
			got, _ := rc.received()
			if want := tc.want(ids); !slices.Equal(got, want) {
				t.Errorf("received %v, want %v (events %v)", got, want, ids)
			}
		})
	}
}
