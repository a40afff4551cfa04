package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stripe/stripe-go/v86/webhook"

	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

// TestMetrics syncs changes both ways, with a 429 on the way and a forged
// webhook, then checks what GET /metrics tells against what happened: every
// call the emulator answered is counted once with its outcome, and the lag
// of both directions is recorded.
func TestMetrics(t *testing.T) {
	t.Parallel()
	// No events poller: only the calls the changes cause.
	e := newStripeEnv(t, emulator.Config{}, map[string]string{"STRIPE_POLL_INTERVAL": "0"})
	c := e.api.mustCreate("Ada Lovelace")
	e.waitStripe("the customer in Stripe", func() bool { return len(e.stripeOf(c.ID)) == 1 })
	e.settle(c.ID)
	stripeID := e.stripeOf(c.ID)[0].ID

	// Stripe answers the update 429 until its limit is lifted.
	if err := e.em.SetFaults(emulator.Faults{RateLimit: 0.001, RateBurst: 1}); err != nil {
		t.Fatal(err)
	}
	probe := httptest.NewRequest(http.MethodGet, "/v1/customers/cus_probe", nil)
	probe.Header.Set("Authorization", "Bearer "+stripeTestKey)
	e.em.ServeHTTP(httptest.NewRecorder(), probe) // takes the one request the limit allows
	e.api.do("PATCH", "/customers/"+c.ID, map[string]any{"name": "Ada King"}, nil)
	e.waitStripe("a 429", func() bool { return e.countStatus(http.StatusTooManyRequests) > 0 })
	if err := e.em.SetFaults(emulator.Faults{}); err != nil {
		t.Fatal(err)
	}
	e.waitStripe("the update in Stripe", func() bool { got, _ := e.em.Customer(stripeID); return got.Name == "Ada King" })
	e.settle(c.ID)

	if _, err := e.em.Dashboard().UpdateCustomer(stripeID, emulator.CustomerParams{Email: str("ada@example.com")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the dashboard edit in Tandem", func() bool {
		var got customer
		e.api.do("GET", "/customers/"+c.ID, nil, &got)
		return got.Email == "ada@example.com"
	})

	body := []byte(`{"id":"evt_forged","object":"event","type":"customer.created","created":1,"data":{"object":{"id":"cus_forged","object":"customer"}}}`)
	req, _ := http.NewRequest("POST", e.api.base+"/webhooks/stripe", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_wrong"}).Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged webhook: %s, want 400", resp.Status)
	}

	// Once the queue is empty, no call is in flight.
	var m scrape
	waitFor(t, 20*time.Second, "an empty queue", func() bool {
		m = e.scrape()
		v, ok := m.value("tandem_queue_depth", "integration", "stripe")
		return ok && v == 0
	})

	if diff := cmp.Diff(e.emulatorCalls(), m.providerCalls("stripe")); diff != "" {
		t.Errorf("provider calls: the emulator's answers (-) against tandem_provider_calls_total (+):\n%s", diff)
	}
	if n, _ := m.value("tandem_webhook_signature_failures_total", "integration", "stripe"); n != 1 {
		t.Errorf("tandem_webhook_signature_failures_total = %v, want 1", n)
	}
	for series, want := range map[string]float64{"tandem_sync_failures": 0, "tandem_queue_oldest_pending_seconds": 0} {
		if v, ok := m.value(series, "integration", "stripe"); !ok || v != want {
			t.Errorf("%s = %v (present: %v), want %v", series, v, ok, want)
		}
	}
	// Outbound: the create and the update at least; inbound: the dashboard
	// edit at least (the echoes of our writes count too).
	for direction, least := range map[string]uint64{"outbound": 2, "inbound": 1} {
		h := m.histogram("tandem_sync_lag_seconds", "integration", "stripe", "direction", direction)
		if h.GetSampleCount() < least || h.GetSampleSum() <= 0 || h.GetSampleSum() > 60*float64(h.GetSampleCount()) {
			t.Errorf("%s lag: %d samples summing to %v s, want at least %d, each under a minute", direction,
				h.GetSampleCount(), h.GetSampleSum(), least)
		}
	}
}

// countStatus counts the emulator's answers with status.
func (e *stripeEnv) countStatus(status int) int {
	n := 0
	for _, r := range e.em.Requests() {
		if r.Status == status {
			n++
		}
	}
	return n
}

// emulatorCalls counts the requests the emulator answered, as
// "operation outcome" in the connector's terms (the test's own probe aside).
func (e *stripeEnv) emulatorCalls() map[string]float64 {
	out := map[string]float64{}
	for _, r := range e.em.Requests() {
		if strings.HasSuffix(r.Path, "/cus_probe") {
			continue
		}
		var op string
		switch item := strings.Count(r.Path, "/") > 2; {
		case strings.HasPrefix(r.Path, "/v1/events"):
			op = "list_events"
		case r.Method == http.MethodPost && item:
			op = "update"
		case r.Method == http.MethodPost:
			op = "create"
		case r.Method == http.MethodDelete:
			op = "delete"
		case item:
			op = "retrieve"
		default:
			op = "list_customers"
		}
		outcome := map[int]string{200: "ok", 404: "not_found", 429: "rate_limited", 500: "ambiguous"}[r.Status]
		if outcome == "" {
			outcome = fmt.Sprint(r.Status)
		}
		out[op+" "+outcome]++
	}
	return out
}

// scrape is one reading of GET /metrics.
type scrape map[string]*dto.MetricFamily

func (e *stripeEnv) scrape() scrape {
	e.t.Helper()
	resp := e.api.do("GET", "/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		e.t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// series returns the series of family whose labels include labels (name,
// value pairs).
func (s scrape) series(family string, labels ...string) *dto.Metric {
	f := s[family]
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && have[labels[i]] == labels[i+1]
		}
		if match {
			return m
		}
	}
	return nil
}

// value returns the value of a gauge or counter series, and whether it is
// there.
func (s scrape) value(family string, labels ...string) (float64, bool) {
	m := s.series(family, labels...)
	switch {
	case m == nil:
		return 0, false
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue(), true
	}
	return m.GetCounter().GetValue(), true
}

func (s scrape) histogram(family string, labels ...string) *dto.Histogram {
	return s.series(family, labels...).GetHistogram()
}

// providerCalls returns tandem_provider_calls_total of integration as
// "operation outcome".
func (s scrape) providerCalls(integration string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range s["tandem_provider_calls_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["integration"] == integration {
			out[labels["operation"]+" "+labels["outcome"]] += m.GetCounter().GetValue()
		}
	}
	return out
}
