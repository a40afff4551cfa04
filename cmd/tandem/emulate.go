package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	sfemulator "github.com/tandemsync/tandem/emulator/salesforce"
	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

// Defaults of the emulators. The keys, client credentials and secrets are
// the emulators' own, not secrets: they open nothing but the emulators.
const (
	emulatorAddr   = "127.0.0.1:12111"
	emulatorKey    = "sk_test_tandem_emulator"
	emulatorSecret = "whsec_tandem_emulator"

	sfEmulatorAddr         = "127.0.0.1:12112"
	sfEmulatorClientID     = "3MVG9tandem.emulator"
	sfEmulatorClientSecret = "tandem-emulator-client-secret"
)

const emulateUsage = `usage: tandem emulate stripe [-addr host:port] [-api-key key] [-webhook-url url] [-webhook-secret whsec_…]
       tandem emulate salesforce [-addr host:port] [-outbound-url url]`

// runningEmulator is an emulator, to serve and then close.
type runningEmulator interface {
	http.Handler
	io.Closer
}

// emulate runs a provider emulator on its own: `tandem emulate stripe` or
// `tandem emulate salesforce`.
func (p *program) emulate(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(emulateUsage)
	}
	logger := slog.New(slog.NewTextHandler(p.stderr, nil))
	fs := flag.NewFlagSet("tandem emulate "+args[0], flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	var start func() (runningEmulator, net.Listener, error)
	switch args[0] {
	case "stripe":
		addr := fs.String("addr", emulatorAddr, "address the emulator listens on")
		key := fs.String("api-key", emulatorKey, "the API key clients must send")
		hook := fs.String("webhook-url", "", "where to deliver events (Tandem's …/webhooks/stripe)")
		secret := fs.String("webhook-secret", emulatorSecret, "the whsec_ secret webhooks are signed with")
		start = func() (runningEmulator, net.Listener, error) {
			em, ln, err := startEmulator(*addr, *key, emulator.Webhook{URL: *hook, Secret: *secret}, logger)
			if err == nil {
				fmt.Fprintf(p.stdout, "Stripe emulator on http://%s (API key %s, webhook secret %s)\n", ln.Addr(), *key, *secret)
			}
			return em, ln, err
		}
	case "salesforce":
		addr := fs.String("addr", sfEmulatorAddr, "address the emulator listens on")
		outbound := fs.String("outbound-url", "", "where to send outbound messages (Tandem's …/webhooks/salesforce/{secret})")
		start = func() (runningEmulator, net.Listener, error) {
			em, ln, err := startSalesforceEmulator(*addr, *outbound, logger)
			if err == nil {
				fmt.Fprintf(p.stdout, "Salesforce emulator on http://%s (client id %s, client secret %s, org id %s)\n",
					ln.Addr(), sfEmulatorClientID, sfEmulatorClientSecret, em.OrgID())
			}
			return em, ln, err
		}
	default:
		return errors.New(emulateUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), emulateUsage)
	}
	em, ln, err := start()
	if err != nil {
		return err
	}
	defer em.Close()
	return serveUntilDone(ctx, ln, em)
}

// startEmulator makes a Stripe emulator listening on addr.
func startEmulator(addr, key string, hook emulator.Webhook, logger *slog.Logger) (*emulator.Emulator, net.Listener, error) {
	em, err := emulator.New(emulator.Config{SecretKey: key, Webhook: hook, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	ln, err := listen(addr, "stripe", em)
	return em, ln, err
}

// startSalesforceEmulator makes a Salesforce emulator listening on addr,
// opened by the emulator's client credentials, whose outbound messages go
// to outboundURL (none when empty).
func startSalesforceEmulator(addr, outboundURL string, logger *slog.Logger) (*sfemulator.Emulator, net.Listener, error) {
	em, err := sfemulator.New(sfemulator.Config{ClientID: sfEmulatorClientID, ClientSecret: sfEmulatorClientSecret,
		Outbound: sfemulator.Outbound{URL: outboundURL}, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	ln, err := listen(addr, "salesforce", em)
	return em, ln, err
}

// listen listens on addr for the emulator em of provider, and closes em
// when it cannot (em is then of no use to the caller).
func listen(addr, provider string, em io.Closer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = em.Close()
		return nil, fmt.Errorf("%s emulator: %w", provider, err)
	}
	return ln, nil
}

// serveUntilDone serves h on ln until ctx ends.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
