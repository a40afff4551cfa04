package stripe

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	stripego "github.com/stripe/stripe-go/v86"
)

// customer creates a customer through the API.
func (h *harness) customer(t *testing.T, name string) string {
	t.Helper()
	return h.create(t, "", &stripego.CustomerCreateParams{Name: stripego.String(name)}).ID
}

// draft creates a draft invoice for customer through the API, as Tandem
// will: send_invoice due in 30 days, no auto-advance, pending items left out.
func (h *harness) draft(t *testing.T, key, customer string) *stripego.Invoice {
	t.Helper()
	p := &stripego.InvoiceCreateParams{
		Customer: stripego.String(customer), Currency: stripego.String("eur"),
		Description: stripego.String("Order 42"), CollectionMethod: stripego.String("send_invoice"),
		DaysUntilDue: stripego.Int64(30), AutoAdvance: stripego.Bool(false),
		PendingInvoiceItemsBehavior: stripego.String("exclude"),
		Metadata:                    map[string]string{"tandem_id": "tdmi_1"},
	}
	if key != "" {
		p.SetIdempotencyKey(key)
	}
	inv, err := h.client.V1Invoices.Create(t.Context(), p)
	if err != nil {
		t.Fatalf("create invoice: %v", err)
	}
	return inv
}

// line adds an invoice item of quantity × unit to the invoice.
func (h *harness) line(t *testing.T, key string, inv *stripego.Invoice, quantity int64, unit float64) *stripego.InvoiceItem {
	t.Helper()
	it, err := h.addLine(t, key, inv.Customer.ID, inv.ID, quantity, unit)
	if err != nil {
		t.Fatalf("create invoice item: %v", err)
	}
	return it
}

func (h *harness) addLine(t *testing.T, key, customer, invoice string, quantity int64, unit float64) (*stripego.InvoiceItem, error) {
	t.Helper()
	p := &stripego.InvoiceItemCreateParams{
		Customer: stripego.String(customer), Invoice: stripego.String(invoice),
		Description: stripego.String(fmt.Sprintf("%d × %v", quantity, unit)),
		Quantity:    stripego.Int64(quantity), UnitAmountDecimal: stripego.Float64(unit),
		Metadata: map[string]string{"tandem_line": "1"},
	}
	if key != "" {
		p.SetIdempotencyKey(key)
	}
	return h.client.V1InvoiceItems.Create(t.Context(), p)
}

// eventTypes returns the types of the emulator's events, oldest first.
func eventTypes(em *Emulator) []string {
	var types []string
	for _, ev := range em.Events() {
		types = append(types, ev.Type)
	}
	return types
}

func TestInvoiceLifecycle(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	cus := h.customer(t, "Ada")

	inv := h.draft(t, "tandem:invoice:1", cus)
	if !strings.HasPrefix(inv.ID, "in_") || inv.Object != "invoice" || inv.Status != stripego.InvoiceStatusDraft ||
		inv.Customer.ID != cus || inv.Currency != "eur" || inv.Number != "" || inv.HostedInvoiceURL != "" ||
		inv.DueDate != inv.Created+30*24*3600 || inv.CollectionMethod != "send_invoice" || inv.AutoAdvance ||
		inv.Metadata["tandem_id"] != "tdmi_1" || inv.Total != 0 || inv.Lines == nil || len(inv.Lines.Data) != 0 {
		t.Fatalf("created invoice %+v", inv)
	}

	first := h.line(t, "tandem:line:1", inv, 3, 1250) // 3 × 12.50
	second := h.line(t, "tandem:line:2", inv, 1, 999.5)
	if first.Amount != 3750 || second.Amount != 1000 || first.Invoice.ID != inv.ID || first.Customer.ID != cus ||
		first.Currency != "eur" || first.Pricing.UnitAmountDecimal != 1250 || first.Metadata["tandem_line"] != "1" {
		t.Errorf("items %+v and %+v", first, second)
	}

	got, err := h.client.V1Invoices.Retrieve(ctx, inv.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subtotal != 4750 || got.Total != 4750 || got.AmountDue != 4750 || got.AmountRemaining != 4750 || got.AmountPaid != 0 {
		t.Errorf("amounts subtotal %d total %d due %d remaining %d paid %d, want 4750 due", got.Subtotal, got.Total,
			got.AmountDue, got.AmountRemaining, got.AmountPaid)
	}
	if len(got.Lines.Data) != 2 || got.Lines.Data[0].Object != "line_item" || !strings.HasPrefix(got.Lines.Data[0].ID, "il_") ||
		got.Lines.Data[0].Parent.InvoiceItemDetails.InvoiceItem != first.ID || got.Lines.Data[0].Amount != 3750 ||
		got.Lines.Data[0].Quantity != 3 || got.Lines.Data[1].Parent.InvoiceItemDetails.InvoiceItem != second.ID {
		t.Errorf("lines %+v", got.Lines.Data)
	}

	// A draft's items and fields change; each change moves the totals.
	if _, err := h.client.V1InvoiceItems.Update(ctx, first.ID, &stripego.InvoiceItemUpdateParams{Quantity: stripego.Int64(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.V1InvoiceItems.Delete(ctx, second.ID, nil); err != nil {
		t.Fatal(err)
	}
	up, err := h.client.V1Invoices.Update(ctx, inv.ID, &stripego.InvoiceUpdateParams{
		Description: stripego.String("Order 42, amended"), Metadata: map[string]string{"rev": "2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.Total != 2500 || len(up.Lines.Data) != 1 || up.Description != "Order 42, amended" || up.Metadata["rev"] != "2" {
		t.Errorf("updated draft: total %d, %d lines, description %q, metadata %v", up.Total, len(up.Lines.Data),
			up.Description, up.Metadata)
	}

	fin, err := h.client.V1Invoices.FinalizeInvoice(ctx, inv.ID, &stripego.InvoiceFinalizeInvoiceParams{AutoAdvance: stripego.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if fin.Status != stripego.InvoiceStatusOpen || !regexp.MustCompile(`^[A-Z0-9]{8}-0001$`).MatchString(fin.Number) ||
		fin.HostedInvoiceURL == "" || fin.StatusTransitions.FinalizedAt == 0 || fin.AmountRemaining != 2500 {
		t.Errorf("finalized invoice: status %s number %q url %q transitions %+v", fin.Status, fin.Number,
			fin.HostedInvoiceURL, fin.StatusTransitions)
	}

	pay := &stripego.InvoicePayParams{PaidOutOfBand: stripego.Bool(true)}
	pay.SetIdempotencyKey("tandem:pay:1")
	paid, err := h.client.V1Invoices.Pay(ctx, inv.ID, pay)
	if err != nil {
		t.Fatal(err)
	}
	if paid.Status != stripego.InvoiceStatusPaid || paid.AmountPaid != 2500 || paid.AmountRemaining != 0 ||
		paid.StatusTransitions.PaidAt == 0 || paid.Number != fin.Number {
		t.Errorf("paid invoice %+v", paid)
	}
	stored, _ := h.em.Invoice(inv.ID)
	if !stored.PaidOutOfBand || stored.Status != InvoicePaid {
		t.Errorf("stored invoice %+v", stored)
	}

	want := []string{
		"customer.created", "invoice.created",
		"invoiceitem.created", "invoice.updated", "invoiceitem.created", "invoice.updated",
		"invoiceitem.updated", "invoice.updated", "invoiceitem.deleted", "invoice.updated", "invoice.updated",
		"invoice.finalized", "invoice.paid",
	}
	if diff := cmp.Diff(want, eventTypes(h.em)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// An invoice with nothing due is paid as soon as it is finalized, as Stripe
// settles it.
func TestFinalizingZeroInvoicePaysIt(t *testing.T) {
	h := newHarness(t, Config{})
	inv := h.draft(t, "", h.customer(t, "Ada"))
	fin, err := h.client.V1Invoices.FinalizeInvoice(t.Context(), inv.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fin.Status != stripego.InvoiceStatusPaid || fin.Total != 0 || fin.Number == "" || fin.StatusTransitions.PaidAt == 0 {
		t.Errorf("finalized empty invoice: status %s total %d number %q", fin.Status, fin.Total, fin.Number)
	}
	types := eventTypes(h.em)
	if got := types[len(types)-2:]; !slices.Equal(got, []string{"invoice.finalized", "invoice.paid"}) {
		t.Errorf("last events %v", got)
	}
}

// Paying a draft finalizes it in the same call; paid out of band is no
// payment attempt.
func TestPayingDraftFinalizesIt(t *testing.T) {
	h := newHarness(t, Config{})
	inv := invoiceIn(t, h.em, h.customer(t, "Ada"), InvoiceDraft)
	paid, err := h.client.V1Invoices.Pay(t.Context(), inv.ID, &stripego.InvoicePayParams{PaidOutOfBand: stripego.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if paid.Status != stripego.InvoiceStatusPaid || paid.Number == "" || paid.StatusTransitions.FinalizedAt == 0 ||
		paid.Attempted || paid.AttemptCount != 0 || paid.AmountPaid != 1000 || paid.AmountPaidOffStripe != 1000 {
		t.Errorf("a draft paid out of band: %+v", paid)
	}
	types := eventTypes(h.em)
	if got := types[len(types)-2:]; !slices.Equal(got, []string{"invoice.finalized", "invoice.paid"}) {
		t.Errorf("last events %v", got)
	}
}

// invoiceIn returns an invoice with one line in status, made through the
// dashboard.
func invoiceIn(t *testing.T, em *Emulator, customer string, status InvoiceStatus) Invoice {
	t.Helper()
	ed := em.Dashboard()
	inv, err := ed.CreateInvoice(InvoiceParams{Customer: customer},
		InvoiceItemParams{Description: ptr("Consulting"), UnitAmountDecimal: ptr("1000")})
	if err != nil {
		t.Fatal(err)
	}
	steps := map[InvoiceStatus][]func(string) (Invoice, error){
		InvoiceDraft:         nil,
		InvoiceOpen:          {ed.FinalizeInvoice},
		InvoicePaid:          {ed.FinalizeInvoice, ed.PayInvoice},
		InvoiceUncollectible: {ed.FinalizeInvoice, ed.MarkInvoiceUncollectible},
		InvoiceVoid:          {ed.FinalizeInvoice, ed.VoidInvoice},
	}[status]
	for _, step := range steps {
		if inv, err = step(inv.ID); err != nil {
			t.Fatal(err)
		}
	}
	if inv.Status != status {
		t.Fatalf("made an invoice in status %s, want %s", inv.Status, status)
	}
	return inv
}

// Every action on an invoice in every status: the ones Stripe allows move it
// on, the others are refused with a 400 that names the status.
func TestInvoiceTransitions(t *testing.T) {
	h := newHarness(t, Config{})
	cus := h.customer(t, "Ada")
	ctx := t.Context()
	type action struct {
		name string
		do   func(id string) (*stripego.Invoice, error)
	}
	actions := []action{
		{"finalize", func(id string) (*stripego.Invoice, error) { return h.client.V1Invoices.FinalizeInvoice(ctx, id, nil) }},
		{"pay", func(id string) (*stripego.Invoice, error) {
			return h.client.V1Invoices.Pay(ctx, id, &stripego.InvoicePayParams{PaidOutOfBand: stripego.Bool(true)})
		}},
		{"void", func(id string) (*stripego.Invoice, error) { return h.client.V1Invoices.VoidInvoice(ctx, id, nil) }},
		{"mark_uncollectible", func(id string) (*stripego.Invoice, error) {
			return h.client.V1Invoices.MarkUncollectible(ctx, id, nil)
		}},
		{"delete", func(id string) (*stripego.Invoice, error) { return h.client.V1Invoices.Delete(ctx, id, nil) }},
		{"change due date", func(id string) (*stripego.Invoice, error) {
			return h.client.V1Invoices.Update(ctx, id, &stripego.InvoiceUpdateParams{
				CollectionMethod: stripego.String("send_invoice"), DaysUntilDue: stripego.Int64(10),
			})
		}},
		{"add line", func(id string) (*stripego.Invoice, error) {
			_, err := h.addLine(t, "", cus, id, 1, 100)
			return nil, err
		}},
	}
	// allowed maps status and action to the status it ends in.
	allowed := map[InvoiceStatus]map[string]InvoiceStatus{
		InvoiceDraft: {"finalize": InvoiceOpen, "pay": InvoicePaid, "delete": InvoiceDraft,
			"change due date": InvoiceDraft, "add line": InvoiceDraft},
		InvoiceOpen:          {"pay": InvoicePaid, "void": InvoiceVoid, "mark_uncollectible": InvoiceUncollectible},
		InvoiceUncollectible: {"pay": InvoicePaid, "void": InvoiceVoid},
		InvoicePaid:          {},
		InvoiceVoid:          {},
	}
	for status, ok := range allowed {
		for _, a := range actions {
			t.Run(string(status)+"/"+a.name, func(t *testing.T) {
				inv := invoiceIn(t, h.em, cus, status)
				_, err := a.do(inv.ID)
				after, _ := h.em.Invoice(inv.ID)
				end, allowed := ok[a.name]
				if allowed {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if after.Status != end {
						t.Errorf("status %s after %s, want %s", after.Status, a.name, end)
					}
					return
				}
				se := stripeError(t, err)
				if se.HTTPStatusCode != http.StatusBadRequest || se.Type != stripego.ErrorTypeInvalidRequest {
					t.Errorf("refusal %d %s: %s", se.HTTPStatusCode, se.Type, se.Msg)
				}
				if !strings.Contains(se.Msg, string(status)) {
					t.Errorf("refusal %q does not name the status %s", se.Msg, status)
				}
				if after.Status != status || after.Deleted {
					t.Errorf("a refused %s moved the invoice to %s (deleted %v)", a.name, after.Status, after.Deleted)
				}
			})
		}
	}
}

// Lines, amounts and fields are frozen at finalization; metadata is not.
func TestFinalizedInvoiceFreezesLines(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	cus := h.customer(t, "Ada")
	inv := invoiceIn(t, h.em, cus, InvoiceOpen)
	item := inv.Lines[0].ID

	_, err := h.client.V1InvoiceItems.Update(ctx, item, &stripego.InvoiceItemUpdateParams{Quantity: stripego.Int64(5)})
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeInvoiceNotEditable, "")
	_, err = h.client.V1InvoiceItems.Delete(ctx, item, nil)
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeInvoiceNotEditable, "")
	_, err = h.addLine(t, "", cus, inv.ID, 1, 5)
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeInvoiceNotEditable, "")
	_, err = h.client.V1Invoices.Update(ctx, inv.ID, &stripego.InvoiceUpdateParams{CollectionMethod: stripego.String("send_invoice")})
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "collection_method")
	_, err = h.client.V1Invoices.Update(ctx, inv.ID, &stripego.InvoiceUpdateParams{
		Description: stripego.String("late note"), Metadata: map[string]string{"tandem_id": "tdmi_9"},
	})
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "description")

	up, err := h.client.V1Invoices.Update(ctx, inv.ID, &stripego.InvoiceUpdateParams{
		Metadata: map[string]string{"tandem_id": "tdmi_9"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.Status != stripego.InvoiceStatusOpen || up.Total != 1000 || up.Metadata["tandem_id"] != "tdmi_9" ||
		up.Description != "" {
		t.Errorf("metadata update of an open invoice: %+v", up)
	}
}

func TestDeleteDraft(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	inv := h.draft(t, "", h.customer(t, "Ada"))
	item := h.line(t, "", inv, 1, 500)

	del, err := h.client.V1Invoices.Delete(ctx, inv.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !del.Deleted || del.ID != inv.ID {
		t.Errorf("delete answered %+v", del)
	}
	if raw := string(del.LastResponse.RawJSON); raw != `{"id":"`+inv.ID+`","object":"invoice","deleted":true}` {
		t.Errorf("delete answered %s", raw)
	}
	// Stripe's 404 names the invoice "invoice" on a GET and "id" on a POST.
	_, err = h.client.V1Invoices.Retrieve(ctx, inv.ID, nil)
	checkError(t, err, http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "invoice")
	_, err = h.client.V1InvoiceItems.Retrieve(ctx, item.ID, nil)
	checkError(t, err, http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "id")
	_, err = h.client.V1Invoices.VoidInvoice(ctx, inv.ID, nil)
	checkError(t, err, http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "id")
	for inv, err := range h.client.V1Invoices.List(ctx, &stripego.InvoiceListParams{}).All(ctx) {
		t.Errorf("listed after the delete: %v, %v", inv, err)
	}
	if got := eventTypes(h.em); got[len(got)-1] != "invoice.deleted" {
		t.Errorf("events %v", got)
	}
}

func TestInvoiceValidation(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	cus := h.customer(t, "Ada")
	other := h.customer(t, "Grace")
	inv := h.draft(t, "", cus)

	create := func(p *stripego.InvoiceCreateParams) error {
		_, err := h.client.V1Invoices.Create(ctx, p)
		return err
	}
	checkError(t, create(&stripego.InvoiceCreateParams{}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeParameterMissing, "customer")
	checkError(t, create(&stripego.InvoiceCreateParams{Customer: stripego.String("cus_missing")}),
		http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "customer")
	checkError(t, create(&stripego.InvoiceCreateParams{Customer: stripego.String(cus), DueDate: stripego.Int64(time.Now().Add(time.Hour).Unix())}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "")
	checkError(t, create(&stripego.InvoiceCreateParams{Customer: stripego.String(cus), CollectionMethod: stripego.String("send_invoice")}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "")
	checkError(t, create(&stripego.InvoiceCreateParams{Customer: stripego.String(cus), PendingInvoiceItemsBehavior: stripego.String("all")}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "pending_invoice_items_behavior")

	item := func(p *stripego.InvoiceItemCreateParams) error {
		_, err := h.client.V1InvoiceItems.Create(ctx, p)
		return err
	}
	checkError(t, item(&stripego.InvoiceItemCreateParams{Invoice: stripego.String(inv.ID), Amount: stripego.Int64(5)}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeParameterMissing, "customer")
	checkError(t, item(&stripego.InvoiceItemCreateParams{Customer: stripego.String(cus), Invoice: stripego.String(inv.ID)}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeParameterMissing, "amount")
	checkError(t, item(&stripego.InvoiceItemCreateParams{Customer: stripego.String(other), Invoice: stripego.String(inv.ID), Amount: stripego.Int64(5)}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "invoice")
	checkError(t, item(&stripego.InvoiceItemCreateParams{Customer: stripego.String(cus), Invoice: stripego.String("in_missing"), Amount: stripego.Int64(5)}),
		http.StatusNotFound, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeResourceMissing, "invoice")
	checkError(t, item(&stripego.InvoiceItemCreateParams{Customer: stripego.String(cus), Invoice: stripego.String(inv.ID),
		Currency: stripego.String("usd"), Amount: stripego.Int64(5)}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "currency")
	checkError(t, item(&stripego.InvoiceItemCreateParams{Customer: stripego.String(cus), Invoice: stripego.String(inv.ID),
		Amount: stripego.Int64(5), UnitAmountDecimal: stripego.Float64(5)}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "amount")
	checkError(t, item(&stripego.InvoiceItemCreateParams{Customer: stripego.String(cus), Amount: stripego.Int64(5)}),
		http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeParameterMissing, "currency")

	// unit_amount is not a parameter of this API version: unit_amount_decimal is.
	p := &stripego.InvoiceItemCreateParams{Customer: stripego.String(cus), Invoice: stripego.String(inv.ID), Amount: stripego.Int64(5)}
	p.AddExtra("unit_amount", "500")
	checkError(t, item(p), http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeParameterUnknown, "unit_amount")

	if got, _ := h.em.Invoice(inv.ID); len(got.Lines) != 0 {
		t.Errorf("refused items made lines: %+v", got.Lines)
	}
}

// A pending item (no invoice) joins the next invoice that includes pending
// items.
func TestPendingInvoiceItems(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	cus := h.customer(t, "Ada")
	pending, err := h.client.V1InvoiceItems.Create(ctx, &stripego.InvoiceItemCreateParams{
		Customer: stripego.String(cus), Currency: stripego.String("eur"), Amount: stripego.Int64(700),
	})
	if err != nil {
		t.Fatal(err)
	}
	if pending.Invoice != nil {
		t.Fatalf("pending item on invoice %v", pending.Invoice)
	}
	excluded := h.draft(t, "", cus)
	inv, err := h.client.V1Invoices.Create(ctx, &stripego.InvoiceCreateParams{
		Customer: stripego.String(cus), Currency: stripego.String("eur"), PendingInvoiceItemsBehavior: stripego.String("include"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if excluded.Total != 0 || inv.Total != 700 || len(inv.Lines.Data) != 1 {
		t.Errorf("excluding invoice total %d; including invoice total %d, lines %d", excluded.Total, inv.Total, len(inv.Lines.Data))
	}
	if it, _ := h.client.V1InvoiceItems.Retrieve(ctx, pending.ID, nil); it.Invoice == nil || it.Invoice.ID != inv.ID {
		t.Errorf("the pending item is on %v, want %s", it.Invoice, inv.ID)
	}
}

// The same idempotency key replays an invoice or invoice item create: one
// object, one line, one set of events.
func TestInvoiceIdempotentReplay(t *testing.T) {
	h := newHarness(t, Config{})
	cus := h.customer(t, "Ada")
	first := h.draft(t, "tandem:invoice:7", cus)
	again := h.draft(t, "tandem:invoice:7", cus)
	if again.ID != first.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay made %s (replayed %q), first was %s", again.ID,
			again.LastResponse.Header.Get("Idempotent-Replayed"), first.ID)
	}
	l1 := h.line(t, "tandem:line:7:1", first, 2, 300)
	l2 := h.line(t, "tandem:line:7:1", first, 2, 300)
	if l1.ID != l2.ID {
		t.Errorf("replayed item create made %s, first was %s", l2.ID, l1.ID)
	}
	// The same key with other parameters is our bug, and Stripe says so.
	_, err := h.addLine(t, "tandem:line:7:1", cus, first.ID, 3, 300)
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeIdempotency, "", "")

	if n, items := len(h.em.Invoices()), len(h.em.InvoiceItems()); n != 1 || items != 1 {
		t.Errorf("%d invoices and %d items, want 1 each", n, items)
	}
	inv, _ := h.em.Invoice(first.ID)
	if len(inv.Lines) != 1 || inv.Total() != 600 {
		t.Errorf("invoice has %d lines, total %d", len(inv.Lines), inv.Total())
	}
	want := []string{"customer.created", "invoice.created", "invoiceitem.created", "invoice.updated"}
	if diff := cmp.Diff(want, eventTypes(h.em)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// Each event carries the invoice as after its change and names the request
// and idempotency key; dashboard changes have no key.
func TestInvoiceEvents(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, Config{Webhook: rc.webhook()})
	ctx := t.Context()
	cus := h.customer(t, "Ada")
	inv := h.draft(t, "tandem:invoice:1", cus)
	h.line(t, "tandem:line:1", inv, 1, 4200)
	fin := &stripego.InvoiceFinalizeInvoiceParams{}
	fin.SetIdempotencyKey("tandem:finalize:1")
	if _, err := h.client.V1Invoices.FinalizeInvoice(ctx, inv.ID, fin); err != nil {
		t.Fatal(err)
	}
	failure := PaymentError{Type: "card_error", Code: "card_declined", DeclineCode: "insufficient_funds",
		Message: "Your card has insufficient funds."}
	failed, err := h.em.Dashboard().FailInvoicePayment(inv.ID, failure)
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status != InvoiceOpen || failed.AttemptCount != 1 || !failed.Attempted || *failed.LastPaymentError != failure {
		t.Errorf("after a failed payment: %+v", failed)
	}
	if _, err := h.em.Dashboard().MarkInvoiceUncollectible(inv.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.em.Dashboard().ChargeInvoice(inv.ID); err != nil {
		t.Fatal(err)
	}
	h.waitWebhooks(t)

	type seen struct {
		Type, Status, Key string
		AttemptCount      int64
		Total             int64
	}
	var got []seen
	for _, ev := range rc.receivedEvents() {
		var obj stripego.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
		if !strings.HasPrefix(string(ev.Type), "invoice.") {
			continue
		}
		if ev.Request == nil || ev.Request.ID == "" {
			t.Errorf("%s names no request", ev.Type)
			continue
		}
		got = append(got, seen{string(ev.Type), string(obj.Status), ev.Request.IdempotencyKey, obj.AttemptCount, obj.Total})
	}
	want := []seen{
		{"invoice.created", "draft", "tandem:invoice:1", 0, 0},
		{"invoice.updated", "draft", "tandem:line:1", 0, 4200},
		{"invoice.finalized", "open", "tandem:finalize:1", 0, 4200},
		{"invoice.payment_failed", "open", "", 1, 4200},
		{"invoice.marked_uncollectible", "uncollectible", "", 1, 4200},
		{"invoice.paid", "paid", "", 2, 4200},
		{"invoice.payment_succeeded", "paid", "", 2, 4200},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invoice events (-want +got):\n%s", diff)
	}

	// invoice.updated says which amounts the new line changed.
	for _, ev := range h.em.Events() {
		if ev.Type == "invoice.updated" {
			var prev map[string]any
			if err := json.Unmarshal(ev.Data.PreviousAttributes, &prev); err != nil {
				t.Fatal(err)
			}
			if prev["total"] != float64(0) || prev["amount_due"] != float64(0) {
				t.Errorf("previous_attributes %v", prev)
			}
		}
	}
}

func TestListInvoices(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	ada, grace := h.customer(t, "Ada"), h.customer(t, "Grace")
	var adas []string
	for range 5 {
		adas = append(adas, h.draft(t, "", ada).ID)
	}
	open := invoiceIn(t, h.em, ada, InvoiceOpen)
	adas = append(adas, open.ID)
	h.draft(t, "", grace)
	slices.Reverse(adas) // newest first

	var got []string
	p := &stripego.InvoiceListParams{Customer: stripego.String(ada)}
	p.Limit = stripego.Int64(2)
	for inv, err := range h.client.V1Invoices.List(ctx, p).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, inv.ID)
	}
	if diff := cmp.Diff(adas, got); diff != "" {
		t.Errorf("Ada's invoices, two a page (-want +got):\n%s", diff)
	}

	var opened []string
	for inv, err := range h.client.V1Invoices.List(ctx, &stripego.InvoiceListParams{Status: stripego.String("open")}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		opened = append(opened, inv.ID)
	}
	if !slices.Equal(opened, []string{open.ID}) {
		t.Errorf("open invoices %v, want %s", opened, open.ID)
	}
	for _, err := range h.client.V1Invoices.List(ctx, &stripego.InvoiceListParams{Status: stripego.String("deleted")}).All(ctx) {
		checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "status")
		break
	}
}

// An invoice carries its first ten lines; /lines pages through all of them
// in order.
func TestInvoiceLines(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	inv := h.draft(t, "", h.customer(t, "Ada"))
	var items []string
	for i := range 13 {
		items = append(items, h.line(t, "", inv, 1, float64(100+i)).ID)
	}
	got, err := h.client.V1Invoices.Retrieve(ctx, inv.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Lines.Data) != 10 || !got.Lines.HasMore || got.Total != 13*100+78 {
		t.Errorf("embedded lines: %d, has_more %v, total %d", len(got.Lines.Data), got.Lines.HasMore, got.Total)
	}
	var lines []string
	p := &stripego.InvoiceListLinesParams{Invoice: stripego.String(inv.ID)}
	p.Limit = stripego.Int64(4)
	for l, err := range h.client.V1Invoices.ListLines(ctx, p).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l.Parent.InvoiceItemDetails.InvoiceItem)
	}
	if diff := cmp.Diff(items, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}

	var listed []string
	for it, err := range h.client.V1InvoiceItems.List(ctx, &stripego.InvoiceItemListParams{Invoice: stripego.String(inv.ID)}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, it.ID)
	}
	slices.Reverse(listed)
	if diff := cmp.Diff(items, listed); diff != "" {
		t.Errorf("invoice items of the invoice, oldest first (-want +got):\n%s", diff)
	}
}

// The faults, the request log and the rate limit cover the invoice
// endpoints as they do customers.
func TestInvoiceFaults(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	cus := h.customer(t, "Ada")
	if err := h.em.SetFaults(Faults{FailAfterApply: Chance{Every: 1}}); err != nil {
		t.Fatal(err)
	}
	p := &stripego.InvoiceCreateParams{Customer: stripego.String(cus)}
	p.SetIdempotencyKey("tandem:invoice:lost")
	_, err := h.client.V1Invoices.Create(ctx, p)
	checkError(t, err, http.StatusInternalServerError, stripego.ErrorTypeAPI, "", "")
	if n := len(h.em.Invoices()); n != 1 {
		t.Fatalf("FailAfterApply: %d invoices, want the one made", n)
	}
	if err := h.em.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.V1Invoices.Create(ctx, p)
	if stripeError(t, err).LastResponse.Header.Get("Idempotent-Replayed") != "true" || len(h.em.Invoices()) != 1 {
		t.Errorf("the retry was not a replay of the 500: %v, %d invoices", err, len(h.em.Invoices()))
	}
	inv := h.em.Invoices()[0]

	if err := h.em.SetFaults(Faults{RejectWrites: Chance{Every: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err = h.addLine(t, "tandem:line:r", cus, inv.ID, 1, 100)
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "")
	if err := h.em.SetFaults(Faults{RateLimit: 1, RateBurst: 1}); err != nil {
		t.Fatal(err)
	}
	h.line(t, "tandem:line:r", &stripego.Invoice{ID: inv.ID, Customer: &stripego.Customer{ID: cus}}, 1, 100)
	_, err = h.client.V1Invoices.FinalizeInvoice(ctx, inv.ID, nil)
	checkError(t, err, http.StatusTooManyRequests, stripego.ErrorTypeInvalidRequest, stripego.ErrorCodeRateLimit, "")
	if got, _ := h.em.Invoice(inv.ID); got.Status != InvoiceDraft || len(got.Lines) != 1 {
		t.Errorf("after the faults: status %s, %d lines", got.Status, len(got.Lines))
	}

	var paths []string
	for _, r := range h.em.Requests() {
		paths = append(paths, fmt.Sprintf("%s %s %d", r.Method, strings.Replace(r.Path, inv.ID, "{id}", 1), r.Status))
	}
	want := []string{
		"POST /v1/customers 200", "POST /v1/invoices 500", "POST /v1/invoices 500",
		"POST /v1/invoiceitems 400", "POST /v1/invoiceitems 200", "POST /v1/invoices/{id}/finalize 429",
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("request log (-want +got):\n%s", diff)
	}
}

// The invoice, invoice item and line item objects have the fields Stripe's
// have, no more and no fewer: testdata holds stripe-mock v0.203.0's answers
// (the OpenAPI spec of stripe-go's API version) to GET /v1/invoices/in_1
// and GET /v1/invoiceitems/ii_1.
func TestInvoiceObjectsHaveStripesFields(t *testing.T) {
	load := func(name string) map[string]json.RawMessage {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	fields := func(m map[string]json.RawMessage) []string { return slices.Sorted(maps.Keys(m)) }
	invoice := load("stripe-mock-invoice.json")
	var lines struct{ Data []map[string]json.RawMessage }
	if err := json.Unmarshal(invoice["lines"], &lines); err != nil || len(lines.Data) == 0 {
		t.Fatalf("the recorded invoice has no line: %v", err)
	}

	it := InvoiceItem{ID: "ii_1", LineID: "il_1", Invoice: "in_1", Quantity: 1}
	for _, c := range []struct {
		name string
		want map[string]json.RawMessage
		v    any
	}{
		{"invoice", invoice, Invoice{ID: "in_1", Lines: []InvoiceItem{it}}},
		{"invoiceitem", load("stripe-mock-invoiceitem.json"), it},
		{"line_item", lines.Data[0], LineItem(it)},
	} {
		var got map[string]json.RawMessage
		if err := json.Unmarshal(mustJSON(c.v), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(fields(c.want), fields(got)); diff != "" {
			t.Errorf("%s fields (-stripe +emulator):\n%s", c.name, diff)
		}
	}
}

// A burst of invoice creates, each with its lines, all run twice at once
// with the same keys (a client killed mid-burst and restarted): every
// invoice and every line exists once.
func TestInvoiceBurstReplayedOnce(t *testing.T) {
	h := newHarness(t, Config{})
	cus := h.customer(t, "Ada")
	const invoices, lines = 12, 3
	var wg sync.WaitGroup
	errs := make(chan error, 2*invoices*(lines+1))
	for run := range 2 {
		for i := range invoices {
			wg.Go(func() {
				p := &stripego.InvoiceCreateParams{Customer: stripego.String(cus), Metadata: map[string]string{"tandem_id": fmt.Sprint(i)}}
				p.SetIdempotencyKey(fmt.Sprintf("tandem:invoice:%d", i))
				inv, err := h.client.V1Invoices.Create(t.Context(), p)
				if err != nil {
					errs <- fmt.Errorf("run %d, invoice %d: %w", run, i, err)
					return
				}
				for l := range lines {
					if _, err := h.addLine(t, fmt.Sprintf("tandem:line:%d:%d", i, l), cus, inv.ID, 1, 100); err != nil {
						errs <- fmt.Errorf("run %d, line %d:%d: %w", run, i, l, err)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for _, inv := range h.em.Invoices() {
		if id := inv.Metadata["tandem_id"]; seen[id] || len(inv.Lines) != lines || inv.Total() != lines*100 {
			t.Errorf("invoice %s (tandem_id %s, seen before %v): %d lines, total %d", inv.ID, id, seen[id], len(inv.Lines), inv.Total())
		}
		seen[inv.Metadata["tandem_id"]] = true
	}
	if len(seen) != invoices || len(h.em.InvoiceItems()) != invoices*lines {
		t.Errorf("%d invoices and %d items, want %d and %d", len(seen), len(h.em.InvoiceItems()), invoices, invoices*lines)
	}
}

// Invoice events go through the webhook faults like any other: here each
// is delivered twice.
func TestInvoiceWebhooksDuplicated(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, Config{Webhook: rc.webhook(), Faults: Faults{DuplicateWebhooks: Chance{Every: 1}}})
	inv := invoiceIn(t, h.em, h.customer(t, "Ada"), InvoiceOpen)
	h.waitWebhooks(t)
	counts := map[string]int{}
	for _, ev := range rc.receivedEvents() {
		var obj struct{ ID string }
		if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil {
			t.Fatal(err)
		}
		counts[string(ev.Type)+" "+obj.ID]++
	}
	for _, key := range []string{"invoice.created " + inv.ID, "invoiceitem.created " + inv.Lines[0].ID, "invoice.finalized " + inv.ID} {
		if counts[key] != 2 {
			t.Errorf("%s delivered %d times, want 2 (all: %v)", key, counts[key], counts)
		}
	}
}

// Switching a draft to automatic collection drops its due date, which
// Stripe keeps null under automatic collection.
func TestAutomaticCollectionDropsDueDate(t *testing.T) {
	h := newHarness(t, Config{})
	ctx := t.Context()
	cus := h.customer(t, "Ada")
	due := time.Now().AddDate(0, 1, 0).Unix()
	inv, err := h.client.V1Invoices.Create(ctx, &stripego.InvoiceCreateParams{Customer: stripego.String(cus),
		CollectionMethod: stripego.String("send_invoice"), DueDate: stripego.Int64(due)})
	if err != nil {
		t.Fatal(err)
	}
	if inv.DueDate != due {
		t.Fatalf("due date %d, want %d", inv.DueDate, due)
	}
	inv, err = h.client.V1Invoices.Update(ctx, inv.ID, &stripego.InvoiceUpdateParams{
		CollectionMethod: stripego.String("charge_automatically")})
	if err != nil {
		t.Fatal(err)
	}
	if inv.CollectionMethod != "charge_automatically" || inv.DueDate != 0 {
		t.Fatalf("after the switch: %s, due date %d; want automatic collection without one", inv.CollectionMethod, inv.DueDate)
	}
	_, err = h.client.V1Invoices.Update(ctx, inv.ID, &stripego.InvoiceUpdateParams{
		CollectionMethod: stripego.String("charge_automatically"), DueDate: stripego.Int64(due)})
	checkError(t, err, http.StatusBadRequest, stripego.ErrorTypeInvalidRequest, "", "")
}
