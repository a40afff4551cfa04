package salesforce

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

func TestUpsertBatch(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	linked, err := c.Push(t.Context(), customerPush("tdmc_linked", 1, tandem.Customer{Name: "Linked One"}))
	if err != nil {
		t.Fatal(err)
	}
	var reqs []*tandem.PushRequest
	for i := range 450 {
		reqs = append(reqs, customerPush(fmt.Sprintf("tdmc_%03d", i), 1, tandem.Customer{Name: fmt.Sprintf("Ada %d", i)}))
	}
	unchanged := customerPush("tdmc_linked", 2, tandem.Customer{Name: "Linked One"})
	unchanged.Link.RemoteID, unchanged.Link.Base = linked.RemoteID, linked.Base
	deleted := customerPush("tdmc_gone", 2, tandem.Customer{})
	deleted.Record.Deleted = true
	reqs = append(reqs, unchanged, deleted)
	before := h.requests()

	results := c.UpsertBatch(t.Context(), reqs)

	if n := h.requests() - before; n != 3 {
		t.Errorf("%d requests for 450 records, want 3", n)
	}
	for _, r := range h.em.Requests()[before:] {
		if r.Method != http.MethodPatch || r.Path != "/services/data/v62.0/composite/sobjects/Contact/Tandem_Id__c" ||
			r.CallOptions != "client=tandem" {
			t.Errorf("request %+v", r)
		}
	}
	if len(results) != len(reqs) {
		t.Fatalf("%d results for %d records", len(results), len(reqs))
	}
	ids := map[string]bool{}
	for i, r := range results[:450] {
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
		ct, ok := h.em.Contact(r.Result.RemoteID)
		if want := fmt.Sprintf("tdmc_%03d", i); !ok || ct.ExternalID != want || ct.FirstName != "Ada" {
			t.Errorf("record %d: contact %+v, want external id %s", i, ct, want)
		}
		ids[r.Result.RemoteID] = true
	}
	if len(ids) != 450 {
		t.Errorf("%d distinct contacts, want 450", len(ids))
	}
	if r := results[450]; r.Err != nil || r.Result.RemoteID != linked.RemoteID || string(r.Result.Base) != string(linked.Base) {
		t.Errorf("unchanged record: %+v", r)
	}
	if pe := providerError(t, results[451].Err); pe.Class != tandem.Permanent {
		t.Errorf("deleted record: %v", pe)
	}
}

// TestCompositeItemErrors: one bad record fails alone, classified from the
// emulator's per-item errors.
func TestCompositeItemErrors(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	results := c.composite(t.Context(), []batchItem{
		{"tdmc_1", Contact{"LastName": "Good"}},
		{"tdmc_2", Contact{"LastName": ""}},
		{"tdmc_3", Contact{"LastName": "Bad", "Shoe_Size__c": "44"}},
		{"tdmc_4", Contact{"LastName": "Good too"}},
	})
	for i, want := range []string{"", "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]", "INVALID_FIELD", ""} {
		r := results[i]
		if want == "" {
			if r.Err != nil || r.Result.RemoteID == "" {
				t.Errorf("record %d: %+v", i, r)
			}
			continue
		}
		if pe := providerError(t, r.Err); pe.Class != tandem.Permanent || !strings.Contains(pe.Error(), want) {
			t.Errorf("record %d: %v %v, want Permanent %q", i, pe.Class, pe, want)
		}
	}
	if n := len(h.em.Contacts()); n != 2 {
		t.Errorf("%d contacts, want 2", n)
	}
}

func TestCompositeCallFails(t *testing.T) {
	h := newHarness(t, salesforce.Config{Faults: salesforce.Faults{Unavailable: salesforce.Chance{Every: 1}}})
	c := h.connector(t, nil)
	results := c.UpsertBatch(t.Context(), []*tandem.PushRequest{
		customerPush("tdmc_1", 1, tandem.Customer{Name: "A"}), customerPush("tdmc_2", 1, tandem.Customer{Name: "B"}),
	})
	for i, r := range results {
		if pe := providerError(t, r.Err); pe.Class != tandem.Retry {
			t.Errorf("record %d: %v, want Retry", i, pe)
		}
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
