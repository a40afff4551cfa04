package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemsync/tandem/httpapi"
	"github.com/tandemsync/tandem/metrics"
	"github.com/tandemsync/tandem/store/sqlite"
	"github.com/tandemsync/tandem/store/sqlstore"
)

// newServer serves the API over a real, migrated SQLite store.
func newServer(t *testing.T, token string) *httptest.Server {
	t.Helper()
	return newServerWith(t, func(*sqlite.Store, *httpapi.Config) {}, httpapi.Config{Token: token, Integrations: []string{"stripe"}})
}

// newServerWith is newServer with cfg, which configure may complete with
// what needs the store.
func newServerWith(t *testing.T, configure func(*sqlite.Store, *httpapi.Config), cfg httpapi.Config) *httptest.Server {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "tandem.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	configure(st, &cfg)
	srv := httptest.NewServer(httpapi.New(st, cfg))
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends body (a string is sent as it is, anything else as JSON).
func call(t *testing.T, srv *httptest.Server, method, path string, body any, header ...string) response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, raw}
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

type customer struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Phone    string            `json:"phone"`
	Address  map[string]string `json:"address"`
	Metadata map[string]string `json:"metadata"`
	Version  int64             `json:"version"`
}

type problem struct {
	Status int            `json:"status"`
	Detail string         `json:"detail"`
	Errors []problemError `json:"errors"`
}

type problemError struct {
	Message  string `json:"message"`
	Location string `json:"location"`
}

func create(t *testing.T, srv *httptest.Server, body any) customer {
	t.Helper()
	r := call(t, srv, "POST", "/customers", body)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var c customer
	r.decode(t, &c)
	return c
}

func TestBadInput(t *testing.T) {
	srv := newServer(t, "")
	existing := create(t, srv, map[string]any{"name": "Kept", "email": "kept@example.com"})
	huge := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name, method, path string
		body               any
		header             []string
		status             int
		location           string // expected in the problem's errors, "" for none
	}{
		{"malformed JSON", "POST", "/customers", `{"name":`, nil, 400, "body"},
		{"unknown field", "POST", "/customers", `{"name":"a","nickname":"b"}`, nil, 422, "body.nickname"},
		{"wrong type", "POST", "/customers", `{"name":42}`, nil, 422, "body.name"},
		{"invalid email", "POST", "/customers", `{"email":"not-an-email"}`, nil, 422, "body.email"},
		{"name too long", "POST", "/customers", map[string]any{"name": strings.Repeat("n", 257)}, nil, 422, "body.name"},
		{"too many metadata keys", "POST", "/customers", map[string]any{"metadata": manyKeys(51)}, nil, 422, "body.metadata"},
		{"metadata key with bracket", "POST", "/customers", `{"metadata":{"a]":"x"}}`, nil, 422, "body.metadata.a]"},
		{"metadata key too long", "POST", "/customers", map[string]any{"metadata": map[string]string{strings.Repeat("k", 41): "v"}}, nil, 422, "body.metadata." + strings.Repeat("k", 41)},
		{"metadata value too long", "POST", "/customers", map[string]any{"metadata": map[string]string{"k": strings.Repeat("v", 501)}}, nil, 422, "body.metadata.k"},
		{"metadata value not a string", "POST", "/customers", `{"metadata":{"k":1}}`, nil, 422, "body.metadata.k"},
		{"body over 1 MiB", "POST", "/customers", huge, nil, 413, ""},
		{"unknown id", "GET", "/customers/tdmc_unknown", nil, nil, 404, ""},
		{"bad cursor", "GET", "/customers?cursor=bm9wZQ", nil, nil, 400, "query.cursor"},
		{"limit too large", "GET", "/customers?limit=1000", nil, nil, 422, "query.limit"},
		{"limit not a number", "GET", "/customers?limit=ten", nil, nil, 422, "query.limit"},
		{"bad If-Match", "PATCH", "/customers/" + existing.ID, `{"name":"x"}`, []string{"If-Match", "v1"}, 400, "header.If-Match"},
		{"patch invalid email", "PATCH", "/customers/" + existing.ID, `{"email":"@"}`, nil, 422, "body.email"},
		{"put unknown field", "PUT", "/customers/" + existing.ID, `{"id":"tdmc_other"}`, nil, 422, "body.id"},
		{"patch unknown id", "PATCH", "/customers/tdmc_unknown", `{"name":"x"}`, nil, 404, ""},
		{"delete unknown id", "DELETE", "/customers/tdmc_unknown", nil, nil, 404, ""},
		{"idempotency key too long", "POST", "/customers", `{}`, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 422, "header.Idempotency-Key"},
		{"wait not a duration", "PATCH", "/customers/" + existing.ID + "?wait=soon", `{"name":"x"}`, nil, 422, "query.wait"},
		{"wait too long", "POST", "/customers?wait=31s", `{}`, nil, 422, "query.wait"},
		{"wait negative", "DELETE", "/customers/" + existing.ID + "?wait=-1s", nil, nil, 422, "query.wait"},
		{"sync wait zero", "GET", "/customers/" + existing.ID + "/sync?wait=0s", nil, nil, 422, "query.wait"},
		{"failure id malformed", "POST", "/sync/failures/nope/retry", nil, nil, 422, "path.id"},
		{"failure id too many parts", "DELETE", "/sync/failures/stripe:customer:tdmc_x:y", nil, nil, 422, "path.id"},
		{"failure id upper case", "DELETE", "/sync/failures/Stripe:customer:tdmc_x", nil, nil, 422, "path.id"},
		{"failure of unknown integration", "POST", "/sync/failures/other:customer:tdmc_x/retry", nil, nil, 404, ""},
		{"failure not parked", "DELETE", "/sync/failures/stripe:customer:" + existing.ID, nil, nil, 404, ""},
		{"failure of unknown kind", "POST", "/sync/failures/stripe:invoice:" + existing.ID + "/retry", nil, nil, 404, ""},
		{"pause unknown integration", "POST", "/integrations/nope/pause", nil, nil, 404, ""},
		{"resume unknown integration", "POST", "/integrations/nope/resume", nil, nil, 404, ""},
		{"reconcile unknown integration", "POST", "/integrations/nope/reconcile", nil, nil, 404, ""},
		{"reconcile dry_run not a bool", "POST", "/integrations/stripe/reconcile?dry_run=maybe", nil, nil, 422, "query.dry_run"},
		{"unknown reconcile run", "GET", "/integrations/stripe/reconcile/run_nope", nil, nil, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, srv, tc.method, tc.path, tc.body, tc.header...)
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type = %q", ct)
			}
			var p problem
			r.decode(t, &p)
			if p.Status != tc.status {
				t.Fatalf("problem status = %d", p.Status)
			}
			if tc.location == "" {
				return
			}
			var locations []string
			for _, e := range p.Errors {
				locations = append(locations, e.Location)
			}
			if !slices.Contains(locations, tc.location) {
				t.Fatalf("error locations = %q, want %q", locations, tc.location)
			}
		})
	}
	// Nothing that was refused was stored, and the existing customer is intact.
	var list struct{ Data []customer }
	call(t, srv, "GET", "/customers", nil).decode(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != existing.ID || list.Data[0].Version != 1 || list.Data[0].Name != "Kept" {
		t.Fatalf("after bad input the catalog holds %+v", list.Data)
	}
}

func TestCustomerLifecycle(t *testing.T) {
	srv := newServer(t, "")
	c := create(t, srv, map[string]any{
		"name": "Ada", "email": "ada@example.com", "phone": "+1 555 0100",
		"address":  map[string]string{"line1": "1 Main St", "city": "Springfield", "country": "US"},
		"metadata": map[string]string{"plan": "pro", "seat": "3"},
	})

	r := call(t, srv, "PATCH", "/customers/"+c.ID, map[string]any{
		"phone": "", "metadata": map[string]string{"seat": "", "tier": "gold"},
	}, "If-Match", `"1"`)
	var patched customer
	r.decode(t, &patched)
	want := customer{ID: c.ID, Name: "Ada", Email: "ada@example.com",
		Address:  map[string]string{"line1": "1 Main St", "city": "Springfield", "country": "US"},
		Metadata: map[string]string{"plan": "pro", "tier": "gold"}, Version: 2}
	if diff := cmp.Diff(want, patched); r.status != 200 || diff != "" || r.header.Get("ETag") != `"2"` {
		t.Fatalf("patch: %d etag %s (-want +got):\n%s", r.status, r.header.Get("ETag"), diff)
	}

	if r := call(t, srv, "PATCH", "/customers/"+c.ID, map[string]any{"name": "Stale"}, "If-Match", `"1"`); r.status != 412 {
		t.Fatalf("stale patch: %d %s", r.status, r.body)
	}
	r = call(t, srv, "PUT", "/customers/"+c.ID, map[string]any{"name": "Ada L."}, "If-Match", `W/"2"`)
	var replaced customer
	r.decode(t, &replaced)
	want = customer{ID: c.ID, Name: "Ada L.", Address: map[string]string{}, Metadata: map[string]string{}, Version: 3}
	if diff := cmp.Diff(want, replaced); r.status != 200 || diff != "" {
		t.Fatalf("put: %d (-want +got):\n%s", r.status, diff)
	}
	r = call(t, srv, "GET", "/customers/"+c.ID, nil)
	var got customer
	r.decode(t, &got)
	if diff := cmp.Diff(replaced, got); diff != "" || r.header.Get("ETag") != `"3"` {
		t.Fatalf("get after put (-put +get):\n%s", diff)
	}

	if r := call(t, srv, "DELETE", "/customers/"+c.ID, nil, "If-Match", `"2"`); r.status != 412 {
		t.Fatalf("stale delete: %d", r.status)
	}
	if r := call(t, srv, "DELETE", "/customers/"+c.ID, nil, "If-Match", `"3"`); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := call(t, srv, m, "/customers/"+c.ID, nil); r.status != 404 {
			t.Fatalf("%s after delete: %d", m, r.status)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	srv := newServer(t, "")
	body := map[string]any{"name": "Once", "email": "once@example.com"}
	first := call(t, srv, "POST", "/customers", body, "Idempotency-Key", "order-42")
	second := call(t, srv, "POST", "/customers", body, "Idempotency-Key", "order-42")
	if first.status != 201 || second.status != 201 || !bytes.Equal(first.body, second.body) {
		t.Fatalf("retried create: %d %s then %d %s", first.status, first.body, second.status, second.body)
	}
	if first.header.Get("Idempotent-Replayed") != "" || second.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay headers: %q, %q", first.header.Get("Idempotent-Replayed"), second.header.Get("Idempotent-Replayed"))
	}
	other := call(t, srv, "POST", "/customers", map[string]any{"name": "Other"}, "Idempotency-Key", "order-42")
	var p problem
	other.decode(t, &p)
	if other.status != 422 || len(p.Errors) != 1 || p.Errors[0].Location != "header.Idempotency-Key" {
		t.Fatalf("key reused for another body: %d %s", other.status, other.body)
	}
	var list struct{ Data []customer }
	call(t, srv, "GET", "/customers", nil).decode(t, &list)
	if len(list.Data) != 1 {
		t.Fatalf("%d customers, want 1", len(list.Data))
	}
}

func TestListPagesAndFilter(t *testing.T) {
	srv := newServer(t, "")
	var ids []string
	for i := range 5 {
		email := "even@example.com"
		if i%2 == 1 {
			email = "odd@example.com"
		}
		ids = append(ids, create(t, srv, map[string]any{"email": email}).ID)
	}
	var got []string
	path := "/customers?limit=2"
	for range 10 {
		var page struct {
			Data       []customer
			NextCursor string `json:"next_cursor"`
		}
		call(t, srv, "GET", path, nil).decode(t, &page)
		for _, c := range page.Data {
			got = append(got, c.ID)
		}
		if page.NextCursor == "" {
			break
		}
		path = "/customers?limit=2&cursor=" + page.NextCursor
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Fatalf("pages (-want +got):\n%s", diff)
	}
	var odd struct{ Data []customer }
	call(t, srv, "GET", "/customers?email=odd@example.com", nil).decode(t, &odd)
	if len(odd.Data) != 2 || odd.Data[0].ID != ids[1] || odd.Data[1].ID != ids[3] {
		t.Fatalf("email filter: %+v", odd.Data)
	}
}

func TestAuthentication(t *testing.T) {
	srv := newServer(t, "t0ken")
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "t0ken"}} {
		r := call(t, srv, "GET", "/customers", nil, h...)
		if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("with %q: %d", h, r.status)
		}
	}
	if r := call(t, srv, "GET", "/customers", nil, "Authorization", "Bearer t0ken"); r.status != 200 {
		t.Fatalf("with the token: %d", r.status)
	}
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json", "/docs"} {
		if r := call(t, srv, "GET", path, nil); r.status != 200 {
			t.Fatalf("%s without token: %d", path, r.status)
		}
	}
}

// TestMetrics: GET /metrics serves the metrics, behind the token.
func TestMetrics(t *testing.T) {
	srv := newServerWith(t, func(st *sqlite.Store, cfg *httpapi.Config) {
		m := metrics.New(metrics.Options{})
		m.Watch(st, nil)
		cfg.Metrics = m.Handler()
	}, httpapi.Config{Token: "t0ken"})
	if r := call(t, srv, "GET", "/metrics", nil); r.status != 401 {
		t.Fatalf("without the token: %d", r.status)
	}
	r := call(t, srv, "GET", "/metrics", nil, "Authorization", "Bearer t0ken")
	if r.status != 200 || !strings.Contains(string(r.body), "go_goroutines") {
		t.Fatalf("with the token: %d\n%s", r.status, r.body)
	}
	if r := call(t, newServer(t, ""), "GET", "/metrics", nil); r.status != 404 {
		t.Fatalf("without metrics configured: %d", r.status)
	}
}

func TestOpenAPIAndSync(t *testing.T) {
	srv := newServer(t, "")
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	call(t, srv, "GET", "/openapi.json", nil).decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	for path, methods := range map[string][]string{
		"/customers": {"get", "post"}, "/customers/{id}": {"get", "patch", "put", "delete"},
		"/customers/{id}/sync": {"get"}, "/sync/failures": {"get"}, "/sync/failures/{id}": {"delete"},
		"/sync/failures/{id}/retry": {"post"}, "/integrations": {"get"}, "/integrations/{name}/pause": {"post"},
		"/integrations/{name}/resume": {"post"},
	} {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("openapi lacks %s %s", m, path)
			}
		}
	}
	c := create(t, srv, map[string]any{"name": "Unsynced"})
	var links struct{ Data []any }
	if r := call(t, srv, "GET", "/customers/"+c.ID+"/sync", nil); r.status != 200 {
		t.Fatalf("sync: %d", r.status)
	} else if r.decode(t, &links); len(links.Data) != 0 {
		t.Fatalf("links with no integration: %v", links.Data)
	}
	if r := call(t, srv, "GET", "/customers/tdmc_nope/sync", nil); r.status != 404 {
		t.Fatalf("sync of unknown: %d", r.status)
	}
	if r := call(t, srv, "GET", "/sync/failures", nil); r.status != 200 {
		t.Fatalf("failures: %d", r.status)
	}
}

func manyKeys(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m["k"+strings.Repeat("x", i)] = "v"
	}
	return m
}
