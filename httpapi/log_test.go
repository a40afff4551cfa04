package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestLoggedPath: logs never show the secret of a webhook's secret URL.
func TestLoggedPath(t *testing.T) {
	for path, want := range map[string]string{
		"/webhooks/salesforce/s3cret-path-segment": "/webhooks/salesforce/REDACTED",
		"/webhooks/stripe":                         "/webhooks/stripe",
		"/customers/tdmc_1":                        "/customers/tdmc_1",
	} {
		if got := loggedPath(httptest.NewRequest(http.MethodPost, path, nil)); got != want {
			t.Errorf("loggedPath(%s) = %s, want %s", path, got, want)
		}
	}
}
