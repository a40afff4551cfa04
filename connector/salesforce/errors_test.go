package salesforce

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

// TestClassifyEmulator classifies the emulator's real answers.
func TestClassifyEmulator(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		faults  salesforce.Faults
		usage   int // calls already made against the daily limit
		edit    func(*Config)
		class   tandem.ProviderClass
		delay   time.Duration
		message string
	}{
		{desc: "500", faults: salesforce.Faults{ServerError: salesforce.Chance{Every: 1}}, class: tandem.Retry,
			message: "500 UNKNOWN_EXCEPTION"},
		{desc: "503", faults: salesforce.Faults{Unavailable: salesforce.Chance{Every: 1}}, class: tandem.Retry,
			message: "503 SERVER_UNAVAILABLE"},
		{desc: "concurrent long requests", faults: salesforce.Faults{ConcurrentLimit: salesforce.Chance{Every: 1}},
			class: tandem.RetryLater, delay: concurrentDelay, message: "403 REQUEST_LIMIT_EXCEEDED"},
		{desc: "daily limit", usage: 100000, class: tandem.RetryLater, delay: exhaustedDelay,
			message: "TotalRequests"},
		{desc: "no such external id field", edit: func(cfg *Config) { cfg.ExternalIDField = "Nope__c" },
			class: tandem.Permanent, message: "404 NOT_FOUND"},
		{desc: "no such object", edit: func(cfg *Config) { cfg.Object = "Lead" }, class: tandem.Permanent,
			message: "404 NOT_FOUND"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			h := newHarness(t, salesforce.Config{Faults: tc.faults})
			h.em.SetUsage(tc.usage)
			c := h.connector(t, tc.edit)
			_, err := c.Push(t.Context(), customerPush("tdmc_1", 1, tandem.Customer{Name: "Ada Lovelace"}))
			pe := providerError(t, err)
			if pe.Class != tc.class || pe.Delay != tc.delay || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("got class %v, delay %v, %q; want %v, %v, containing %q",
					pe.Class, pe.Delay, err, tc.class, tc.delay, tc.message)
			}
		})
	}
}

func TestClassifyNoAnswer(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	if _, err := c.Push(t.Context(), customerPush("tdmc_1", 1, tandem.Customer{Name: "Ada"})); err != nil {
		t.Fatal(err)
	}
	h.srv.Close()
	_, err := c.Push(t.Context(), customerPush("tdmc_2", 1, tandem.Customer{Name: "Ada"}))
	if pe := providerError(t, err); pe.Class != tandem.Retry {
		t.Errorf("class %v, want Retry: %v", pe.Class, err)
	}
}

// TestClassify covers answers the emulator does not give.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status  int
		header  http.Header
		body    string
		class   tandem.ProviderClass
		delay   time.Duration
		message string
	}{
		{400, nil, `[{"message":"duplicate value found: Email duplicates value on record with id: 003000000000001","errorCode":"DUPLICATE_VALUE","fields":["Email"]}]`,
			tandem.Permanent, 0, "salesforce: 400 DUPLICATE_VALUE: duplicate value found: Email duplicates value on record with id: 003000000000001 (fields Email)"},
		{400, nil, `[{"message":"Phone must have 10 digits","errorCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","fields":[]}]`,
			tandem.Permanent, 0, "salesforce: 400 FIELD_CUSTOM_VALIDATION_EXCEPTION: Phone must have 10 digits"},
		{400, nil, `[{"message":"Email: data value too large","errorCode":"STRING_TOO_LONG","fields":["Email"]}]`,
			tandem.Permanent, 0, "salesforce: 400 STRING_TOO_LONG: Email: data value too large (fields Email)"},
		{400, nil, `[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW","fields":[]}]`,
			tandem.Retry, 0, "UNABLE_TO_LOCK_ROW"},
		{300, nil, `["/services/data/v62.0/sobjects/Contact/003000000000001","/services/data/v62.0/sobjects/Contact/003000000000002"]`,
			tandem.Permanent, 0, "salesforce: 300 [\"/services"},
		{401, nil, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, tandem.Retry, 0, "INVALID_SESSION_ID"},
		{429, http.Header{"Retry-After": {"7"}}, ``, tandem.RetryLater, 7 * time.Second, "salesforce: 429"},
		{429, nil, ``, tandem.RetryLater, defaultRetryAfter, "salesforce: 429"},
		{502, nil, `<html>Bad Gateway</html>`, tandem.Retry, 0, "salesforce: 502 <html>Bad Gateway</html>"},
	} {
		pe := classify(tc.status, tc.header, []byte(tc.body))
		if pe.Class != tc.class || pe.Delay != tc.delay || !strings.HasPrefix(pe.Error(), tc.message) &&
			!strings.Contains(pe.Error(), tc.message) {
			t.Errorf("%d %s: got class %v, delay %v, %q; want %v, %v, %q", tc.status, tc.body, pe.Class, pe.Delay, pe,
				tc.class, tc.delay, tc.message)
		}
	}
}
