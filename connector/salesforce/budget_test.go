package salesforce

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

// pushN pushes customers tdmc_<from>... tdmc_<from+n-1> and fails on an error.
func pushN(t *testing.T, c *Connector, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := c.Push(t.Context(), customerPush(fmt.Sprintf("tdmc_%d", i), 1, tandem.Customer{Name: "N"})); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
	}
}

// refused pushes one more customer and returns the delay of its RetryLater
// refusal, failing unless it was refused without a request.
func refused(t *testing.T, h *harness, c *Connector) time.Duration {
	t.Helper()
	before := h.requests()
	_, err := c.Push(t.Context(), customerPush("tdmc_refused", 1, tandem.Customer{Name: "N"}))
	pe := providerError(t, err)
	if pe.Class != tandem.RetryLater {
		t.Fatalf("class %v, want RetryLater: %v", pe.Class, err)
	}
	if n := h.requests() - before; n != 0 {
		t.Errorf("a refused push made %d requests", n)
	}
	return pe.Delay
}

func TestDailyBudget(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, func(cfg *Config) { cfg.DailyBudget = 3 })
	pushN(t, c, 0, 3)
	if d := refused(t, h, c); d < 23*time.Hour || d > 24*time.Hour {
		t.Errorf("delay %v, want until the first call leaves the 24 hours", d)
	}
}

func TestOrgAllocationSpent(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	h.em.SetUsage(99_500) // of 100,000: below the 1% Tandem leaves to others after one call
	clk := &clock{}
	c := h.connector(t, func(cfg *Config) { cfg.Now = clk.Now })
	pushN(t, c, 0, 1)
	if d := refused(t, h, c); d != exhaustedDelay {
		t.Errorf("delay %v, want %v", d, exhaustedDelay)
	}
}

// TestOrgAllocationFreedAgain: at the org's wall (Salesforce answered 403
// REQUEST_LIMIT_EXCEEDED), calls are refused without a request until
// exhaustedDelay after that answer; then one call goes to ask again while
// the others still wait, and once its answer shows room, calls flow.
func TestOrgAllocationFreedAgain(t *testing.T) {
	h := newHarness(t, salesforce.Config{DailyLimit: 1000})
	clk := &clock{}
	c := h.connector(t, func(cfg *Config) { cfg.Now = clk.Now })
	pushN(t, c, 0, 1)
	h.em.SetUsage(1000)
	_, err := c.Push(t.Context(), customerPush("tdmc_walled", 1, tandem.Customer{Name: "N"}))
	if pe := providerError(t, err); pe.Class != tandem.RetryLater || pe.Delay != exhaustedDelay {
		t.Fatalf("at the wall: %v %v, want RetryLater after %v", pe.Class, pe.Delay, exhaustedDelay)
	}
	clk.Add(exhaustedDelay - time.Minute)
	if d := refused(t, h, c); d != time.Minute {
		t.Errorf("delay %v, want the minute left", d)
	}

	clk.Add(time.Minute)
	h.em.SetUsage(0) // the oldest requests left the 24 hours
	before := h.requests()
	pushN(t, c, 1, 1)
	if n := h.requests() - before; n != 1 {
		t.Errorf("asking again made %d requests, want 1", n)
	}
	pushN(t, c, 2, 3)

	// Still at the wall when asked again: one request, then a wait again.
	h.em.SetUsage(1000)
	for range 2 {
		before = h.requests()
		if _, err := c.Push(t.Context(), customerPush("tdmc_walled", 1, tandem.Customer{Name: "N"})); err == nil {
			t.Fatal("a push went through at the wall")
		}
		if n := h.requests() - before; n != 1 {
			t.Errorf("the asking call made %d requests, want 1", n)
		}
		clk.Add(exhaustedDelay)
	}
	clk.Add(-time.Second)
	if d := refused(t, h, c); d != time.Second {
		t.Errorf("after asking in vain: delay %v, want the second left", d)
	}
}

// TestBudgetAsksAgainOnce: at the org's wall, one call goes to ask again
// while the others wait for its answer; an answer still at the wall means
// exhaustedDelay more, one with room lets every call go.
func TestBudgetAsksAgainOnce(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	b := newBudget(0, func() time.Time { return now })
	wall := http.Header{"Sforce-Limit-Info": {"api-usage=1000/1000"}}
	delay := func() time.Duration {
		t.Helper()
		err := b.take(t.Context())
		if err == nil {
			return 0
		}
		pe := providerError(t, err)
		if pe.Class != tandem.RetryLater {
			t.Fatalf("class %v, want RetryLater", pe.Class)
		}
		return pe.Delay
	}
	b.observe(wall)
	now = now.Add(time.Minute)
	if d := delay(); d != exhaustedDelay-time.Minute {
		t.Fatalf("at the wall: delay %v", d)
	}
	now = now.Add(exhaustedDelay)
	if d := delay(); d != 0 {
		t.Fatalf("asking again: delay %v, want none", d)
	}
	now = now.Add(time.Second)
	if d := delay(); d != probeWait-time.Second {
		t.Errorf("while asking: delay %v, want the rest of %v", d, probeWait)
	}
	b.observe(wall) // still spent
	if d := delay(); d != exhaustedDelay {
		t.Errorf("after asking in vain: delay %v, want %v", d, exhaustedDelay)
	}
	now = now.Add(exhaustedDelay)
	if d := delay(); d != 0 {
		t.Fatalf("asking again: delay %v, want none", d)
	}
	b.observe(http.Header{"Sforce-Limit-Info": {"api-usage=10/1000"}})
	for range 3 {
		if d := delay(); d != 0 {
			t.Fatalf("with room: delay %v, want none", d)
		}
	}
}

func TestOrgAllocationNear(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	h.em.SetUsage(95_000) // of 100,000: 5% left
	c := h.connector(t, nil)
	pushN(t, c, 0, 2) // the first answer tells the usage; the second call is spaced
	// 4,000 calls left above the reserve, half of them over 24 hours: 43 s apart.
	if d := refused(t, h, c); d < 40*time.Second || d > 44*time.Second {
		t.Errorf("delay %v, want about 43s", d)
	}
}

func TestBudgetSpacesCallsNearTandemsWall(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	b := newBudget(100, func() time.Time { return now })
	for i := range 92 {
		if err := b.take(t.Context()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		now = now.Add(time.Second)
	}
	// 9 calls left, to spread at half over 24 hours: 5h20m apart.
	err := b.take(t.Context())
	pe := providerError(t, err)
	if want := time.Duration(float64(window)/(paceShare*9)) - time.Second; pe.Class != tandem.RetryLater || pe.Delay != want {
		t.Fatalf("got %v %v, want RetryLater after %v", pe.Class, pe.Delay, want)
	}
	now = now.Add(pe.Delay)
	if err := b.take(t.Context()); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
	now = now.Add(window)
	for i := range 90 {
		if err := b.take(t.Context()); err != nil {
			t.Fatalf("a day later, call %d: %v", i, err)
		}
	}
}

func TestParseUsage(t *testing.T) {
	for _, tc := range []struct {
		info        string
		used, limit int
		ok          bool
	}{
		{"api-usage=25/100000", 25, 100000, true},
		{"api-usage=0/15000, per-app-api-usage=17/250(appName=sample)", 0, 15000, true},
		{"per-app-api-usage=17/250(appName=sample),api-usage=3/5000", 3, 5000, true},
		{"", 0, 0, false},
		{"api-usage=x/100", 0, 0, false},
		{"api-usage=1/0", 0, 0, false},
	} {
		used, limit, ok := parseUsage(tc.info)
		if used != tc.used || limit != tc.limit || ok != tc.ok {
			t.Errorf("parseUsage(%q) = %d, %d, %v; want %d, %d, %v", tc.info, used, limit, ok, tc.used, tc.limit, tc.ok)
		}
	}
}
