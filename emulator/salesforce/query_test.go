package salesforce

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// queryAnswer is a query page as a client decodes it.
type queryAnswer struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

func (h *harness) query(t *testing.T, q string) (answer, queryAnswer) {
	t.Helper()
	a := h.do(t, http.MethodGet, testVersion+"/query?q="+url.QueryEscape(q), nil)
	var page queryAnswer
	if a.status == http.StatusOK {
		a.decode(t, &page)
	}
	return a, page
}

// queryAll runs q and follows nextRecordsUrl to the end, returning the
// LastName of every record and the number of pages.
func (h *harness) queryAll(t *testing.T, q string) (names []string, pages int) {
	t.Helper()
	a, page := h.query(t, q)
	for {
		if a.status != http.StatusOK {
			t.Fatalf("%q: %d %s", q, a.status, a.body)
		}
		pages++
		for _, r := range page.Records {
			names = append(names, fmt.Sprint(r["LastName"]))
		}
		if page.Done {
			return names, pages
		}
		a = h.do(t, http.MethodGet, page.NextRecordsURL, nil)
		page = queryAnswer{}
		a.decode(t, &page)
	}
}

// seed creates n Contacts named C0, C1, ..., one second apart.
func (h *harness) seed(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		h.clock.Add(time.Second)
		h.mustCreate(t, fmt.Sprintf("tdmc_%d", i), map[string]any{"LastName": fmt.Sprintf("C%d", i)})
	}
}

func TestQueryPagination(t *testing.T) {
	h := newHarness(t, Config{QueryPageSize: 2})
	h.seed(t, 5)
	names, pages := h.queryAll(t, "SELECT Id, LastName, SystemModstamp FROM Contact ORDER BY SystemModstamp, Id")
	if got := fmt.Sprint(names); got != "[C0 C1 C2 C3 C4]" || pages != 3 {
		t.Errorf("got %s in %d pages, want C0..C4 in 3", got, pages)
	}

	a, first := h.query(t, "SELECT Id, LastName FROM Contact ORDER BY SystemModstamp DESC")
	if a.status != http.StatusOK || first.TotalSize != 5 || first.Done || len(first.Records) != 2 {
		t.Fatalf("first page: %s", a.body)
	}
	rec := first.Records[0]
	if rec["LastName"] != "C4" || len(rec) != 3 { // attributes, Id, LastName
		t.Errorf("first record %v, want C4 with attributes, Id and LastName", rec)
	}
	// A page can be read again; a made-up locator cannot.
	a1 := h.do(t, http.MethodGet, first.NextRecordsURL, nil)
	a2 := h.do(t, http.MethodGet, first.NextRecordsURL, nil)
	if a1.status != http.StatusOK || string(a1.body) != string(a2.body) {
		t.Errorf("reading a page twice: %d %s, then %s", a1.status, a1.body, a2.body)
	}
	if a := h.do(t, http.MethodGet, testVersion+"/query/01g000000000000-2", nil); a.status != 400 || a.errorCode(t) != "INVALID_QUERY_LOCATOR" {
		t.Errorf("made-up locator: %d %s", a.status, a.body)
	}
}

func TestQueryWhereSystemModstamp(t *testing.T) {
	h := newHarness(t, Config{})
	h.seed(t, 4) // at 10:00:01 .. 10:00:04
	h.clock.Add(time.Second)
	ids := h.em.Contacts()
	a := h.do(t, http.MethodDelete, testVersion+"/sobjects/Contact/"+ids[3].ID, nil)
	if a.status != http.StatusNoContent {
		t.Fatal(a.status)
	}
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"SELECT LastName FROM Contact WHERE SystemModstamp > 2026-03-02T10:00:02Z ORDER BY SystemModstamp", "[C2]"},
		{"select LastName from Contact where SystemModstamp >= 2026-03-02T10:00:02.000+0000 order by SystemModstamp, Id limit 1", "[C1]"},
		{"SELECT LastName FROM Contact WHERE SystemModstamp > 2026-03-02T11:00:00+01:00 ORDER BY SystemModstamp", "[C0 C1 C2]"},
		{"SELECT LastName FROM Contact WHERE SystemModstamp < 2026-03-02T10:00:02Z", "[C0]"},
		{"SELECT LastName FROM Contact ORDER BY LastName DESC LIMIT 2", "[C2 C1]"},
	} {
		names, _ := h.queryAll(t, tc.q)
		if got := fmt.Sprint(names); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.q, got, tc.want)
		}
	}
}

// TestQueryWhereID: Id compares as Salesforce compares ids, by their 15
// case-sensitive characters, so that a walk in Id order can continue after
// the last id it read, given in 15 or 18 characters.
func TestQueryWhereID(t *testing.T) {
	h := newHarness(t, Config{})
	h.seed(t, 4)
	ids := h.em.Contacts()
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"SELECT LastName FROM Contact WHERE Id > '" + ids[1].ID + "' ORDER BY Id", "[C2 C3]"},
		{"SELECT LastName FROM Contact WHERE Id > '" + ids[1].ID[:15] + "' ORDER BY Id", "[C2 C3]"},
		{"SELECT LastName FROM Contact WHERE Id >= '" + ids[1].ID + "' ORDER BY Id LIMIT 2", "[C1 C2]"},
		{"SELECT LastName FROM Contact WHERE Id < '" + ids[1].ID + "' ORDER BY Id", "[C0]"},
		{"SELECT LastName FROM Contact WHERE Id = '" + ids[2].ID + "'", "[C2]"},
	} {
		names, _ := h.queryAll(t, tc.q)
		if got := fmt.Sprint(names); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.q, got, tc.want)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	h := newHarness(t, Config{})
	for _, tc := range []struct{ q, code string }{
		{"", "MALFORMED_QUERY"},
		{"SELECT FROM Contact", "MALFORMED_QUERY"},
		{"SELECT Id FROM Contact WHERE LastName = 'x'", "MALFORMED_QUERY"},
		{"SELECT Id FROM Contact GROUP BY Id", "MALFORMED_QUERY"},
		{"SELECT Nope__c FROM Contact", "INVALID_FIELD"},
		{"SELECT Id FROM Account", "INVALID_TYPE"},
		{"SELECT Id FROM Contact WHERE SystemModstamp > '2026-03-02'", "INVALID_QUERY_FILTER_OPERATOR"},
		{"SELECT Id FROM Contact ORDER BY Id SIDEWAYS", "MALFORMED_QUERY"},
		{"SELECT Id FROM Contact WHERE Id > 0035g0000000001", "INVALID_QUERY_FILTER_OPERATOR"},
		{"SELECT Id FROM Contact WHERE Id > '003'", "INVALID_QUERY_FILTER_OPERATOR"},
	} {
		a, _ := h.query(t, tc.q)
		if a.status != http.StatusBadRequest || a.errorCode(t) != tc.code {
			t.Errorf("%q: got %d %s, want 400 %s", tc.q, a.status, a.body, tc.code)
		}
	}
}
