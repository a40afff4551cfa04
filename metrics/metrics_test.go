package metrics_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/metrics"
	"github.com/tandemsync/tandem/store/sqlite"
	"github.com/tandemsync/tandem/store/sqlstore"
)

func TestCounters(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.ProviderCall("stripe", "create", tandem.CallOK)
	m.ProviderCall("stripe", "create", tandem.CallOK)
	m.ProviderCall("stripe", "update", tandem.CallRateLimited)
	m.WebhookSignatureFailure("stripe")
	m.ReconcileRepair("stripe", "update_local")
	want := `
# HELP tandem_provider_calls_total Calls to a provider's API, by operation and outcome (ok, not_found, rate_limited, retry, ambiguous, permanent, network).
# TYPE tandem_provider_calls_total counter
tandem_provider_calls_total{integration="stripe",operation="create",outcome="ok"} 2
tandem_provider_calls_total{integration="stripe",operation="update",outcome="rate_limited"} 1
# HELP tandem_reconcile_repairs_total Differences a reconciliation found and repaired, by action.
# TYPE tandem_reconcile_repairs_total counter
tandem_reconcile_repairs_total{action="update_local",integration="stripe"} 1
# HELP tandem_webhook_signature_failures_total Webhook deliveries refused because their signature did not verify (nothing was stored).
# TYPE tandem_webhook_signature_failures_total counter
tandem_webhook_signature_failures_total{integration="stripe"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "tandem_provider_calls_total",
		"tandem_reconcile_repairs_total", "tandem_webhook_signature_failures_total"); err != nil {
		t.Fatal(err)
	}
}

func TestLagHistogram(t *testing.T) {
	m := metrics.New(metrics.Options{})
	m.OutboundLag("stripe", 40*time.Millisecond)
	m.OutboundLag("stripe", 3*time.Second)
	m.InboundLag("stripe", 15*time.Minute)
	for _, tc := range []struct {
		direction string
		count     uint64
		sum       float64
		// below are the cumulative counts of some buckets, by upper bound.
		below map[float64]uint64
	}{
		{"outbound", 2, 3.04, map[float64]uint64{0.025: 0, 0.05: 1, 2.5: 1, 5: 2, 600: 2}},
		{"inbound", 1, 900, map[float64]uint64{0.01: 0, 600: 0}},
	} {
		h := lagHistogram(t, m, "stripe", tc.direction)
		if h.GetSampleCount() != tc.count || math.Abs(h.GetSampleSum()-tc.sum) > 1e-9 {
			t.Errorf("%s: %d samples summing to %v, want %d and %v", tc.direction, h.GetSampleCount(), h.GetSampleSum(), tc.count, tc.sum)
		}
		if n := len(h.GetBucket()); n != 15 {
			t.Errorf("%s: %d buckets, want 15 (10 ms to 10 min)", tc.direction, n)
		}
		for _, b := range h.GetBucket() {
			if want, ok := tc.below[b.GetUpperBound()]; ok && b.GetCumulativeCount() != want {
				t.Errorf("%s: %d samples at most %v s, want %d", tc.direction, b.GetCumulativeCount(), b.GetUpperBound(), want)
			}
		}
	}
}

// lagHistogram returns the lag histogram of one integration and direction.
func lagHistogram(t *testing.T, m *metrics.Metrics, integration, direction string) *dto.Histogram {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "tandem_sync_lag_seconds" {
			continue
		}
		for _, metric := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["integration"] == integration && labels["direction"] == direction {
				return metric.GetHistogram()
			}
		}
	}
	t.Fatalf("no lag histogram for %s %s", integration, direction)
	return nil
}

// TestBacklog reads the backlog from a real store at scrape time; when the
// store fails, the scrape still answers with everything else.
func TestBacklog(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "tandem.db"), sqlstore.Options{Integrations: []string{"stripe", "idle"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// No workers: the jobs stay queued.
	for _, name := range []string{"Ada", "Grace"} {
		if _, _, err := st.CreateCustomer(ctx, &tandem.Customer{Name: name}, tandem.Write{Origin: "idle"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RecordPushError(ctx, "idle", tandem.Ref{Kind: tandem.KindCustomer, ID: "tdmc_x"}, "refused", true); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	m := metrics.New(metrics.Options{Now: func() time.Time { return later }})
	m.Watch(st, []string{"stripe", "idle"})

	want := `
# HELP tandem_queue_depth Jobs of the integration not finished yet (waiting, scheduled for a retry, or running), in the whole database.
# TYPE tandem_queue_depth gauge
tandem_queue_depth{integration="idle"} 0
tandem_queue_depth{integration="stripe"} 2
# HELP tandem_sync_failures Records whose sync to the integration is parked with an error (GET /sync/failures).
# TYPE tandem_sync_failures gauge
tandem_sync_failures{integration="idle"} 1
tandem_sync_failures{integration="stripe"} 0
# HELP tandem_webhook_signature_failures_total Webhook deliveries refused because their signature did not verify (nothing was stored).
# TYPE tandem_webhook_signature_failures_total counter
tandem_webhook_signature_failures_total{integration="idle"} 0
tandem_webhook_signature_failures_total{integration="stripe"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "tandem_queue_depth", "tandem_sync_failures",
		"tandem_webhook_signature_failures_total"); err != nil {
		t.Fatal(err)
	}
	ages := gauges(t, m, "tandem_queue_oldest_pending_seconds")
	if age := ages["stripe"]; age < 3600 || age > 3660 {
		t.Errorf("oldest pending job of stripe is %v s old, want an hour (the clock is an hour ahead)", age)
	}
	if age := ages["idle"]; age != 0 {
		t.Errorf("oldest pending job of idle, which has none, is %v s old, want 0", age)
	}

	st.Close()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK || !strings.Contains(string(body), "go_goroutines") ||
		!strings.Contains(string(body), "process_start_time_seconds") || strings.Contains(string(body), "tandem_queue_depth{") {
		t.Fatalf("scrape with the store closed: %d\n%s", rec.Code, body)
	}
}

// gauges returns the values of a gauge family by integration.
func gauges(t *testing.T, m *metrics.Metrics, name string) map[string]float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			out[metric.GetLabel()[0].GetValue()] = metric.GetGauge().GetValue()
		}
	}
	return out
}
