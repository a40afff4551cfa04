// Package metrics is Tandem's Prometheus instrumentation: one registry per
// process (never the global one) holding the sync lag, the queue's backlog,
// parked failures, provider calls by outcome, refused webhooks and
// reconciliation repairs, plus the Go runtime and process collectors.
//
// The other packages do not import it: each declares the small observer it
// calls (tandem.CallObserver, syncer.Observer, httpapi.Observer), *Metrics
// implements them all, and cmd/tandem wires it in. The backlog is read from
// the store at scrape time.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tandemsync/tandem"
)

// Stats is what the metrics read from the store at every scrape.
type Stats interface {
	SyncStats(ctx context.Context) ([]tandem.SyncStats, error)
}

// Options configure the metrics. The zero value works.
type Options struct {
	// StatsTimeout bounds the store query of one scrape (default 5 s).
	StatsTimeout time.Duration
	// Logger is where failed scrapes are logged (nil discards).
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Directions of the sync lag.
const (
	// Outbound: from a local write to the provider confirming its push.
	Outbound = "outbound"
	// Inbound: from a provider's event to its local application.
	Inbound = "inbound"
)

// lagBuckets span 10 ms to 10 min, in seconds.
var lagBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// Metrics holds a process's collectors and serves them.
type Metrics struct {
	opts              Options
	registry          *prometheus.Registry
	lag               *prometheus.HistogramVec
	providerCalls     *prometheus.CounterVec
	signatureFailures *prometheus.CounterVec
	repairs           *prometheus.CounterVec
	handler           http.Handler
}

// New returns the metrics of one process. Call Watch once the store is
// open.
func New(opts Options) *Metrics {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StatsTimeout <= 0 {
		opts.StatsTimeout = 5 * time.Second
	}
	m := &Metrics{
		opts:     opts,
		registry: prometheus.NewRegistry(),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tandem_sync_lag_seconds",
			Help: "Time a change took to sync: outbound from the local write to the provider confirming the push, " +
				"inbound from the provider's event to the local write.",
			Buckets: lagBuckets,
		}, []string{"integration", "direction"}),
		providerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_provider_calls_total",
			Help: "Calls to a provider's API, by operation and outcome (ok, not_found, rate_limited, retry, ambiguous, permanent, network).",
		}, []string{"integration", "operation", "outcome"}),
		signatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_webhook_signature_failures_total",
			Help: "Webhook deliveries refused because their signature did not verify (nothing was stored).",
		}, []string{"integration"}),
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tandem_reconcile_repairs_total",
			Help: "Differences a reconciliation found and repaired, by action.",
		}, []string{"integration", "action"}),
	}
	m.registry.MustRegister(m.lag, m.providerCalls, m.signatureFailures, m.repairs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		// A failed store query leaves the backlog out of the scrape, not the rest.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		Registry:      m.registry, // counts its own errors: promhttp_metric_handler_errors_total
	})
	return m
}

// Watch makes every scrape read the sync backlog of integrations from
// stats (the store), and starts their lag histograms and webhook counter
// at zero rather than at their first event. Call it once.
func (m *Metrics) Watch(stats Stats, integrations []string) {
	for _, name := range integrations {
		m.lag.WithLabelValues(name, Outbound)
		m.lag.WithLabelValues(name, Inbound)
		m.signatureFailures.WithLabelValues(name)
	}
	m.registry.MustRegister(&statsCollector{stats: stats, timeout: m.opts.StatsTimeout, now: m.opts.Now, logger: m.opts.Logger})
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry is the registry holding every collector.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// OutboundLag records a push the provider confirmed, lag after the local
// write it carries.
func (m *Metrics) OutboundLag(integration string, lag time.Duration) {
	m.lag.WithLabelValues(integration, Outbound).Observe(lag.Seconds())
}

// InboundLag records a provider's change applied locally, lag after the
// provider made it.
func (m *Metrics) InboundLag(integration string, lag time.Duration) {
	m.lag.WithLabelValues(integration, Inbound).Observe(lag.Seconds())
}

// ProviderCall implements tandem.CallObserver.
func (m *Metrics) ProviderCall(integration, operation, outcome string) {
	m.providerCalls.WithLabelValues(integration, operation, outcome).Inc()
}

// WebhookSignatureFailure counts a webhook delivery refused for its
// signature.
func (m *Metrics) WebhookSignatureFailure(integration string) {
	m.signatureFailures.WithLabelValues(integration).Inc()
}

// ReconcileRepair counts one difference a reconciliation repaired; action
// says how ("create_local", "update_remote", "delete_local"…).
func (m *Metrics) ReconcileRepair(integration, action string) {
	m.repairs.WithLabelValues(integration, action).Inc()
}
