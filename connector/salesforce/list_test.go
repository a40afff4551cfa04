package salesforce

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

// listAll walks List to the end and returns every change and the number
// of pages (List calls).
func listAll(t *testing.T, c *Connector) (all []*tandem.RemoteChange, pages int) {
	t.Helper()
	cursor := ""
	for {
		page, next, err := c.List(t.Context(), tandem.KindCustomer, cursor)
		if err != nil {
			t.Fatalf("list after %q: %v", cursor, err)
		}
		pages++
		all = append(all, page...)
		if next == "" {
			return all, pages
		}
		if pages > 100 {
			t.Fatal("the list does not end")
		}
		cursor = next
	}
}

// TestList: the live Contacts, every one once, in Id order, a page per
// query batch and one API request per page; the mapped fields, Tandem's id
// from the external id field, the watermark from SystemModstamp; deleted
// Contacts absent.
func TestList(t *testing.T) {
	h := newHarness(t, salesforce.Config{QueryPageSize: 2})
	c := h.connector(t, nil)
	ui := h.em.UI()
	typed, err := ui.CreateContact(salesforce.Fields{"FirstName": "Ludwig", "LastName": "van Beethoven",
		"Email": "lvb@example.com", "Phone": "+49 228 981750", "MailingStreet": "Bonngasse 20\nHinterhaus",
		"MailingCity": "Bonn", "MailingPostalCode": "53111", "MailingCountry": "DE"})
	if err != nil {
		t.Fatal(err)
	}
	carried, err := ui.CreateContact(salesforce.Fields{"LastName": "Carried", "Tandem_Id__c": "tdmc_carried"})
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := c.Push(t.Context(), customerPush("tdmc_ada", 1, tandem.Customer{Name: "Ada Lovelace"}))
	if err != nil {
		t.Fatal(err)
	}
	live := []string{typed.ID, carried.ID, pushed.RemoteID}
	for _, name := range []string{"Gone", "Kept 1", "Kept 2"} {
		ct, err := ui.CreateContact(salesforce.Fields{"LastName": name})
		if err != nil {
			t.Fatal(err)
		}
		if name == "Gone" {
			if err := ui.DeleteContact(ct.ID); err != nil {
				t.Fatal(err)
			}
			continue
		}
		live = append(live, ct.ID)
	}

	before := h.requests()
	all, pages := listAll(t, c)
	var ids []string
	byID := map[string]*tandem.RemoteChange{}
	for _, ch := range all {
		ids = append(ids, ch.RemoteID)
		byID[ch.RemoteID] = ch
	}
	if diff := cmp.Diff(live, ids); diff != "" {
		t.Fatalf("listed ids (-want +got):\n%s", diff)
	}
	if pages != 3 || h.requests()-before != 3 {
		t.Errorf("%d pages in %d API requests, want 3 pages of 2 in 3 requests", pages, h.requests()-before)
	}
	want := &tandem.Customer{Name: "Ludwig van Beethoven", Email: "lvb@example.com", Phone: "+49 228 981750",
		Address: tandem.Address{Line1: "Bonngasse 20", Line2: "Hinterhaus", City: "Bonn", PostalCode: "53111", Country: "DE"}}
	got := byID[typed.ID]
	if diff := cmp.Diff(want, got.Customer); diff != "" {
		t.Errorf("typed Contact as a customer (-want +got):\n%s", diff)
	}
	if got.LocalID != "" || got.Ours || got.Deleted || got.Watermark != typed.SystemModstamp.UnixMilli() ||
		!got.At.Equal(typed.SystemModstamp) {
		t.Errorf("typed Contact: %+v", got)
	}
	if got := byID[carried.ID]; got.LocalID != "tdmc_carried" || got.Customer.ID != "" {
		t.Errorf("Contact carrying a Tandem id: local id %q, customer %+v", got.LocalID, got.Customer)
	}
	if got := byID[pushed.RemoteID]; got.LocalID != "tdmc_ada" || !got.Ours || string(got.Base) != string(pushed.Base) {
		t.Errorf("pushed Contact: %+v, base %s, want the push's %s", got, got.Base, pushed.Base)
	}
	for _, r := range h.em.Requests()[before:] {
		if !strings.HasSuffix(r.Path, "/query") || !strings.Contains(r.Query, "LIMIT") {
			t.Errorf("request %+v, want a query with a LIMIT", r)
		}
	}
}

// TestListCursor: a walk goes on from the last id it read, so that records
// created or deleted during it are seen as they are when their page is read;
// a page as large as the limit ends with a cursor, a shorter one without.
func TestListCursor(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	ui := h.em.UI()
	var ids []string
	for _, name := range []string{"A", "B", "C"} {
		ct, err := ui.CreateContact(salesforce.Fields{"LastName": name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ct.ID)
	}
	page, next, err := c.List(t.Context(), tandem.KindCustomer, "")
	if err != nil || len(page) != 3 || next != "" {
		t.Fatalf("one short page: %d records, next %q, %v", len(page), next, err)
	}
	page, _, err = c.List(t.Context(), tandem.KindCustomer, ids[0])
	if err != nil || len(page) != 2 || page[0].RemoteID != ids[1] {
		t.Fatalf("after %s: %+v, %v", ids[0], page, err)
	}
	if err := ui.DeleteContact(ids[1]); err != nil {
		t.Fatal(err)
	}
	later, err := ui.CreateContact(salesforce.Fields{"LastName": "D"})
	if err != nil {
		t.Fatal(err)
	}
	page, _, err = c.List(t.Context(), tandem.KindCustomer, ids[0][:15])
	if err != nil || len(page) != 2 || page[0].RemoteID != ids[2] || page[1].RemoteID != later.ID {
		t.Fatalf("after %s with B deleted and D created: %+v, %v", ids[0][:15], page, err)
	}

	for _, tc := range []struct {
		kind   tandem.Kind
		cursor string
	}{{"invoice", ""}, {tandem.KindCustomer, "' OR Id != '"}, {tandem.KindCustomer, "003"}} {
		before := h.requests()
		_, _, err := c.List(t.Context(), tc.kind, tc.cursor)
		if pe := providerError(t, err); pe.Class != tandem.Permanent || h.requests() != before {
			t.Errorf("List(%s, %q): %v after %d requests, want a Permanent error and none",
				tc.kind, tc.cursor, err, h.requests()-before)
		}
	}
}
