package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/connector/salesforce"
	"github.com/tandemsync/tandem/connector/stripe"
	"github.com/tandemsync/tandem/httpapi"
	"github.com/tandemsync/tandem/metrics"
	"github.com/tandemsync/tandem/store"
	"github.com/tandemsync/tandem/syncer"
)

// serve runs the API and the sync workers until ctx ends, then stops
// gracefully: no new connections, requests and jobs in flight finish within
// the shutdown timeout.
func (p *program) serve(ctx context.Context, args []string) error {
	cfg, logger, err := p.setup("serve", args)
	if err != nil {
		return err
	}
	logger.Info("starting tandem", "version", version(), "config", cfg)

	m := metrics.New(metrics.Options{Logger: logger})
	integrations, err := p.configuredIntegrations(cfg, m)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(integrations))
	for _, in := range integrations {
		names = append(names, in.Name())
	}
	workers := river.NewWorkers()
	polls, reconciles := map[string]time.Duration{}, map[string]time.Duration{}
	if cfg.StripeSecretKey != "" {
		polls[stripe.Name] = cfg.StripePollInterval
		reconciles[stripe.Name] = cfg.StripeReconcile
	}
	if cfg.SalesforceClientID != "" {
		polls[salesforce.Name] = cfg.SalesforcePollInterval
		reconciles[salesforce.Name] = cfg.SalesforceReconcile
	}
	periodic := append(syncer.PollJobs(polls), syncer.ReconcileJobs(reconciles)...)
	st, err := openStore(ctx, cfg, logger, integrations, workers, periodic)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.AutoMigrate {
		err = st.Migrate(ctx)
	} else {
		err = st.CheckSchema(ctx)
	}
	if err != nil {
		return fmt.Errorf("database schema: %w", err)
	}
	m.Watch(st, names)
	newSyncer(st, integrations, cfg, logger, m).Register(workers)
	// Jobs inherit Start's context: a cancelled one would cancel them at
	// once, so a stop goes through stopWorkers, which lets them finish.
	if err := st.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}

	go prune(ctx, st, logger, pruneInterval)

	var sources []tandem.Source
	for _, in := range integrations {
		if src, ok := in.(tandem.Source); ok {
			sources = append(sources, src)
		}
	}
	api := httpapi.New(st, httpapi.Config{Token: cfg.APIToken, Version: version(), Logger: logger, Sources: sources,
		Integrations: names, Metrics: m.Handler(), Observer: m})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		p.stopWorkers(st, cfg)
		return err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening", "url", "http://"+ln.Addr().String(), "docs", "http://"+ln.Addr().String()+"/docs",
		"integrations", names)
	if p.listening != nil {
		p.listening(ln.Addr().String())
	}

	select {
	case err := <-served:
		p.stopWorkers(st, cfg)
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("requests still in flight at shutdown", "error", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("serve", "error", err)
	}
	p.stopWorkers(st, cfg)
	logger.Info("stopped")
	return nil
}

// pruneInterval is how often serve deletes what is past its retention.
const pruneInterval = time.Hour

// prune deletes what is past its retention (store.Store.Prune) now and every
// interval until ctx ends. Every process sharing a database may do it.
func prune(ctx context.Context, st store.Store, logger *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := st.Prune(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("prune", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newSyncer is the sync engine cfg configures; observer (nil: none) hears
// of its lags and repairs.
func newSyncer(st store.Store, integrations []tandem.Integration, cfg *Config, logger *slog.Logger, observer syncer.Observer) *syncer.Syncer {
	return syncer.New(st, integrations, syncer.Options{Policy: syncer.Policy(cfg.ConflictPolicy), Logger: logger,
		MatchEmail: map[string]bool{stripe.Name: cfg.StripeLinkMatch == "email",
			salesforce.Name: cfg.SalesforceLinkMatch == "email"}, Observer: observer})
}

// configuredIntegrations are the integrations cfg turns on, telling
// observer about their calls, then the program's own (tests add theirs).
func (p *program) configuredIntegrations(cfg *Config, observer tandem.CallObserver) ([]tandem.Integration, error) {
	var out []tandem.Integration
	if cfg.StripeSecretKey != "" {
		c, err := stripe.New(stripe.Config{SecretKey: cfg.StripeSecretKey, APIURL: cfg.StripeAPIURL,
			RateLimit: cfg.StripeRateLimit, WebhookSecrets: cfg.StripeWebhookSecrets(), Observer: observer})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if cfg.SalesforceClientID != "" {
		var key []byte
		if cfg.SalesforcePrivateKeyFile != "" {
			var err error
			if key, err = os.ReadFile(cfg.SalesforcePrivateKeyFile); err != nil {
				return nil, fmt.Errorf("SALESFORCE_PRIVATE_KEY_FILE: %w", err)
			}
		}
		sc := cfg.salesforceConfig(key)
		sc.Observer, sc.Now = observer, p.now
		c, err := salesforce.New(sc)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return append(out, p.integrations...), nil
}

// stopWorkers lets running jobs finish within the shutdown timeout; the ones
// still running then are cancelled and run again after the next start.
func (p *program) stopWorkers(st store.Store, cfg *Config) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	_ = st.Stop(ctx)
}
