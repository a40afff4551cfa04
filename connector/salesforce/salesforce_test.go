package salesforce

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	key := pemKey(t)
	ok := Config{ClientID: "id", ClientSecret: "secret"}
	for _, tc := range []struct {
		desc string
		edit func(*Config)
		want string // in the error; "" for none
	}{
		{"client credentials", func(*Config) {}, ""},
		{"JWT bearer", func(c *Config) { c.ClientSecret, c.Username, c.PrivateKey = "", "u@example.com", key }, ""},
		{"no client id", func(c *Config) { c.ClientID = "" }, "no client id"},
		{"no credentials", func(c *Config) { c.ClientSecret = "" }, "no client secret"},
		{"both grants", func(c *Config) { c.Username, c.PrivateKey = "u@example.com", key }, "not both"},
		{"username without key", func(c *Config) { c.ClientSecret, c.Username = "", "u@example.com" }, "both a username and a private key"},
		{"key not PEM", func(c *Config) { c.ClientSecret, c.Username, c.PrivateKey = "", "u", []byte("nope") }, "not PEM"},
		{"bad login URL", func(c *Config) { c.LoginURL = "login.salesforce.com" }, "not an http(s) URL"},
		{"bad version", func(c *Config) { c.APIVersion = "v62" }, "not like 62.0"},
		{"oldest version", func(c *Config) { c.APIVersion = "46.0" }, ""},
		{"version without composite upsert", func(c *Config) { c.APIVersion = "45.0" }, "too old"},
		{"bad field", func(c *Config) { c.ExternalIDField = "Tandem Id" }, "not an API name"},
		{"negative budget", func(c *Config) { c.DailyBudget = -1 }, "must not be negative"},
		{"outbound messages", func(c *Config) { c.OrgID, c.OutboundSecret = "00D5g0000000001EAA", "sixteen-chars-ok" }, ""},
		{"bad organization id", func(c *Config) { c.OrgID = "001000000000001" }, "starting 00D"},
		{"short outbound secret", func(c *Config) { c.OutboundSecret = "short" }, "at least 16"},
	} {
		cfg := ok
		tc.edit(&cfg)
		err := cfg.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.desc, err, tc.want)
		}
		if _, nerr := New(cfg); (nerr == nil) != (err == nil) {
			t.Errorf("%s: New: %v, Validate: %v", tc.desc, nerr, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := New(Config{ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "salesforce" || c.cfg.LoginURL != DefaultLoginURL || c.cfg.APIVersion != "62.0" ||
		c.cfg.Object != "Contact" || c.cfg.ExternalIDField != "Tandem_Id__c" {
		t.Errorf("name %q, config %+v", c.Name(), c.cfg)
	}
}
