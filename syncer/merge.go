package syncer

import (
	"maps"
	"slices"
	"time"

	"github.com/tandemsync/tandem"
)

// Policy decides conflicts: fields that both sides changed since the last
// state they agreed on.
type Policy string

// The conflict policies; an integration's name is a policy too (that
// integration's value wins).
const (
	// PolicyNewest keeps the value of the side that changed last.
	PolicyNewest Policy = "newest"
	// PolicyLocal keeps Tandem's value.
	PolicyLocal Policy = "local"
)

// remoteWins says whether integration's value wins a conflict, given when
// each side changed.
func (p Policy) remoteWins(integration string, localAt, remoteAt time.Time) bool {
	switch p {
	case PolicyLocal:
		return false
	case Policy(integration):
		return true
	default:
		return remoteAt.After(localAt)
	}
}

// picker merges one field at a time against base, the last state both
// sides agreed on: a field only one side changed takes that side's value; a
// field both changed to different values is a conflict, which remoteWins
// settles. conflicts names the conflicting fields, in order.
type picker struct {
	remoteWins bool
	conflicts  []string
}

// pickFunc merges one field whose values equal compares.
func pickFunc[T any](p *picker, name string, b, l, r T, equal func(a, b T) bool) T {
	switch {
	case equal(r, b) || equal(r, l):
		return l
	case equal(l, b):
		return r
	}
	p.conflicts = append(p.conflicts, name)
	if p.remoteWins {
		return r
	}
	return l
}

// pick merges one comparable field.
func pick[T comparable](p *picker, name string, b, l, r T) T {
	return pickFunc(p, name, b, l, r, func(x, y T) bool { return x == y })
}

// mergeMetadata merges metadata key by key; an absent key merges as an
// empty value, so removing a key is a change.
func mergeMetadata(p *picker, base, local, remote map[string]string) map[string]string {
	merged := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(union(base, local, remote))) {
		if v := pick(p, "metadata."+k, base[k], local[k], remote[k]); v != "" {
			merged[k] = v
		}
	}
	return merged
}

// mergeCustomer is the three-way merge of a customer, field by field
// (metadata key by key) against base.
func mergeCustomer(p *picker, base, local, remote *tandem.Customer) *tandem.Customer {
	merged := &tandem.Customer{}
	merged.Name = pick(p, "name", base.Name, local.Name, remote.Name)
	merged.Email = pick(p, "email", base.Email, local.Email, remote.Email)
	merged.Phone = pick(p, "phone", base.Phone, local.Phone, remote.Phone)
	a := []struct {
		name    string
		dst     *string
		b, l, r string
	}{
		{"address.line1", &merged.Address.Line1, base.Address.Line1, local.Address.Line1, remote.Address.Line1},
		{"address.line2", &merged.Address.Line2, base.Address.Line2, local.Address.Line2, remote.Address.Line2},
		{"address.city", &merged.Address.City, base.Address.City, local.Address.City, remote.Address.City},
		{"address.state", &merged.Address.State, base.Address.State, local.Address.State, remote.Address.State},
		{"address.postal_code", &merged.Address.PostalCode, base.Address.PostalCode, local.Address.PostalCode, remote.Address.PostalCode},
		{"address.country", &merged.Address.Country, base.Address.Country, local.Address.Country, remote.Address.Country},
	}
	for _, f := range a {
		*f.dst = pick(p, f.name, f.b, f.l, f.r)
	}
	merged.Metadata = mergeMetadata(p, base.Metadata, local.Metadata, remote.Metadata)
	return merged
}

// statusRank orders the invoice lifecycle, which only moves forward: draft,
// open, uncollectible, then paid or void (both final).
var statusRank = map[tandem.InvoiceStatus]int{
	tandem.InvoiceDraft: 0, tandem.InvoiceOpen: 1, tandem.InvoiceUncollectible: 2,
	tandem.InvoicePaid: 3, tandem.InvoiceVoid: 3,
}

// mergeInvoice merges a remote invoice into the local one (a copy of it is
// returned; the provider is Stripe, in these terms). The provider owns the
// status, which only moves forward: a local status ahead of the remote one
// is kept (and pushed), one behind takes the remote's, and two different
// final statuses are a conflict the remote wins (named in finalized). It owns the number, the
// amounts, the hosted URL and the payment failure too, except that the
// amounts of a local status ahead are kept with it. Description, due date
// and metadata merge three-way against base; so do the currency and lines
// while the remote invoice is a draft. Once it is finalized, its currency
// and lines are the legal document: they are taken as they are, and
// finalized names those of a local edit (they differ from the base) that
// they replace (with the total), a conflict never settled silently.
func mergeInvoice(p *picker, base, local, remote *tandem.Invoice) (merged *tandem.Invoice, finalized []string) {
	m := *local
	m.Description = pick(p, "description", base.Description, local.Description, remote.Description)
	m.DueDate = pickFunc(p, "due_date", base.DueDate, local.DueDate, remote.DueDate, time.Time.Equal)
	m.Metadata = mergeMetadata(p, base.Metadata, local.Metadata, remote.Metadata)
	if remote.Status.Editable() {
		m.Currency = pick(p, "currency", base.Currency, local.Currency, remote.Currency)
		m.Lines = pickFunc(p, "lines", base.Lines, local.Lines, remote.Lines, sameLines)
	} else {
		// Only local edits are lost here: currency and lines that still
		// are the base's are news from the provider.
		if local.Currency != remote.Currency && local.Currency != base.Currency {
			finalized = append(finalized, "currency")
		}
		if !sameLines(local.Lines, remote.Lines) && !sameLines(local.Lines, base.Lines) {
			finalized = append(finalized, "lines")
			if local.Total != remote.Total {
				finalized = append(finalized, "total")
			}
		}
		m.Currency, m.Lines = remote.Currency, remote.Lines
	}
	localRank, remoteRank := statusRank[local.Status], statusRank[remote.Status]
	if localRank <= remoteRank {
		if localRank == remoteRank && local.Status != remote.Status {
			finalized = append(finalized, "status")
		}
		m.Status = remote.Status
		m.Subtotal, m.Total, m.AmountDue = remote.Subtotal, remote.Total, remote.AmountDue
		m.AmountPaid, m.AmountRemaining = remote.AmountPaid, remote.AmountRemaining
	}
	m.Number, m.HostedInvoiceURL, m.PaymentFailure = remote.Number, remote.HostedInvoiceURL, remote.PaymentFailure
	return &m, finalized
}

// sameLines compares the lines as an invoice states them: description,
// quantity and unit amount (the line amounts follow from those).
func sameLines(a, b []tandem.InvoiceLine) bool {
	return slices.EqualFunc(a, b, func(x, y tandem.InvoiceLine) bool {
		return x.Description == y.Description && x.Quantity == y.Quantity && x.UnitAmount == y.UnitAmount
	})
}

func union(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// sameRecord reports whether a and b, of one kind, hold the same synced
// fields.
func sameRecord(a, b tandem.Fields) bool {
	switch {
	case a.Customer != nil && b.Customer != nil:
		return sameFields(a.Customer, b.Customer)
	case a.Invoice != nil && b.Invoice != nil:
		return sameInvoice(a.Invoice, b.Invoice)
	}
	return false
}

// sameFields reports whether two customers hold the same synced fields.
func sameFields(a, b *tandem.Customer) bool {
	return a.Name == b.Name && a.Email == b.Email && a.Phone == b.Phone && a.Address == b.Address &&
		maps.Equal(a.Metadata, b.Metadata)
}

// sameInvoice reports whether two invoices hold the same synced fields (the
// customer is not one: it never changes).
func sameInvoice(a, b *tandem.Invoice) bool {
	return a.Currency == b.Currency && a.Description == b.Description && a.DueDate.Equal(b.DueDate) &&
		maps.Equal(a.Metadata, b.Metadata) && sameLines(a.Lines, b.Lines) && a.Status == b.Status &&
		a.Number == b.Number && a.Subtotal == b.Subtotal && a.Total == b.Total && a.AmountDue == b.AmountDue &&
		a.AmountPaid == b.AmountPaid && a.AmountRemaining == b.AmountRemaining &&
		a.HostedInvoiceURL == b.HostedInvoiceURL && a.PaymentFailure == b.PaymentFailure
}
