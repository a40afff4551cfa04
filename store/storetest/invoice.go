package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store/sqlstore"
)

// draft is an invoice of customer with two lines.
func draft(customer string) *tandem.Invoice {
	return &tandem.Invoice{CustomerID: customer, Currency: "EUR", Description: "November",
		DueDate: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Metadata: map[string]string{"po": "42"},
		Lines: []tandem.InvoiceLine{{Description: "Seats", Quantity: 3, UnitAmount: 1250}, {Description: "Setup", Quantity: 1, UnitAmount: 99}}}
}

// testInvoices: an invoice is created as a draft of a live customer with
// its totals, read back as stored, listed by customer and status in pages,
// edited with its totals recomputed, moved through its lifecycle, and
// deleted only as a draft; idempotent creates return the first result.
func testInvoices(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	ada, bob := mustCreate(t, e.st, &tandem.Customer{Name: "Ada"}), mustCreate(t, e.st, &tandem.Customer{Name: "Bob"})

	inv, replayed, err := e.st.CreateInvoice(ctx, draft(ada.ID), api)
	if err != nil || replayed {
		t.Fatalf("create: %v (replayed %v)", err, replayed)
	}
	if inv.Status != tandem.InvoiceDraft || inv.Version != 1 || inv.Currency != "eur" || inv.Total != 3849 ||
		inv.AmountDue != 3849 || inv.AmountRemaining != 3849 || inv.Lines[0].Amount != 3750 {
		t.Fatalf("created %+v", inv)
	}
	got, err := e.st.GetInvoice(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(inv, got); diff != "" {
		t.Fatalf("get differs from create (-create +get):\n%s", diff)
	}
	for name, customer := range map[string]string{"unknown": "tdmc_unknown", "not a customer id": "cus_123"} {
		_, _, err := e.st.CreateInvoice(ctx, draft(customer), api)
		wantField(t, err, "customer_id", name)
	}

	// Lists: by customer, by status, in pages.
	for range 2 {
		if _, _, err := e.st.CreateInvoice(ctx, draft(bob.ID), api); err != nil {
			t.Fatal(err)
		}
	}
	page, err := e.st.ListInvoices(ctx, tandem.InvoiceFilter{CustomerID: bob.ID, Limit: 1})
	if err != nil || len(page.Invoices) != 1 || page.Next == "" || page.Invoices[0].CustomerID != bob.ID {
		t.Fatalf("first page of Bob's = %+v, %v", page, err)
	}
	page, err = e.st.ListInvoices(ctx, tandem.InvoiceFilter{CustomerID: bob.ID, After: page.Next, Limit: 1})
	if err != nil || len(page.Invoices) != 1 || page.Next != "" {
		t.Fatalf("last page of Bob's = %+v, %v", page, err)
	}

	// Edits recompute the totals; the customer stays.
	edited, err := e.st.UpdateInvoice(ctx, inv.ID, api, func(i *tandem.Invoice) error {
		i.Lines = i.Lines[:1]
		i.CustomerID = bob.ID
		return nil
	})
	if err != nil || edited.Total != 3750 || edited.Version != 2 || edited.CustomerID != ada.ID {
		t.Fatalf("edit = %+v, %v", edited, err)
	}
	_, err = e.st.UpdateInvoice(ctx, inv.ID, tandem.Write{Origin: tandem.OriginAPI, IfVersion: 1}, func(*tandem.Invoice) error { return nil })
	wantCode(t, err, tandem.EPRECONDITION)
	_, err = e.st.UpdateInvoice(ctx, inv.ID, api, func(i *tandem.Invoice) error { i.Currency = "euro"; return nil })
	wantField(t, err, "currency", "bad currency")

	// The lifecycle: finalized, it cannot be deleted; paid, it is paid in full.
	act := func(a tandem.InvoiceAction) (*tandem.Invoice, error) {
		return e.st.UpdateInvoice(ctx, inv.ID, api, func(i *tandem.Invoice) error {
			next, err := i.Status.Next(a)
			i.Status = next
			return err
		})
	}
	if _, err := act(tandem.ActionFinalize); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.st.DeleteInvoice(ctx, inv.ID, api), tandem.ECONFLICT)
	_, err = act(tandem.ActionFinalize)
	wantCode(t, err, tandem.ECONFLICT)
	paid, err := act(tandem.ActionPay)
	if err != nil || paid.Status != tandem.InvoicePaid || paid.AmountPaid != 3750 || paid.AmountRemaining != 0 {
		t.Fatalf("pay = %+v, %v", paid, err)
	}
	page, err = e.st.ListInvoices(ctx, tandem.InvoiceFilter{Status: tandem.InvoicePaid})
	if err != nil || len(page.Invoices) != 1 || page.Invoices[0].ID != inv.ID {
		t.Fatalf("paid invoices = %+v, %v", page, err)
	}

	// A draft is deleted as a tombstone.
	page, _ = e.st.ListInvoices(ctx, tandem.InvoiceFilter{CustomerID: bob.ID})
	gone := page.Invoices[0].ID
	if err := e.st.DeleteInvoice(ctx, gone, api); err != nil {
		t.Fatal(err)
	}
	_, err = e.st.GetInvoice(ctx, gone)
	wantCode(t, err, tandem.ENOTFOUND)
	wantCode(t, e.st.DeleteInvoice(ctx, gone, api), tandem.ENOTFOUND)

	// Idempotent creates.
	w := tandem.Write{Origin: tandem.OriginAPI, IdempotencyKey: "invoices:k", RequestHash: "h"}
	first, _, err := e.st.CreateInvoice(ctx, draft(ada.ID), w)
	if err != nil {
		t.Fatal(err)
	}
	again, replayed, err := e.st.CreateInvoice(ctx, draft(ada.ID), w)
	if err != nil || !replayed || again.ID != first.ID {
		t.Fatalf("replay = %+v, %v, %v; want %s", again, replayed, err, first.ID)
	}
}

// testInvoicePushes: an invoice write enqueues a push to an integration
// that syncs invoices, and none to one that syncs customers only.
func testInvoicePushes(t *testing.T, open Opener) {
	for _, tc := range []struct {
		kinds []tandem.Kind
		jobs  int
	}{{nil, 1}, {[]tandem.Kind{tandem.KindCustomer}, 0}} {
		e := newEnv(t, open, false, func(o *sqlstore.Options) {
			if tc.kinds != nil {
				o.Kinds = map[string][]tandem.Kind{"test": tc.kinds}
			}
		})
		c := mustCreate(t, e.st, &tandem.Customer{Name: "Ada"})
		inv, _, err := e.st.CreateInvoice(context.Background(), draft(c.ID), api)
		if err != nil {
			t.Fatal(err)
		}
		if n := e.jobs(t, "available") - 1; n != tc.jobs { // less the customer's
			t.Errorf("kinds %v: %d invoice push jobs, want %d", tc.kinds, n, tc.jobs)
		}
		// The invoice's sync state names the integrations that sync it.
		links, err := e.st.Links(context.Background(), tandem.Ref{Kind: tandem.KindInvoice, ID: inv.ID})
		if err != nil || len(links) != tc.jobs {
			t.Errorf("kinds %v: links %+v, %v; want %d", tc.kinds, links, err, tc.jobs)
		}
	}
}

// wantField checks that err is EINVALID naming field.
func wantField(t *testing.T, err error, field, what string) {
	t.Helper()
	var te *tandem.Error
	if tandem.ErrorCode(err) != tandem.EINVALID || !errors.As(err, &te) || te.Field != field {
		t.Fatalf("%s: err = %v, want EINVALID naming %s", what, err, field)
	}
}
