package syncer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tandemsync/tandem"
)

// TestMergeInvoice: the provider owns the status (forward only), number and
// amounts; draft fields merge three-way; a finalized invoice's lines are
// the provider's, and differing local ones are reported, never dropped
// silently.
func TestMergeInvoice(t *testing.T) {
	base := &tandem.Invoice{Currency: "eur", Description: "November", Status: tandem.InvoiceDraft,
		DueDate: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Metadata: map[string]string{"po": "42"},
		Lines:    []tandem.InvoiceLine{{Description: "Seats", Quantity: 3, UnitAmount: 100, Amount: 300}},
		Subtotal: 300, Total: 300, AmountDue: 300, AmountRemaining: 300}
	with := func(f func(inv *tandem.Invoice)) *tandem.Invoice {
		inv := *base
		inv.Metadata = map[string]string{"po": "42"}
		inv.Lines = append([]tandem.InvoiceLine(nil), base.Lines...)
		f(&inv)
		return &inv
	}
	moreSeats := func(inv *tandem.Invoice) {
		inv.Lines[0].Quantity, inv.Lines[0].Amount = 5, 500
		inv.Subtotal, inv.Total, inv.AmountDue, inv.AmountRemaining = 500, 500, 500, 500
	}
	finalize := func(inv *tandem.Invoice) {
		inv.Status, inv.Number, inv.HostedInvoiceURL = tandem.InvoiceOpen, "INV-1", "https://pay.example/1"
	}
	tests := []struct {
		name          string
		local, remote *tandem.Invoice
		remoteWins    bool
		want          *tandem.Invoice
		conflicts     []string
		finalized     []string
	}{
		{"nothing changed", base, base, false, base, nil, nil},
		{"draft fields merge three-way",
			with(func(inv *tandem.Invoice) { inv.Description = "Local" }),
			with(func(inv *tandem.Invoice) { inv.Metadata["remote"] = "y"; moreSeats(inv) }), false,
			with(func(inv *tandem.Invoice) { inv.Description = "Local"; inv.Metadata["remote"] = "y"; moreSeats(inv) }), nil, nil},
		{"both changed the lines of a draft: the policy settles",
			with(func(inv *tandem.Invoice) { inv.Lines[0].Quantity = 4 }),
			with(moreSeats), false,
			// The provider's amounts are its own; the local lines are pushed.
			with(func(inv *tandem.Invoice) { moreSeats(inv); inv.Lines[0].Quantity = 4; inv.Lines[0].Amount = 300 }),
			[]string{"lines"}, nil},
		{"finalized there: status, number and URL taken",
			base, with(finalize), false, with(finalize), nil, nil},
		{"finalized there with other lines than a local edit: the provider's kept, reported",
			with(moreSeats), with(finalize), false, with(finalize), nil, []string{"lines", "total"}},
		{"finalized there with lines edited there only: news, no conflict",
			base, with(func(inv *tandem.Invoice) { moreSeats(inv); finalize(inv) }), false,
			with(func(inv *tandem.Invoice) { moreSeats(inv); finalize(inv) }), nil, nil},
		{"a local status ahead is kept with its amounts",
			with(func(inv *tandem.Invoice) {
				finalize(inv)
				inv.Status = tandem.InvoicePaid
				inv.AmountPaid, inv.AmountRemaining = 300, 0
			}),
			with(finalize), false,
			with(func(inv *tandem.Invoice) {
				finalize(inv)
				inv.Status = tandem.InvoicePaid
				inv.AmountPaid, inv.AmountRemaining = 300, 0
			}),
			nil, nil},
		{"a remote status ahead wins",
			with(finalize),
			with(func(inv *tandem.Invoice) { finalize(inv); inv.Status = tandem.InvoiceUncollectible }), false,
			with(func(inv *tandem.Invoice) { finalize(inv); inv.Status = tandem.InvoiceUncollectible }), nil, nil},
		{"paid here, void there: the provider's, as a conflict",
			with(func(inv *tandem.Invoice) { finalize(inv); inv.Status = tandem.InvoicePaid }),
			with(func(inv *tandem.Invoice) { finalize(inv); inv.Status = tandem.InvoiceVoid }), false,
			with(func(inv *tandem.Invoice) { finalize(inv); inv.Status = tandem.InvoiceVoid }), nil, []string{"status"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &picker{remoteWins: tc.remoteWins}
			got, finalized := mergeInvoice(p, base, tc.local, tc.remote)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("merged (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.conflicts, p.conflicts, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("conflicts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.finalized, finalized, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("finalized (-want +got):\n%s", diff)
			}
		})
	}
}
