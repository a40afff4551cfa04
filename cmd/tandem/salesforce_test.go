package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sfemulator "github.com/tandemsync/tandem/emulator/salesforce"
	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

const (
	salesforceTestClientID     = "3MVG9tandem.behaviour"
	salesforceTestClientSecret = "salesforce-behaviour-secret"
)

// threeWayEnv is Tandem running in this process with Stripe (webhooks and
// polling) and Salesforce (polling) emulators.
type threeWayEnv struct {
	*stripeEnv
	sf *sfemulator.Emulator
	// sfBehind is how far Salesforce's clock runs behind ours.
	sfBehind atomic.Int64
	// failSFWrites makes every write to Salesforce fail with a 503 before
	// it reaches the emulator; sfWritesFailed counts them.
	failSFWrites   atomic.Bool
	sfWritesFailed atomic.Int64
	// sfLogins counts the sign-ins (token requests) Salesforce answered.
	sfLogins atomic.Int64
}

// newThreeWayEnv starts a Salesforce emulator, then Tandem wired to it and
// to a Stripe emulator, both polled every 200ms unless env says otherwise;
// env adds to Tandem's environment, edits change the program.
func newThreeWayEnv(t *testing.T, env map[string]string, edits ...func(*program)) *threeWayEnv {
	t.Helper()
	e := &threeWayEnv{}
	sf, err := sfemulator.New(sfemulator.Config{ClientID: salesforceTestClientID, ClientSecret: salesforceTestClientSecret,
		Now: func() time.Time { return time.Now().Add(-time.Duration(e.sfBehind.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/oauth2/token" {
			e.sfLogins.Add(1)
		}
		if e.failSFWrites.Load() && r.Method != http.MethodGet && strings.HasPrefix(r.URL.Path, "/services/data/") {
			e.sfWritesFailed.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`[{"message":"writes are down for the test","errorCode":"SERVER_UNAVAILABLE"}]`))
			return
		}
		sf.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); _ = sf.Close() })
	if env == nil {
		env = map[string]string{}
	}
	env["SALESFORCE_CLIENT_ID"] = salesforceTestClientID
	env["SALESFORCE_CLIENT_SECRET"] = salesforceTestClientSecret
	env["SALESFORCE_LOGIN_URL"] = srv.URL
	for _, k := range []string{"SALESFORCE_POLL_INTERVAL", "STRIPE_POLL_INTERVAL"} {
		if env[k] == "" {
			env[k] = "200ms"
		}
	}
	e.stripeEnv, e.sf = newStripeEnv(t, emulator.Config{}, env, edits...), sf
	return e
}

// contactsOf returns the live Contacts whose external id is id.
func (e *threeWayEnv) contactsOf(id string) []sfemulator.Contact {
	var out []sfemulator.Contact
	for _, c := range e.sf.Contacts() {
		if c.ExternalID == id && !c.IsDeleted {
			out = append(out, c)
		}
	}
	return out
}

// local returns the local customer id.
func (e *threeWayEnv) local(id string) customer {
	var c customer
	if resp := e.api.do("GET", "/customers/"+id, nil, &c); resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET customer %s: %s", id, resp.Status)
	}
	return c
}

// sfWrites are Tandem's writes to Salesforce's sObject and composite API.
func (e *threeWayEnv) sfWrites() []sfemulator.Request {
	var out []sfemulator.Request
	for _, r := range e.sf.Requests() {
		if r.Method != http.MethodGet && (strings.Contains(r.Path, "/sobjects/") || strings.Contains(r.Path, "/composite/")) {
			out = append(out, r)
		}
	}
	return out
}

// polls counts the polls each emulator has answered so far.
func (e *threeWayEnv) polls() (stripePolls, sfPolls int) {
	for _, r := range e.em.Requests() {
		if r.Path == "/v1/events" {
			stripePolls++
		}
	}
	for _, r := range e.sf.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/query") {
			sfPolls++
		}
	}
	return stripePolls, sfPolls
}

// settled waits until both links of id are synced, and then until each
// poller has read its provider three more times (so that the echoes of
// Tandem's own writes have been read back and applied) and both links are
// still synced.
func (e *threeWayEnv) settled(id string) {
	e.t.Helper()
	synced := func() bool {
		st := e.linkStatuses(id)
		return st["stripe"] == "synced" && st["salesforce"] == "synced"
	}
	waitFor(e.t, 20*time.Second, "both links of "+id+" synced", synced)
	stripe0, sf0 := e.polls()
	waitFor(e.t, 20*time.Second, "three more polls of each provider", func() bool {
		stripe, sf := e.polls()
		return stripe >= stripe0+3 && sf >= sf0+3
	})
	waitFor(e.t, 20*time.Second, "both links of "+id+" synced after the polls", synced)
}

// linkStatuses returns the status of each link of id by integration.
func (e *threeWayEnv) linkStatuses(id string) map[string]string {
	var sync struct {
		Data []struct{ Integration, Status string }
	}
	out := map[string]string{}
	if resp := e.api.do("GET", "/customers/"+id+"/sync", nil, &sync); resp.StatusCode != http.StatusOK {
		return out
	}
	for _, l := range sync.Data {
		out[l.Integration] = l.Status
	}
	return out
}

// TestSalesforceThreeWay: a customer created through the API reaches
// Stripe and Salesforce once each; an edit made in Salesforce reaches the
// local record and Stripe, one made in Stripe reaches the local record and
// Salesforce; and no provider is written to because of its own change.
func TestSalesforceThreeWay(t *testing.T) {
	t.Parallel()
	e := newThreeWayEnv(t, nil)

	// Created through the API: once in Stripe, once as a Contact.
	var c customer
	if resp := e.api.do("POST", "/customers", map[string]any{"name": "Ada Lovelace", "email": "ada@example.com",
		"metadata": map[string]string{"plan": "pro"}}, &c); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %s", resp.Status)
	}
	waitFor(t, 20*time.Second, "the customer in Stripe and Salesforce", func() bool {
		return len(e.stripeOf(c.ID)) == 1 && len(e.contactsOf(c.ID)) == 1
	})
	e.settled(c.ID)
	sc, ct := e.stripeOf(c.ID), e.contactsOf(c.ID)
	if len(sc) != 1 || sc[0].Name != "Ada Lovelace" || sc[0].Email != "ada@example.com" {
		t.Fatalf("Stripe customers = %+v", sc)
	}
	if len(ct) != 1 || ct[0].FirstName != "Ada" || ct[0].LastName != "Lovelace" || ct[0].Email != "ada@example.com" {
		t.Fatalf("Contacts = %+v", ct)
	}
	stripeID, contactID := sc[0].ID, ct[0].ID

	// Edited in Salesforce by a user: local, then Stripe.
	if _, err := e.sf.UI().UpdateContact(contactID, sfemulator.Fields{"FirstName": "Augusta Ada", "LastName": "King"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the Salesforce edit in Tandem", func() bool { return e.local(c.ID).Name == "Augusta Ada King" })
	waitFor(t, 20*time.Second, "the Salesforce edit in Stripe", func() bool {
		got, _ := e.em.Customer(stripeID)
		return got.Name == "Augusta Ada King"
	})
	e.settled(c.ID)

	// Edited in Stripe's dashboard: local, then Salesforce.
	if _, err := e.em.Dashboard().UpdateCustomer(stripeID, emulator.CustomerParams{Email: str("ada@king.example")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the Stripe edit in Tandem", func() bool { return e.local(c.ID).Email == "ada@king.example" })
	waitFor(t, 20*time.Second, "the Stripe edit in Salesforce", func() bool {
		got, _ := e.sf.Contact(contactID)
		return got.Email == "ada@king.example"
	})
	e.settled(c.ID)

	// Every system ends with the same customer, the local fields Salesforce
	// does not hold (metadata) kept.
	local := e.local(c.ID)
	if local.Name != "Augusta Ada King" || local.Email != "ada@king.example" || local.Metadata["plan"] != "pro" {
		t.Fatalf("local customer = %+v", local)
	}
	if got, _ := e.em.Customer(stripeID); got.Name != local.Name || got.Email != local.Email || got.Metadata["plan"] != "pro" {
		t.Fatalf("Stripe customer = %+v", got)
	}
	if got, _ := e.sf.Contact(contactID); got.FirstName != "Augusta Ada" || got.LastName != "King" || got.Email != local.Email {
		t.Fatalf("Contact = %+v", got)
	}
	if n, m := len(e.stripeOf(c.ID)), len(e.contactsOf(c.ID)); n != 1 || m != 1 {
		t.Fatalf("%d Stripe customers and %d Contacts hold %s, want one each", n, m, c.ID)
	}

	// No echo: each provider was written once per change made outside it
	// (the API's create, and the other provider's edit), never for its own.
	sfWrites := e.sfWrites()
	if len(sfWrites) != 2 {
		t.Errorf("Tandem's writes to Salesforce = %+v, want 2 (the create, the Stripe edit)", sfWrites)
	}
	for _, w := range sfWrites {
		if w.Method != http.MethodPatch || w.Status >= 300 || w.User != e.sf.IntegrationUserID() {
			t.Errorf("write to Salesforce %+v, want a successful upsert as the integration user", w)
		}
	}
	// The metrics hear of Salesforce's calls as of Stripe's.
	var upserts float64
	for call, n := range e.scrape().providerCalls("salesforce") {
		if strings.HasPrefix(call, "upsert ") {
			upserts += n
		}
	}
	if int(upserts) != len(sfWrites) {
		t.Errorf("tandem_provider_calls_total of Salesforce upserts = %v, want %d", upserts, len(sfWrites))
	}
	stripeWrites := e.writes()
	if len(stripeWrites) != 2 {
		t.Errorf("Tandem's writes to Stripe = %+v, want 2 (the create, the Salesforce edit)", stripeWrites)
	}
	for i, want := range []string{":create:", ":update:"} {
		if i < len(stripeWrites) && !strings.Contains(stripeWrites[i].IdempotencyKey, want) {
			t.Errorf("write %d to Stripe %+v, want a %s", i, stripeWrites[i], strings.Trim(want, ":"))
		}
	}
}

// TestSalesforceConflictNewest: a field changed in Tandem and then, before
// Tandem's push got through, changed in Salesforce at an earlier time by
// Salesforce's clock: under the newest policy the later (local) change
// wins, the field only Salesforce changed is kept, and all three systems
// end up equal.
func TestSalesforceConflictNewest(t *testing.T) {
	t.Parallel()
	e := newThreeWayEnv(t, map[string]string{"TANDEM_CONFLICT_POLICY": "newest"})
	c := e.api.mustCreate("Original")
	waitFor(t, 20*time.Second, "the Contact", func() bool { return len(e.contactsOf(c.ID)) == 1 })
	e.settled(c.ID)
	contactID := e.contactsOf(c.ID)[0].ID

	// Salesforce refuses Tandem's writes, so the local edit waits to be
	// pushed while a user edits the Contact, stamped 100ms before the local
	// edit (and well after the create: settled waited three polls; the
	// emulator's SystemModstamp never goes back).
	e.failSFWrites.Store(true)
	beforeLocal := time.Now()
	e.api.do("PATCH", "/customers/"+c.ID, map[string]any{"name": "Local Edit"}, nil)
	waitFor(t, 10*time.Second, "the push to Salesforce to fail", func() bool { return e.sfWritesFailed.Load() > 0 })
	e.sfBehind.Store(int64(time.Since(beforeLocal) + 100*time.Millisecond))
	if _, err := e.sf.UI().UpdateContact(contactID, sfemulator.Fields{"FirstName": "Salesforce", "LastName": "Edit",
		"Phone": "2"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the conflict recorded", func() bool { return e.linkStatuses(c.ID)["salesforce"] == "conflict" })
	e.failSFWrites.Store(false)
	// The push waits for its retry (River's backoff: a second or so, or 16s
	// more when the fault was still on at the second attempt).
	var last string
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("last seen:", last)
		}
	})
	waitFor(t, 40*time.Second, "all three on the local name and Salesforce's phone", func() bool {
		local := e.local(c.ID)
		ct, _ := e.sf.Contact(contactID)
		sc := e.stripeOf(c.ID)
		last = fmt.Sprintf("local %+v, Contact %+v, Stripe %+v", local, ct, sc)
		return local.Name == "Local Edit" && ct.FirstName == "Local" && ct.LastName == "Edit" && ct.Phone == "2" &&
			len(sc) == 1 && sc[0].Name == "Local Edit" && sc[0].Phone == "2"
	})
}
