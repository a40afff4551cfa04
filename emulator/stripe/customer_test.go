package stripe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	stripego "github.com/stripe/stripe-go/v86"
)

func TestCustomerLifecycle(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()

	created := h.create(t, "", &stripego.CustomerCreateParams{
		Name: stripego.String("Ada Lovelace"), Email: stripego.String("ada@example.com"),
		Phone: stripego.String("+44 20 7946 0000"), Description: stripego.String("first programmer"),
		Address: &stripego.AddressParams{
			Line1: stripego.String("12 St James's Square"), City: stripego.String("London"), Country: stripego.String("GB"),
		},
		Metadata: map[string]string{"tandem_id": "tdmc_1", "plan": "pro"},
	})
	if !strings.HasPrefix(created.ID, "cus_") || created.Object != "customer" || created.Created == 0 || created.Livemode {
		t.Errorf("created customer has id %q, object %q, created %d, livemode %v", created.ID, created.Object, created.Created, created.Livemode)
	}
	want := Customer{
		ID: created.ID, Created: created.Created, Name: "Ada Lovelace", Email: "ada@example.com",
		Phone: "+44 20 7946 0000", Description: "first programmer",
		Address:  &Address{Line1: "12 St James's Square", City: "London", Country: "GB"},
		Metadata: map[string]string{"tandem_id": "tdmc_1", "plan": "pro"},
	}
	got, ok := h.em.Customer(created.ID)
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("stored customer (-want +got):\n%s", diff)
	}
	fetched, err := h.client.V1Customers.Retrieve(ctx, created.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fetched.Name != "Ada Lovelace" || fetched.Address == nil || fetched.Address.City != "London" || fetched.Address.Line2 != "" ||
		!cmp.Equal(fetched.Metadata, want.Metadata) {
		t.Errorf("retrieved %+v, address %+v", fetched, fetched.Address)
	}
	if raw := string(fetched.LastResponse.RawJSON); !strings.Contains(raw, `"line2":null`) {
		t.Errorf("empty address field should be null: %s", raw)
	}

	// Empty values unset: name= is null, metadata[plan]= removes the key, address= removes the address.
	up := &stripego.CustomerUpdateParams{
		Name: stripego.String(""), Email: stripego.String("ada@lovelace.org"),
		Metadata: map[string]string{"plan": "", "tier": "gold"},
	}
	up.AddUnsetField(stripego.CustomerUpdateParamsUnsetFieldAddress)
	updated, err := h.client.V1Customers.Update(ctx, created.ID, up)
	if err != nil {
		t.Fatal(err)
	}
	want.Name, want.Email, want.Address = "", "ada@lovelace.org", nil
	want.Metadata = map[string]string{"tandem_id": "tdmc_1", "tier": "gold"}
	got, _ = h.em.Customer(created.ID)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("updated customer (-want +got):\n%s", diff)
	}
	if raw := string(updated.LastResponse.RawJSON); !strings.Contains(raw, `"name":null`) || !strings.Contains(raw, `"address":null`) {
		t.Errorf("unset fields should be null: %s", raw)
	}

	deleted, err := h.client.V1Customers.Delete(ctx, created.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !deleted.Deleted || deleted.ID != created.ID {
		t.Errorf("delete answered %+v", deleted)
	}
	stub, err := h.client.V1Customers.Retrieve(ctx, created.ID, nil)
	if err != nil {
		t.Fatalf("a deleted customer is still retrievable: %v", err)
	}
	if raw := string(stub.LastResponse.RawJSON); !stub.Deleted || strings.Contains(raw, "email") {
		t.Errorf("a deleted customer is answered as its stub only, got %s", raw)
	}
	_, err = h.client.V1Customers.Update(ctx, created.ID, &stripego.CustomerUpdateParams{Name: stripego.String("x")})
	checkError(t, err, http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "id")
	_, err = h.client.V1Customers.Delete(ctx, created.ID, nil)
	checkError(t, err, http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "id")
	_, err = h.client.V1Customers.Retrieve(ctx, "cus_missing", nil)
	checkError(t, err, http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "id")

	var types []string
	for _, ev := range h.em.Events() {
		types = append(types, ev.Type)
	}
	if want := []string{"customer.created", "customer.updated", "customer.deleted"}; !cmp.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}
}

func TestUpdateWithoutChangeMakesNoEvent(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.create(t, "", &stripego.CustomerCreateParams{Name: stripego.String("Ada")})
	if _, err := h.client.V1Customers.Update(t.Context(), c.ID, &stripego.CustomerUpdateParams{Name: stripego.String("Ada")}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.em.Events()); n != 1 {
		t.Errorf("%d events, want only customer.created", n)
	}
}

func TestListCustomers(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	var ids []string // oldest first
	for i := range 25 {
		email := fmt.Sprintf("c%02d@example.com", i)
		if i%5 == 0 {
			email = "five@example.com"
		}
		c := h.create(t, "", &stripego.CustomerCreateParams{Name: stripego.String(fmt.Sprintf("c%02d", i)), Email: stripego.String(email)})
		ids = append(ids, c.ID)
	}
	names := func(cs []*stripego.Customer) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	all := func(p *stripego.CustomerListParams) []string {
		t.Helper()
		var out []string
		for c, err := range h.client.V1Customers.List(ctx, p).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c.Name)
		}
		return out
	}
	seq := func(from, to int) []string { // names from..to, step ±1, inclusive
		var out []string
		for i := from; ; {
			out = append(out, fmt.Sprintf("c%02d", i))
			if i == to {
				return out
			}
			if from < to {
				i++
			} else {
				i--
			}
		}
	}

	first := h.client.V1Customers.List(ctx, &stripego.CustomerListParams{ListParams: stripego.ListParams{Single: true}})
	if err := first.Err(); err != nil {
		t.Fatal(err)
	}
	if got := names(first.Data()); !cmp.Equal(got, seq(24, 15)) || !first.Meta().HasMore || first.Meta().URL != "/v1/customers" {
		t.Errorf("default page: %v, has_more %v, url %q", got, first.Meta().HasMore, first.Meta().URL)
	}
	if got := all(&stripego.CustomerListParams{ListParams: stripego.ListParams{Limit: stripego.Int64(7)}}); !cmp.Equal(got, seq(24, 0)) {
		t.Errorf("paging forward by 7: %v", got)
	}
	before := h.client.V1Customers.List(ctx, &stripego.CustomerListParams{ListParams: stripego.ListParams{
		EndingBefore: stripego.String(ids[10]), Limit: stripego.Int64(3), Single: true}})
	// Stripe answers newest first; stripe-go reverses a backward page.
	if got := names(before.Data()); !cmp.Equal(got, seq(11, 13)) || !before.Meta().HasMore {
		t.Errorf("ending_before c10, limit 3: %v, has_more %v", got, before.Meta().HasMore)
	}
	if got := all(&stripego.CustomerListParams{ListParams: stripego.ListParams{
		EndingBefore: stripego.String(ids[20]), Limit: stripego.Int64(2)}}); !cmp.Equal(got, seq(21, 24)) {
		t.Errorf("paging backward from c20: %v", got)
	}
	five := []string{"c20", "c15", "c10", "c05", "c00"}
	if got := all(&stripego.CustomerListParams{Email: stripego.String("five@example.com")}); !cmp.Equal(got, five) {
		t.Errorf("email filter: %v", got)
	}
	if got := all(&stripego.CustomerListParams{Email: stripego.String("FIVE@example.com")}); len(got) != 0 {
		t.Errorf("the email filter is case-sensitive, got %v", got)
	}

	if _, err := h.client.V1Customers.Delete(ctx, ids[24], nil); err != nil {
		t.Fatal(err)
	}
	if got := all(&stripego.CustomerListParams{}); !cmp.Equal(got, seq(23, 0)) {
		t.Errorf("after deleting c24: %v", got)
	}

	for _, limit := range []int64{0, 101} {
		err := h.client.V1Customers.List(ctx, &stripego.CustomerListParams{ListParams: stripego.ListParams{Limit: stripego.Int64(limit)}}).Err()
		checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "limit")
	}
	err := h.client.V1Customers.List(ctx, &stripego.CustomerListParams{
		ListParams: stripego.ListParams{StartingAfter: stripego.String("cus_nope")}}).Err()
	checkError(t, err, http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "starting_after")
}

func TestCustomerValidation(t *testing.T) {
	h := newHarness(t, Config{})
	tooMany := map[string]string{}
	for i := range 51 {
		tooMany[fmt.Sprintf("k%d", i)] = "v"
	}
	extra := func(k, v string) stripego.Params {
		var p stripego.Params
		p.AddExtra(k, v)
		return p
	}
	for _, tc := range []struct {
		name   string
		params *stripego.CustomerCreateParams
		code   stripego.ErrorCode
		param  string
	}{
		{"name too long", &stripego.CustomerCreateParams{Name: stripego.String(strings.Repeat("n", 257))}, "", "name"},
		{"email too long", &stripego.CustomerCreateParams{Email: stripego.String(strings.Repeat("e", 508) + "@x.io")}, "", "email"},
		{"email invalid", &stripego.CustomerCreateParams{Email: stripego.String("ada.example.com")}, stripego.ErrorCodeEmailInvalid, "email"},
		{"phone too long", &stripego.CustomerCreateParams{Phone: stripego.String(strings.Repeat("1", 21))}, "", "phone"},
		{"51 metadata keys", &stripego.CustomerCreateParams{Metadata: tooMany}, "", "metadata"},
		{"metadata key too long", &stripego.CustomerCreateParams{Metadata: map[string]string{strings.Repeat("k", 41): "v"}}, "", "metadata"},
		{"metadata key with brackets", &stripego.CustomerCreateParams{Metadata: map[string]string{"a[b]": "v"}}, "", "metadata"},
		{"metadata value too long",
			&stripego.CustomerCreateParams{Metadata: map[string]string{"k": strings.Repeat("v", 501)}}, "", "metadata[k]"},
		{"unknown parameter", &stripego.CustomerCreateParams{Params: extra("nickname", "Ada")}, stripego.ErrorCodeParameterUnknown, "nickname"},
		{"unknown address field", &stripego.CustomerCreateParams{Params: extra("address[planet]", "Mars")},
			stripego.ErrorCodeParameterUnknown, "address[planet]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client.V1Customers.Create(t.Context(), tc.params)
			checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, tc.code, tc.param)
		})
	}
	if n := len(h.em.Customers()) + len(h.em.Events()); n != 0 {
		t.Errorf("refused requests made %d customers and events", n)
	}

	// The limits themselves are allowed.
	atLimit := map[string]string{strings.Repeat("k", 40): strings.Repeat("v", 500)}
	h.create(t, "", &stripego.CustomerCreateParams{
		Name: stripego.String(strings.Repeat("n", 256)), Phone: stripego.String(strings.Repeat("1", 20)), Metadata: atLimit,
	})
}

func TestAuthenticationAndUnknownURLs(t *testing.T) {
	h := newHarness(t, Config{})
	_, err := newClient(h.url, "sk_test_wrong").V1Customers.Retrieve(t.Context(), "cus_x", nil)
	checkError(t, err, http.StatusUnauthorized, stripego.ErrorTypeInvalidRequest, "", "")

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+"/v1/customers", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("Request-Id"), "req_") {
		t.Errorf("without a key: %d, Request-Id %q", res.StatusCode, res.Header.Get("Request-Id"))
	}

	for key, want := range map[string]int{testKey: http.StatusOK, "sk_test_wrong": http.StatusUnauthorized} {
		req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+"/v1/customers", nil)
		req.SetBasicAuth(key, "") // curl -u sk_test_…:
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("basic auth with %s: %d, want %d", key, res.StatusCode, want)
		}
	}

	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPut, h.url+"/v1/customers", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Error Error }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusNotFound || body.Error.Type != "invalid_request_error" ||
		!strings.Contains(body.Error.Message, "Unrecognized request URL (PUT: /v1/customers)") {
		t.Errorf("unknown route: %d %+v", res.StatusCode, body.Error)
	}
}
