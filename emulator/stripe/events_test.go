package stripe

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	stripego "github.com/stripe/stripe-go/v86"
)

func TestEvents(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	h := newHarness(t, Config{Now: clock.Now})
	ctx := t.Context()
	t0 := clock.Now().Unix()

	ada := h.create(t, "key-ada", &stripego.CustomerCreateParams{
		Name: stripego.String("Ada"), Metadata: map[string]string{"plan": "pro", "tandem_id": "tdmc_1"},
		Address: &stripego.AddressParams{City: stripego.String("London")},
	})
	clock.advance(10 * time.Second)
	grace := h.create(t, "key-grace", &stripego.CustomerCreateParams{Name: stripego.String("Grace")})
	clock.advance(10 * time.Second)
	up := &stripego.CustomerUpdateParams{
		Name: stripego.String("Ada Lovelace"), Metadata: map[string]string{"plan": "", "tier": "gold"},
		Address: &stripego.AddressParams{City: stripego.String("Paris")},
	}
	up.SetIdempotencyKey("key-update")
	updated, err := h.client.V1Customers.Update(ctx, ada.ID, up)
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(10 * time.Second)
	del := &stripego.CustomerDeleteParams{}
	del.SetIdempotencyKey("key-delete")
	deleted, err := h.client.V1Customers.Delete(ctx, grace.ID, del)
	if err != nil {
		t.Fatal(err)
	}

	list := func(p *stripego.EventListParams) []*stripego.Event {
		t.Helper()
		var out []*stripego.Event
		for ev, err := range h.client.V1Events.List(ctx, p).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
		return out
	}
	types := func(evs []*stripego.Event) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, string(ev.Type))
		}
		return out
	}

	all := list(&stripego.EventListParams{ListParams: stripego.ListParams{Limit: stripego.Int64(1)}})
	want := []string{"customer.deleted", "customer.updated", "customer.created", "customer.created"}
	if got := types(all); !cmp.Equal(got, want) {
		t.Fatalf("events newest first: %v, want %v", got, want)
	}
	for i, tc := range []struct {
		requestID, key, object string
		created                int64
	}{
		{deleted.LastResponse.RequestID, "key-delete", grace.ID, t0 + 30},
		{updated.LastResponse.RequestID, "key-update", ada.ID, t0 + 20},
		{grace.LastResponse.RequestID, "key-grace", grace.ID, t0 + 10},
		{ada.LastResponse.RequestID, "key-ada", ada.ID, t0},
	} {
		ev := all[i]
		if ev.Request == nil || ev.Request.ID != tc.requestID || ev.Request.IdempotencyKey != tc.key ||
			ev.Data.Object["id"] != tc.object || ev.Created != tc.created || ev.APIVersion != stripego.APIVersion ||
			ev.Object != "event" || ev.Livemode {
			t.Errorf("%s: request %+v, object %v, created %d, api_version %s; want request {%s %s}, object %s, created %d",
				ev.Type, ev.Request, ev.Data.Object["id"], ev.Created, ev.APIVersion, tc.requestID, tc.key, tc.object, tc.created)
		}
	}

	prev := all[1].Data.PreviousAttributes
	wantPrev := map[string]any{
		"name":     "Ada",
		"address":  map[string]any{"city": "London", "country": nil, "line1": nil, "line2": nil, "postal_code": nil, "state": nil},
		"metadata": map[string]any{"plan": "pro", "tier": nil},
	}
	if diff := cmp.Diff(wantPrev, prev); diff != "" {
		t.Errorf("previous_attributes (-want +got):\n%s", diff)
	}
	if all[1].Data.Object["name"] != "Ada Lovelace" {
		t.Errorf("customer.updated carries %v, want the customer after the change", all[1].Data.Object)
	}
	if obj := all[0].Data.Object; obj["deleted"] != true || obj["name"] != "Grace" {
		t.Errorf("customer.deleted carries %v, want the last state with deleted: true", obj)
	}

	for _, tc := range []struct {
		name   string
		params *stripego.EventListParams
		want   []string
	}{
		{"type", &stripego.EventListParams{Type: stripego.String("customer.created")}, []string{"customer.created", "customer.created"}},
		{"type wildcard", &stripego.EventListParams{Type: stripego.String("customer.*")}, types(all)},
		{"types", &stripego.EventListParams{Types: stripego.StringSlice([]string{"customer.updated", "customer.deleted"})},
			[]string{"customer.deleted", "customer.updated"}},
		{"created gte", &stripego.EventListParams{CreatedRange: &stripego.RangeQueryParams{GreaterThanOrEqual: t0 + 20}},
			[]string{"customer.deleted", "customer.updated"}},
		{"created gt lt", &stripego.EventListParams{CreatedRange: &stripego.RangeQueryParams{GreaterThan: t0, LesserThan: t0 + 30}},
			[]string{"customer.updated", "customer.created"}},
		{"created exact", &stripego.EventListParams{Created: stripego.Int64(t0)}, []string{"customer.created"}},
		{"starting_after", &stripego.EventListParams{ListParams: stripego.ListParams{StartingAfter: stripego.String(all[1].ID)}},
			[]string{"customer.created", "customer.created"}},
	} {
		if got := types(list(tc.params)); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}

	ev, err := h.client.V1Events.Retrieve(ctx, all[2].ID, nil)
	if err != nil || ev.ID != all[2].ID || ev.Type != "customer.created" {
		t.Errorf("retrieve %s: %+v, %v", all[2].ID, ev, err)
	}
	_, err = h.client.V1Events.Retrieve(ctx, "evt_missing", nil)
	checkError(t, err, http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "id")
	err = h.client.V1Events.List(ctx, &stripego.EventListParams{Type: stripego.String("a"), Types: stripego.StringSlice([]string{"b"})}).Err()
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "types")
}
