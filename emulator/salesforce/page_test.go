package salesforce

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// visit gets the page (form nil) or posts a form to path, as a browser
// that does not follow redirects, and returns the status, where it
// redirects to and the body.
func (h *harness) visit(t *testing.T, path string, form url.Values) (status int, location, body string) {
	t.Helper()
	method, r := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, r = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, h.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusSeeOther && !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s %s answered %s", method, path, ct)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func TestPage(t *testing.T) {
	l := &listener{}
	h := newOutboundHarness(t, l, Faults{})
	if status, _, page := h.visit(t, "/", nil); status != http.StatusOK || !strings.Contains(page, "No Contacts yet") ||
		!strings.Contains(page, `action="/ui/contacts"`) || !strings.Contains(page, h.em.OutboundURL()) {
		t.Fatalf("empty page: %d\n%s", status, page)
	}

	status, location, _ := h.visit(t, "/ui/contacts", url.Values{"FirstName": {"Ada"}, "LastName": {" Lovelace "},
		"Email": {"ada@example.com"}, "MailingCity": {"London"}, "Tandem_Id__c": {"tdmc_1"}, "Phone": {""}})
	if status != http.StatusSeeOther || location != "/" {
		t.Fatalf("create answered %d to %q, want 303 to /", status, location)
	}
	cs := h.em.Contacts()
	if len(cs) != 1 {
		t.Fatalf("%d Contacts after a create on the page", len(cs))
	}
	ada := cs[0]
	want := Contact{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", MailingCity: "London",
		ExternalID: "tdmc_1", CreatedDate: clockStart, SystemModstamp: clockStart, LastModifiedByID: h.em.HumanUserID()}
	if diff := cmp.Diff(want, ada, cmpopts.IgnoreFields(Contact{}, "ID")); diff != "" {
		t.Errorf("created Contact (-want +got):\n%s", diff)
	}

	other := h.mustCreate(t, "tdmc_2", map[string]any{"LastName": "Hopper"})
	_, _, page := h.visit(t, "/", nil)
	for _, s := range []string{ada.ID, "Lovelace", "ada@example.com", "London", "tdmc_1", "2026-03-02 10:00:00.000",
		h.em.HumanUserID() + "</code> (you)", h.em.IntegrationUserID() + "</code> (integration user)", `value="Lovelace"`} {
		if !strings.Contains(page, s) {
			t.Errorf("the page does not show %q", s)
		}
	}
	if strings.Index(page, other) > strings.Index(page, ada.ID) {
		t.Error("the page does not list the newest Contact first")
	}

	h.clock.Add(time.Second)
	status, _, _ = h.visit(t, "/ui/contacts/"+ada.ID, url.Values{"LastName": {"King"}, "Email": {""}})
	if status != http.StatusSeeOther {
		t.Fatalf("edit answered %d", status)
	}
	got, _ := h.em.Contact(ada.ID)
	want.ID, want.LastName, want.Email, want.SystemModstamp = ada.ID, "King", "", clockStart.Add(time.Second)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("edited Contact (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		path   string
		form   url.Values
		status int
		error  string
	}{
		{"/ui/contacts/" + ada.ID, url.Values{"LastName": {" "}}, http.StatusBadRequest,
			"REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]"},
		{"/ui/contacts", url.Values{"FirstName": {"Grace"}}, http.StatusBadRequest,
			"REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]"},
		{"/ui/contacts", url.Values{"LastName": {"Byron"}, "Nickname": {"x"}}, http.StatusBadRequest,
			"INVALID_FIELD: No such column &#39;Nickname&#39; on sobject of type Contact"},
		{"/ui/contacts/" + ada.ID, url.Values{"Id": {other}}, http.StatusBadRequest, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{"/ui/contacts/003000000000000AAA/delete", url.Values{}, http.StatusNotFound, "NOT_FOUND"},
	} {
		status, _, page := h.visit(t, tc.path, tc.form)
		if status != tc.status || !strings.Contains(page, `role="alert">`+tc.error) || !strings.Contains(page, "<h2>Contacts</h2>") {
			t.Errorf("POST %s %v answered %d, want %d and the page with %q:\n%s", tc.path, tc.form, status, tc.status, tc.error, page)
		}
	}
	if got, _ := h.em.Contact(ada.ID); got != want {
		t.Errorf("refused edits changed the Contact: %+v", got)
	}
	if n := len(h.em.Contacts()); n != 2 {
		t.Errorf("%d Contacts after refused creates, want 2", n)
	}

	if status, _, _ := h.visit(t, "/ui/contacts/"+ada.ID+"/delete", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("delete answered %d", status)
	}
	if got, _ := h.em.Contact(ada.ID); !got.IsDeleted || got.LastModifiedByID != h.em.HumanUserID() {
		t.Errorf("after the delete: %+v, want deleted by the user", got)
	}
	if _, _, page := h.visit(t, "/", nil); strings.Contains(page, ada.ID) || !strings.Contains(page, other) {
		t.Error("the page lists the deleted Contact, or not the live one")
	}

	// Changes on the page send outbound messages (deletes none) and are
	// not API calls.
	h.waitOutbound(t)
	if _, records := l.received(t, h.em.OrgID()); !cmp.Equal(records, []string{ada.ID, other, ada.ID}) {
		t.Errorf("outbound messages for %v, want the create, the API's create and the edit", records)
	}
	for _, r := range h.em.Requests() {
		if !strings.Contains(r.Path, "/sobjects/") {
			t.Errorf("the page's post %s %s was logged as an API request", r.Method, r.Path)
		}
	}
}
