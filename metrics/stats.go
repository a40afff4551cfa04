package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	queueDepthDesc = prometheus.NewDesc("tandem_queue_depth",
		"Jobs of the integration not finished yet (waiting, scheduled for a retry, or running), in the whole database.",
		[]string{"integration"}, nil)
	queueOldestDesc = prometheus.NewDesc("tandem_queue_oldest_pending_seconds",
		"Age of the integration's oldest unfinished job (0 when there is none).",
		[]string{"integration"}, nil)
	failuresDesc = prometheus.NewDesc("tandem_sync_failures",
		"Records whose sync to the integration is parked with an error (GET /sync/failures).",
		[]string{"integration"}, nil)
)

// statsCollector reads the backlog from the store at every scrape, so that
// every process sharing a database reports the same figures.
type statsCollector struct {
	stats   Stats
	timeout time.Duration
	now     func() time.Time
	logger  *slog.Logger
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- queueOldestDesc
	ch <- failuresDesc
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	stats, err := c.stats.SyncStats(ctx)
	if err != nil {
		c.logger.Warn("metrics: read the sync backlog", "error", err)
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	now := c.now()
	for _, s := range stats {
		var age float64
		if s.Queued > 0 {
			age = max(now.Sub(s.OldestQueued).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(s.Queued), s.Integration)
		ch <- prometheus.MustNewConstMetric(queueOldestDesc, prometheus.GaugeValue, age, s.Integration)
		ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.GaugeValue, float64(s.Parked), s.Integration)
	}
}
