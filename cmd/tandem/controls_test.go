package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	emulator "github.com/tandemsync/tandem/emulator/stripe"
	"github.com/tandemsync/tandem/internal/pgtest"
)

// failure is an entry of GET /sync/failures.
type failure struct {
	ID          string `json:"id"`
	Integration string `json:"integration"`
	LocalID     string `json:"local_id"`
	LastError   string `json:"last_error"`
	Attempts    int    `json:"attempts"`
}

// failures returns the parked pushes.
func (c *client) failures() []failure {
	c.t.Helper()
	var out struct{ Data []failure }
	if resp := c.do("GET", "/sync/failures", nil, &out); resp.StatusCode != http.StatusOK {
		c.t.Fatalf("failures: %s", resp.Status)
	}
	return out.Data
}

// waitParked waits until the failures list exactly ids (in any order),
// parked by Stripe's refusal, and returns them in the order of ids.
func (e *stripeEnv) waitParked(ids ...string) []failure {
	e.t.Helper()
	var got []failure
	deadline := time.Now().Add(20 * time.Second)
	for {
		got = e.api.failures()
		byID := map[string]failure{}
		for _, f := range got {
			if f.Integration == "stripe" && f.Attempts == 1 && strings.Contains(f.LastError, "RejectWrites") {
				byID[f.LocalID] = f
			}
		}
		var out []failure
		for _, id := range ids {
			if f, ok := byID[id]; ok && f.ID == "stripe:customer:"+id {
				out = append(out, f)
			}
		}
		if len(out) == len(ids) && len(got) == len(ids) {
			return out
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %d parked failures; the list is %+v", len(ids), got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStripeFailureControls: records Stripe refuses are parked and listed
// with an id; a retry after the cause is fixed syncs one, a discard drops
// the other from the list without pushing it until it changes again.
func TestStripeFailureControls(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{Faults: emulator.Faults{RejectWrites: emulator.Chance{Every: 1}}}, nil)
	retried, discarded := e.api.mustCreate("Retried"), e.api.mustCreate("Discarded")
	e.waitParked(retried.ID, discarded.ID)
	if got := e.linkStatus(retried.ID); got != "failed" {
		t.Fatalf("parked link status %q", got)
	}
	if err := e.em.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}

	if resp := e.api.do("POST", "/sync/failures/stripe:customer:"+retried.ID+"/retry", nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("retry: %s", resp.Status)
	}
	e.waitStripe("the retried customer in Stripe", func() bool { return len(e.stripeOf(retried.ID)) == 1 })
	e.settle(retried.ID)

	if resp := e.api.do("DELETE", "/sync/failures/stripe:customer:"+discarded.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("discard: %s", resp.Status)
	}
	if f := e.api.failures(); len(f) != 0 {
		t.Fatalf("failures after retry and discard: %+v", f)
	}
	if got := e.linkStatus(discarded.ID); got != "discarded" {
		t.Fatalf("discarded link status %q", got)
	}
	for _, path := range []string{"/sync/failures/stripe:customer:" + discarded.ID + "/retry", "/sync/failures/stripe:customer:" + retried.ID + "/retry"} {
		if resp := e.api.do("POST", path, nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("retry of a link not parked: %s", resp.Status)
		}
	}
	if n := len(e.stripeOf(discarded.ID)); n != 0 {
		t.Fatalf("the discarded customer reached Stripe")
	}
	// Its next change is pushed.
	e.api.do("PATCH", "/customers/"+discarded.ID, map[string]any{"name": "Changed"}, nil)
	e.waitStripe("the changed customer in Stripe", func() bool {
		got := e.stripeOf(discarded.ID)
		return len(got) == 1 && got[0].Name == "Changed"
	})
	e.settle(discarded.ID)
}

// TestStripePauseResume: while Stripe is paused no request reaches it and
// ?wait reports it pending; resuming pushes every change made meanwhile,
// once; then ?wait answers once Stripe holds the write.
func TestStripePauseResume(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, map[string]string{"STRIPE_POLL_INTERVAL": "0"})
	first := e.api.mustCreate("First")
	e.waitStripe("the first customer in Stripe", func() bool { return len(e.stripeOf(first.ID)) == 1 })
	e.settle(first.ID)

	var state struct {
		Name   string
		Paused bool
	}
	if resp := e.api.do("POST", "/integrations/stripe/pause", nil, &state); resp.StatusCode != http.StatusOK || !state.Paused {
		t.Fatalf("pause: %s %+v", resp.Status, state)
	}
	var list struct {
		Data []struct {
			Name   string
			Paused bool
		}
	}
	if e.api.do("GET", "/integrations", nil, &list); len(list.Data) != 1 || list.Data[0].Name != "stripe" || !list.Data[0].Paused {
		t.Fatalf("integrations while paused: %+v", list.Data)
	}
	calls := len(e.em.Requests())
	var created []customer
	for i := range 3 {
		created = append(created, e.api.mustCreate(fmt.Sprintf("Paused %d", i)))
	}
	resp := e.api.do("PATCH", "/customers/"+first.ID+"?wait=300ms", map[string]any{"name": "First, edited"}, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Tandem-Sync-Pending") != "stripe" {
		t.Fatalf("write with ?wait while paused: %s, Tandem-Sync-Pending %q", resp.Status, resp.Header.Get("Tandem-Sync-Pending"))
	}
	resp = e.api.do("GET", "/customers/"+created[0].ID+"/sync?wait=200ms", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Tandem-Sync-Pending") != "stripe" {
		t.Fatalf("sync with ?wait while paused: %s, Tandem-Sync-Pending %q", resp.Status, resp.Header.Get("Tandem-Sync-Pending"))
	}
	if n := len(e.em.Requests()); n != calls {
		t.Fatalf("%d requests reached Stripe while paused", n-calls)
	}

	if resp := e.api.do("POST", "/integrations/stripe/resume", nil, &state); resp.StatusCode != http.StatusOK || state.Paused {
		t.Fatalf("resume: %s %+v", resp.Status, state)
	}
	for _, c := range created {
		e.waitStripe(c.Name+" in Stripe", func() bool { return len(e.stripeOf(c.ID)) == 1 })
		e.settle(c.ID)
	}
	e.waitStripe("the edit in Stripe", func() bool { return e.stripeOf(first.ID)[0].Name == "First, edited" })
	e.settle(first.ID)

	// Read-your-writes: the answer comes once Stripe holds the write.
	var edited customer
	resp = e.api.do("PATCH", "/customers/"+first.ID+"?wait=5s", map[string]any{"name": "Confirmed"}, &edited)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Tandem-Sync-Pending") != "" {
		t.Fatalf("write with ?wait: %s, Tandem-Sync-Pending %q", resp.Status, resp.Header.Get("Tandem-Sync-Pending"))
	}
	if got := e.stripeOf(first.ID); len(got) != 1 || got[0].Name != "Confirmed" {
		t.Fatalf("after ?wait, Stripe holds %+v", got)
	}
	remote := e.stripeOf(first.ID)[0].ID
	if resp := e.api.do("DELETE", "/customers/"+first.ID+"?wait=5s", nil, nil); resp.StatusCode != http.StatusNoContent ||
		resp.Header.Get("Tandem-Sync-Pending") != "" {
		t.Fatalf("delete with ?wait: %s, Tandem-Sync-Pending %q", resp.Status, resp.Header.Get("Tandem-Sync-Pending"))
	}
	if got, _ := e.em.Customer(remote); !got.Deleted {
		t.Fatal("after a delete with ?wait, the Stripe customer is not deleted")
	}

	// Every change reached Stripe once: a create per customer, two updates.
	var creates, updates int
	for _, w := range e.writes() {
		switch op := strings.SplitN(w.IdempotencyKey, ":", 4)[3]; {
		case strings.HasPrefix(op, "create"):
			creates++
		case strings.HasPrefix(op, "update"):
			updates++
		}
	}
	if creates != 4 || updates != 2 {
		t.Fatalf("%d creates and %d updates in Stripe, want 4 and 2", creates, updates)
	}
}

// TestCLIControls: the failures, pause and resume commands work on the
// database of a running Tandem (PostgreSQL: several processes share it).
func TestCLIControls(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TANDEM_DATABASE_URL": pgtest.URL(t)}
	e := newStripeEnv(t, emulator.Config{Faults: emulator.Faults{RejectWrites: emulator.Chance{Every: 1}}}, env)
	cli := func(args ...string) string {
		t.Helper()
		out, errOut, err := runCommand(t, env, args...)
		if err != nil {
			t.Fatalf("tandem %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	c := e.api.mustCreate("Refused")
	id := e.waitParked(c.ID)[0].ID
	if out := cli("failures"); !strings.Contains(out, id) || !strings.Contains(out, "RejectWrites") {
		t.Fatalf("tandem failures:\n%s", out)
	}
	if err := e.em.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}

	cli("pause", "stripe")
	var list struct {
		Data []struct {
			Name   string
			Paused bool
		}
	}
	if e.api.do("GET", "/integrations", nil, &list); len(list.Data) != 1 || !list.Data[0].Paused {
		t.Fatalf("the server does not see the pause: %+v", list.Data)
	}
	calls := len(e.em.Requests())
	cli("failures", "retry", id)
	if out := cli("failures"); !strings.Contains(out, "no parked failures") {
		t.Fatalf("tandem failures after retry:\n%s", out)
	}
	// The retry's job waits: nothing reaches Stripe for a while.
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if n := len(e.em.Requests()); n != calls {
			t.Fatalf("%d requests reached Stripe while paused", n-calls)
		}
	}
	cli("resume", "stripe")
	e.waitStripe("the retried customer in Stripe", func() bool { return len(e.stripeOf(c.ID)) == 1 })
	e.settle(c.ID)

	if _, _, err := runCommand(t, env, "failures", "discard", id); err == nil || !strings.Contains(err.Error(), "no parked failure") {
		t.Fatalf("discard of a synced record: %v", err)
	}
}

// TestCLIControlsInput: the commands refuse bad input before any change.
func TestCLIControlsInput(t *testing.T) {
	env := map[string]string{"TANDEM_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "tandem.db")}
	if _, _, err := runCommand(t, env, "migrate"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"failures", "retry"}, "needs a failure id"},
		{[]string{"failures", "retry", "tdmc_x"}, "not a failure id"},
		{[]string{"failures", "discard", "stripe:customer:tdmc_x"}, "no parked failure"},
		{[]string{"failures", "forget", "stripe:customer:tdmc_x"}, "unknown action"},
		{[]string{"pause"}, "needs an integration"},
		{[]string{"pause", "hubspot"}, "unknown integration"},
	} {
		_, _, err := runCommand(t, env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("tandem %s: %v, want an error saying %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
	out, _, err := runCommand(t, env, "pause", "stripe")
	if err != nil || !strings.Contains(out, "stripe paused") {
		t.Fatalf("pause before any serve: %v %q", err, out)
	}
	if out, _, err := runCommand(t, env, "resume", "stripe"); err != nil || !strings.Contains(out, "stripe resumed") {
		t.Fatalf("resume: %v %q", err, out)
	}
	if out, _, err := runCommand(t, env, "failures"); err != nil || !strings.Contains(out, "no parked failures") {
		t.Fatalf("failures: %v %q", err, out)
	}
}
