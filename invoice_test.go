package tandem

import (
	"errors"
	"strings"
	"testing"
)

// TestInvoiceTransitions: every (status, action) pair, against Stripe's
// lifecycle; a refusal is ECONFLICT naming the current status.
func TestInvoiceTransitions(t *testing.T) {
	allowed := map[InvoiceStatus]map[InvoiceAction]InvoiceStatus{
		InvoiceDraft:         {ActionFinalize: InvoiceOpen},
		InvoiceOpen:          {ActionPay: InvoicePaid, ActionVoid: InvoiceVoid, ActionMarkUncollectible: InvoiceUncollectible},
		InvoiceUncollectible: {ActionPay: InvoicePaid, ActionVoid: InvoiceVoid},
	}
	statuses := []InvoiceStatus{InvoiceDraft, InvoiceOpen, InvoicePaid, InvoiceUncollectible, InvoiceVoid}
	actions := []InvoiceAction{ActionFinalize, ActionPay, ActionVoid, ActionMarkUncollectible}
	for _, s := range statuses {
		for _, a := range actions {
			next, err := s.Next(a)
			want, ok := allowed[s][a]
			switch {
			case ok && (err != nil || next != want):
				t.Errorf("%s %s = %q, %v; want %q", a, s, next, err, want)
			case !ok && (ErrorCode(err) != ECONFLICT || !strings.Contains(ErrorMessage(err), string(s))):
				t.Errorf("%s %s = %q, %v; want a conflict naming %s", a, s, next, err, s)
			}
		}
		if s.Editable() != (s == InvoiceDraft) {
			t.Errorf("%s editable: %v", s, s.Editable())
		}
	}
}

func TestInvoiceValidate(t *testing.T) {
	valid := func() *Invoice {
		return &Invoice{CustomerID: "tdmc_1", Currency: "EUR", Lines: []InvoiceLine{{Description: "Seat", Quantity: 3, UnitAmount: 1250}}}
	}
	inv := valid()
	if err := inv.Validate(); err != nil || inv.Currency != "eur" {
		t.Fatalf("Validate = %v, currency %q; want valid, eur", err, inv.Currency)
	}
	for _, tc := range []struct {
		edit  func(*Invoice)
		field string
	}{
		{func(i *Invoice) { i.CustomerID = "" }, "customer_id"},
		{func(i *Invoice) { i.CustomerID = "cus_123" }, "customer_id"},
		{func(i *Invoice) { i.Currency = "euro" }, "currency"},
		{func(i *Invoice) { i.Currency = "" }, "currency"},
		{func(i *Invoice) { i.Description = strings.Repeat("x", MaxInvoiceDescription+1) }, "description"},
		{func(i *Invoice) { i.Lines[0].Description = "" }, "lines[0].description"},
		{func(i *Invoice) { i.Lines[0].Quantity = 0 }, "lines[0].quantity"},
		{func(i *Invoice) { i.Lines[0].Quantity = MaxLineQuantity + 1 }, "lines[0].quantity"},
		{func(i *Invoice) { i.Lines[0].UnitAmount = -1 }, "lines[0].unit_amount"},
		{func(i *Invoice) { i.Lines[0].UnitAmount = MaxUnitAmount + 1 }, "lines[0].unit_amount"},
		{func(i *Invoice) { i.Lines = make([]InvoiceLine, MaxInvoiceLines+1) }, "lines"},
		{func(i *Invoice) { i.Metadata = map[string]string{"a[b]": "c"} }, "metadata.a[b]"},
	} {
		inv := valid()
		tc.edit(inv)
		var e *Error
		err := inv.Validate()
		if !errors.As(err, &e) || e.Code != EINVALID || e.Field != tc.field {
			t.Errorf("Validate = %v; want EINVALID on %s", err, tc.field)
		}
	}
}

func TestInvoiceTotals(t *testing.T) {
	inv := &Invoice{Status: InvoiceOpen, Lines: []InvoiceLine{
		{Quantity: 3, UnitAmount: 1250}, {Quantity: 1, UnitAmount: 99}, {Quantity: MaxLineQuantity, UnitAmount: MaxUnitAmount}}}
	inv.ComputeTotals()
	big := int64(MaxLineQuantity) * MaxUnitAmount
	if inv.Lines[0].Amount != 3750 || inv.Lines[1].Amount != 99 || inv.Lines[2].Amount != big {
		t.Errorf("line amounts %+v", inv.Lines)
	}
	want := 3750 + 99 + big
	if inv.Subtotal != want || inv.Total != want || inv.AmountDue != want || inv.AmountPaid != 0 || inv.AmountRemaining != want {
		t.Errorf("open totals %+v", inv)
	}
	inv.Status = InvoicePaid
	inv.ComputeTotals()
	if inv.AmountPaid != want || inv.AmountRemaining != 0 {
		t.Errorf("paid totals: paid %d, remaining %d", inv.AmountPaid, inv.AmountRemaining)
	}
}
