package salesforce

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestDailyLimit(t *testing.T) {
	h := newHarness(t, Config{DailyLimit: 3})
	limits := testVersion + "/limits"
	for i := 1; i <= 3; i++ {
		a := h.do(t, http.MethodGet, limits, nil)
		if want := fmt.Sprintf("api-usage=%d/3", i); a.status != http.StatusOK || a.header.Get("Sforce-Limit-Info") != want {
			t.Fatalf("call %d: %d, Sforce-Limit-Info %q, want %q", i, a.status, a.header.Get("Sforce-Limit-Info"), want)
		}
	}
	a := h.do(t, http.MethodGet, limits, nil)
	if a.status != http.StatusForbidden || a.errorCode(t) != "REQUEST_LIMIT_EXCEEDED" || a.header.Get("Sforce-Limit-Info") != "api-usage=3/3" {
		t.Errorf("over the limit: %d %s %v", a.status, a.body, a.header)
	}
	// The allocation is rolling: calls older than 24 hours no longer count.
	h.clock.Add(24 * time.Hour)
	h.token = h.login(t, url.Values{"grant_type": {"client_credentials"},
		"client_id": {testClientID}, "client_secret": {testClientSecret}})
	a = h.do(t, http.MethodGet, limits, nil)
	var body map[string]struct{ Max, Remaining int }
	a.decode(t, &body)
	if a.status != http.StatusOK || body["DailyApiRequests"].Max != 3 || body["DailyApiRequests"].Remaining != 2 {
		t.Errorf("a day later: %d %s", a.status, a.body)
	}
	h.em.SetUsage(3)
	if a := h.do(t, http.MethodGet, limits, nil); a.status != http.StatusForbidden {
		t.Errorf("after SetUsage(3): %d", a.status)
	}
}
