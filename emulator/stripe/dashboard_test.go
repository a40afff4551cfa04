package stripe

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	stripego "github.com/stripe/stripe-go/v86"
)

// browser is a client that does not follow redirects, to see them.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (h *harness) page(t *testing.T) string {
	t.Helper()
	res, err := browser.Get(h.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return string(body)
}

// submit posts a dashboard form and returns the status and the page.
func (h *harness) submit(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	res, err := browser.PostForm(h.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") != "/" {
		t.Errorf("redirected to %q, want /", res.Header.Get("Location"))
	}
	return res.StatusCode, string(body)
}

func TestDashboard(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, Config{Webhook: rc.webhook()})
	if page := h.page(t); !strings.Contains(page, `action="/dashboard/customers"`) || !strings.Contains(page, "No customers yet") {
		t.Fatalf("empty dashboard:\n%s", page)
	}

	status, _ := h.submit(t, "/dashboard/customers", url.Values{
		"name": {"Grace Hopper"}, "email": {"grace@example.com"}, "phone": {""}, "description": {""},
		"address[city]": {"Arlington"}, "address[line1]": {""}, "metadata_text": {"plan = pro\n\ntandem_id=tdmc_9\n"},
	})
	if status != http.StatusSeeOther {
		t.Fatalf("create answered %d", status)
	}
	cs := h.em.Customers()
	if len(cs) != 1 {
		t.Fatalf("%d customers after a dashboard create", len(cs))
	}
	grace := cs[0]
	want := Customer{ID: grace.ID, Created: grace.Created, Name: "Grace Hopper", Email: "grace@example.com",
		Address: &Address{City: "Arlington"}, Metadata: map[string]string{"plan": "pro", "tandem_id": "tdmc_9"}}
	if diff := cmp.Diff(want, grace); diff != "" {
		t.Errorf("created customer (-want +got):\n%s", diff)
	}
	if page := h.page(t); !strings.Contains(page, "Grace Hopper") || !strings.Contains(page, grace.ID) ||
		!strings.Contains(page, "customer.created") {
		t.Errorf("dashboard does not show the new customer and its event:\n%s", page)
	}

	status, _ = h.submit(t, "/dashboard/customers/"+grace.ID, url.Values{
		"name": {"Grace B. Hopper"}, "email": {"grace@example.com"}, "address[city]": {""}, "metadata_text": {"tandem_id=tdmc_9"},
	})
	if status != http.StatusSeeOther {
		t.Fatalf("update answered %d", status)
	}
	got, _ := h.em.Customer(grace.ID)
	want.Name, want.Address, want.Metadata = "Grace B. Hopper", nil, map[string]string{"tandem_id": "tdmc_9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("updated customer (-want +got):\n%s", diff)
	}

	status, page := h.submit(t, "/dashboard/customers", url.Values{"email": {"not-an-email"}})
	if status != http.StatusBadRequest || !strings.Contains(page, "Invalid email address") {
		t.Errorf("a bad email answered %d:\n%s", status, page)
	}

	if status, _ := h.submit(t, "/dashboard/customers/"+grace.ID+"/delete", nil); status != http.StatusSeeOther {
		t.Fatalf("delete answered %d", status)
	}
	if got, _ := h.em.Customer(grace.ID); !got.Deleted {
		t.Error("the customer is not deleted")
	}
	if page := h.page(t); strings.Contains(page, "Grace B. Hopper</td>") {
		t.Error("the dashboard still lists the deleted customer")
	}

	// Dashboard changes are events like any other, with a request id and no
	// idempotency key, and reach the webhook endpoint.
	h.waitWebhooks(t)
	received := rc.receivedEvents()
	var types []string
	for _, ev := range received {
		types = append(types, string(ev.Type))
		if ev.Request == nil || !strings.HasPrefix(ev.Request.ID, "req_") || ev.Request.IdempotencyKey != "" {
			t.Errorf("%s request %+v, want an id and no idempotency key", ev.Type, ev.Request)
		}
	}
	if want := []string{"customer.created", "customer.updated", "customer.deleted"}; !cmp.Equal(types, want) {
		t.Errorf("webhooks %v, want %v", types, want)
	}
	if ev := h.em.Events()[0]; ev.Request.IdempotencyKey != nil {
		t.Errorf("idempotency_key = %q, want null", *ev.Request.IdempotencyKey)
	}
	if n := len(h.em.Requests()); n != 0 {
		t.Errorf("dashboard posts logged as %d API requests", n)
	}
}

func TestSilentChanges(t *testing.T) {
	h := newHarness(t, Config{})
	c := h.create(t, "", &stripego.CustomerCreateParams{Name: stripego.String("Ada")})
	name := "Ada Lovelace"
	if _, err := h.em.Silent().UpdateCustomer(c.ID, CustomerParams{Name: &name}); err != nil {
		t.Fatal(err)
	}
	silent, err := h.em.Silent().CreateCustomer(CustomerParams{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.em.Silent().DeleteCustomer(c.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(h.em.Events()); n != 1 {
		t.Errorf("%d events, want only the API's customer.created", n)
	}
	got, err := h.client.V1Customers.Retrieve(t.Context(), c.ID, nil)
	if err != nil || !got.Deleted {
		t.Errorf("the API does not see the silent delete: %+v, %v", got, err)
	}
	if got, err := h.client.V1Customers.Retrieve(t.Context(), silent.ID, nil); err != nil || got.Name != name {
		t.Errorf("the API does not see the silent create: %+v, %v", got, err)
	}

	_, err = h.em.Dashboard().UpdateCustomer(c.ID, CustomerParams{Name: &name})
	if se, ok := err.(*Error); !ok || se.Status != http.StatusNotFound || se.Code != "resource_missing" {
		t.Errorf("updating a deleted customer: %v, want a 404 *Error", err)
	}
}

// On the page a person creates an invoice with a line and moves it with the
// buttons its status allows.
func TestDashboardInvoices(t *testing.T) {
	h := newHarness(t, Config{})
	cus := h.customer(t, "Ada")
	if page := h.page(t); !strings.Contains(page, `action="/dashboard/invoices"`) || !strings.Contains(page, "No invoices yet") {
		t.Fatalf("dashboard without invoices:\n%s", page)
	}
	status, _ := h.submit(t, "/dashboard/invoices", url.Values{
		"customer": {cus}, "currency": {"eur"}, "description": {"Consulting"}, "days_until_due": {"14"},
		"line_description": {"Two days"}, "quantity": {"2"}, "unit_amount": {"50000"},
	})
	if status != http.StatusSeeOther {
		t.Fatalf("create answered %d", status)
	}
	invs := h.em.Invoices()
	if len(invs) != 1 {
		t.Fatalf("%d invoices after a dashboard create", len(invs))
	}
	inv := invs[0]
	if inv.Status != InvoiceDraft || inv.CollectionMethod != "send_invoice" || inv.DueDate != inv.Created+14*24*3600 ||
		inv.Total() != 100000 || inv.Currency != "eur" || len(inv.Lines) != 1 || inv.Lines[0].Description != "Two days" {
		t.Errorf("created invoice %+v", inv)
	}
	buttons := func() []string {
		var names []string
		for _, m := range regexp.MustCompile(`/dashboard/invoices/`+inv.ID+`/(\w+)"`).FindAllStringSubmatch(h.page(t), -1) {
			names = append(names, m[1])
		}
		return names
	}
	if got := buttons(); !cmp.Equal(got, []string{"finalize", "pay", "charge"}) {
		t.Errorf("a draft's buttons: %v", got)
	}
	for _, action := range []string{"finalize", "fail_payment", "mark_uncollectible", "pay"} {
		if status, page := h.submit(t, "/dashboard/invoices/"+inv.ID+"/"+action, nil); status != http.StatusSeeOther {
			t.Fatalf("%s answered %d:\n%s", action, status, page)
		}
		if action == "finalize" {
			if got := buttons(); !cmp.Equal(got, []string{"pay", "charge", "fail_payment", "mark_uncollectible", "void"}) {
				t.Errorf("an open invoice's buttons: %v", got)
			}
		}
	}
	got, _ := h.em.Invoice(inv.ID)
	if got.Status != InvoicePaid || got.AttemptCount != 1 || got.LastPaymentError == nil || !got.PaidOutOfBand {
		t.Errorf("after the buttons: %+v", got)
	}
	if status, page := h.submit(t, "/dashboard/invoices/"+inv.ID+"/void", nil); status != http.StatusBadRequest ||
		!strings.Contains(page, "paid") {
		t.Errorf("voiding a paid invoice answered %d:\n%s", status, page)
	}
	want := []string{"customer.created", "invoice.created", "invoiceitem.created", "invoice.updated", "invoice.finalized",
		"invoice.payment_failed", "invoice.marked_uncollectible", "invoice.paid"}
	if diff := cmp.Diff(want, eventTypes(h.em)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
