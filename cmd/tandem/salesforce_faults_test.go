package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	sfemulator "github.com/tandemsync/tandem/emulator/salesforce"
	"github.com/tandemsync/tandem/store/sqlite"
)

// TestSalesforceSessionExpiryUnderLoad: every Salesforce session ends
// while a burst waits to be pushed: 200 creates (half of them edited right
// after), which leave as composite upserts, and the deletes of 50 earlier
// customers, each a call of its own, so that many calls run at once when
// the burst goes (it is made while Salesforce is paused, the sessions end,
// then Salesforce is resumed). Every customer reaches Salesforce as one
// Contact with its latest fields, the deleted ones are gone, nothing is
// parked, and Tandem signs in again exactly once for all the calls the
// expiry refused.
func TestSalesforceSessionExpiryUnderLoad(t *testing.T) {
	t.Parallel()
	e := newThreeWayEnv(t, map[string]string{"SALESFORCE_RECONCILE_INTERVAL": "0"})
	if err := e.sf.SetFaults(sfemulator.Faults{Latency: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var old []string
	for i := range 50 {
		old = append(old, e.api.mustCreate(fmt.Sprintf("Old %d", i)).ID)
	}
	waitFor(t, 20*time.Second, "the earlier Contacts", func() bool { return len(liveContacts(e.sf)) == 50 })
	logins := e.sfLogins.Load()
	if resp := e.api.do("POST", "/integrations/salesforce/pause", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("pause: %s", resp.Status)
	}

	var mu sync.Mutex
	want := map[string]sfemulator.Contact{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				var c customer
				if resp := e.api.do("POST", "/customers", map[string]any{"name": fmt.Sprintf("Burst %d-%d", w, i)}, &c); resp.StatusCode != http.StatusCreated {
					t.Errorf("create: %s", resp.Status)
					return
				}
				ct := sfemulator.Contact{FirstName: "Burst", LastName: fmt.Sprintf("%d-%d", w, i)}
				if i%2 == 0 {
					ct.Phone = fmt.Sprintf("+1 555 %d%03d", w, i)
					if resp := e.api.do("PATCH", "/customers/"+c.ID, map[string]any{"phone": ct.Phone}, nil); resp.StatusCode != http.StatusOK {
						t.Errorf("edit: %s", resp.Status)
						return
					}
				}
				mu.Lock()
				want[c.ID] = ct
				mu.Unlock()
			}
		})
	}
	for _, id := range old {
		if resp := e.api.do("DELETE", "/customers/"+id, nil, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %s", resp.Status)
		}
	}
	wg.Wait()
	e.sf.ExpireSessions()
	if resp := e.api.do("POST", "/integrations/salesforce/resume", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("resume: %s", resp.Status)
	}

	var last string
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("last seen:", last)
		}
	})
	waitFor(t, 60*time.Second, "every customer in Salesforce once, as last written, and the deleted gone", func() bool {
		byID := liveContacts(e.sf)
		if len(byID) != len(want) {
			last = fmt.Sprintf("%d Tandem ids in Salesforce, want %d", len(byID), len(want))
			return false
		}
		for id, w := range want {
			got := byID[id]
			if len(got) != 1 || got[0].FirstName != w.FirstName || got[0].LastName != w.LastName || got[0].Phone != w.Phone {
				last = fmt.Sprintf("%s: Contacts %+v, want one like %+v", id, got, w)
				return false
			}
		}
		return true
	})
	refused := 0
	for _, r := range e.sf.Requests() {
		if r.Status == http.StatusUnauthorized {
			refused++
		}
	}
	if refused < 2 {
		t.Fatalf("%d calls refused for their session, want several in flight at once", refused)
	}
	signIns := e.sfLogins.Load() - logins
	if signIns != 1 {
		t.Errorf("%d sign-ins after the expiry (which refused %d calls), want 1", signIns, refused)
	}
	e.noFailures()
	t.Logf("%d calls refused for their session, %d sign-in", refused, signIns)
}

// noFailures checks that no push is parked.
func (e *threeWayEnv) noFailures() {
	e.t.Helper()
	var failures struct{ Data []failure }
	if resp := e.api.do("GET", "/sync/failures", nil, &failures); resp.StatusCode != http.StatusOK || len(failures.Data) != 0 {
		e.t.Errorf("parked failures: %s %+v", resp.Status, failures.Data)
	}
}

// pushJobs counts the push jobs of integration by state.
func (e *threeWayEnv) pushJobs(integration string) map[string]int {
	e.t.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(e.dbPath))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT state, COUNT(*) FROM river_job WHERE kind = 'push' AND queue = ? GROUP BY state`,
		tandem.QueueOf(integration))
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			e.t.Fatal(err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// budgetEnv is Tandem with Salesforce, and a clock for its API budget that
// the test moves.
type budgetEnv struct {
	*threeWayEnv
	offset atomic.Int64 // how far the budget's clock runs ahead
}

func newBudgetEnv(t *testing.T, env map[string]string) *budgetEnv {
	t.Helper()
	b := &budgetEnv{}
	env["SALESFORCE_RECONCILE_INTERVAL"] = "0"
	b.threeWayEnv = newThreeWayEnv(t, env, func(p *program) {
		p.now = func() time.Time { return time.Now().Add(time.Duration(b.offset.Load())) }
	})
	return b
}

// waitingThenDelivered makes changes (creates, and an edit of the customer
// edited) while Salesforce's API is out of reach; checks that they wait
// (their links pending with a last error matching why, their push jobs
// snoozed, none parked or given up) and that none reached Salesforce; then
// lets time pass by after (the budget's clock and the snoozed jobs') with
// reopen done, and checks that every change arrives, once.
func (b *budgetEnv) waitingThenDelivered(edited customer, why *regexp.Regexp, reopen func(), after time.Duration) {
	t := b.t
	t.Helper()
	waiting := []string{edited.ID}
	if resp := b.api.do("PATCH", "/customers/"+edited.ID, map[string]any{"phone": "+1 555 0199"}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("edit: %s", resp.Status)
	}
	for i := range 4 {
		waiting = append(waiting, b.api.mustCreate(fmt.Sprintf("Waiting %d", i)).ID)
	}
	waitFor(t, 20*time.Second, "every change's push snoozed", func() bool {
		jobs := b.pushJobs("salesforce")
		return jobs["scheduled"] == len(waiting)
	})
	for _, id := range waiting {
		var sync struct {
			Data []struct {
				Integration, Status string
				LastError           string `json:"last_error"`
			}
		}
		b.api.do("GET", "/customers/"+id+"/sync", nil, &sync)
		for _, l := range sync.Data {
			if l.Integration == "salesforce" && (l.Status != "pending" || !why.MatchString(l.LastError)) {
				t.Errorf("%s: link %+v, want pending after an error like %q", id, l, why)
			}
		}
	}
	if jobs := b.pushJobs("salesforce"); jobs["discarded"]+jobs["cancelled"] != 0 {
		t.Errorf("push jobs given up: %v", jobs)
	}
	b.noFailures()
	if c := b.contactsOf(edited.ID); len(c) != 1 || c[0].Phone != "" {
		t.Errorf("the edit reached Salesforce: %+v", c)
	}
	for _, id := range waiting[1:] {
		if n := len(b.contactsOf(id)); n != 0 {
			t.Errorf("%s reached Salesforce (%d Contacts)", id, n)
		}
	}

	reopen()
	b.offset.Add(int64(after))
	b.sqlExec(`UPDATE river_job SET scheduled_at = created_at WHERE state = 'scheduled' AND kind = 'push' AND queue = ?`,
		tandem.QueueOf("salesforce"))
	waitFor(t, 30*time.Second, "every waiting change in Salesforce", func() bool {
		for i, id := range waiting {
			c := b.contactsOf(id)
			if len(c) != 1 || (i == 0 && c[0].Phone != "+1 555 0199") || b.linkStatuses(id)["salesforce"] != "synced" {
				return false
			}
		}
		return true
	})
	// Each exactly once: the upserts (by Tandem's id, batched) made no
	// second Contact, even after the refused attempts.
	for _, id := range waiting {
		if n := len(b.contactsOf(id)); n != 1 {
			t.Errorf("%s is %d Contacts, want one", id, n)
		}
	}
	b.noFailures()
}

// TestSalesforceOrgLimitExhausted: the org's daily API allocation is spent
// (Salesforce answers 403 REQUEST_LIMIT_EXCEEDED): local changes wait,
// none reaches Salesforce and none is parked or lost; once the allocation
// has room again and the wait is over, every change arrives once.
func TestSalesforceOrgLimitExhausted(t *testing.T) {
	t.Parallel()
	b := newBudgetEnv(t, map[string]string{})
	first := b.api.mustCreate("First Customer")
	waitFor(t, 20*time.Second, "the first Contact", func() bool { return len(b.contactsOf(first.ID)) == 1 })
	b.sf.SetUsage(100_000) // the emulator's daily limit
	// Salesforce's refusal, or the budget's once it has read the usage.
	why := regexp.MustCompile(`REQUEST_LIMIT_EXCEEDED|daily API allocation is \(nearly\) spent`)
	b.waitingThenDelivered(first, why, func() { b.sf.SetUsage(0) }, 10*time.Minute)
	refused := 0
	for _, r := range b.sf.Requests() {
		if r.Status == http.StatusForbidden {
			refused++
		}
	}
	if refused == 0 {
		t.Error("Salesforce refused no call")
	}
}

// TestSalesforceDailyBudgetSpent: Tandem's own daily budget
// (SALESFORCE_DAILY_BUDGET) is spent: local changes wait without a call to
// Salesforce, none is parked or lost, and a day later every change arrives
// once.
func TestSalesforceDailyBudgetSpent(t *testing.T) {
	t.Parallel()
	// A budget of 5 calls a day: 5 creates spend it, the 5 waiting changes
	// take the next day's.
	b := newBudgetEnv(t, map[string]string{"SALESFORCE_DAILY_BUDGET": "5", "SALESFORCE_POLL_INTERVAL": "0"})
	// One at a time, so that each is a call of its own (pushes waiting
	// together share one composite call).
	first := b.api.mustCreate("First Customer")
	waitFor(t, 20*time.Second, "the first Contact", func() bool { return len(b.contactsOf(first.ID)) == 1 })
	for i := range 4 {
		c := b.api.mustCreate(fmt.Sprintf("Early %d", i))
		waitFor(t, 20*time.Second, "an early Contact", func() bool { return len(b.contactsOf(c.ID)) == 1 })
	}
	if n := len(b.sfWrites()); n != 5 {
		t.Fatalf("%d writes to Salesforce for five creates, want 5", n)
	}
	calls := len(b.sf.Requests())
	b.waitingThenDelivered(first, regexp.MustCompile(`daily budget of 5 API requests is spent`), func() {
		if n := len(b.sf.Requests()); n != calls {
			t.Errorf("%d calls to Salesforce past the budget", n-calls)
		}
	}, 24*time.Hour)
}
