package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

// dev runs Tandem on a fresh SQLite database with a Stripe emulator wired
// in both ways, so that a newcomer sees two-way sync with no account: a
// customer created through the API appears on the emulator's page, and an
// edit there comes back. args are serve's flags.
func (p *program) dev(ctx context.Context, args []string) error {
	dir, err := os.MkdirTemp("", "tandem-dev-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	emAddr := p.getenv("TANDEM_DEV_EMULATOR_ADDR")
	if emAddr == "" {
		emAddr = emulatorAddr
	}
	em, ln, err := startEmulator(emAddr, emulatorKey, emulator.Webhook{}, slog.New(slog.NewTextHandler(p.stderr, nil)))
	if err != nil {
		return fmt.Errorf("%w (set TANDEM_DEV_EMULATOR_ADDR to use another address)", err)
	}
	defer em.Close()
	emURL := "http://" + ln.Addr().String()
	go func() { _ = serveUntilDone(ctx, ln, em) }()

	overrides := map[string]string{
		"TANDEM_DATABASE_URL":   "sqlite:" + filepath.Join(dir, "tandem.db"),
		"STRIPE_SECRET_KEY":     emulatorKey,
		"STRIPE_API_URL":        emURL,
		"STRIPE_WEBHOOK_SECRET": emulatorSecret,
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
		fmt.Fprintf(p.stdout, devBanner, addr, emURL, addr, addr)
		if p.listening != nil {
			p.listening(addr)
		}
	}
	return child.serve(ctx, args)
}

const devBanner = `
Tandem dev: Tandem on a fresh SQLite database, in two-way sync with a Stripe emulator.

  Tandem API     http://%[1]s  (docs: http://%[1]s/docs)
  Stripe (fake)  %[2]s  <- open it: its customers, as on Stripe's dashboard

Try it:
  curl -s -X POST %[3]s/customers -H 'Content-Type: application/json' -d '{"name":"Ada Lovelace","email":"ada@example.com"}'
    then reload the Stripe page: Ada is there, with her tandem_id.
  Edit or create a customer on the Stripe page, then:
  curl -s %[4]s/customers
    shows the change.
  curl -s -X POST %[4]s/integrations/stripe/reconcile
    compares both sides in full and repairs any difference; GET its id for the report.
  curl -s %[4]s/metrics | grep ^tandem_
    sync lag, queue depth, Stripe calls.
Everything is gone when you stop (Ctrl-C).

`
