package salesforce

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

// pushAll pushes reqs, each from its own goroutine as the engine's workers
// do, and returns each one's result and error in order.
func pushAll(t *testing.T, c *Connector, reqs []*tandem.PushRequest) ([]*tandem.PushResult, []error) {
	t.Helper()
	results, errs := make([]*tandem.PushResult, len(reqs)), make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() { results[i], errs[i] = c.Push(t.Context(), req) })
	}
	wg.Wait()
	return results, errs
}

// TestPushesBatched: pushes running at the same time leave as composite
// upserts of up to 200 records, and each push gets its own record's result.
func TestPushesBatched(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	var reqs []*tandem.PushRequest
	for i := range 450 {
		reqs = append(reqs, customerPush(fmt.Sprintf("tdmc_%03d", i), 1, tandem.Customer{Name: fmt.Sprintf("Ada %d", i)}))
	}

	results, errs := pushAll(t, c, reqs)

	calls := h.em.Requests()
	if len(calls) != 3 {
		t.Errorf("%d requests for 450 records, want 3", len(calls))
	}
	for _, r := range calls {
		if r.Method != http.MethodPatch || r.Path != "/services/data/v62.0/composite/sobjects/Contact/Tandem_Id__c" ||
			r.CallOptions != "client=tandem" {
			t.Errorf("request %+v", r)
		}
	}
	ids := map[string]bool{}
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("record %d: %v", i, errs[i])
		}
		ct, ok := h.em.Contact(res.RemoteID)
		if want := fmt.Sprintf("tdmc_%03d", i); !ok || ct.ExternalID != want || ct.LastName != fmt.Sprint(i) {
			t.Errorf("record %d: contact %+v, want external id %s", i, ct, want)
		}
		ids[res.RemoteID] = true
	}
	if len(ids) != 450 {
		t.Errorf("%d distinct contacts, want 450", len(ids))
	}
}

// TestCompositeItemErrors: one bad record fails alone, classified from the
// emulator's per-item errors.
func TestCompositeItemErrors(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	results := c.composite([]Contact{
		{"Tandem_Id__c": "tdmc_1", "LastName": "Good"},
		{"Tandem_Id__c": "tdmc_2", "LastName": ""},
		{"Tandem_Id__c": "tdmc_3", "LastName": "Bad", "Shoe_Size__c": "44"},
		{"Tandem_Id__c": "tdmc_4", "LastName": "Read-only", "CreatedDate": "2026-01-01"},
		{"Tandem_Id__c": "tdmc_5", "LastName": "Good too"},
	})
	for i, want := range []string{"", "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName] (fields LastName)",
		"INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", ""} {
		r := results[i]
		if want == "" {
			if r.err != nil || r.result.RemoteID == "" {
				t.Errorf("record %d: %+v", i, r)
			}
			continue
		}
		if pe := providerError(t, r.err); pe.Class != tandem.Permanent || !strings.Contains(pe.Error(), want) {
			t.Errorf("record %d: %v %v, want Permanent %q", i, pe.Class, pe, want)
		}
	}
	if n := len(h.em.Contacts()); n != 2 {
		t.Errorf("%d contacts, want 2", n)
	}
}

// TestCompositeCallFails: a failure of the whole call is each push's.
func TestCompositeCallFails(t *testing.T) {
	h := newHarness(t, salesforce.Config{Faults: salesforce.Faults{Unavailable: salesforce.Chance{Every: 1}}})
	c := h.connector(t, nil)
	_, errs := pushAll(t, c, []*tandem.PushRequest{
		customerPush("tdmc_1", 1, tandem.Customer{Name: "A"}), customerPush("tdmc_2", 1, tandem.Customer{Name: "B"}),
	})
	for i, err := range errs {
		if pe := providerError(t, err); pe.Class != tandem.Retry {
			t.Errorf("record %d: %v, want Retry", i, pe)
		}
	}
	if n := h.requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestClassifyItem(t *testing.T) {
	for _, tc := range []struct {
		errs  []apiError
		class tandem.ProviderClass
	}{
		{[]apiError{{StatusCode: "DUPLICATE_VALUE", Message: "duplicate value found"}}, tandem.Permanent},
		{[]apiError{{StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "no"}}, tandem.Permanent},
		{[]apiError{{StatusCode: "UNABLE_TO_LOCK_ROW", Message: "locked"}}, tandem.Retry},
		{[]apiError{{StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK", Message: "rolled back"}}, tandem.Retry},
		{nil, tandem.Permanent},
	} {
		if pe := classifyItem(tc.errs); pe.Class != tc.class {
			t.Errorf("%+v: %v, want %v", tc.errs, pe.Class, tc.class)
		}
	}
}
