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
		StripeLinkMatch: "off"}
	if *cfg != want {
		t.Fatalf("config = %+v\nwant     %+v", *cfg, want)
	}
	if got := cfg.StripeWebhookSecrets(); len(got) != 2 || got[0] != "whsec_a" || got[1] != "whsec_b" {
		t.Fatalf("webhook secrets = %q", got)
	}
}

func TestConfigRefusals(t *testing.T) {
	tests := map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"open address without token":   {map[string]string{"TANDEM_ADDR": "0.0.0.0:8080"}, nil, "TANDEM_API_TOKEN"},
		"all interfaces without token": {nil, []string{"--addr", ":8080"}, "TANDEM_API_TOKEN"},
		"unknown database":             {map[string]string{"TANDEM_DATABASE_URL": "mysql://x"}, nil, "TANDEM_DATABASE_URL"},
		"empty sqlite path":            {map[string]string{"TANDEM_DATABASE_URL": "sqlite:"}, nil, "file path"},
		"bad duration":                 {map[string]string{"TANDEM_QUEUE_POLL_INTERVAL": "soon"}, nil, "TANDEM_QUEUE_POLL_INTERVAL"},
		"no workers":                   {nil, []string{"--workers=0"}, "TANDEM_WORKERS"},
		"missing secret file":          {map[string]string{"TANDEM_API_TOKEN_FILE": "/nonexistent/token"}, nil, "TANDEM_API_TOKEN_FILE"},
		"stray argument":               {nil, []string{"extra"}, "unexpected argument"},
		"zero Stripe rate":             {map[string]string{"STRIPE_RATE_LIMIT": "0"}, nil, "STRIPE_RATE_LIMIT"},
		"Stripe URL without scheme":    {map[string]string{"STRIPE_API_URL": "localhost:12111"}, nil, "STRIPE_API_URL"},
		"unknown conflict policy":      {map[string]string{"TANDEM_CONFLICT_POLICY": "oldest"}, nil, "TANDEM_CONFLICT_POLICY"},
		"stripe policy without stripe": {map[string]string{"TANDEM_CONFLICT_POLICY": "stripe"}, nil, "STRIPE_SECRET_KEY"},
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

func TestConfigNeverPrintsSecrets(t *testing.T) {
	e := env(map[string]string{
		"TANDEM_API_TOKEN":      "tok-123456",
		"STRIPE_SECRET_KEY":     "sk_test_s3cr3t",
		"STRIPE_WEBHOOK_SECRET": "whsec_h1dd3n",
		"TANDEM_DATABASE_URL":   "postgres://tandem:pa55word@db.internal/tandem",
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
		for _, secret := range []string{"tok-123456", "pa55word", "sk_test_s3cr3t", "whsec_h1dd3n"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s output shows a secret:\n%s", name, out)
			}
		}
	}
	if !strings.Contains(logs.String(), "db.internal") || !strings.Contains(help.String(), "TANDEM_DATABASE_URL_FILE") {
		t.Fatalf("redaction hid too much:\n%s\n%s", logs.String(), help.String())
	}
}
