package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

// Defaults of the Stripe emulator. The key and secret are the emulator's
// own, not secrets: they open nothing but the emulator.
const (
	emulatorAddr   = "127.0.0.1:12111"
	emulatorKey    = "sk_test_tandem_emulator"
	emulatorSecret = "whsec_tandem_emulator"
)

// emulate runs a provider emulator on its own: `tandem emulate stripe`.
func (p *program) emulate(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "stripe" {
		return errors.New("usage: tandem emulate stripe [-addr host:port] [-api-key key] [-webhook-url url] [-webhook-secret whsec_…]")
	}
	fs := flag.NewFlagSet("tandem emulate stripe", flag.ContinueOnError)
	fs.SetOutput(p.stderr)
	addr := fs.String("addr", emulatorAddr, "address the emulator listens on")
	key := fs.String("api-key", emulatorKey, "the API key clients must send")
	hook := fs.String("webhook-url", "", "where to deliver events (Tandem's …/webhooks/stripe)")
	secret := fs.String("webhook-secret", emulatorSecret, "the whsec_ secret webhooks are signed with")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(p.stderr, nil))
	em, ln, err := startEmulator(*addr, *key, emulator.Webhook{URL: *hook, Secret: *secret}, logger)
	if err != nil {
		return err
	}
	defer em.Close()
	fmt.Fprintf(p.stdout, "Stripe emulator on http://%s (API key %s, webhook secret %s)\n", ln.Addr(), *key, *secret)
	return serveUntilDone(ctx, ln, em)
}

// startEmulator makes a Stripe emulator listening on addr.
func startEmulator(addr, key string, hook emulator.Webhook, logger *slog.Logger) (*emulator.Emulator, net.Listener, error) {
	em, err := emulator.New(emulator.Config{SecretKey: key, Webhook: hook, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = em.Close()
		return nil, nil, fmt.Errorf("stripe emulator: %w", err)
	}
	return em, ln, nil
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
