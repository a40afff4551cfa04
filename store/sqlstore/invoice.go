package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
)

// invoiceColumns are the columns scanInvoice reads, qualified so that joins
// may use them.
const invoiceColumns = `invoices.id, invoices.customer_id, invoices.currency, invoices.description,
	invoices.due_date, invoices.metadata, invoices.lines, invoices.status, invoices.number, invoices.subtotal,
	invoices.total, invoices.amount_due, invoices.amount_paid, invoices.amount_remaining,
	invoices.hosted_invoice_url, invoices.payment_failure, invoices.version, invoices.created_at,
	invoices.updated_at, invoices.deleted_at`

// CreateInvoice stores inv as a new invoice of a live customer (id,
// version, timestamps and totals are set here; a new invoice is a draft
// unless inv says otherwise; see computeTotals) and enqueues its pushes in the same
// transaction. With an idempotency key seen before, it returns the first
// result instead.
func (s *Store[TTx]) CreateInvoice(ctx context.Context, inv *tandem.Invoice, w tandem.Write) (*tandem.Invoice, bool, error) {
	return createOnce(ctx, inv, w, s.createInvoice)
}

func (s *Store[TTx]) createInvoice(ctx context.Context, in *tandem.Invoice, w tandem.Write) (*tandem.Invoice, bool, error) {
	valid := *in
	if err := valid.Validate(); err != nil { // it normalises, so it gets a copy
		return nil, false, err
	}
	var (
		out      *tandem.Invoice
		replayed bool
	)
	err := s.inGroup(ctx, func(ctx context.Context, tx TTx, q Querier) ([]river.InsertManyParams, error) {
		out, replayed = nil, false
		if w.IdempotencyKey != "" {
			var first tandem.Invoice
			found, err := s.replay(ctx, q, w, &first)
			if err != nil || found {
				out, replayed = &first, found
				return nil, err
			}
		}
		inv := valid
		// A shared lock on the customer's row keeps it from being deleted
		// meanwhile, and lets creates of its invoices share it: two groups
		// of creates locking customers in different orders do not deadlock.
		c, err := s.loadCustomer(ctx, q, inv.CustomerID, s.e.ForShare)
		if err == nil {
			err = checkLive(tandem.KindCustomer, inv.CustomerID, c.Deleted, c.Version, tandem.Write{})
		}
		switch {
		case tandem.ErrorCode(err) == tandem.ENOTFOUND:
			return nil, tandem.FieldError("customer_id", "no customer %s", inv.CustomerID)
		case err != nil:
			return nil, err
		}
		now := s.now()
		inv.ID, inv.Version, inv.CreatedAt, inv.UpdatedAt, inv.Deleted = tandem.NewInvoiceID(), 1, now, now, false
		if inv.Status == "" {
			inv.Status = tandem.InvoiceDraft
		}
		computeTotals(&inv, w)
		if err := s.writeInvoice(ctx, q, &inv, w.Origin, true); err != nil {
			return nil, err
		}
		if w.IdempotencyKey != "" {
			if err := s.remember(ctx, q, w, &inv); err != nil {
				return nil, err
			}
		}
		out = &inv
		return s.recordWrite(ctx, tx, q, tandem.Ref{Kind: tandem.KindInvoice, ID: inv.ID}, inv.Version, w)
	})
	if err != nil {
		return nil, false, err
	}
	return out, replayed, nil
}

// GetInvoice returns a live invoice.
func (s *Store[TTx]) GetInvoice(ctx context.Context, id string) (*tandem.Invoice, error) {
	inv, err := s.loadInvoice(ctx, s.e.DB, id, "")
	if err != nil {
		return nil, s.e.Translate(err)
	}
	if inv.Deleted {
		return nil, errNotFound(tandem.KindInvoice, id)
	}
	return inv, nil
}

// ListInvoices returns a page of live invoices in id order (which is their
// order of creation).
func (s *Store[TTx]) ListInvoices(ctx context.Context, f tandem.InvoiceFilter) (*tandem.InvoicePage, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	query := `SELECT ` + invoiceColumns + ` FROM invoices WHERE deleted_at IS NULL AND id > $1`
	args := []any{f.After}
	if f.CustomerID != "" {
		args = append(args, f.CustomerID)
		query += ` AND customer_id = $` + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		query += ` AND status = $` + strconv.Itoa(len(args))
	}
	items, next, err := queryPage(ctx, s, "invoices", query, args, f.Limit, scanInvoice, func(inv *tandem.Invoice) string { return inv.ID })
	if err != nil {
		return nil, err
	}
	return &tandem.InvoicePage{Invoices: items, Next: next}, nil
}

// UpdateInvoice applies change to the live invoice id, checks and totals
// the result (see computeTotals), and stores it as the next version, enqueuing its pushes in
// the same transaction. change sees the stored state under the row's lock:
// it is where a caller refuses an edit the invoice's status forbids. The
// id and customer cannot change.
func (s *Store[TTx]) UpdateInvoice(ctx context.Context, id string, w tandem.Write, change func(*tandem.Invoice) error) (*tandem.Invoice, error) {
	var out *tandem.Invoice
	err := s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		inv, err := s.lockLiveInvoice(ctx, q, id, w)
		if err != nil {
			return err
		}
		customer := inv.CustomerID
		if err := change(inv); err != nil {
			return err
		}
		inv.ID, inv.CustomerID = id, customer
		if err := inv.Validate(); err != nil {
			return err
		}
		computeTotals(inv, w)
		inv.Version++
		inv.UpdatedAt = s.now()
		if err := s.writeInvoice(ctx, q, inv, w.Origin, false); err != nil {
			return err
		}
		out = inv
		return s.afterWrite(ctx, tx, q, tandem.Ref{Kind: tandem.KindInvoice, ID: id}, inv.Version, w)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteInvoice turns a live draft into a tombstone (a new version) and
// enqueues its pushes in the same transaction; any other status is
// ECONFLICT, as only drafts can be deleted.
func (s *Store[TTx]) DeleteInvoice(ctx context.Context, id string, w tandem.Write) error {
	return s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		inv, err := s.lockLiveInvoice(ctx, q, id, w)
		if err != nil {
			return err
		}
		if !inv.Status.Editable() {
			return tandem.Errorf(tandem.ECONFLICT, "invoice %s is %s: only a draft can be deleted", id, inv.Status)
		}
		now := s.now()
		if err := q.Exec(ctx, `UPDATE invoices SET version = $2, updated_at = $3, deleted_at = $3, origin = $4
			WHERE id = $1`, id, inv.Version+1, now, w.Origin); err != nil {
			return fmt.Errorf("delete invoice: %w", err)
		}
		return s.afterWrite(ctx, tx, q, tandem.Ref{Kind: tandem.KindInvoice, ID: id}, inv.Version+1, w)
	})
}

// computeTotals totals inv from its lines, unless w comes from an
// integration: the provider's amounts (taxes, discounts, payments) are
// then what the invoice states.
func computeTotals(inv *tandem.Invoice, w tandem.Write) {
	if w.Origin == "" || w.Origin == tandem.OriginAPI {
		inv.ComputeTotals()
	}
}

// writeInvoice inserts (create) or updates inv's row.
func (s *Store[TTx]) writeInvoice(ctx context.Context, q Querier, inv *tandem.Invoice, origin string, create bool) error {
	if inv.Metadata == nil {
		inv.Metadata = map[string]string{}
	}
	if inv.Lines == nil {
		inv.Lines = []tandem.InvoiceLine{}
	}
	metadata, err := json.Marshal(inv.Metadata)
	if err != nil {
		return err
	}
	lines, err := json.Marshal(inv.Lines)
	if err != nil {
		return err
	}
	var due *time.Time
	if !inv.DueDate.IsZero() {
		due = &inv.DueDate
	}
	query := `UPDATE invoices SET customer_id = $2, currency = $3, description = $4, due_date = $5, metadata = $6,
		lines = $7, status = $8, number = $9, subtotal = $10, total = $11, amount_due = $12, amount_paid = $13,
		amount_remaining = $14, hosted_invoice_url = $15, payment_failure = $16, version = $17, created_at = $18,
		updated_at = $19, origin = $20 WHERE id = $1`
	if create {
		query = `INSERT INTO invoices (id, customer_id, currency, description, due_date, metadata, lines, status,
			number, subtotal, total, amount_due, amount_paid, amount_remaining, hosted_invoice_url, payment_failure,
			version, created_at, updated_at, origin, deleted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, NULL)`
	}
	if err := q.Exec(ctx, query, inv.ID, inv.CustomerID, inv.Currency, inv.Description, due, string(metadata),
		string(lines), string(inv.Status), inv.Number, inv.Subtotal, inv.Total, inv.AmountDue, inv.AmountPaid,
		inv.AmountRemaining, inv.HostedInvoiceURL, inv.PaymentFailure, inv.Version, inv.CreatedAt, inv.UpdatedAt,
		origin); err != nil {
		return fmt.Errorf("write invoice: %w", err)
	}
	return nil
}

// lockLiveInvoice reads a live invoice for a write, locking its row, and
// checks w's expected version.
func (s *Store[TTx]) lockLiveInvoice(ctx context.Context, q Querier, id string, w tandem.Write) (*tandem.Invoice, error) {
	inv, err := s.loadInvoice(ctx, q, id, s.e.ForUpdate)
	if err != nil {
		return nil, err
	}
	return inv, checkLive(tandem.KindInvoice, id, inv.Deleted, inv.Version, w)
}

// loadInvoice reads an invoice, tombstones included.
func (s *Store[TTx]) loadInvoice(ctx context.Context, q Querier, id string, lock string) (*tandem.Invoice, error) {
	f, err := s.load(ctx, q, tandem.Ref{Kind: tandem.KindInvoice, ID: id}, lock)
	return f.Invoice, err
}

func scanInvoice(r Row) (*tandem.Invoice, error) {
	var (
		inv             tandem.Invoice
		status          string
		metadata, lines string
		due, deletedAt  *time.Time
	)
	if err := r.Scan(&inv.ID, &inv.CustomerID, &inv.Currency, &inv.Description, &due, &metadata, &lines, &status,
		&inv.Number, &inv.Subtotal, &inv.Total, &inv.AmountDue, &inv.AmountPaid, &inv.AmountRemaining,
		&inv.HostedInvoiceURL, &inv.PaymentFailure, &inv.Version, &inv.CreatedAt, &inv.UpdatedAt, &deletedAt); err != nil {
		return nil, fmt.Errorf("scan invoice: %w", err)
	}
	if err := json.Unmarshal([]byte(metadata), &inv.Metadata); err != nil {
		return nil, fmt.Errorf("decode metadata of %s: %w", inv.ID, err)
	}
	if err := json.Unmarshal([]byte(lines), &inv.Lines); err != nil {
		return nil, fmt.Errorf("decode lines of %s: %w", inv.ID, err)
	}
	inv.Status = tandem.InvoiceStatus(status)
	if due != nil {
		inv.DueDate = due.UTC()
	}
	inv.CreatedAt, inv.UpdatedAt = inv.CreatedAt.UTC(), inv.UpdatedAt.UTC()
	inv.Deleted = deletedAt != nil
	return &inv, nil
}
