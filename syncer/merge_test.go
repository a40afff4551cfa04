package syncer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tandemsync/tandem"
)

func TestMerge(t *testing.T) {
	base := &tandem.Customer{Name: "Ada", Email: "ada@old.example", Phone: "1",
		Address: tandem.Address{City: "London"}, Metadata: map[string]string{"plan": "pro", "seats": "3"}}
	with := func(f func(c *tandem.Customer)) *tandem.Customer {
		c := *base
		c.Metadata = map[string]string{"plan": "pro", "seats": "3"}
		f(&c)
		return &c
	}
	tests := []struct {
		name          string
		local, remote *tandem.Customer
		remoteWins    bool
		want          *tandem.Customer
		conflicts     []string
	}{
		{"nothing changed", base, base, false, base, nil},
		{"only remote changed", base, with(func(c *tandem.Customer) { c.Email = "ada@new.example" }), false,
			with(func(c *tandem.Customer) { c.Email = "ada@new.example" }), nil},
		{"only local changed", with(func(c *tandem.Customer) { c.Phone = "2" }), base, true,
			with(func(c *tandem.Customer) { c.Phone = "2" }), nil},
		{"different fields on each side",
			with(func(c *tandem.Customer) { c.Phone = "2" }),
			with(func(c *tandem.Customer) { c.Address.City = "Paris" }), false,
			with(func(c *tandem.Customer) { c.Phone = "2"; c.Address.City = "Paris" }), nil},
		{"both made the same change",
			with(func(c *tandem.Customer) { c.Name = "Ada L." }),
			with(func(c *tandem.Customer) { c.Name = "Ada L." }), false,
			with(func(c *tandem.Customer) { c.Name = "Ada L." }), nil},
		{"conflict, local wins",
			with(func(c *tandem.Customer) { c.Name = "Local" }),
			with(func(c *tandem.Customer) { c.Name = "Remote" }), false,
			with(func(c *tandem.Customer) { c.Name = "Local" }), []string{"name"}},
		{"conflict, remote wins",
			with(func(c *tandem.Customer) { c.Name = "Local" }),
			with(func(c *tandem.Customer) { c.Name = "Remote" }), true,
			with(func(c *tandem.Customer) { c.Name = "Remote" }), []string{"name"}},
		{"metadata merged key by key",
			with(func(c *tandem.Customer) { c.Metadata["seats"] = "4"; c.Metadata["local"] = "x" }),
			with(func(c *tandem.Customer) { delete(c.Metadata, "plan"); c.Metadata["remote"] = "y" }), false,
			with(func(c *tandem.Customer) {
				c.Metadata = map[string]string{"seats": "4", "local": "x", "remote": "y"}
			}), nil},
		{"metadata conflict: removed there, changed here",
			with(func(c *tandem.Customer) { c.Metadata["plan"] = "team" }),
			with(func(c *tandem.Customer) { delete(c.Metadata, "plan") }), true,
			with(func(c *tandem.Customer) { delete(c.Metadata, "plan") }), []string{"metadata.plan"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &picker{remoteWins: tc.remoteWins}
			got := mergeCustomer(p, base, tc.local, tc.remote)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("merged (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.conflicts, p.conflicts, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	earlier, later := time.Unix(100, 0), time.Unix(200, 0)
	for _, tc := range []struct {
		policy          Policy
		localAt, remote time.Time
		want            bool
	}{
		{PolicyNewest, earlier, later, true},
		{PolicyNewest, later, earlier, false},
		{PolicyLocal, earlier, later, false},
		{Policy("stripe"), later, earlier, true},
		{Policy("salesforce"), earlier, later, true}, // another integration's policy: newest
		{Policy("salesforce"), later, earlier, false},
	} {
		if got := tc.policy.remoteWins("stripe", tc.localAt, tc.remote); got != tc.want {
			t.Errorf("%s, local at %v, remote at %v: remote wins = %v, want %v", tc.policy, tc.localAt.Unix(), tc.remote.Unix(), got, tc.want)
		}
	}
}
