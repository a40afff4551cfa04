package stripe

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tandemsync/tandem"
	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

// invoiceFixture is an emulated Stripe with one customer, and a local
// invoice of that customer with its link, pushed as the engine pushes: the
// intent saved on the link, the link updated after each success.
type invoiceFixture struct {
	t        testing.TB
	em       *emulator.Emulator
	url      string
	c        *Connector
	customer *tandem.Link
	rec      *tandem.Record
	link     *tandem.Link
}

func newInvoiceFixture(t testing.TB, inv *tandem.Invoice) *invoiceFixture {
	t.Helper()
	em, err := emulator.New(emulator.Config{SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em)
	t.Cleanup(func() { srv.Close(); _ = em.Close() })
	cust, err := em.Dashboard().CreateCustomer(emulator.CustomerParams{Name: ptrTo("Ada Lovelace")})
	if err != nil {
		t.Fatal(err)
	}
	inv.ID = "tdmi_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	inv.CustomerID = "tdmc_ada"
	if inv.Status == "" {
		inv.Status = tandem.InvoiceDraft
	}
	inv.ComputeTotals()
	c, _ := newObservedConnector(t, srv.URL, nil)
	return &invoiceFixture{t: t, em: em, url: srv.URL, c: c,
		customer: &tandem.Link{Integration: Name, RemoteID: cust.ID},
		rec:      &tandem.Record{Ref: tandem.Ref{Kind: tandem.KindInvoice, ID: inv.ID}, Version: 1, Fields: tandem.Fields{Invoice: inv}},
		link:     &tandem.Link{Integration: Name, Ref: tandem.Ref{Kind: tandem.KindInvoice, ID: inv.ID}}}
}

func ptrTo[T any](v T) *T { return &v }

// push pushes the record's current state with c and records the outcome on
// the link as the engine does.
func (f *invoiceFixture) push(c *Connector) error {
	req := &tandem.PushRequest{Record: f.rec, Link: f.link, CustomerLink: f.customer,
		SaveIntent: func(_ context.Context, intent []byte) error {
			f.link.Intent = intent
			return nil
		}}
	res, err := c.Push(context.Background(), req)
	if err != nil {
		return err
	}
	f.link.RemoteID, f.link.Base, f.link.Intent = res.RemoteID, res.Base, nil
	return nil
}

// mustPush pushes and fails the test on an error.
func (f *invoiceFixture) mustPush() {
	f.t.Helper()
	if err := f.push(f.c); err != nil {
		f.t.Fatalf("push v%d: %v", f.rec.Version, err)
	}
}

// edit makes a new local version.
func (f *invoiceFixture) edit(change func(*tandem.Invoice)) {
	next := *f.rec.Invoice
	next.Lines = append([]tandem.InvoiceLine(nil), next.Lines...)
	change(&next)
	next.ComputeTotals()
	f.rec = &tandem.Record{Ref: f.rec.Ref, Version: f.rec.Version + 1, Fields: tandem.Fields{Invoice: &next}}
}

// stripe is the invoice as the emulator holds it.
func (f *invoiceFixture) stripe() emulator.Invoice {
	f.t.Helper()
	inv, ok := f.em.Invoice(f.link.RemoteID)
	if !ok {
		f.t.Fatalf("no invoice %q in Stripe", f.link.RemoteID)
	}
	return inv
}

// wantLines fails the test unless Stripe's invoice has exactly these lines.
func (f *invoiceFixture) wantLines(want ...tandem.InvoiceLine) {
	f.t.Helper()
	var got []tandem.InvoiceLine
	for _, it := range f.stripe().Lines {
		got = append(got, tandem.InvoiceLine{Description: it.Description, Quantity: it.Quantity,
			UnitAmount: int64(it.UnitAmount), Amount: it.Amount})
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		f.t.Fatalf("Stripe's lines (-want +got):\n%s", diff)
	}
}

// wantBase fails the test unless the link's base, as a snapshot, holds the
// local invoice's fields and what Stripe gave it.
func (f *invoiceFixture) wantBase() *tandem.Invoice {
	f.t.Helper()
	snap, err := f.c.Snapshot(tandem.KindInvoice, f.link.Base)
	if err != nil {
		f.t.Fatal(err)
	}
	if snap.Invoice == nil || snap.Customer != nil {
		f.t.Fatalf("snapshot %+v: want an invoice only", snap)
	}
	want := *f.rec.Invoice
	want.ID, want.CustomerID, want.Version = "", "", 0
	want.Number, want.HostedInvoiceURL = snap.Invoice.Number, snap.Invoice.HostedInvoiceURL
	if diff := cmp.Diff(&want, snap.Invoice, cmpopts.EquateEmpty()); diff != "" {
		f.t.Fatalf("base (-local +snapshot):\n%s", diff)
	}
	return snap.Invoice
}

var (
	consulting = tandem.InvoiceLine{Description: "Consulting", Quantity: 3, UnitAmount: 12_500}
	travel     = tandem.InvoiceLine{Description: "Travel", Quantity: 1, UnitAmount: 4_250}
	hosting    = tandem.InvoiceLine{Description: "Hosting", Quantity: 12, UnitAmount: 999}
)

func withAmount(l tandem.InvoiceLine) tandem.InvoiceLine {
	l.Amount = l.Quantity * l.UnitAmount
	return l
}

func TestPushInvoiceCreate(t *testing.T) {
	due := time.Now().AddDate(0, 1, 0).UTC().Truncate(24 * time.Hour)
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Description: "October", DueDate: due,
		Metadata: map[string]string{"po": "4711"}, Lines: []tandem.InvoiceLine{consulting, travel}})
	f.mustPush()
	inv := f.stripe()
	if inv.Customer != f.customer.RemoteID || inv.Currency != "eur" || inv.Description != "October" ||
		inv.DueDate != due.Unix() || inv.CollectionMethod != "send_invoice" || inv.AutoAdvance ||
		inv.Status != emulator.InvoiceDraft {
		t.Fatalf("Stripe's invoice: %+v", inv)
	}
	if diff := cmp.Diff(map[string]string{"po": "4711", MetadataKey: f.rec.Ref.ID}, inv.Metadata); diff != "" {
		t.Fatalf("metadata (-want +got):\n%s", diff)
	}
	f.wantLines(withAmount(consulting), withAmount(travel))
	for _, it := range inv.Lines {
		if it.Metadata[MetadataKey] != f.rec.Ref.ID {
			t.Fatalf("item %s metadata %v: want the invoice's tandem_id", it.ID, it.Metadata)
		}
	}
	base := f.wantBase()
	if base.Total != 3*12_500+4_250 || base.AmountDue != base.Total || base.AmountRemaining != base.Total {
		t.Fatalf("amounts in the base: %+v", base)
	}
	for _, r := range f.em.Requests() {
		if r.Method != http.MethodGet && !strings.HasPrefix(r.IdempotencyKey, "tandem:invoice:"+f.rec.Ref.ID+":") {
			t.Fatalf("%s %s with key %q", r.Method, r.Path, r.IdempotencyKey)
		}
	}
}

// TestPushInvoiceWithoutDueDate: no due date is automatic collection, and a
// due date added or removed later switches the collection method.
func TestPushInvoiceDueDate(t *testing.T) {
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "usd", Lines: []tandem.InvoiceLine{travel}})
	f.mustPush()
	if inv := f.stripe(); inv.CollectionMethod != "charge_automatically" || inv.DueDate != 0 {
		t.Fatalf("without a due date: %s, due %d", inv.CollectionMethod, inv.DueDate)
	}
	due := time.Now().AddDate(0, 0, 14).UTC().Truncate(24 * time.Hour)
	f.edit(func(inv *tandem.Invoice) { inv.DueDate = due })
	f.mustPush()
	if inv := f.stripe(); inv.CollectionMethod != "send_invoice" || inv.DueDate != due.Unix() {
		t.Fatalf("with a due date: %s, due %d", inv.CollectionMethod, inv.DueDate)
	}
	f.wantBase()
	f.edit(func(inv *tandem.Invoice) { inv.DueDate = time.Time{} })
	f.mustPush()
	if inv := f.stripe(); inv.CollectionMethod != "charge_automatically" || inv.DueDate != 0 {
		t.Fatalf("due date removed: %s, due %d", inv.CollectionMethod, inv.DueDate)
	}
	f.wantBase()
}

func TestPushInvoiceEditLines(t *testing.T) {
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Description: "October",
		Metadata: map[string]string{"po": "4711", "team": "a"}, Lines: []tandem.InvoiceLine{consulting, travel}})
	f.mustPush()
	firstItem := f.stripe().Lines[0].ID

	changed := consulting
	changed.Quantity = 5
	f.edit(func(inv *tandem.Invoice) {
		inv.Description = "October and November"
		inv.Metadata = map[string]string{"po": "4712"}
		inv.Lines = []tandem.InvoiceLine{changed, hosting, travel}
	})
	f.mustPush()
	inv := f.stripe()
	f.wantLines(withAmount(changed), withAmount(hosting), withAmount(travel))
	if inv.Lines[0].ID != firstItem {
		t.Fatalf("the changed line is item %s, want %s changed in place", inv.Lines[0].ID, firstItem)
	}
	if inv.Description != "October and November" || inv.Metadata["po"] != "4712" || inv.Metadata["team"] != "" {
		t.Fatalf("details: %q %v", inv.Description, inv.Metadata)
	}
	f.wantBase()

	f.edit(func(inv *tandem.Invoice) { inv.Lines = []tandem.InvoiceLine{travel} })
	f.mustPush()
	f.wantLines(withAmount(travel))
	live := 0
	for _, it := range f.em.InvoiceItems() {
		if !it.Deleted {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d live invoice items, want the one of the line left", live)
	}
	f.wantBase()

	// Nothing changed: no write at all.
	before := len(f.em.Requests())
	f.edit(func(*tandem.Invoice) {})
	f.mustPush()
	for _, r := range f.em.Requests()[before:] {
		if r.Method != http.MethodGet {
			t.Fatalf("an unchanged invoice made %s %s", r.Method, r.Path)
		}
	}
}

// TestPushInvoiceLifecycle: a local status ahead of Stripe's is reached by
// the lifecycle calls in order, from the first push on.
func TestPushInvoiceLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []tandem.InvoiceStatus // pushed one after the other
		paths []string               // Stripe's lifecycle endpoints called
	}{
		{"paid before the first push", []tandem.InvoiceStatus{tandem.InvoicePaid}, []string{"finalize", "pay"}},
		{"open, then uncollectible, then void", []tandem.InvoiceStatus{tandem.InvoiceOpen, tandem.InvoiceUncollectible, tandem.InvoiceVoid},
			[]string{"finalize", "mark_uncollectible", "void"}},
		{"draft, then void", []tandem.InvoiceStatus{tandem.InvoiceDraft, tandem.InvoiceVoid}, []string{"finalize", "void"}},
		{"uncollectible, then paid", []tandem.InvoiceStatus{tandem.InvoiceUncollectible, tandem.InvoicePaid},
			[]string{"finalize", "mark_uncollectible", "pay"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Status: tc.steps[0], Lines: []tandem.InvoiceLine{consulting}})
			for i, status := range tc.steps {
				if i > 0 {
					f.edit(func(inv *tandem.Invoice) { inv.Status = status })
				}
				f.mustPush()
				if got := f.stripe().Status; string(got) != string(status) {
					t.Fatalf("Stripe's status %s, want %s", got, status)
				}
				base := f.wantBase()
				if status != tandem.InvoiceDraft && (base.Number == "" || base.HostedInvoiceURL == "") {
					t.Fatalf("a finalized invoice without number or URL in the base: %+v", base)
				}
			}
			var paths []string
			for _, r := range f.em.Requests() {
				if action, ok := strings.CutPrefix(r.Path, "/v1/invoices/"+f.link.RemoteID+"/"); ok && r.Method == http.MethodPost {
					paths = append(paths, action)
				}
			}
			if diff := cmp.Diff(tc.paths, paths); diff != "" {
				t.Fatalf("lifecycle calls (-want +got):\n%s", diff)
			}
			if inv := f.stripe(); inv.Status == emulator.InvoicePaid && !inv.PaidOutOfBand {
				t.Fatal("paid, but not out of band")
			}
		})
	}
}

// TestPushInvoiceStripeAhead: a status Stripe has moved past is no call;
// a finalized invoice Stripe refuses to edit is a permanent failure with
// Stripe's message.
func TestPushInvoiceStripeAhead(t *testing.T) {
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Lines: []tandem.InvoiceLine{consulting}})
	f.mustPush()
	if _, err := f.em.Dashboard().FinalizeInvoice(f.link.RemoteID); err != nil {
		t.Fatal(err)
	}
	f.link.Base = nil // the engine has not heard of it yet: the push reads Stripe
	f.edit(func(inv *tandem.Invoice) { inv.Metadata = map[string]string{"po": "1"} })
	f.mustPush()
	if got := f.stripe(); got.Status != emulator.InvoiceOpen || got.Metadata["po"] != "1" {
		t.Fatalf("Stripe's invoice %s, metadata %v", got.Status, got.Metadata)
	}

	f.edit(func(inv *tandem.Invoice) { inv.Lines = []tandem.InvoiceLine{travel} })
	var pe *tandem.ProviderError
	if err := f.push(f.c); !errors.As(err, &pe) || pe.Class != tandem.Permanent || !strings.Contains(err.Error(), "open") {
		t.Fatalf("editing a finalized invoice: %v, want a permanent failure naming its status", err)
	}
}

// TestPushInvoiceFinalizedRefused: Stripe's own refusal to edit what
// finalization froze is permanent, with its message.
func TestPushInvoiceFinalizedRefused(t *testing.T) {
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Lines: []tandem.InvoiceLine{consulting}})
	f.mustPush()
	if _, err := f.em.Dashboard().FinalizeInvoice(f.link.RemoteID); err != nil {
		t.Fatal(err)
	}
	// The base still says draft: the push edits, Stripe refuses.
	f.edit(func(inv *tandem.Invoice) { inv.Description = "too late" })
	err := f.push(f.c)
	var pe *tandem.ProviderError
	if !errors.As(err, &pe) || pe.Class != tandem.Permanent || !strings.Contains(err.Error(), "Finalized invoices can't be updated") {
		t.Fatalf("push: %v, want Stripe's refusal as a permanent failure", err)
	}
}

func TestPushInvoiceDelete(t *testing.T) {
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Lines: []tandem.InvoiceLine{consulting}})
	f.mustPush()
	id := f.link.RemoteID
	f.edit(func(*tandem.Invoice) {})
	f.rec.Deleted = true
	f.mustPush()
	if inv, _ := f.em.Invoice(id); !inv.Deleted {
		t.Fatal("the draft is still in Stripe")
	}
	f.edit(func(*tandem.Invoice) {})
	f.rec.Deleted = true
	f.mustPush() // already gone: fine

	never := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur"})
	never.rec.Deleted = true
	never.mustPush()
	if n := len(never.em.Invoices()); n != 0 {
		t.Fatalf("a draft deleted before its first push made %d invoices", n)
	}
}

func TestPushInvoiceWaitsForCustomer(t *testing.T) {
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur"})
	f.customer = &tandem.Link{}
	var pe *tandem.ProviderError
	if err := f.push(f.c); !errors.As(err, &pe) || pe.Class == tandem.Permanent {
		t.Fatalf("push without the customer in Stripe: %v, want a retry", err)
	}
}

// lossyTransport loses the answer to the nth write: Stripe makes the
// change, the connector hears nothing (a crash, a timeout).
type lossyTransport struct {
	n      int64
	writes atomic.Int64
}

func (l *lossyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method != http.MethodGet && l.writes.Add(1) == l.n {
		_ = res.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return res, err
}

// TestPushInvoiceUnknownOutcome loses the answer to each write of a push
// in turn, as a crash there would, and pushes again with a new connector,
// as after a restart: the invoice exists once, each line once, and the
// lifecycle went through once; also when the draft changed before the
// retry.
func TestPushInvoiceUnknownOutcome(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status tandem.InvoiceStatus
		writes int64
		change func(*tandem.Invoice) // before the retry; nil for none
	}{
		{"finalized before its first push", tandem.InvoiceOpen, 5, nil}, // create, three items, finalize
		{"draft changed before the retry", tandem.InvoiceDraft, 4, func(inv *tandem.Invoice) {
			inv.Description = "changed meanwhile"
			inv.Lines = []tandem.InvoiceLine{travel, consulting}
			inv.Status = tandem.InvoiceOpen
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n := int64(1); n <= tc.writes; n++ {
				f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Status: tc.status,
					Lines: []tandem.InvoiceLine{consulting, travel, hosting}})
				lossy, _ := newObservedConnector(t, f.url, &http.Client{Transport: &lossyTransport{n: n}})
				if err := f.push(lossy); class(err) != tandem.Retry {
					t.Fatalf("write %d lost: %v, want a retry", n, err)
				}
				if f.link.Intent == nil {
					t.Fatalf("write %d lost: no intent saved", n)
				}
				if tc.change != nil {
					f.edit(tc.change)
				}
				f.mustPush()
				f.assertOnce(n)
				if got := f.stripe().Description; got != f.rec.Invoice.Description {
					t.Fatalf("write %d lost: description %q, want %q", n, got, f.rec.Invoice.Description)
				}
			}
		})
	}
}

// TestPushInvoiceCurrencyChange: Stripe cannot change an invoice's
// currency, so a new draft replaces the old one, which is deleted; also
// when the answer to any write of that push is lost.
func TestPushInvoiceCurrencyChange(t *testing.T) {
	const writes = 4 // create, two items, delete the old draft
	for n := int64(0); n <= writes; n++ {
		f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Lines: []tandem.InvoiceLine{consulting, travel}})
		f.mustPush()
		old := f.link.RemoteID
		f.edit(func(inv *tandem.Invoice) { inv.Currency = "usd" })
		if n > 0 {
			lossy, _ := newObservedConnector(t, f.url, &http.Client{Transport: &lossyTransport{n: n}})
			if err := f.push(lossy); class(err) != tandem.Retry {
				t.Fatalf("write %d lost: %v, want a retry", n, err)
			}
		}
		f.mustPush()
		if f.link.RemoteID == old {
			t.Fatal("the draft kept its Stripe invoice")
		}
		if inv, _ := f.em.Invoice(old); !inv.Deleted {
			t.Fatalf("write %d lost: the old draft is still in Stripe", n)
		}
		live := 0
		for _, inv := range f.em.Invoices() {
			if !inv.Deleted {
				live++
			}
		}
		if live != 1 || f.stripe().Currency != "usd" {
			t.Fatalf("write %d lost: %d live invoices, currency %s", n, live, f.stripe().Currency)
		}
		f.wantLines(withAmount(consulting), withAmount(travel))
		f.wantBase()
	}
}

// TestPushInvoiceEditsAmbiguous: Stripe makes each change and answers 500
// (and replays the 500 for its key). The draft a new one replaces carries
// the same tandem_id, and is never taken for the new one when the create's
// outcome is unknown; edits and deletes find out what happened too.
func TestPushInvoiceEditsAmbiguous(t *testing.T) {
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Lines: []tandem.InvoiceLine{consulting}})
	f.mustPush()
	old := f.link.RemoteID
	f.edit(func(inv *tandem.Invoice) { inv.Currency = "usd" })
	if err := f.em.SetFaults(emulator.Faults{FailAfterApply: emulator.Chance{Every: 1}}); err != nil {
		t.Fatal(err)
	}
	f.mustPush()
	if f.link.RemoteID == old || f.stripe().Currency != "usd" {
		t.Fatalf("invoice %s in %s, want a new one in usd", f.link.RemoteID, f.stripe().Currency)
	}
	f.wantLines(withAmount(consulting))

	// Every kind of edit, and the delete, settle their unknown outcomes too.
	changed := consulting
	changed.Quantity = 7
	f.edit(func(inv *tandem.Invoice) { inv.Lines = []tandem.InvoiceLine{changed, travel, hosting} })
	f.mustPush()
	f.wantLines(withAmount(changed), withAmount(travel), withAmount(hosting))
	f.edit(func(inv *tandem.Invoice) { inv.Description, inv.Lines = "shorter", []tandem.InvoiceLine{travel} })
	f.mustPush()
	f.wantLines(withAmount(travel))
	f.wantBase()
	f.edit(func(*tandem.Invoice) {})
	f.rec.Deleted = true
	f.mustPush()
	if inv, _ := f.em.Invoice(f.link.RemoteID); !inv.Deleted {
		t.Fatal("the draft is still in Stripe")
	}
}

// TestPushInvoiceAmbiguous: Stripe makes each change and answers 500 (and
// replays the 500 for its key): the connector finds out what happened and
// finishes in one push.
func TestPushInvoiceAmbiguous(t *testing.T) {
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Status: tandem.InvoiceOpen,
		Lines: []tandem.InvoiceLine{consulting, travel}})
	if err := f.em.SetFaults(emulator.Faults{FailAfterApply: emulator.Chance{Every: 1}}); err != nil {
		t.Fatal(err)
	}
	f.mustPush()
	f.assertOnce(0)
	f.edit(func(inv *tandem.Invoice) { inv.Status = tandem.InvoicePaid })
	f.mustPush()
	if got := f.stripe().Status; got != emulator.InvoicePaid {
		t.Fatalf("status %s, want paid", got)
	}
}

// assertOnce fails the test unless Stripe holds the invoice once, with each
// local line once, in the local status.
func (f *invoiceFixture) assertOnce(lost int64) {
	f.t.Helper()
	if n := len(f.em.Invoices()); n != 1 {
		f.t.Fatalf("write %d lost: %d invoices in Stripe, want 1", lost, n)
	}
	var want []tandem.InvoiceLine
	for _, l := range f.rec.Invoice.Lines {
		want = append(want, withAmount(l))
	}
	f.wantLines(want...)
	live := 0
	for _, it := range f.em.InvoiceItems() {
		if !it.Deleted {
			live++
		}
	}
	if live != len(want) {
		f.t.Fatalf("write %d lost: %d invoice items, want %d", lost, live, len(want))
	}
	if got := f.stripe().Status; string(got) != string(f.rec.Invoice.Status) {
		f.t.Fatalf("write %d lost: status %s, want %s", lost, got, f.rec.Invoice.Status)
	}
	f.wantBase()
}

// TestFetchAndListInvoice: Fetch reads the invoice with all its lines, even
// past the first page Stripe embeds; List pages through the invoices.
func TestFetchAndListInvoice(t *testing.T) {
	var lines []tandem.InvoiceLine
	for i := range 12 {
		lines = append(lines, tandem.InvoiceLine{Description: "Item " + string(rune('A'+i)), Quantity: int64(i + 1), UnitAmount: 100})
	}
	f := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur", Lines: lines})
	f.mustPush()
	if _, err := f.em.Dashboard().FinalizeInvoice(f.link.RemoteID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.em.Dashboard().FailInvoicePayment(f.link.RemoteID, emulator.PaymentError{Type: "card_error",
		Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}); err != nil {
		t.Fatal(err)
	}
	ch, err := f.c.Fetch(context.Background(), tandem.KindInvoice, f.link.RemoteID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.LocalID != f.rec.Ref.ID || ch.CustomerRemoteID != f.customer.RemoteID || ch.Deleted ||
		len(ch.Invoice.Lines) != 12 || ch.Invoice.Status != tandem.InvoiceOpen ||
		ch.Invoice.PaymentFailure != "Your card has insufficient funds. (card_declined/insufficient_funds)" {
		t.Fatalf("fetched %+v, invoice %+v", ch, ch.Invoice)
	}
	snap, err := f.c.Snapshot(tandem.KindInvoice, ch.Base)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ch.Fields, snap); diff != "" {
		t.Fatalf("base does not round-trip (-change +snapshot):\n%s", diff)
	}

	// A push reads the reason too, into the base.
	f.edit(func(inv *tandem.Invoice) { inv.Status = tandem.InvoiceOpen })
	f.mustPush()
	if snap, err := f.c.Snapshot(tandem.KindInvoice, f.link.Base); err != nil || snap.Invoice.PaymentFailure != ch.Invoice.PaymentFailure {
		t.Fatalf("base after a push: %+v, %v; want the payment failure", snap.Invoice, err)
	}

	page, next, err := f.c.List(context.Background(), tandem.KindInvoice, "")
	if err != nil || next != "" || len(page) != 1 {
		t.Fatalf("List: %d changes, next %q, %v", len(page), next, err)
	}
	if diff := cmp.Diff(ch, page[0], cmpopts.IgnoreFields(tandem.RemoteChange{}, "Watermark")); diff != "" {
		t.Fatalf("listed (-fetched +listed):\n%s", diff)
	}

	// Paid at the next attempt: no failure any more.
	if _, err := f.em.Dashboard().ChargeInvoice(f.link.RemoteID); err != nil {
		t.Fatal(err)
	}
	if ch, err = f.c.Fetch(context.Background(), tandem.KindInvoice, f.link.RemoteID); err != nil ||
		ch.Invoice.Status != tandem.InvoicePaid || ch.Invoice.PaymentFailure != "" {
		t.Fatalf("fetched after the charge: %+v, %v", ch.Invoice, err)
	}

	other := newInvoiceFixture(t, &tandem.Invoice{Currency: "eur"})
	other.mustPush()
	other.edit(func(*tandem.Invoice) {})
	other.rec.Deleted = true
	other.mustPush()
	gone, err := other.c.Fetch(context.Background(), tandem.KindInvoice, other.link.RemoteID)
	if err != nil || !gone.Deleted || gone.RemoteID != other.link.RemoteID {
		t.Fatalf("fetch of a deleted draft: %+v, %v", gone, err)
	}
}
