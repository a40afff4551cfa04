package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"

	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

// devOutboundSecret is the path secret of the Salesforce emulator's
// outbound messages in `tandem dev`: it opens nothing but that endpoint of
// a throwaway Tandem.
const devOutboundSecret = "tandem-dev-outbound-secret"

// dev runs Tandem on a fresh SQLite database with a Stripe emulator and a
// Salesforce emulator wired in both ways, so that a newcomer sees
// three-way sync with no account: a customer created through the API
// appears on both emulators' pages, and an edit on either comes back and
// goes on to the other. args are serve's flags.
func (p *program) dev(ctx context.Context, args []string) error {
	// The emulators' servers stop when dev returns, whyever it does.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dir, err := os.MkdirTemp("", "tandem-dev-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logger := slog.New(slog.NewTextHandler(p.stderr, nil))
	em, ln, err := startEmulator(p.devAddr("TANDEM_DEV_EMULATOR_ADDR", emulatorAddr), emulatorKey, emulator.Webhook{}, logger)
	if err != nil {
		return fmt.Errorf("%w (set TANDEM_DEV_EMULATOR_ADDR to use another address)", err)
	}
	defer em.Close()
	emURL := serveInBackground(ctx, ln, em)
	sf, sfLn, err := startSalesforceEmulator(p.devAddr("TANDEM_DEV_SALESFORCE_ADDR", sfEmulatorAddr), "", logger)
	if err != nil {
		return fmt.Errorf("%w (set TANDEM_DEV_SALESFORCE_ADDR to use another address)", err)
	}
	defer sf.Close()
	sfURL := serveInBackground(ctx, sfLn, sf)

	overrides := map[string]string{
		"TANDEM_DATABASE_URL":        "sqlite:" + filepath.Join(dir, "tandem.db"),
		"STRIPE_SECRET_KEY":          emulatorKey,
		"STRIPE_API_URL":             emURL,
		"STRIPE_WEBHOOK_SECRET":      emulatorSecret,
		"SALESFORCE_CLIENT_ID":       sfEmulatorClientID,
		"SALESFORCE_CLIENT_SECRET":   sfEmulatorClientSecret,
		"SALESFORCE_LOGIN_URL":       sfURL,
		"SALESFORCE_ORG_ID":          sf.OrgID(),
		"SALESFORCE_OUTBOUND_SECRET": devOutboundSecret,
	}
	child := *p
	child.getenv = func(k string) string {
		if v, ok := overrides[k]; ok {
			return v
		}
		return p.getenv(k)
	}
	child.listening = func(addr string) {
		if err := em.SetWebhook(emulator.Webhook{URL: "http://" + addr + "/webhooks/stripe", Secret: emulatorSecret}); err != nil {
			fmt.Fprintln(p.stderr, "tandem dev:", err)
		}
		if err := sf.SetOutbound("http://" + addr + "/webhooks/salesforce/" + devOutboundSecret); err != nil {
			fmt.Fprintln(p.stderr, "tandem dev:", err)
		}
		fmt.Fprintf(p.stdout, devBanner, addr, emURL, sfURL)
		if p.listening != nil {
			p.listening(addr)
		}
	}
	return child.serve(ctx, args)
}

// devAddr is the address the environment variable env sets, or def.
func (p *program) devAddr(env, def string) string {
	if addr := p.getenv(env); addr != "" {
		return addr
	}
	return def
}

// serveInBackground serves h on ln until ctx ends and returns its URL.
func serveInBackground(ctx context.Context, ln net.Listener, h http.Handler) string {
	go func() { _ = serveUntilDone(ctx, ln, h) }()
	return "http://" + ln.Addr().String()
}

const devBanner = `
Tandem dev: Tandem on a fresh SQLite database, in three-way sync with a Stripe
emulator and a Salesforce emulator.

  Tandem API         http://%[1]s  (docs: http://%[1]s/docs)
  Stripe (fake)      %[2]s  <- open it: its customers, as on Stripe's dashboard
  Salesforce (fake)  %[3]s  <- open it: its Contacts, as a Salesforce user sees them

Try it:
  curl -s -X POST http://%[1]s/customers -H 'Content-Type: application/json' -d '{"name":"Ada Lovelace","email":"ada@example.com"}'
    then reload both pages: Ada is a Stripe customer with her tandem_id, and a
    Salesforce Contact with it in Tandem_Id__c.
  Edit Ada on the Salesforce page (say, her phone), then:
  curl -s http://%[1]s/customers
    shows the change within a second (Salesforce's outbound message), and the
    Stripe page has it too. Edits on the Stripe page travel the same way.
  curl -s -X POST http://%[1]s/integrations/stripe/reconcile
    compares both sides in full and repairs any difference; GET its id for the report.
  curl -s http://%[1]s/metrics | grep ^tandem_
    sync lag, queue depth, provider calls.
Everything is gone when you stop (Ctrl-C).

`
