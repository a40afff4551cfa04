package salesforce

import (
	"net/http"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		faults Faults
		status int
		code   string
	}{
		{"server error", Faults{ServerError: Chance{Every: 2}}, 500, "UNKNOWN_EXCEPTION"},
		{"unavailable", Faults{Unavailable: Chance{Every: 2}}, 503, "SERVER_UNAVAILABLE"},
		{"concurrent limit", Faults{ConcurrentLimit: Chance{Every: 2}}, 403, "REQUEST_LIMIT_EXCEEDED"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			h := newHarness(t, Config{Faults: tc.faults})
			h.mustCreate(t, "tdmc_1", map[string]any{"LastName": "A"})
			a := h.upsert(t, "tdmc_2", map[string]any{"LastName": "B"})
			if a.status != tc.status || a.errorCode(t) != tc.code {
				t.Errorf("second call: %d %s, want %d %s", a.status, a.body, tc.status, tc.code)
			}
			if got := len(h.em.Contacts()); got != 1 {
				t.Errorf("%d contacts: the failed call made a change", got)
			}
			h.mustCreate(t, "tdmc_3", map[string]any{"LastName": "C"})
		})
	}
}

func TestLatency(t *testing.T) {
	h := newHarness(t, Config{})
	if err := h.em.SetFaults(Faults{Latency: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if a := h.do(t, http.MethodGet, testVersion+"/limits", nil); a.status != http.StatusOK {
		t.Fatal(a.status)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("answered in %v, want at least 50ms", d)
	}
}

func TestFaultsValidate(t *testing.T) {
	for _, f := range []Faults{
		{Latency: -1},
		{ServerError: Chance{Every: -1}},
		{DropOutbound: Chance{Probability: 1.5}},
	} {
		if _, err := New(Config{ClientID: "x", ClientSecret: "y", Faults: f}); err == nil {
			t.Errorf("New accepted %+v", f)
		}
	}
}

func TestEditor(t *testing.T) {
	h := newHarness(t, Config{})
	ui := h.em.UI()
	c, err := ui.CreateContact(Fields{"FirstName": "Ada", "LastName": "Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	if c.LastModifiedByID != h.em.HumanUserID() || c.LastModifiedByID == h.em.IntegrationUserID() {
		t.Errorf("LastModifiedById %q, want the human user %q", c.LastModifiedByID, h.em.HumanUserID())
	}
	if _, err := ui.UpdateContact(c.ID, Fields{"LastName": ""}); err == nil {
		t.Error("emptying LastName was accepted")
	}
	h.clock.Add(time.Second)
	if err := ui.Touch(c.ID); err != nil {
		t.Fatal(err)
	}
	touched, _ := h.em.Contact(c.ID)
	if !touched.SystemModstamp.After(c.SystemModstamp) || touched.LastName != "Lovelace" {
		t.Errorf("after Touch: %+v", touched)
	}
	if err := ui.DeleteContact(c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ui.UpdateContact(c.ID, Fields{"Email": "a@example.com"}); err == nil {
		t.Error("updated a deleted Contact")
	}
}
