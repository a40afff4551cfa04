package salesforce

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

func TestPushCreatesUpdatesDeletes(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	ada := tandem.Customer{Name: "Ada King Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0000",
		Address: tandem.Address{Line1: "12 St James's Square", Line2: "Flat 3", City: "London", PostalCode: "SW1Y 4JH",
			Country: "GB"}}
	req := customerPush("tdmc_ada", 1, ada)

	res, err := c.Push(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	ct, ok := h.em.Contact(res.RemoteID)
	want := salesforce.Contact{ID: res.RemoteID, FirstName: "Ada King", LastName: "Lovelace", Email: ada.Email,
		Phone: ada.Phone, MailingStreet: "12 St James's Square\nFlat 3", MailingCity: "London",
		MailingPostalCode: "SW1Y 4JH", MailingCountry: "GB", ExternalID: "tdmc_ada",
		LastModifiedByID: h.em.IntegrationUserID()}
	if !ok {
		t.Fatalf("no contact %q", res.RemoteID)
	}
	ignoreTimes := func(c salesforce.Contact) salesforce.Contact {
		c.CreatedDate, c.SystemModstamp = want.CreatedDate, want.SystemModstamp
		return c
	}
	if diff := cmp.Diff(want, ignoreTimes(ct)); diff != "" {
		t.Errorf("contact (-want +got):\n%s", diff)
	}
	var base Contact
	if err := json.Unmarshal(res.Base, &base); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ToContact(&tandem.Customer{ID: "tdmc_ada", Name: ada.Name, Email: ada.Email, Phone: ada.Phone,
		Address: ada.Address}, DefaultExternalIDField, nil), base); diff != "" {
		t.Errorf("base (-want +got):\n%s", diff)
	}
	reqs := h.em.Requests()
	if last := reqs[len(reqs)-1]; last.Method != http.MethodPatch ||
		last.Path != "/services/data/v62.0/composite/sobjects/Contact/Tandem_Id__c" || last.CallOptions != "client=tandem" {
		t.Errorf("request: %+v", last)
	}

	// Nothing changed since the base: no call.
	req.Link.RemoteID, req.Link.Base = res.RemoteID, res.Base
	before := h.requests()
	if again, err := c.Push(t.Context(), req); err != nil || again.RemoteID != res.RemoteID {
		t.Fatalf("unchanged push: %+v, %v", again, err)
	}
	if n := h.requests() - before; n != 0 {
		t.Errorf("an unchanged push made %d requests", n)
	}

	// An emptied field is written as null.
	req.Record.Customer.Phone, req.Record.Customer.Address.Line2 = "", ""
	req.Record.Version = 2
	res2, err := c.Push(t.Context(), req)
	if err != nil || res2.RemoteID != res.RemoteID {
		t.Fatalf("update: %+v, %v", res2, err)
	}
	if ct, _ := h.em.Contact(res.RemoteID); ct.Phone != "" || ct.MailingStreet != "12 St James's Square" {
		t.Errorf("after update: %+v", ct)
	}
	if n := len(h.em.Contacts()); n != 1 {
		t.Errorf("%d contacts, want 1", n)
	}

	// Delete, then delete again (a retry after an unknown outcome).
	req.Record.Deleted, req.Record.Version, req.Link.Base = true, 3, res2.Base
	for i := range 2 {
		del, err := c.Push(t.Context(), req)
		if err != nil || del.RemoteID != res.RemoteID {
			t.Fatalf("delete %d: %+v, %v", i, del, err)
		}
	}
	if ct, _ := h.em.Contact(res.RemoteID); !ct.IsDeleted {
		t.Errorf("contact not deleted: %+v", ct)
	}
}

// TestPushRepeated shows upsert by external id is idempotent: a push
// repeated without the link's remote id (its first answer was lost) finds
// the same Contact.
// TestPushAdopts: the first push to a Contact born in Salesforce (its link
// knows the Id, its base lacks Tandem's id) writes it by Id with Tandem's
// id, making no second Contact; the next push upserts by that id.
func TestPushAdopts(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	born, err := h.em.UI().CreateContact(salesforce.Fields{"FirstName": "Grace", "LastName": "Hopper"})
	if err != nil {
		t.Fatal(err)
	}
	req := customerPush("tdmc_grace", 1, tandem.Customer{Name: "Grace Hopper", Email: "grace@example.com"})
	req.Link.RemoteID = born.ID
	req.Link.Base, _ = json.Marshal(Contact{"FirstName": "Grace", "LastName": "Hopper", DefaultExternalIDField: ""})
	res, err := c.Push(t.Context(), req)
	if err != nil || res.RemoteID != born.ID {
		t.Fatalf("Push = %+v, %v; want the Contact %s", res, err, born.ID)
	}
	if ct, _ := h.em.Contact(born.ID); ct.ExternalID != "tdmc_grace" || ct.Email != "grace@example.com" {
		t.Errorf("Contact after the push: %+v", ct)
	}
	if n := len(h.em.Contacts()); n != 1 {
		t.Errorf("%d Contacts, want 1", n)
	}
	reqs := h.em.Requests()
	if last := reqs[len(reqs)-1]; last.Method != http.MethodPatch || last.Path != "/services/data/v62.0/sobjects/Contact/"+born.ID {
		t.Errorf("request: %+v, want a PATCH by Id", last)
	}

	req.Link.Base, req.Record.Customer.Phone = res.Base, "+1 555 0100"
	if _, err := c.Push(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	reqs = h.em.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/services/data/v62.0/composite/sobjects/Contact/Tandem_Id__c" {
		t.Errorf("request: %+v, want an upsert by Tandem's id", last)
	}
	if n := len(h.em.Contacts()); n != 1 {
		t.Errorf("%d Contacts after the upsert, want 1", n)
	}
}

func TestPushRepeated(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	first, err := c.Push(t.Context(), customerPush("tdmc_1", 1, tandem.Customer{Name: "Grace Hopper"}))
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Push(t.Context(), customerPush("tdmc_1", 1, tandem.Customer{Name: "Grace Hopper"}))
	if err != nil {
		t.Fatal(err)
	}
	if first.RemoteID != second.RemoteID || len(h.em.Contacts()) != 1 {
		t.Errorf("remote ids %q, %q; %d contacts", first.RemoteID, second.RemoteID, len(h.em.Contacts()))
	}
}

func TestPushDeletedNeverPushed(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	req := customerPush("tdmc_1", 2, tandem.Customer{})
	req.Record.Deleted = true
	res, err := c.Push(t.Context(), req)
	if err != nil || res.RemoteID != "" {
		t.Fatalf("%+v, %v", res, err)
	}
	if n := h.requests(); n != 0 || h.logins.Load() != 0 {
		t.Errorf("%d requests, %d sign-ins for nothing to do", n, h.logins.Load())
	}
}

func TestPushOtherKind(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	req := customerPush("x", 1, tandem.Customer{})
	req.Record.Ref.Kind = "invoice"
	_, err := h.connector(t, nil).Push(t.Context(), req)
	if pe := providerError(t, err); pe.Class != tandem.Permanent {
		t.Errorf("class %v, want Permanent", pe.Class)
	}
}

// recorder is a tandem.CallObserver keeping what it hears.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) ProviderCall(integration, op, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, integration+" "+op+" "+outcome)
}

func TestObserver(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	rec := &recorder{}
	c := h.connector(t, func(cfg *Config) { cfg.Observer = rec })
	req := customerPush("tdmc_1", 1, tandem.Customer{Name: "Ada"})
	res, err := c.Push(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.em.UI().DeleteContact(res.RemoteID); err != nil {
		t.Fatal(err)
	}
	req.Record.Deleted, req.Link.RemoteID = true, res.RemoteID
	if _, err := c.Push(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if err := h.em.SetFaults(salesforce.Faults{Unavailable: salesforce.Chance{Every: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(t.Context(), customerPush("tdmc_2", 1, tandem.Customer{Name: "Bo"})); err == nil {
		t.Fatal("no error from a 503")
	}
	want := []string{"salesforce upsert ok", "salesforce delete not_found", "salesforce upsert retry"}
	if diff := cmp.Diff(want, rec.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
