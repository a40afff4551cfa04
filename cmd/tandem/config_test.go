package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigSources(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secret, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig("serve", []string{"--workers", "3", "--addr=0.0.0.0:9000"}, env(map[string]string{
		"TANDEM_ADDR":                "127.0.0.1:1",
		"TANDEM_WORKERS":             "7",
		"TANDEM_QUEUE_POLL_INTERVAL": "20ms",
		"TANDEM_API_TOKEN_FILE":      secret,
		"TANDEM_AUTO_MIGRATE":        "false",
		"STRIPE_SECRET_KEY":          "sk_test_x",
		"STRIPE_RATE_LIMIT":          "12.5",
		"STRIPE_API_URL":             "http://127.0.0.1:12111",
		"TANDEM_CONFLICT_POLICY":     "stripe",
		"STRIPE_WEBHOOK_SECRET":      "whsec_a, whsec_b",
		"STRIPE_POLL_INTERVAL":       "0",
		"STRIPE_RECONCILE_INTERVAL":  "2h",
		"STRIPE_LINK_MATCH":          "off",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Addr: "0.0.0.0:9000", DatabaseURL: "sqlite:data/tandem.db", APIToken: "from-file", AutoMigrate: false,
		LogLevel: slog.LevelInfo, PollInterval: 20 * time.Millisecond, Workers: 3, ShutdownTimeout: 25 * time.Second,
		StripeSecretKey: "sk_test_x", StripeAPIURL: "http://127.0.0.1:12111", StripeRateLimit: 12.5, StripePollInterval: 0,
		ConflictPolicy: "stripe", StripeWebhookSecret: "whsec_a, whsec_b", StripeReconcile: 2 * time.Hour,
		StripeLinkMatch: "off", SalesforceLoginURL: "https://login.salesforce.com", SalesforceAPIVersion: "62.0",
		SalesforceObject: "Contact", SalesforceExternalIDField: "Tandem_Id__c", SalesforcePollInterval: 10 * time.Second,
		SalesforceReconcile: time.Hour, SalesforceLinkMatch: "email"}
	if *cfg != want {
		t.Fatalf("config = %+v\nwant     %+v", *cfg, want)
	}
	if got := cfg.StripeWebhookSecrets(); len(got) != 2 || got[0] != "whsec_a" || got[1] != "whsec_b" {
		t.Fatalf("webhook secrets = %q", got)
	}
}

func TestConfigSalesforce(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("sf-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig("serve", []string{"--salesforce-poll-interval=0", "--salesforce-link-match=off"}, env(map[string]string{
		"SALESFORCE_CLIENT_ID":          "3MVG9.app",
		"SALESFORCE_CLIENT_SECRET_FILE": secret,
		"SALESFORCE_LOGIN_URL":          "https://acme.my.salesforce.com",
		"SALESFORCE_API_VERSION":        "61.0",
		"SALESFORCE_OBJECT":             "Lead",
		"SALESFORCE_EXTERNAL_ID_FIELD":  "Ext_Id__c",
		"SALESFORCE_POLL_INTERVAL":      "30s",
		"SALESFORCE_DAILY_BUDGET":       "5000",
		"SALESFORCE_ORG_ID":             "00D5g0000000001EAA",
		"SALESFORCE_OUTBOUND_SECRET":    "outbound-path-secret",
		"SALESFORCE_RECONCILE_INTERVAL": "30m",
		"SALESFORCE_LINK_MATCH":         "email",
		"TANDEM_CONFLICT_POLICY":        "salesforce",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SalesforceClientID != "3MVG9.app" || cfg.SalesforceClientSecret != "sf-secret" ||
		cfg.SalesforceLoginURL != "https://acme.my.salesforce.com" || cfg.SalesforceAPIVersion != "61.0" ||
		cfg.SalesforceObject != "Lead" || cfg.SalesforceExternalIDField != "Ext_Id__c" ||
		cfg.SalesforcePollInterval != 0 || cfg.SalesforceDailyBudget != 5000 || cfg.ConflictPolicy != "salesforce" ||
		cfg.SalesforceOrgID != "00D5g0000000001EAA" || cfg.SalesforceOutboundSecret != "outbound-path-secret" ||
		cfg.SalesforceReconcile != 30*time.Minute || cfg.SalesforceLinkMatch != "off" {
		t.Fatalf("config = %+v", *cfg)
	}
	jwt, err := LoadConfig("serve", nil, env(map[string]string{"SALESFORCE_CLIENT_ID": "3MVG9.app",
		"SALESFORCE_USERNAME": "tandem@acme.example", "SALESFORCE_PRIVATE_KEY_FILE": "tandem.pem"}), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("JWT bearer: %v", err)
	}
	// The key file is read when the connector is built.
	if _, err := (&program{}).configuredIntegrations(jwt, nil); err == nil || !strings.Contains(err.Error(), "SALESFORCE_PRIVATE_KEY_FILE") {
		t.Fatalf("missing key file: %v", err)
	}
}

func TestConfigRefusals(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"open address without token":     {map[string]string{"TANDEM_ADDR": "0.0.0.0:8080"}, nil, "TANDEM_API_TOKEN"},
		"all interfaces without token":   {nil, []string{"--addr", ":8080"}, "TANDEM_API_TOKEN"},
		"unknown database":               {map[string]string{"TANDEM_DATABASE_URL": "mysql://x"}, nil, "TANDEM_DATABASE_URL"},
		"empty sqlite path":              {map[string]string{"TANDEM_DATABASE_URL": "sqlite:"}, nil, "file path"},
		"bad duration":                   {map[string]string{"TANDEM_QUEUE_POLL_INTERVAL": "soon"}, nil, "TANDEM_QUEUE_POLL_INTERVAL"},
		"no workers":                     {nil, []string{"--workers=0"}, "TANDEM_WORKERS"},
		"missing secret file":            {map[string]string{"TANDEM_API_TOKEN_FILE": "/nonexistent/token"}, nil, "TANDEM_API_TOKEN_FILE"},
		"stray argument":                 {nil, []string{"extra"}, "unexpected argument"},
		"zero Stripe rate":               {map[string]string{"STRIPE_RATE_LIMIT": "0"}, nil, "STRIPE_RATE_LIMIT"},
		"Stripe URL without scheme":      {map[string]string{"STRIPE_API_URL": "localhost:12111"}, nil, "STRIPE_API_URL"},
		"unknown conflict policy":        {map[string]string{"TANDEM_CONFLICT_POLICY": "oldest"}, nil, "TANDEM_CONFLICT_POLICY"},
		"stripe policy without stripe":   {map[string]string{"TANDEM_CONFLICT_POLICY": "stripe"}, nil, "STRIPE_SECRET_KEY"},
		"salesforce policy without it":   {map[string]string{"TANDEM_CONFLICT_POLICY": "salesforce"}, nil, "SALESFORCE_CLIENT_ID"},
		"Salesforce without credentials": {map[string]string{"SALESFORCE_CLIENT_ID": "id"}, nil, "SALESFORCE_CLIENT_SECRET"},
		"Salesforce with both grants": {salesforceOn(map[string]string{"SALESFORCE_USERNAME": "u", "SALESFORCE_PRIVATE_KEY_FILE": "k.pem"}),
			nil, "not both"},
		"Salesforce JWT without key": {map[string]string{"SALESFORCE_CLIENT_ID": "id", "SALESFORCE_USERNAME": "u"}, nil,
			"SALESFORCE_PRIVATE_KEY_FILE"},
		"Salesforce login URL":     {salesforceOn(map[string]string{"SALESFORCE_LOGIN_URL": "login.salesforce.com"}), nil, "SALESFORCE_LOGIN_URL"},
		"Salesforce API version":   {salesforceOn(map[string]string{"SALESFORCE_API_VERSION": "v62"}), nil, "SALESFORCE_API_VERSION"},
		"Salesforce field name":    {salesforceOn(map[string]string{"SALESFORCE_EXTERNAL_ID_FIELD": "Tandem Id"}), nil, "SALESFORCE_EXTERNAL_ID_FIELD"},
		"Salesforce poll interval": {salesforceOn(map[string]string{"SALESFORCE_POLL_INTERVAL": "10ms"}), nil, "SALESFORCE_POLL_INTERVAL"},
		"Salesforce budget":        {salesforceOn(map[string]string{"SALESFORCE_DAILY_BUDGET": "-1"}), nil, "SALESFORCE_DAILY_BUDGET"},
		"Salesforce outbound without org": {salesforceOn(map[string]string{"SALESFORCE_OUTBOUND_SECRET": "outbound-path-secret"}), nil,
			"SALESFORCE_ORG_ID"},
		"Salesforce short outbound secret": {salesforceOn(map[string]string{"SALESFORCE_ORG_ID": "00D5g0000000001",
			"SALESFORCE_OUTBOUND_SECRET": "short"}), nil, "SALESFORCE_OUTBOUND_SECRET"},
		"Salesforce budget not a number": {salesforceOn(map[string]string{"SALESFORCE_DAILY_BUDGET": "lots"}), nil,
			"SALESFORCE_DAILY_BUDGET"},
		"Salesforce reconcile interval": {salesforceOn(map[string]string{"SALESFORCE_RECONCILE_INTERVAL": "30s"}), nil,
			"SALESFORCE_RECONCILE_INTERVAL"},
		"Salesforce link match":     {salesforceOn(map[string]string{"SALESFORCE_LINK_MATCH": "phone"}), nil, "SALESFORCE_LINK_MATCH"},
		"Stripe reconcile interval": {map[string]string{"STRIPE_RECONCILE_INTERVAL": "-1h"}, nil, "STRIPE_RECONCILE_INTERVAL"},
		"Stripe link match":         {map[string]string{"STRIPE_LINK_MATCH": "name"}, nil, "STRIPE_LINK_MATCH"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig("serve", tc.args, env(tc.env), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := LoadConfig("serve", []string{"--addr", "0.0.0.0:8080", "--api-token", "x"}, env(nil), &bytes.Buffer{}); err != nil {
		t.Fatalf("open address with a token: %v", err)
	}
}

// salesforceOn is m with the Salesforce integration on by client credentials.
func salesforceOn(m map[string]string) map[string]string {
	m["SALESFORCE_CLIENT_ID"], m["SALESFORCE_CLIENT_SECRET"] = "id", "secret"
	return m
}

func TestConfigNeverPrintsSecrets(t *testing.T) {
	e := env(map[string]string{
		"SALESFORCE_CLIENT_ID":       "3MVG9.app",
		"SALESFORCE_CLIENT_SECRET":   "sf-c0nsum3r",
		"TANDEM_API_TOKEN":           "tok-123456",
		"STRIPE_SECRET_KEY":          "sk_test_s3cr3t",
		"STRIPE_WEBHOOK_SECRET":      "whsec_h1dd3n",
		"TANDEM_DATABASE_URL":        "postgres://tandem:pa55word@db.internal/tandem",
		"SALESFORCE_ORG_ID":          "00D5g0000000001EAA",
		"SALESFORCE_OUTBOUND_SECRET": "0utb0und-path-s3cr3t",
	})
	cfg, err := LoadConfig("serve", nil, e, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "config", cfg)
	var help bytes.Buffer
	_, _ = LoadConfig("serve", []string{"-h"}, e, &help)
	for name, out := range map[string]string{"log": logs.String(), "help": help.String()} {
		for _, secret := range []string{"tok-123456", "pa55word", "sk_test_s3cr3t", "whsec_h1dd3n", "sf-c0nsum3r", "0utb0und-path-s3cr3t"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output shows a secret:\n%s", name, out)
			}
		}
	}
	if !strings.Contains(logs.String(), "db.internal") || !strings.Contains(help.String(), "TANDEM_DATABASE_URL_FILE") ||
		!strings.Contains(logs.String(), "3MVG9.app") || !strings.Contains(help.String(), "SALESFORCE_CLIENT_SECRET_FILE") ||
		!strings.Contains(logs.String(), "00D5g0000000001EAA") || !strings.Contains(help.String(), "SALESFORCE_OUTBOUND_SECRET_FILE") {
		t.Fatalf("redaction hid too much:\n%s\n%s", logs.String(), help.String())
	}
}
