package storetest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/syncer"
	"github.com/tandemsync/tandem/syncer/syncertest"
)

// eventually waits until cond holds, failing the test after wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(wait); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// linkOf returns the link of ref to "test".
func (e *env) linkOf(t *testing.T, ref tandem.Ref) *tandem.Link {
	t.Helper()
	links, err := e.st.Links(context.Background(), ref)
	if err != nil {
		t.Fatalf("links of %s: %v", ref.ID, err)
	}
	for _, l := range links {
		if l.Integration == "test" {
			return l
		}
	}
	t.Fatalf("%s has no link to test: %+v", ref.ID, links)
	return nil
}

// testInvoiceReads: the engine's reads (push state, lookups by remote id
// and by id, the walk, resync) carry invoices as they carry customers,
// with their links, tombstones included.
func testInvoiceReads(t *testing.T, open Opener) {
	e := newEnv(t, open, true, nil)
	ctx := context.Background()
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Ada"})
	a, _, err := e.st.CreateInvoice(ctx, draft(c.ID), api)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := e.st.CreateInvoice(ctx, draft(c.ID), api)
	if err != nil {
		t.Fatal(err)
	}
	refA, refB := tandem.Ref{Kind: tandem.KindInvoice, ID: a.ID}, tandem.Ref{Kind: tandem.KindInvoice, ID: b.ID}
	e.in.WaitVersion(t, wait, a.ID, 1)
	e.in.WaitVersion(t, wait, b.ID, 1)
	eventually(t, "both invoices synced", func() bool {
		return e.linkOf(t, refA).Status == tandem.LinkSynced && e.linkOf(t, refB).Status == tandem.LinkSynced
	})
	if err := e.st.DeleteInvoice(ctx, b.ID, api); err != nil {
		t.Fatal(err)
	}

	rec, link, err := e.st.PushState(ctx, "test", refA)
	if err != nil || rec.Invoice == nil || rec.Invoice.Total != a.Total || rec.Version != 1 || rec.Ref != refA ||
		link.RemoteID != "remote_"+a.ID {
		t.Fatalf("PushState = %+v, %+v, %v", rec, link, err)
	}
	byRemote, err := e.st.RecordsByRemoteID(ctx, "test", tandem.KindInvoice, []string{"remote_" + a.ID, "remote_" + c.ID})
	if err != nil || len(byRemote) != 1 || byRemote[0].Record.Ref != refA || byRemote[0].Record.Invoice.CustomerID != c.ID {
		t.Fatalf("RecordsByRemoteID = %+v, %v", byRemote, err)
	}
	byID, err := e.st.RecordsByID(ctx, "test", tandem.KindInvoice, []string{b.ID, c.ID})
	if err != nil || len(byID) != 1 || !byID[0].Record.Deleted || byID[0].Link == nil ||
		byID[0].Record.Invoice.Lines[0].Description != "Seats" {
		t.Fatalf("RecordsByID of a tombstone = %+v, %v", byID, err)
	}
	page, err := e.st.ScanRecords(ctx, "test", tandem.KindInvoice, "", 10)
	if err != nil || len(page) != 2 || page[0].Record.Ref.ID >= page[1].Record.Ref.ID || page[0].Record.Customer != nil {
		t.Fatalf("ScanRecords of invoices = %+v, %v", page, err)
	}
	_, err = e.st.ScanRecords(ctx, "test", tandem.Kind("order"), "", 10)
	wantCode(t, err, tandem.EINVALID)

	before := len(e.in.PushesOf(a.ID))
	if err := e.st.Resync(ctx, "test", refA, nil); err != nil {
		t.Fatal(err)
	}
	e.in.WaitFor(t, wait, "the resync's push", func([]syncertest.Push) bool { return len(e.in.PushesOf(a.ID)) > before })
}

// testInvoiceWaitsForCustomer: an invoice's push waits while its customer
// has no remote id: the integration is not called, no attempt is counted,
// nothing is parked, the link says why, and edits meanwhile coalesce. Once
// the customer's push records its remote id, the invoice goes at once (not
// when its wait ends), with its customer's link, in its latest state.
func testInvoiceWaitsForCustomer(t *testing.T, open Opener) {
	for _, how := range []string{"by its push", "by an inbound change"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			testInvoiceWaitsForCustomerLinked(t, open, how == "by its push")
		})
	}
}

// testInvoiceWaitsForCustomerLinked is testInvoiceWaitsForCustomer with
// the customer linked by its push, which hangs until then, or else by an
// inbound change (a link-up) while its push waits for an hour, as a
// provider can ask (an inbound change waits for a push in flight).
func testInvoiceWaitsForCustomerLinked(t *testing.T, open Opener, byPush bool) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	release := make(chan struct{})
	e.in.Hold = func(ctx context.Context, rec *tandem.Record) {
		if rec.Customer != nil && byPush {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}
	e.in.Fail = func(req *tandem.PushRequest) error {
		if req.Record.Customer != nil && !byPush {
			return &tandem.ProviderError{Class: tandem.RetryLater, Delay: time.Hour, Err: errors.New("come back later")}
		}
		return nil
	}
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Ada"})
	inv, _, err := e.st.CreateInvoice(ctx, draft(c.ID), api)
	if err != nil {
		t.Fatal(err)
	}
	ref := tandem.Ref{Kind: tandem.KindInvoice, ID: inv.ID}
	e.start(t)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before the store stops

	// Waiting: each look at the customer notes the wait on the link; after
	// three, the job waits 4 seconds (snoozed; once it is no longer running,
	// the customer's link can wake it). It is never attempted.
	want := "waits for customer " + c.ID + " to reach test"
	looks := map[time.Time]bool{}
	eventually(t, "the invoice's push to wait three times", func() bool {
		var state string
		var attempt int
		err := e.raw.QueryRow(ctx, `SELECT state, attempt FROM river_job
			WHERE kind = 'push' AND CAST(args AS TEXT) LIKE $1`, "%"+inv.ID+"%").Scan(&state, &attempt)
		if err != nil {
			t.Fatalf("read the invoice's job: %v", err)
		}
		if state != "running" && attempt != 0 {
			t.Fatalf("a waiting push counted attempt %d (%s)", attempt, state)
		}
		if l := e.linkOf(t, ref); l.LastError == want {
			looks[l.UpdatedAt] = true
		}
		return len(looks) >= 3 && state != "running"
	})
	if l := e.linkOf(t, ref); l.Status != tandem.LinkPending || l.LastError != want || l.Attempts != 0 {
		t.Fatalf("link of the waiting invoice = %+v, want pending with %q", l, want)
	}
	for _, d := range []string{"v2", "v3"} {
		if _, err := e.st.UpdateInvoice(ctx, inv.ID, api, func(i *tandem.Invoice) error { i.Description = d; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.in.PushesOf(inv.ID)); n != 0 {
		t.Fatalf("the invoice was pushed %d times before its customer", n)
	}

	customerRemoteID := "remote_" + c.ID
	if byPush {
		free()
	} else {
		customerRemoteID = "cus_linked"
		eventually(t, "the customer linked by an inbound change", func() bool {
			err := e.st.ConfirmLink(ctx, tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID}, 0, tandem.Write{Origin: "test",
				Link: &tandem.LinkUpdate{RemoteID: customerRemoteID}})
			if err != nil && tandem.ErrorCode(err) != tandem.EPRECONDITION { // its push in flight: again
				t.Fatal(err)
			}
			return err == nil
		})
	}
	// Well before its next look at the customer.
	e.in.WaitVersion(t, 3*time.Second, inv.ID, 3)
	pushes := e.in.PushesOf(inv.ID)
	if len(pushes) != 1 || pushes[0].CustomerRemoteID != customerRemoteID {
		t.Fatalf("invoice pushes = %+v, want one of version 3 with the customer's remote id", pushes)
	}
	eventually(t, "the invoice synced", func() bool {
		l := e.linkOf(t, ref)
		return l.Status == tandem.LinkSynced && l.LastError == ""
	})
	if e.in.Overlaps() != 0 {
		t.Fatalf("%d overlapping pushes", e.in.Overlaps())
	}
}

// deliverNew delivers a record born remotely and returns the local record
// it became, once its write-back is recorded.
func (e *env) deliverNew(t *testing.T, ch *tandem.RemoteChange) tandem.Ref {
	t.Helper()
	e.deliver(t, ch)
	var ref tandem.Ref
	eventually(t, ch.RemoteID+" created here", func() bool {
		l, err := e.st.LinkByRemoteID(context.Background(), "test", ch.Kind, ch.RemoteID)
		if err == nil {
			ref = l.Ref
		}
		return err == nil && l.SyncedVersion == 1
	})
	return ref
}

// testInvoiceOfDeletedCustomerParks: an invoice whose customer was deleted
// before it reached the integration will never go: its push is parked,
// not left waiting.
func testInvoiceOfDeletedCustomerParks(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	e.in.Fail = func(req *tandem.PushRequest) error {
		if req.Record.Customer != nil {
			return &tandem.ProviderError{Class: tandem.Permanent, Err: errors.New("rejected")}
		}
		return nil
	}
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Ada"})
	inv, _, err := e.st.CreateInvoice(ctx, draft(c.ID), api)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteCustomer(ctx, c.ID, api); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	ref := tandem.Ref{Kind: tandem.KindInvoice, ID: inv.ID}
	eventually(t, "the invoice parked", func() bool { return e.linkOf(t, ref).Status == tandem.LinkFailed })
	if l := e.linkOf(t, ref); !strings.Contains(l.LastError, "customer "+c.ID+" was deleted before it reached test") {
		t.Fatalf("parked link = %+v", l)
	}
	if n := len(e.in.PushesOf(inv.ID)); n != 0 {
		t.Fatalf("the invoice was pushed %d times", n)
	}
}

// remoteInvoice is an invoice of remote customer cus_1 as the test
// integration reports it: in_<n>, carrying localID when it is ours.
func remoteInvoice(remoteID, localID string, watermark int64, status tandem.InvoiceStatus, quantity int64) *tandem.RemoteChange {
	inv := draft("")
	inv.CustomerID, inv.Status = "", status
	inv.Lines = inv.Lines[:1]
	inv.Lines[0].Quantity = quantity
	inv.ComputeTotals()
	inv.Currency = "eur"
	if status != tandem.InvoiceDraft {
		inv.Number = "INV-" + remoteID
	}
	return &tandem.RemoteChange{Kind: tandem.KindInvoice, RemoteID: remoteID, LocalID: localID, Watermark: watermark,
		CustomerRemoteID: "cus_1", Fields: tandem.Fields{Invoice: inv}}
}

// testApplyInvoices: invoices from the integration are applied like
// customers, under the local customer linked to theirs (brought in first
// when there is none); the integration owns the status and number; a
// finalized invoice that differs from a local edit is a conflict on the
// link that keeps the finalized lines; a local status ahead is kept and
// pushed; deletes remove drafts only; old news is ignored, and news that
// cannot be ordered is fetched.
func testApplyInvoices(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	// The local edit below (7 seats) is never pushed: the provider refuses
	// to edit the invoice it finalized.
	e.in.Fail = func(req *tandem.PushRequest) error {
		if inv := req.Record.Invoice; inv != nil && len(inv.Lines) > 0 && inv.Lines[0].Quantity == 7 {
			return &tandem.ProviderError{Class: tandem.Permanent, Err: errors.New("the invoice is finalized")}
		}
		return nil
	}
	e.start(t)
	e.src.setRemote(&tandem.RemoteChange{Kind: tandem.KindCustomer, RemoteID: "cus_1", Watermark: 1,
		Fields: tandem.Fields{Customer: &tandem.Customer{Name: "Remote Ada", Email: "ada@example.com"}}})

	// Born there, for a customer unknown here: the customer comes first.
	ref := e.deliverNew(t, remoteInvoice("in_1", "", 100, tandem.InvoiceDraft, 3))
	local, err := e.st.GetInvoice(ctx, ref.ID)
	if err != nil || local.Lines[0].Quantity != 3 || local.Status != tandem.InvoiceDraft {
		t.Fatalf("invoice created here = %+v, %v", local, err)
	}
	customerLink, err := e.st.LinkByRemoteID(ctx, "test", tandem.KindCustomer, "cus_1")
	if err != nil || customerLink.Ref.ID != local.CustomerID {
		t.Fatalf("customer link = %+v, %v; invoice's customer %s", customerLink, err, local.CustomerID)
	}
	if c, err := e.st.GetCustomer(ctx, local.CustomerID); err != nil || c.Name != "Remote Ada" {
		t.Fatalf("customer brought in = %+v, %v", c, err)
	}
	// Written back once, to carry Tandem's id, with its customer's link.
	if ps := e.in.PushesOf(local.ID); len(ps) != 1 || ps[0].CustomerRemoteID != "cus_1" {
		t.Fatalf("pushes of the invoice = %+v, want its write-back with the customer's remote id", ps)
	}

	// A local edit of the draft races its finalization there: the
	// finalized lines are kept, and the link shows the conflict.
	if _, err := e.st.UpdateInvoice(ctx, local.ID, api, func(i *tandem.Invoice) error {
		i.Lines[0].Quantity = 7
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, remoteInvoice("in_1", local.ID, 200, tandem.InvoiceOpen, 3))
	eventually(t, "the finalization applied", func() bool {
		inv, err := e.st.GetInvoice(ctx, local.ID)
		return err == nil && inv.Status == tandem.InvoiceOpen
	})
	inv, _ := e.st.GetInvoice(ctx, local.ID)
	if inv.Number != "INV-in_1" || inv.Lines[0].Quantity != 3 || inv.Total != 3750 {
		t.Fatalf("finalized invoice here = %+v, want the integration's number and lines", inv)
	}
	l := e.linkOf(t, ref)
	if l.Status != tandem.LinkConflict || !strings.Contains(l.LastError, "lines") || !strings.Contains(l.LastError, "total") {
		t.Fatalf("link after the finalization = %+v, want a conflict naming lines and total", l)
	}

	// Older news changes nothing; news of the same tick is fetched.
	old := remoteInvoice("in_1", local.ID, 150, tandem.InvoiceOpen, 3)
	old.Invoice.Description = "Old"
	e.deliver(t, old)
	fetched := e.src.setRemote(remoteInvoice("in_1", local.ID, 200, tandem.InvoiceOpen, 3))
	fetched.Invoice.Description = "Fetched"
	e.src.setRemote(fetched)
	tie := remoteInvoice("in_1", local.ID, 200, tandem.InvoiceOpen, 3)
	tie.Invoice.Description = "Event"
	e.deliver(t, tie)
	eventually(t, "the fetched state applied", func() bool {
		inv, err := e.st.GetInvoice(ctx, local.ID)
		return err == nil && inv.Description != draft("").Description
	})
	if inv, _ := e.st.GetInvoice(ctx, local.ID); inv.Description != "Fetched" {
		t.Fatalf("description = %q, want the fetched one", inv.Description)
	}

	// Deleted there: a finalized invoice here is kept, as a conflict.
	e.deliver(t, &tandem.RemoteChange{Kind: tandem.KindInvoice, RemoteID: "in_1", Deleted: true, Watermark: 300})
	eventually(t, "the delete of a finalized invoice refused", func() bool {
		return strings.Contains(e.linkOf(t, ref).LastError, "deleted in test while open here")
	})
	if _, err := e.st.GetInvoice(ctx, local.ID); err != nil {
		t.Fatalf("finalized invoice after a remote delete: %v", err)
	}

	// A draft deleted there is deleted here; its customer is linked now.
	second := e.deliverNew(t, remoteInvoice("in_2", "", 100, tandem.InvoiceDraft, 1))
	e.deliver(t, &tandem.RemoteChange{Kind: tandem.KindInvoice, RemoteID: "in_2", Deleted: true, Watermark: 300})
	eventually(t, "the draft deleted here", func() bool {
		_, err := e.st.GetInvoice(ctx, second.ID)
		return tandem.ErrorCode(err) == tandem.ENOTFOUND
	})

	// Paid here, still open there: the local status is ahead, so it is
	// kept (and pushed).
	third := e.deliverNew(t, remoteInvoice("in_3", "", 100, tandem.InvoiceOpen, 1))
	paid, err := e.st.UpdateInvoice(ctx, third.ID, api, func(i *tandem.Invoice) error {
		i.Status = tandem.InvoicePaid
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(t, remoteInvoice("in_3", third.ID, 200, tandem.InvoiceOpen, 1))
	eventually(t, "the open invoice's news applied", func() bool { return e.linkOf(t, third).Watermark == 200 })
	if inv, err := e.st.GetInvoice(ctx, third.ID); err != nil || inv.Status != tandem.InvoicePaid || inv.AmountPaid != inv.Total {
		t.Fatalf("paid invoice after news of it open there = %+v, %v", inv, err)
	}
	e.in.WaitVersion(t, wait, third.ID, paid.Version)

	page, err := e.st.ListCustomers(ctx, tandem.CustomerFilter{})
	if err != nil || len(page.Customers) != 1 {
		t.Fatalf("customers = %+v, %v; want the one brought in, once", page, err)
	}
}

// testReconcileInvoices: reconciliation walks invoices after customers: an
// invoice only the integration holds is created here under its customer
// (created first), and one only held here is pushed once its customer is.
func testReconcileInvoices(t *testing.T, open Opener) {
	e := newEnv(t, open, true, nil)
	ctx := context.Background()
	e.src.setRemote(&tandem.RemoteChange{Kind: tandem.KindCustomer, RemoteID: "cus_1", Watermark: 1,
		Fields: tandem.Fields{Customer: &tandem.Customer{Name: "Remote Ada"}}})
	e.src.setRemote(remoteInvoice("in_1", "", 100, tandem.InvoiceOpen, 2))

	run, err := e.st.StartReconcile(ctx, "test", false, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sy.Reconcile(ctx, run, syncer.ReconcileOptions{}); err != nil {
		t.Fatalf("reconcile: %v (%+v)", err, run)
	}
	if got := run.Progress.Repairs[tandem.RepairCreateLocal]; got != 2 || run.Progress.RemoteScanned != 2 {
		t.Fatalf("repairs %v after scanning %d remote records; want both created here", run.Progress.Repairs, run.Progress.RemoteScanned)
	}
	customer, err := e.st.LinkByRemoteID(ctx, "test", tandem.KindCustomer, "cus_1")
	if err != nil {
		t.Fatal(err)
	}
	invoice, err := e.st.LinkByRemoteID(ctx, "test", tandem.KindInvoice, "in_1")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := e.st.GetInvoice(ctx, invoice.Ref.ID)
	if err != nil || inv.CustomerID != customer.Ref.ID || inv.Status != tandem.InvoiceOpen || inv.Number != "INV-in_1" {
		t.Fatalf("invoice created here = %+v, %v; want the open invoice of %s", inv, err, customer.Ref.ID)
	}

	// Only here (written as if from the integration, so that no push
	// follows): pushed by the next run.
	local, _, err := e.st.CreateInvoice(ctx, draft(customer.Ref.ID), tandem.Write{Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	run, err = e.st.StartReconcile(ctx, "test", false, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sy.Reconcile(ctx, run, syncer.ReconcileOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := run.Progress.Repairs[tandem.RepairCreateRemote]; got != 1 {
		t.Fatalf("repairs %v; want the local invoice pushed", run.Progress.Repairs)
	}
	e.in.WaitVersion(t, wait, local.ID, 1)
}
