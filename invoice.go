package tandem

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// KindInvoice is the kind of an Invoice.
const KindInvoice Kind = "invoice"

// InvoiceIDPrefix starts every invoice id: no Stripe id (in_…) can look
// like one.
const InvoiceIDPrefix = "tdmi_"

// NewInvoiceID returns a new invoice id; ids sort by creation time.
func NewInvoiceID() string { return InvoiceIDPrefix + newSortableID() }

// Limits on invoices. The amounts are Stripe's: an amount holds at most
// eight digits in minor units, and an invoice at most 250 lines.
const (
	MaxInvoiceLines       = 250
	MaxInvoiceDescription = 500
	MaxLineDescription    = 500
	MaxLineQuantity       = 1_000_000
	MaxUnitAmount         = 99_999_999
)

// InvoiceStatus is where an invoice is in its lifecycle: Stripe's statuses.
type InvoiceStatus string

// The invoice statuses.
const (
	InvoiceDraft         InvoiceStatus = "draft"
	InvoiceOpen          InvoiceStatus = "open"
	InvoicePaid          InvoiceStatus = "paid"
	InvoiceUncollectible InvoiceStatus = "uncollectible"
	InvoiceVoid          InvoiceStatus = "void"
)

// InvoiceAction is a lifecycle action on an invoice.
type InvoiceAction string

// The lifecycle actions, named as Tandem's API and Stripe's endpoints name
// them.
const (
	ActionFinalize          InvoiceAction = "finalize"
	ActionPay               InvoiceAction = "pay" // paid outside Stripe
	ActionVoid              InvoiceAction = "void"
	ActionMarkUncollectible InvoiceAction = "mark-uncollectible"
)

// transitions are the only moves Stripe allows: a draft is finalized (or
// deleted, which is not an action); an open invoice is paid, voided or
// marked uncollectible; an uncollectible one may still be paid or voided.
// Paid and void are final.
var transitions = map[InvoiceStatus]map[InvoiceAction]InvoiceStatus{
	InvoiceDraft: {ActionFinalize: InvoiceOpen},
	InvoiceOpen: {ActionPay: InvoicePaid, ActionVoid: InvoiceVoid,
		ActionMarkUncollectible: InvoiceUncollectible},
	InvoiceUncollectible: {ActionPay: InvoicePaid, ActionVoid: InvoiceVoid},
}

// Next returns the status action leads to from s, or an ECONFLICT *Error
// naming s when Stripe does not allow it.
func (s InvoiceStatus) Next(action InvoiceAction) (InvoiceStatus, error) {
	if next, ok := transitions[s][action]; ok {
		return next, nil
	}
	return "", Errorf(ECONFLICT, "cannot %s an invoice that is %s", strings.ReplaceAll(string(action), "-", " "), s)
}

// Editable says whether an invoice in status s may change its lines,
// amounts and details, or be deleted: only a draft may. Finalized invoices
// are immutable on both sides.
func (s InvoiceStatus) Editable() bool { return s == InvoiceDraft }

// Invoice is one entry of the local invoice catalog, for a customer of the
// customer catalog. Money is integer minor units of Currency, never
// floating point; the totals are computed from the lines (ComputeTotals).
type Invoice struct {
	ID         string
	CustomerID string
	// Currency is a lowercase ISO 4217 code ("eur").
	Currency    string
	Description string
	// DueDate is the day payment is due (UTC midnight), zero for none.
	DueDate  time.Time
	Metadata map[string]string
	Lines    []InvoiceLine
	Status   InvoiceStatus
	// Number is the invoice number, given when it is finalized.
	Number string
	// Totals, in minor units.
	Subtotal        int64
	Total           int64
	AmountDue       int64
	AmountPaid      int64
	AmountRemaining int64
	// HostedInvoiceURL is where the customer can see and pay it (Stripe's).
	HostedInvoiceURL string
	// PaymentFailure is why the last payment attempt failed, "" if none did.
	PaymentFailure string
	Version        int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Deleted marks a deleted draft's tombstone: kept for sync, invisible
	// to reads.
	Deleted bool
}

// InvoiceLine is one line of an invoice: Quantity units at UnitAmount each.
type InvoiceLine struct {
	Description string `json:"description"`
	Quantity    int64  `json:"quantity"`
	UnitAmount  int64  `json:"unit_amount"`
	// Amount is Quantity × UnitAmount, computed.
	Amount int64 `json:"amount"`
}

var currencyPattern = regexp.MustCompile(`^[a-z]{3}$`)

// Validate reports the first field of inv that breaks the catalog's rules
// as an EINVALID *Error naming that field. It lowercases the currency.
// Quantities and amounts are bounded so that no total can overflow.
func (inv *Invoice) Validate() error {
	if inv.CustomerID == "" {
		return FieldError("customer_id", "is required")
	}
	if !strings.HasPrefix(inv.CustomerID, CustomerIDPrefix) {
		return FieldError("customer_id", "%q is not a customer id (%s…)", inv.CustomerID, CustomerIDPrefix)
	}
	inv.Currency = strings.ToLower(inv.Currency)
	if !currencyPattern.MatchString(inv.Currency) {
		return FieldError("currency", "%q is not a three-letter ISO 4217 currency code", inv.Currency)
	}
	if err := checkLen("description", inv.Description, MaxInvoiceDescription); err != nil {
		return err
	}
	if len(inv.Lines) > MaxInvoiceLines {
		return FieldError("lines", "has %d lines, at most %d are allowed", len(inv.Lines), MaxInvoiceLines)
	}
	for i, l := range inv.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		if err := checkLen(field+".description", l.Description, MaxLineDescription); err != nil {
			return err
		}
		if l.Description == "" {
			return FieldError(field+".description", "is required")
		}
		if l.Quantity < 1 || l.Quantity > MaxLineQuantity {
			return FieldError(field+".quantity", "must be between 1 and %d, not %d", MaxLineQuantity, l.Quantity)
		}
		if l.UnitAmount < 0 || l.UnitAmount > MaxUnitAmount {
			return FieldError(field+".unit_amount", "must be between 0 and %d minor units, not %d", MaxUnitAmount, l.UnitAmount)
		}
	}
	return ValidateMetadata(inv.Metadata)
}

// ComputeTotals sets each line's amount and the invoice's totals from its
// lines, status and AmountPaid (a paid invoice has paid what was due). The
// bounds Validate checks keep every sum far below math.MaxInt64. Once the
// invoice is in Stripe, Stripe's amounts are applied over these.
func (inv *Invoice) ComputeTotals() {
	var sum int64
	for i := range inv.Lines {
		l := &inv.Lines[i]
		l.Amount = l.Quantity * l.UnitAmount
		sum += l.Amount
	}
	inv.Subtotal, inv.Total, inv.AmountDue = sum, sum, sum
	if inv.Status == InvoicePaid {
		inv.AmountPaid = sum
	}
	inv.AmountRemaining = inv.AmountDue - inv.AmountPaid
}

// maxInvoiceTotal is the largest total Validate lets through.
const maxInvoiceTotal = MaxInvoiceLines * MaxLineQuantity * MaxUnitAmount

// A compile-time check that no total overflows: the index is 0 only while
// maxInvoiceTotal fits in an int64.
var _ = [1]struct{}{}[maxInvoiceTotal/math.MaxInt64]

// InvoiceCatalog is the local invoice catalog: the write path every change
// to an invoice takes, from the API or from an integration.
type InvoiceCatalog interface {
	// CreateInvoice stores a new invoice (a draft unless it says otherwise)
	// of a live customer, totalled as UpdateInvoice does; an unknown or deleted customer is EINVALID naming
	// customer_id. replayed reports that w's idempotency key was seen
	// before and the result is the first one.
	CreateInvoice(ctx context.Context, inv *Invoice, w Write) (created *Invoice, replayed bool, err error)
	// GetInvoice returns a live invoice; ENOTFOUND for unknown or deleted ids.
	GetInvoice(ctx context.Context, id string) (*Invoice, error)
	// ListInvoices returns one page of live invoices in id order.
	ListInvoices(ctx context.Context, f InvoiceFilter) (*InvoicePage, error)
	// UpdateInvoice applies change to the stored invoice, under its lock,
	// and saves the result, totals recomputed, as a new version. change
	// refuses what the invoice's status forbids. A write from an
	// integration (its Origin) keeps the provider's amounts instead.
	UpdateInvoice(ctx context.Context, id string, w Write, change func(*Invoice) error) (*Invoice, error)
	// DeleteInvoice turns a draft into a tombstone; ECONFLICT for any other
	// status.
	DeleteInvoice(ctx context.Context, id string, w Write) error
}

// InvoiceFilter selects a page of invoices.
type InvoiceFilter struct {
	// CustomerID and Status, when set, keep only the invoices of that
	// customer and in that status.
	CustomerID string
	Status     InvoiceStatus
	// After is the cursor of the previous page: the last id it returned.
	After string
	// Limit is the page size.
	Limit int
}

// InvoicePage is one page of invoices. Next is the cursor of the following
// page, empty on the last one.
type InvoicePage struct {
	Invoices []*Invoice
	Next     string
}
