package salesforce

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestReplication(t *testing.T) {
	h := newHarness(t, Config{})
	h.seed(t, 2) // at 10:00:01 and 10:00:02
	contacts := h.em.Contacts()
	h.clock.Add(2 * time.Minute) // 10:02:02
	if a := h.do(t, http.MethodDelete, testVersion+"/sobjects/Contact/"+contacts[0].ID, nil); a.status != http.StatusNoContent {
		t.Fatal(a.status)
	}
	h.clock.Add(2 * time.Minute) // 10:04:02
	get := func(kind, start, end string) answer {
		return h.do(t, http.MethodGet, testVersion+"/sobjects/Contact/"+kind+"/?start="+url.QueryEscape(start)+
			"&end="+url.QueryEscape(end), nil)
	}

	var upd struct {
		IDs               []string `json:"ids"`
		LatestDateCovered string   `json:"latestDateCovered"`
	}
	// Seconds are ignored: 10:00:59 is 10:00, and the end in the future is now, to the minute.
	a := get("updated", "2026-03-02T10:00:59Z", "2026-03-02T12:00:00+00:00")
	a.decode(t, &upd)
	if fmt.Sprint(upd.IDs) != fmt.Sprint([]string{contacts[1].ID}) || upd.LatestDateCovered != "2026-03-02T10:04:00.000+0000" {
		t.Errorf("updated: %s", a.body)
	}
	a = get("updated", "2026-03-02T10:01:00Z", "2026-03-02T10:04:00Z")
	a.decode(t, &upd)
	if len(upd.IDs) != 0 {
		t.Errorf("updated, nothing in range: %s", a.body)
	}

	var del struct {
		DeletedRecords []deletedRecord `json:"deletedRecords"`
	}
	a = get("deleted", "2026-03-02T10:00:00Z", "2026-03-02T10:05:00Z")
	a.decode(t, &del)
	if len(del.DeletedRecords) != 1 || del.DeletedRecords[0].ID != contacts[0].ID ||
		del.DeletedRecords[0].DeletedDate != "2026-03-02T10:02:02.000+0000" {
		t.Errorf("deleted: %s", a.body)
	}

	for _, tc := range []struct{ kind, start, end string }{
		{"updated", "2026-03-02T10:05:00Z", "2026-03-02T10:00:00Z"},
		{"updated", "2026-01-01T00:00:00Z", "2026-03-02T10:00:00Z"},
		{"deleted", "2026-02-10T00:00:00Z", "2026-03-02T10:00:00Z"},
		{"updated", "yesterday", "2026-03-02T10:00:00Z"},
	} {
		if a := get(tc.kind, tc.start, tc.end); a.status != http.StatusBadRequest || a.errorCode(t) != "INVALID_REPLICATION_DATE" {
			t.Errorf("%s %s..%s: %d %s", tc.kind, tc.start, tc.end, a.status, a.body)
		}
	}
}
