package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sfemulator "github.com/tandemsync/tandem/emulator/salesforce"
	emulator "github.com/tandemsync/tandem/emulator/stripe"
	"github.com/tandemsync/tandem/store/sqlite"
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
// env adds to Tandem's environment, edits change the program. When env sets
// SALESFORCE_OUTBOUND_SECRET, the emulator sends its outbound messages to
// Tandem's /webhooks/salesforce/{secret}.
func newThreeWayEnv(t *testing.T, env map[string]string, edits ...func(*program)) *threeWayEnv {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	e := &threeWayEnv{}
	cfg := sfemulator.Config{ClientID: salesforceTestClientID, ClientSecret: salesforceTestClientSecret,
		Now: func() time.Time { return time.Now().Add(-time.Duration(e.sfBehind.Load())) }}
	secret := env["SALESFORCE_OUTBOUND_SECRET"]
	sf, err := sfemulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		env["SALESFORCE_ORG_ID"] = sf.OrgID()
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
	env["SALESFORCE_CLIENT_ID"] = salesforceTestClientID
	env["SALESFORCE_CLIENT_SECRET"] = salesforceTestClientSecret
	env["SALESFORCE_LOGIN_URL"] = srv.URL
	for _, k := range []string{"SALESFORCE_POLL_INTERVAL", "STRIPE_POLL_INTERVAL"} {
		if env[k] == "" {
			env[k] = "200ms"
		}
	}
	e.stripeEnv, e.sf = newStripeEnv(t, emulator.Config{}, env, edits...), sf
	if secret != "" {
		if err := sf.SetOutbound(e.api.base + "/webhooks/salesforce/" + secret); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// contactsOf returns the live Contacts whose external id is id.
func (e *threeWayEnv) contactsOf(id string) []sfemulator.Contact { return liveContacts(e.sf)[id] }

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

// TestSalesforceOutboundMessages: with polling off, Salesforce's outbound
// messages alone bring its changes in: a user's edit reaches Tandem and
// then Stripe, and a Contact born in Salesforce becomes a customer, each
// once, with no echo back to Salesforce. A message to a wrong secret gets
// no Ack and stores nothing.
func TestSalesforceOutboundMessages(t *testing.T) {
	t.Parallel()
	const secret = "outbound-behaviour-secret"
	e := newThreeWayEnv(t, map[string]string{"SALESFORCE_POLL_INTERVAL": "0", "SALESFORCE_OUTBOUND_SECRET": secret})
	c := e.api.mustCreate("Ada Lovelace")
	waitFor(t, 20*time.Second, "the customer in Stripe and Salesforce", func() bool {
		return len(e.stripeOf(c.ID)) == 1 && len(e.contactsOf(c.ID)) == 1
	})
	contactID := e.contactsOf(c.ID)[0].ID

	if _, err := e.sf.UI().UpdateContact(contactID, sfemulator.Fields{"Phone": "+44 20 7946 0000"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the Salesforce edit in Tandem and Stripe", func() bool {
		sc := e.stripeOf(c.ID)
		return e.local(c.ID).Phone == "+44 20 7946 0000" && len(sc) == 1 && sc[0].Phone == "+44 20 7946 0000"
	})

	born, err := e.sf.UI().CreateContact(sfemulator.Fields{"FirstName": "Grace", "LastName": "Hopper", "Email": "grace@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	var grace customer
	waitFor(t, 20*time.Second, "the Contact born in Salesforce in Tandem, Stripe, and with Tandem's id", func() bool {
		page := e.api.withEmail("grace@example.com")
		if len(page) != 1 {
			return false
		}
		grace = page[0]
		ct, _ := e.sf.Contact(born.ID)
		return grace.Name == "Grace Hopper" && len(e.stripeOf(grace.ID)) == 1 && ct.ExternalID == grace.ID
	})

	// The echoes of Tandem's own writes come back as messages too, and go
	// nowhere: Salesforce was written for the API's create and for Grace's
	// id, nothing else.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.sf.WaitOutbound(ctx); err != nil {
		t.Fatalf("outbound messages not acknowledged: %v", err)
	}
	e.settle(c.ID)
	e.settle(grace.ID)
	for _, id := range []string{c.ID, grace.ID} {
		waitFor(t, 20*time.Second, "the Salesforce link of "+id+" synced", func() bool {
			return e.linkStatuses(id)["salesforce"] == "synced"
		})
	}
	if w := e.sfWrites(); len(w) != 2 {
		t.Errorf("Tandem's writes to Salesforce = %+v, want 2 (the API's create, Grace's id)", w)
	}

	// A wrong secret: no Ack, nothing stored.
	before := e.inboxCount("salesforce")
	envelope := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` +
		`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>` + e.sf.OrgID() + `</OrganizationId>` +
		`<Notification><Id>04l000000000999AAA</Id><sObject xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>` +
		contactID + `</sf:Id></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>`
	resp, err := http.Post(e.api.base+"/webhooks/salesforce/not-the-secret-at-all", "text/xml", strings.NewReader(envelope))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "Ack") {
		t.Errorf("a message to a wrong secret: %s %s, want 400 and no Ack", resp.Status, body)
	}
	if n := e.inboxCount("salesforce"); n != before {
		t.Errorf("the inbox holds %d Salesforce events after the refused message, had %d", n, before)
	}
}

// inboxCount counts the events of integration Tandem has stored.
func (e *stripeEnv) inboxCount(integration string) int {
	e.t.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(e.dbPath))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM inbox WHERE integration = ?`, integration).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestSalesforceRefusalParksAlone: a customer Salesforce refuses (a last
// name over its 80 characters) fails on its Salesforce link alone, listed
// with Salesforce's message, while Stripe and the customer created beside
// it sync; once the name is fixed, it reaches Salesforce.
func TestSalesforceRefusalParksAlone(t *testing.T) {
	t.Parallel()
	e := newThreeWayEnv(t, nil)
	long := e.api.mustCreate(strings.Repeat("x", 100))
	ada := e.api.mustCreate("Ada Lovelace")
	waitFor(t, 20*time.Second, "the refused push failed", func() bool { return e.linkStatuses(long.ID)["salesforce"] == "failed" })
	waitFor(t, 20*time.Second, "the rest synced", func() bool {
		return len(e.contactsOf(ada.ID)) == 1 && len(e.stripeOf(ada.ID)) == 1 && len(e.stripeOf(long.ID)) == 1 &&
			e.linkStatuses(long.ID)["stripe"] == "synced"
	})
	if n := len(e.contactsOf(long.ID)); n != 0 {
		t.Errorf("%d Contacts hold the refused customer", n)
	}
	var failures struct {
		Data []struct {
			ID        string `json:"id"`
			LastError string `json:"last_error"`
		} `json:"data"`
	}
	e.api.do("GET", "/sync/failures", nil, &failures)
	if len(failures.Data) != 1 || failures.Data[0].ID != "salesforce:customer:"+long.ID ||
		!strings.Contains(failures.Data[0].LastError, "STRING_TOO_LONG") {
		t.Fatalf("failures = %+v, want the refused customer's, with Salesforce's STRING_TOO_LONG", failures.Data)
	}

	e.api.do("PATCH", "/customers/"+long.ID, map[string]any{"name": "Fixed Name"}, nil)
	waitFor(t, 20*time.Second, "the fixed customer in Salesforce", func() bool {
		ct := e.contactsOf(long.ID)
		return len(ct) == 1 && ct[0].LastName == "Name" && e.linkStatuses(long.ID)["salesforce"] == "synced"
	})
	e.api.do("GET", "/sync/failures", nil, &failures)
	if len(failures.Data) != 0 {
		t.Errorf("failures after the fix = %+v", failures.Data)
	}
}

// TestSalesforceKillMidBatch: the program is killed (SIGKILL) while
// composite upserts are in flight (the emulator takes 300ms to answer); once
// it is started again, every customer is exactly one Contact with its
// fields, and no push is parked.
func TestSalesforceKillMidBatch(t *testing.T) {
	t.Parallel()
	var inFlight atomic.Int64
	sf, srv := serveSalesforceEmulator(t, sfemulator.Faults{Latency: 300 * time.Millisecond}, &inFlight)
	env := []string{"TANDEM_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "tandem.db"),
		"SALESFORCE_CLIENT_ID=" + salesforceTestClientID, "SALESFORCE_CLIENT_SECRET=" + salesforceTestClientSecret,
		"SALESFORCE_LOGIN_URL=" + srv.URL, "TANDEM_QUEUE_POLL_INTERVAL=20ms"}
	p := startProcess(t, env...)
	api := &client{t: t, base: p.URL}

	const n, writers = 300, 6
	emails := make(map[string]string, n) // by customer id
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				var c customer
				email := fmt.Sprintf("killed-%d@example.com", i)
				if resp := api.do("POST", "/customers", map[string]any{"name": fmt.Sprintf("Killed Customer%d", i),
					"email": email}, &c); resp.StatusCode != http.StatusCreated {
					t.Errorf("create %d: %s", i, resp.Status)
					return
				}
				mu.Lock()
				emails[c.ID] = email
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ids := slices.Collect(maps.Keys(emails))
	waitFor(t, 20*time.Second, "a composite upsert in flight after another landed", func() bool {
		done := len(contactsOf(sf, ids))
		return inFlight.Load() > 0 && done > 0 && done < n
	})
	p.Kill(t)
	t.Logf("killed with %d of %d Contacts made and %d composite upserts in flight", len(contactsOf(sf, ids)), n, inFlight.Load())

	p = startProcess(t, env...)
	api = &client{t: t, base: p.URL}
	waitFor(t, 30*time.Second, "every customer a Contact", func() bool { return len(contactsOf(sf, ids)) == n })
	for id, ct := range contactsOf(sf, ids) {
		if ct.Email != emails[id] || ct.FirstName != "Killed" || !strings.HasPrefix(ct.LastName, "Customer") {
			t.Errorf("Contact of %s: %+v, want email %s", id, ct, emails[id])
		}
	}
	total := 0
	for _, cs := range liveContacts(sf) {
		total += len(cs)
	}
	if total != n {
		t.Errorf("%d Contacts for %d customers", total, n)
	}
	if f := api.failures(); len(f) != 0 {
		t.Errorf("parked pushes: %+v", f)
	}
}

// TestInvoicesStayOutOfSalesforce: Salesforce has no standard invoice
// object: an invoice written through the API enqueues no push to it, and
// its sync state has no Salesforce link.
func TestInvoicesStayOutOfSalesforce(t *testing.T) {
	t.Parallel()
	e := newThreeWayEnv(t, nil)
	c := e.api.mustCreate("Ada Lovelace")
	e.settled(c.ID)
	writes := len(e.sfWrites())
	var inv struct {
		ID string `json:"id"`
	}
	if resp := e.api.do("POST", "/invoices", map[string]any{"customer_id": c.ID, "currency": "eur",
		"lines": []map[string]any{{"description": "Seats", "quantity": 2, "unit_amount": 500}}}, &inv); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create invoice: %s", resp.Status)
	}
	e.api.do("POST", "/invoices/"+inv.ID+"/finalize", nil, nil)
	var sync struct {
		Data []struct{ Integration string }
	}
	e.api.do("GET", "/invoices/"+inv.ID+"/sync", nil, &sync)
	for _, l := range sync.Data {
		if l.Integration == "salesforce" {
			t.Errorf("the invoice has a Salesforce link: %+v", sync.Data)
		}
	}
	_, sf0 := e.polls()
	waitFor(t, 20*time.Second, "two more Salesforce polls", func() bool { _, sf := e.polls(); return sf >= sf0+2 })
	if w := e.sfWrites(); len(w) != writes {
		t.Errorf("Salesforce writes after the invoice: %+v, want none beyond the customer's %d", w[writes:], writes)
	}
	if f := e.api.failures(); len(f) != 0 {
		t.Errorf("parked pushes: %+v", f)
	}
}
