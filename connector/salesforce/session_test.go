package salesforce

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

func TestSignInGrants(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	for _, tc := range []struct {
		desc string
		edit func(*Config)
	}{
		{"client credentials", nil},
		{"JWT bearer", func(cfg *Config) {
			cfg.ClientSecret, cfg.Username, cfg.PrivateKey = "", testUsername, pemKey(t)
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := h.connector(t, tc.edit)
			res, err := c.Push(t.Context(), customerPush("tdmc_"+tc.desc[:3], 1, tandem.Customer{Name: "Ada Lovelace"}))
			if err != nil {
				t.Fatal(err)
			}
			ct, ok := h.em.Contact(res.RemoteID)
			if !ok || ct.LastName != "Lovelace" || ct.LastModifiedByID != h.em.IntegrationUserID() {
				t.Errorf("contact %q: %+v, %v", res.RemoteID, ct, ok)
			}
		})
	}
}

func TestSignInRefused(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	for _, tc := range []struct {
		desc string
		edit func(*Config)
	}{
		{"wrong secret", func(cfg *Config) { cfg.ClientSecret = "wrong" }},
		{"unknown user", func(cfg *Config) {
			cfg.ClientSecret, cfg.Username, cfg.PrivateKey = "", "someone@example.com", pemKey(t)
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := h.connector(t, tc.edit)
			_, err := c.Push(t.Context(), customerPush("tdmc_1", 1, tandem.Customer{Name: "Ada"}))
			if pe := providerError(t, err); pe.Class != tandem.Permanent {
				t.Errorf("class %v, want Permanent: %v", pe.Class, err)
			}
			if n := h.requests(); n != 0 {
				t.Errorf("%d API requests without a session", n)
			}
		})
	}
}

// TestSessionExpiryUnderLoad ends the session while 20 pushes run at once:
// they all succeed, after exactly one more sign-in.
func TestSessionExpiryUnderLoad(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	if _, err := c.Push(t.Context(), customerPush("tdmc_first", 1, tandem.Customer{Name: "First"})); err != nil {
		t.Fatal(err)
	}
	if n := h.logins.Load(); n != 1 {
		t.Fatalf("%d sign-ins before expiry, want 1", n)
	}
	h.em.ExpireSessions()
	const workers = 20
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			_, errs[i] = c.Push(t.Context(), customerPush(fmt.Sprintf("tdmc_%d", i), 1, tandem.Customer{Name: "N"}))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("push %d: %v", i, err)
		}
	}
	if n := h.logins.Load(); n != 2 {
		t.Errorf("%d sign-ins, want 2: one shared re-authentication", n)
	}
	if n := len(h.em.Contacts()); n != workers+1 {
		t.Errorf("%d contacts, want %d", n, workers+1)
	}
}
