package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

type invoice struct {
	ID              string            `json:"id"`
	CustomerID      string            `json:"customer_id"`
	Currency        string            `json:"currency"`
	Description     string            `json:"description"`
	DueDate         string            `json:"due_date"`
	Metadata        map[string]string `json:"metadata"`
	Status          string            `json:"status"`
	Total           int64             `json:"total"`
	AmountDue       int64             `json:"amount_due"`
	AmountPaid      int64             `json:"amount_paid"`
	AmountRemaining int64             `json:"amount_remaining"`
	Version         int64             `json:"version"`
	Lines           []struct {
		Description string `json:"description"`
		Quantity    int64  `json:"quantity"`
		UnitAmount  int64  `json:"unit_amount"`
		Amount      int64  `json:"amount"`
	} `json:"lines"`
}

func createInvoice(t *testing.T, srv *httptest.Server, body any, header ...string) invoice {
	t.Helper()
	r := call(t, srv, "POST", "/invoices", body, header...)
	if r.status != http.StatusCreated {
		t.Fatalf("create invoice: %d %s", r.status, r.body)
	}
	var inv invoice
	r.decode(t, &inv)
	return inv
}

func invoiceBody(customer string) map[string]any {
	return map[string]any{"customer_id": customer, "currency": "EUR", "description": "November", "due_date": "2026-12-31",
		"metadata": map[string]string{"po": "42"},
		"lines": []map[string]any{{"description": "Seats", "quantity": 3, "unit_amount": 1250},
			{"description": "Setup", "quantity": 1, "unit_amount": 99}}}
}

// TestInvoiceLifecycle: a draft is created with its totals, edited while a
// draft, finalized, then refused edits, deletion and illegal transitions
// with 409 naming its status, and paid; lists filter by customer and
// status.
func TestInvoiceLifecycle(t *testing.T) {
	srv := newServer(t, "")
	c := create(t, srv, map[string]any{"name": "Ada"})
	inv := createInvoice(t, srv, invoiceBody(c.ID))
	if inv.Status != "draft" || inv.Currency != "eur" || inv.Total != 3849 || inv.AmountDue != 3849 ||
		inv.Lines[0].Amount != 3750 || inv.DueDate != "2026-12-31" || inv.Version != 1 {
		t.Fatalf("created %+v", inv)
	}

	r := call(t, srv, "PATCH", "/invoices/"+inv.ID, map[string]any{"lines": []map[string]any{
		{"description": "Seats", "quantity": 4, "unit_amount": 1250}}, "due_date": ""}, "If-Match", `"1"`)
	var edited invoice
	r.decode(t, &edited)
	if r.status != 200 || edited.Total != 5000 || len(edited.Lines) != 1 || edited.DueDate != "" || edited.Version != 2 {
		t.Fatalf("patch: %d %+v", r.status, edited)
	}
	if r := call(t, srv, "POST", "/invoices/"+inv.ID+"/finalize", nil, "If-Match", `"1"`); r.status != 412 {
		t.Fatalf("stale finalize: %d %s", r.status, r.body)
	}
	r = call(t, srv, "POST", "/invoices/"+inv.ID+"/finalize", nil)
	var open invoice
	r.decode(t, &open)
	if r.status != 200 || open.Status != "open" {
		t.Fatalf("finalize: %d %s", r.status, r.body)
	}
	for _, tc := range []struct{ method, path string }{
		{"PATCH", "/invoices/" + inv.ID},
		{"DELETE", "/invoices/" + inv.ID},
		{"POST", "/invoices/" + inv.ID + "/finalize"},
	} {
		var body any
		if tc.method == "PATCH" {
			body = map[string]any{"description": "late"}
		}
		r := call(t, srv, tc.method, tc.path, body)
		var p problem
		r.decode(t, &p)
		if r.status != 409 || !strings.Contains(p.Detail, "open") {
			t.Errorf("%s %s on an open invoice: %d %s, want 409 naming open", tc.method, tc.path, r.status, r.body)
		}
	}
	r = call(t, srv, "POST", "/invoices/"+inv.ID+"/pay", nil)
	var paid invoice
	r.decode(t, &paid)
	if r.status != 200 || paid.Status != "paid" || paid.AmountPaid != 5000 || paid.AmountRemaining != 0 {
		t.Fatalf("pay: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "POST", "/invoices/"+inv.ID+"/void", nil); r.status != 409 {
		t.Fatalf("void a paid invoice: %d %s", r.status, r.body)
	}

	// A second draft, deleted; lists.
	other := createInvoice(t, srv, invoiceBody(c.ID))
	if r := call(t, srv, "DELETE", "/invoices/"+other.ID, nil); r.status != 204 {
		t.Fatalf("delete draft: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "GET", "/invoices/"+other.ID, nil); r.status != 404 {
		t.Fatalf("get deleted: %d", r.status)
	}
	third := createInvoice(t, srv, invoiceBody(c.ID))
	var list struct {
		Data       []invoice `json:"data"`
		NextCursor string    `json:"next_cursor"`
	}
	call(t, srv, "GET", "/customers/"+c.ID+"/invoices?limit=1", nil).decode(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != inv.ID || list.NextCursor == "" {
		t.Fatalf("first page: %+v", list)
	}
	cursor := list.NextCursor
	list.NextCursor = ""
	call(t, srv, "GET", "/customers/"+c.ID+"/invoices?limit=1&cursor="+cursor, nil).decode(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != third.ID || list.NextCursor != "" {
		t.Fatalf("second page: %+v", list)
	}
	call(t, srv, "GET", "/invoices?status=paid", nil).decode(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != inv.ID {
		t.Fatalf("paid invoices: %+v", list)
	}
	var sync struct {
		Data []struct{ Integration, Kind string }
	}
	if r := call(t, srv, "GET", "/invoices/"+third.ID+"/sync", nil); r.status != 200 {
		t.Fatalf("sync: %d %s", r.status, r.body)
	} else {
		r.decode(t, &sync)
	}
	if sync.Data == nil || len(sync.Data) != 0 {
		t.Fatalf("sync of an invoice with no integration: %+v", sync.Data)
	}

	// Idempotent create.
	first := createInvoice(t, srv, invoiceBody(c.ID), "Idempotency-Key", "inv-1")
	r = call(t, srv, "POST", "/invoices", invoiceBody(c.ID), "Idempotency-Key", "inv-1")
	var again invoice
	r.decode(t, &again)
	if r.status != 201 || again.ID != first.ID || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
}

// TestInvoiceBadInput: each bad request answers 4xx problem+json naming
// the field, and stores nothing.
func TestInvoiceBadInput(t *testing.T) {
	srv := newServer(t, "")
	c := create(t, srv, map[string]any{"name": "Ada"})
	kept := createInvoice(t, srv, invoiceBody(c.ID))
	with := func(edit func(map[string]any)) map[string]any {
		b := invoiceBody(c.ID)
		edit(b)
		return b
	}
	line := func(q, u any) map[string]any {
		return with(func(b map[string]any) {
			b["lines"] = []map[string]any{{"description": "x", "quantity": q, "unit_amount": u}}
		})
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		location           string // "where: what" for a required property, named in the message
	}{
		{"no customer", "POST", "/invoices", with(func(b map[string]any) { delete(b, "customer_id") }), 422, "body: customer_id"},
		{"unknown customer", "POST", "/invoices", with(func(b map[string]any) { b["customer_id"] = "tdmc_nope" }), 422, "body.customer_id"},
		{"bad currency", "POST", "/invoices", with(func(b map[string]any) { b["currency"] = "e1r" }), 422, "body.currency"},
		{"currency too long", "POST", "/invoices", with(func(b map[string]any) { b["currency"] = "euro" }), 422, "body.currency"},
		{"bad due date", "POST", "/invoices", with(func(b map[string]any) { b["due_date"] = "31/12/2026" }), 422, "body.due_date"},
		{"zero quantity", "POST", "/invoices", line(0, 100), 422, "body.lines[0].quantity"},
		{"negative amount", "POST", "/invoices", line(1, -1), 422, "body.lines[0].unit_amount"},
		{"amount too large", "POST", "/invoices", line(1, 100000000), 422, "body.lines[0].unit_amount"},
		{"fractional amount", "POST", "/invoices", line(1, 12.5), 422, "body.lines[0].unit_amount"},
		{"line without description", "POST", "/invoices", with(func(b map[string]any) {
			b["lines"] = []map[string]any{{"quantity": 1, "unit_amount": 1}}
		}), 422, "body.lines[0]: description"},
		{"unknown field", "POST", "/invoices", with(func(b map[string]any) { b["total"] = 1 }), 422, "body.total"},
		{"bad status filter", "GET", "/invoices?status=late", nil, 422, "query.status"},
		{"customer cursor on invoices", "GET", "/invoices?cursor=YzE6dGRtY194", nil, 400, "query.cursor"},
		{"invoices of unknown customer", "GET", "/customers/tdmc_nope/invoices", nil, 404, ""},
		{"unknown invoice", "GET", "/invoices/tdmi_nope", nil, 404, ""},
		{"patch bad due date", "PATCH", "/invoices/" + kept.ID, map[string]any{"due_date": "soon"}, 422, "body.due_date"},
		{"patch customer", "PATCH", "/invoices/" + kept.ID, map[string]any{"customer_id": c.ID}, 422, "body.customer_id"},
		{"action on unknown invoice", "POST", "/invoices/tdmi_nope/void", nil, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, srv, tc.method, tc.path, tc.body)
			if r.status != tc.status || r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status = %d (%s), want %d problem+json: %s", r.status, r.header.Get("Content-Type"), tc.status, r.body)
			}
			if tc.location == "" {
				return
			}
			var p problem
			r.decode(t, &p)
			where, what, required := strings.Cut(tc.location, ": ")
			if !slices.ContainsFunc(p.Errors, func(e problemError) bool {
				return e.Location == where && (!required || strings.Contains(e.Message, "required property "+what))
			}) {
				t.Fatalf("errors = %+v, want one at %q: %s", p.Errors, tc.location, r.body)
			}
		})
	}
	var list struct{ Data []invoice }
	call(t, srv, "GET", "/invoices", nil).decode(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != kept.ID || list.Data[0].Version != 1 {
		t.Fatalf("after bad input the invoices are %+v", list.Data)
	}
}
