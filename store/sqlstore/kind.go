package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/tandemsync/tandem"
)

// kindSpec is what the engine's generic reads need to know of one entity
// kind: where its rows are and how to read one into tandem.Fields. Every
// kind's table has an id, a version, updated_at and deleted_at; the push
// worker's final check locks its rows.
type kindSpec struct {
	table string
	// columns are the columns scan reads, qualified with the table's name
	// so that joins with links may use them.
	columns string
	scan    func(Row) (tandem.Fields, error)
	// customerColumn, for a kind whose records belong to a customer, is the
	// column holding that customer's id ("" for none).
	customerColumn string
}

// kinds are the entity kinds of the catalog.
var kinds = map[tandem.Kind]kindSpec{
	tandem.KindCustomer: {table: "customers", columns: customerColumns, scan: func(r Row) (tandem.Fields, error) {
		c, err := scanCustomer(r)
		return tandem.Fields{Customer: c}, err
	}},
	tandem.KindInvoice: {table: "invoices", columns: invoiceColumns, customerColumn: "customer_id",
		scan: func(r Row) (tandem.Fields, error) {
			inv, err := scanInvoice(r)
			return tandem.Fields{Invoice: inv}, err
		}},
}

// specOf returns the spec of kind; EINVALID for a kind the catalog does
// not hold.
func specOf(kind tandem.Kind) (kindSpec, error) {
	spec, ok := kinds[kind]
	if !ok {
		return kindSpec{}, tandem.Errorf(tandem.EINVALID, "unknown kind %q", kind)
	}
	return spec, nil
}

// recordOf is the record whose fields f are.
func recordOf(f tandem.Fields) *tandem.Record {
	switch {
	case f.Customer != nil:
		c := f.Customer
		return &tandem.Record{Ref: tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID}, Version: c.Version,
			UpdatedAt: c.UpdatedAt, Deleted: c.Deleted, Fields: f}
	case f.Invoice != nil:
		inv := f.Invoice
		return &tandem.Record{Ref: tandem.Ref{Kind: tandem.KindInvoice, ID: inv.ID}, Version: inv.Version,
			UpdatedAt: inv.UpdatedAt, Deleted: inv.Deleted, Fields: f}
	}
	return &tandem.Record{Fields: f}
}

// lockVersion reads the version of the record ref, locking its row until
// the transaction ends; the error wraps ErrNoRows when there is none.
func (s *Store[TTx]) lockVersion(ctx context.Context, q Querier, ref tandem.Ref) (int64, error) {
	spec, err := specOf(ref.Kind)
	if err != nil {
		return 0, err
	}
	var version int64
	if err := q.QueryRow(ctx, `SELECT version FROM `+spec.table+` WHERE id = $1`+s.e.ForUpdate, ref.ID).Scan(&version); err != nil {
		return 0, fmt.Errorf("lock %s %s: %w", ref.Kind, ref.ID, err)
	}
	return version, nil
}

// load reads the record ref, tombstones included, locking its row until
// the transaction ends as lock says (Engine.ForUpdate, Engine.ForShare or
// "" for none); ENOTFOUND when there is none.
func (s *Store[TTx]) load(ctx context.Context, q Querier, ref tandem.Ref, lock string) (tandem.Fields, error) {
	spec, err := specOf(ref.Kind)
	if err != nil {
		return tandem.Fields{}, err
	}
	f, err := spec.scan(q.QueryRow(ctx, `SELECT `+spec.columns+` FROM `+spec.table+` WHERE id = $1`+lock, ref.ID))
	if errors.Is(err, ErrNoRows) {
		return tandem.Fields{}, errNotFound(ref.Kind, ref.ID)
	}
	return f, err
}

// errNotFound is the ENOTFOUND of a record of kind.
func errNotFound(kind tandem.Kind, id string) error {
	return tandem.Errorf(tandem.ENOTFOUND, "%s %s not found", kind, id)
}

// linkRow reads a record's columns, then a link's (linkColumns), from one
// row: the record's scan sees the row as holding its own columns only.
type linkRow struct {
	Row
	link *nullableLink
}

func (r linkRow) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.link.dest()...)...) }
