package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
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
}

// newThreeWayEnv starts a Salesforce emulator, then Tandem wired to it and
// to a Stripe emulator, both polled every 200ms.
func newThreeWayEnv(t *testing.T) *threeWayEnv {
	t.Helper()
	sf, err := sfemulator.New(sfemulator.Config{ClientID: salesforceTestClientID, ClientSecret: salesforceTestClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sf)
	t.Cleanup(func() { srv.Close(); _ = sf.Close() })
	e := newStripeEnv(t, emulator.Config{}, map[string]string{
		"SALESFORCE_CLIENT_ID":     salesforceTestClientID,
		"SALESFORCE_CLIENT_SECRET": salesforceTestClientSecret,
		"SALESFORCE_LOGIN_URL":     srv.URL,
		"SALESFORCE_POLL_INTERVAL": "200ms",
		"STRIPE_POLL_INTERVAL":     "200ms",
	})
	return &threeWayEnv{stripeEnv: e, sf: sf}
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
	e := newThreeWayEnv(t)

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
