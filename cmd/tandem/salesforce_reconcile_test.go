package main

import (
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sfemulator "github.com/tandemsync/tandem/emulator/salesforce"
)

// contactName is a Contact's name as Tandem joins it.
func contactName(c sfemulator.Contact) string {
	return strings.TrimSpace(c.FirstName + " " + c.LastName)
}

// contactNames returns the names of the live Contacts by their external id
// (Tandem's id), and how many live Contacts carry none.
func contactNames(sf *sfemulator.Emulator) (byTandemID map[string]string, withoutID int) {
	byTandemID = map[string]string{}
	for id, cs := range liveContacts(sf) {
		if id == "" {
			withoutID = len(cs)
			continue
		}
		byTandemID[id] = contactName(cs[len(cs)-1])
	}
	return byTandemID, withoutID
}

// TestSalesforceReconcile: with Salesforce's polling off, so that Tandem
// hears of nothing made there, every kind of difference is seeded on both
// sides (Contacts created, edited and deleted in Salesforce; customers
// created, edited and deleted in Tandem's database behind its back). A dry
// run lists them and changes nothing; a run repairs them all through the
// normal paths (a Contact made in Salesforce is linked and given Tandem's
// id, not duplicated); a second run finds nothing.
func TestSalesforceReconcile(t *testing.T) {
	t.Parallel()
	e := newThreeWayEnv(t, map[string]string{"SALESFORCE_POLL_INTERVAL": "0", "SALESFORCE_RECONCILE_INTERVAL": "0",
		"STRIPE_RECONCILE_INTERVAL": "0"})
	ids := map[string]string{}
	for _, name := range []string{"same", "changed-there", "deleted-there", "changed-here", "deleted-here"} {
		ids[name] = e.api.mustCreate(name).ID
	}
	for name, id := range ids {
		waitFor(t, 20*time.Second, name+" synced to Salesforce", func() bool {
			return e.linkStatuses(id)["salesforce"] == "synced" && len(e.contactsOf(id)) == 1
		})
	}
	if run := e.reconcile("salesforce", false); len(run.Progress.Repairs) != 0 {
		t.Fatalf("in sync, reconcile repaired %v; actions %+v", run.Progress.Repairs, run.Actions)
	}
	contactID := func(name string) string { return e.contactsOf(ids[name])[0].ID }
	// The watermarks the polls of the pushes' echoes would have recorded:
	// each Contact's SystemModstamp in milliseconds.
	for _, id := range ids {
		e.sqlExec(`UPDATE links SET watermark = ? WHERE integration = 'salesforce' AND local_id = ?`,
			e.contactsOf(id)[0].SystemModstamp.UnixMilli(), id)
	}

	ui := e.sf.UI()
	onlyThere, err := ui.CreateContact(sfemulator.Fields{"LastName": "only-there", "Email": "there@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ui.UpdateContact(contactID("changed-there"), sfemulator.Fields{"LastName": "changed in Salesforce"}); err != nil {
		t.Fatal(err)
	}
	if err := ui.DeleteContact(contactID("deleted-there")); err != nil {
		t.Fatal(err)
	}
	onlyHere := e.driftHere(ids)
	writesBefore := len(e.sfWrites())
	e.dryRunFinds("salesforce", driftRepairs)
	if n := len(e.sfWrites()); n != writesBefore {
		t.Fatalf("the dry run wrote to Salesforce: %+v", e.sfWrites()[writesBefore:])
	}

	run := e.reconcile("salesforce", false)
	if !maps.Equal(run.Progress.Repairs, driftRepairs) {
		t.Fatalf("run repaired %v, want %v; actions %+v", run.Progress.Repairs, driftRepairs, run.Actions)
	}
	var onlyThereID string
	waitFor(t, 20*time.Second, "Tandem and Salesforce equal", func() bool {
		var page struct{ Data []customer }
		e.api.do("GET", "/customers?limit=100", nil, &page)
		local := map[string]string{}
		for _, c := range page.Data {
			local[c.ID] = c.Name
			if c.Email == "there@example.com" {
				onlyThereID = c.ID
			}
		}
		remote, withoutID := contactNames(e.sf)
		return len(local) == 5 && withoutID == 0 && maps.Equal(local, remote)
	})
	if got := e.local(ids["changed-there"]).Name; got != "changed in Salesforce" {
		t.Errorf("changed there: local name %q", got)
	}
	if resp := e.api.do("GET", "/customers/"+ids["deleted-there"], nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted there: local GET answered %s", resp.Status)
	}
	if len(e.contactsOf(onlyHere)) != 1 || len(e.contactsOf(ids["deleted-here"])) != 0 {
		t.Errorf("only here: %d Contacts (want 1); deleted here: %d (want 0)",
			len(e.contactsOf(onlyHere)), len(e.contactsOf(ids["deleted-here"])))
	}
	if c := e.contactsOf(ids["changed-here"]); len(c) != 1 || contactName(c[0]) != "changed in Tandem" {
		t.Errorf("changed here: Contacts %+v", c)
	}
	if c := e.contactsOf(onlyThereID); len(c) != 1 || c[0].ID != onlyThere.ID {
		t.Errorf("only there: Contacts holding its id %+v, want the one made in Salesforce (%s)", c, onlyThere.ID)
	}
	waitFor(t, 20*time.Second, "every Salesforce link synced", func() bool {
		for _, id := range []string{ids["same"], ids["changed-there"], ids["changed-here"], onlyHere, onlyThereID} {
			if e.linkStatuses(id)["salesforce"] != "synced" {
				return false
			}
		}
		return true
	})
	if again := e.reconcile("salesforce", false); len(again.Progress.Repairs) != 0 {
		t.Errorf("a second run still repaired %v; actions %+v", again.Progress.Repairs, again.Actions)
	}
}

// salesforceForTandem serves a fresh Salesforce emulator until the test
// ends and returns it with the Tandem settings that reach it.
func salesforceForTandem(tb testing.TB) (*sfemulator.Emulator, map[string]string) {
	tb.Helper()
	em, srv := serveSalesforceEmulator(tb, sfemulator.Faults{}, nil)
	return em, map[string]string{"SALESFORCE_CLIENT_ID": salesforceTestClientID,
		"SALESFORCE_CLIENT_SECRET": salesforceTestClientSecret, "SALESFORCE_LOGIN_URL": srv.URL}
}

// TestSalesforceLinkUp connects Tandem to a Salesforce org that already has
// Contacts: tandem link salesforce --dry-run prints the plan and changes
// nothing; without --dry-run, a Contact carrying a customer's id and one
// with a customer's email (and no other candidate) are linked, the missing
// created on each side, ambiguous duplicates left alone; the pushes that
// follow give the matched Contact Tandem's id without making a second one.
func TestSalesforceLinkUp(t *testing.T) {
	t.Parallel()
	sf, env := salesforceForTandem(t)
	dbPath := filepath.Join(t.TempDir(), "tandem.db")
	env["TANDEM_DATABASE_URL"] = "sqlite:" + dbPath
	env["TANDEM_LOG_LEVEL"] = "error"
	env["SALESFORCE_POLL_INTERVAL"] = "200ms"

	local := linkUpCatalog(t, dbPath) // made before Salesforce was configured

	// The org.
	remote := map[string]string{}
	for _, c := range []sfemulator.Fields{
		{"LastName": "match", "Email": "match@example.com", "Phone": "+1 555 0100"}, // only Salesforce has the phone
		{"LastName": "dup1", "Email": "dup@example.com"}, {"LastName": "dup2", "Email": "dup@example.com"},
		{"LastName": "only-there", "Email": "there@example.com"}, {"LastName": "twin", "Email": "twin@example.com"},
		{"LastName": "carried", "Email": "other@example.com", "Tandem_Id__c": local["carried"]},
	} {
		ct, err := sf.UI().CreateContact(c)
		if err != nil {
			t.Fatal(err)
		}
		remote[c["LastName"]] = ct.ID
	}

	plan := runLink(t, env, "salesforce", "--dry-run")
	for _, want := range []string{"6 records there, 6 here", "2 matched", "1 to create here", "1 to create there",
		"3 ambiguous", remote["dup1"], remote["dup2"], remote["twin"]} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan lacks %q:\n%s", want, plan)
		}
	}
	for _, r := range sf.Requests() {
		if r.Method != http.MethodGet {
			t.Fatalf("the dry run wrote to Salesforce: %+v", r)
		}
	}

	runLink(t, env, "salesforce")
	// The pushes run in serve: start it to drain them.
	api := runInProcess(t, env)
	var byTandemID map[string]string
	waitFor(t, 20*time.Second, "link-up pushes done", func() bool {
		byTandemID = map[string]string{}
		for _, c := range sf.Contacts() {
			if !c.IsDeleted && c.ExternalID != "" {
				byTandemID[c.ExternalID] = c.ID
			}
		}
		return byTandemID[local["match"]] == remote["match"] && byTandemID[local["carried"]] == remote["carried"] &&
			byTandemID[local["only-here"]] != ""
	})
	var matched struct{ Phone string }
	api.do("GET", "/customers/"+local["match"], nil, &matched)
	if matched.Phone != "+1 555 0100" {
		t.Errorf("matched by email: local phone %q, want Salesforce's", matched.Phone)
	}
	if c, _ := sf.Contact(remote["match"]); c.Phone != "+1 555 0100" || c.LastName != "match" {
		t.Errorf("matched by email: the Contact became %+v", c)
	}
	checkLinkUpLocal(t, api)
	var page struct{ Data []customer }
	api.do("GET", "/customers?email=there@example.com", nil, &page)
	waitFor(t, 20*time.Second, "only there given its Tandem id", func() bool {
		c, _ := sf.Contact(remote["only-there"])
		return len(page.Data) == 1 && c.ExternalID == page.Data[0].ID
	})
	if n := len(sf.Contacts()); n != 7 {
		t.Errorf("Salesforce has %d Contacts, want 7 (6 + only-here)", n)
	}
	for _, key := range []string{"dup1", "dup2", "twin"} {
		if c, _ := sf.Contact(remote[key]); c.ExternalID != "" {
			t.Errorf("ambiguous %s was linked to %s", key, c.ExternalID)
		}
	}
}
