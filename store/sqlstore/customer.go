package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
)

// customerColumns are the columns scanCustomer reads, qualified so that
// joins may use them.
const customerColumns = `customers.id, customers.name, customers.email, customers.phone, customers.address,
	customers.metadata, customers.version, customers.created_at, customers.updated_at, customers.deleted_at`

// CreateCustomer stores c as a new customer (id, version and timestamps are
// set here) and enqueues its pushes in the same transaction. With an
// idempotency key seen before, it returns the first result instead.
func (s *Store[TTx]) CreateCustomer(ctx context.Context, c *tandem.Customer, w tandem.Write) (*tandem.Customer, bool, error) {
	return createOnce(ctx, c, w, s.createCustomer)
}

// createOnce runs create, and once more when a concurrent create with the
// same idempotency key committed first, so as to replay its result.
func createOnce[T any](ctx context.Context, in *T, w tandem.Write, create func(context.Context, *T, tandem.Write) (*T, bool, error)) (*T, bool, error) {
	created, replayed, err := create(ctx, in, w)
	if w.IdempotencyKey != "" && tandem.ErrorCode(err) == tandem.ECONFLICT {
		created, replayed, err = create(ctx, in, w)
	}
	return created, replayed, err
}

func (s *Store[TTx]) createCustomer(ctx context.Context, in *tandem.Customer, w tandem.Write) (*tandem.Customer, bool, error) {
	if err := in.Validate(); err != nil {
		return nil, false, err
	}
	var (
		out      *tandem.Customer
		replayed bool
	)
	err := s.inGroup(ctx, func(ctx context.Context, tx TTx, q Querier) ([]river.InsertManyParams, error) {
		out, replayed = nil, false
		if w.IdempotencyKey != "" {
			var first tandem.Customer
			found, err := s.replay(ctx, q, w, &first)
			if err != nil || found {
				out, replayed = &first, found
				return nil, err
			}
		}
		now := s.now()
		c := *in
		c.ID, c.Version, c.CreatedAt, c.UpdatedAt, c.Deleted = tandem.NewCustomerID(), 1, now, now, false
		address, metadata, err := encodeCustomerJSON(&c)
		if err != nil {
			return nil, err
		}
		if err := q.Exec(ctx, `INSERT INTO customers (id, name, email, phone, address, metadata, version,
			created_at, updated_at, deleted_at, origin)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10)`,
			c.ID, c.Name, c.Email, c.Phone, address, metadata, c.Version, c.CreatedAt, c.UpdatedAt, w.Origin); err != nil {
			return nil, fmt.Errorf("insert customer: %w", err)
		}
		if w.IdempotencyKey != "" {
			if err := s.remember(ctx, q, w, &c); err != nil {
				return nil, err
			}
		}
		out = &c
		return s.recordWrite(ctx, tx, q, tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID}, c.Version, w)
	})
	if err != nil {
		return nil, false, err
	}
	return out, replayed, nil
}

// replay decodes into first the result stored under w's idempotency key
// and reports whether there was one; EINVALID if the key was used for
// another request.
func (s *Store[TTx]) replay(ctx context.Context, q Querier, w tandem.Write, first any) (bool, error) {
	var hash, response string
	err := q.QueryRow(ctx, `SELECT request_hash, response FROM idempotency_keys WHERE key = $1`, w.IdempotencyKey).Scan(&hash, &response)
	switch {
	case errors.Is(err, ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read idempotency key: %w", err)
	case hash != w.RequestHash:
		return false, &tandem.Error{Code: tandem.EINVALID, Field: "Idempotency-Key",
			Message: "this key was already used for a different request"}
	}
	if err := json.Unmarshal([]byte(response), first); err != nil {
		return false, fmt.Errorf("decode idempotent response: %w", err)
	}
	return true, nil
}

// remember stores result as the first result of w's idempotency key.
func (s *Store[TTx]) remember(ctx context.Context, q Querier, w tandem.Write, result any) error {
	snapshot, err := json.Marshal(result)
	if err != nil {
		return err
	}
	if err := q.Exec(ctx, `INSERT INTO idempotency_keys (key, request_hash, response, created_at)
		VALUES ($1, $2, $3, $4)`, w.IdempotencyKey, w.RequestHash, string(snapshot), s.now()); err != nil {
		return fmt.Errorf("store idempotency key: %w", err)
	}
	return nil
}

// GetCustomer returns a live customer.
func (s *Store[TTx]) GetCustomer(ctx context.Context, id string) (*tandem.Customer, error) {
	c, err := s.loadCustomer(ctx, s.e.DB, id, "")
	if err != nil {
		return nil, s.e.Translate(err)
	}
	if c.Deleted {
		return nil, errNotFound(tandem.KindCustomer, id)
	}
	return c, nil
}

// ListCustomers returns a page of live customers in id order.
func (s *Store[TTx]) ListCustomers(ctx context.Context, f tandem.CustomerFilter) (*tandem.CustomerPage, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	query := `SELECT ` + customerColumns + ` FROM customers WHERE deleted_at IS NULL AND id > $1`
	args := []any{f.After}
	if f.Email != "" {
		query += ` AND lower(email) = lower($2)` // index customers_email_lower
		if !f.AnyCase {
			query += ` AND email = $2`
		}
		args = append(args, f.Email)
	}
	items, next, err := queryPage(ctx, s, "customers", query, args, f.Limit, scanCustomer, func(c *tandem.Customer) string { return c.ID })
	if err != nil {
		return nil, err
	}
	return &tandem.CustomerPage{Customers: items, Next: next}, nil
}

// queryPage runs query (its rows in id order after a cursor, in args)
// with a limit of one more than size, and returns the first size rows,
// scanned, with the cursor of the next page ("" on the last).
func queryPage[TTx, T any](ctx context.Context, s *Store[TTx], what, query string, args []any, size int,
	scan func(Row) (T, error), id func(T) string) ([]T, string, error) {
	args = append(args, size+1)
	rows, err := s.e.DB.Query(ctx, query+` ORDER BY id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", s.e.Translate(fmt.Errorf("list %s: %w", what, err))
	}
	defer rows.Close()
	var items []T
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, "", s.e.Translate(fmt.Errorf("list %s: %w", what, err))
	}
	if len(items) > size {
		items = items[:size]
		return items, id(items[size-1]), nil
	}
	return items, "", nil
}

// UpdateCustomer applies change to the live customer id and stores the result
// as the next version, enqueuing its pushes in the same transaction.
func (s *Store[TTx]) UpdateCustomer(ctx context.Context, id string, w tandem.Write, change func(*tandem.Customer) error) (*tandem.Customer, error) {
	var out *tandem.Customer
	err := s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		c, err := s.lockLiveCustomer(ctx, q, id, w)
		if err != nil {
			return err
		}
		if err := change(c); err != nil {
			return err
		}
		if err := c.Validate(); err != nil {
			return err
		}
		c.ID = id // change may not move the record
		c.Version++
		c.UpdatedAt = s.now()
		address, metadata, err := encodeCustomerJSON(c)
		if err != nil {
			return err
		}
		if err := q.Exec(ctx, `UPDATE customers SET name = $2, email = $3, phone = $4, address = $5,
			metadata = $6, version = $7, updated_at = $8, origin = $9 WHERE id = $1`,
			id, c.Name, c.Email, c.Phone, address, metadata, c.Version, c.UpdatedAt, w.Origin); err != nil {
			return fmt.Errorf("update customer: %w", err)
		}
		out = c
		return s.afterWrite(ctx, tx, q, tandem.Ref{Kind: tandem.KindCustomer, ID: id}, c.Version, w)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteCustomer turns a live customer into a tombstone (a new version) and
// enqueues its pushes in the same transaction.
func (s *Store[TTx]) DeleteCustomer(ctx context.Context, id string, w tandem.Write) error {
	return s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		c, err := s.lockLiveCustomer(ctx, q, id, w)
		if err != nil {
			return err
		}
		now := s.now()
		if err := q.Exec(ctx, `UPDATE customers SET version = $2, updated_at = $3, deleted_at = $3, origin = $4
			WHERE id = $1`, id, c.Version+1, now, w.Origin); err != nil {
			return fmt.Errorf("delete customer: %w", err)
		}
		return s.afterWrite(ctx, tx, q, tandem.Ref{Kind: tandem.KindCustomer, ID: id}, c.Version+1, w)
	})
}

// lockLiveCustomer reads a live customer for a write, locking its row, and
// checks w's expected version.
func (s *Store[TTx]) lockLiveCustomer(ctx context.Context, q Querier, id string, w tandem.Write) (*tandem.Customer, error) {
	c, err := s.loadCustomer(ctx, q, id, s.e.ForUpdate)
	if err != nil {
		return nil, err
	}
	return c, checkLive(tandem.KindCustomer, id, c.Deleted, c.Version, w)
}

// checkLive refuses a write to a tombstone (ENOTFOUND) or to a record not
// at w's expected version (EPRECONDITION).
func checkLive(kind tandem.Kind, id string, deleted bool, version int64, w tandem.Write) error {
	switch {
	case deleted:
		return errNotFound(kind, id)
	case w.IfVersion != 0 && w.IfVersion != version:
		return tandem.Errorf(tandem.EPRECONDITION, "%s %s is at version %d, not %d", kind, id, version, w.IfVersion)
	}
	return nil
}

// loadCustomer reads a customer, tombstones included, locked as load's lock
// says.
func (s *Store[TTx]) loadCustomer(ctx context.Context, q Querier, id string, lock string) (*tandem.Customer, error) {
	f, err := s.load(ctx, q, tandem.Ref{Kind: tandem.KindCustomer, ID: id}, lock)
	return f.Customer, err
}

func scanCustomer(r Row) (*tandem.Customer, error) {
	var (
		c                 tandem.Customer
		address, metadata string
		deletedAt         *time.Time
	)
	if err := r.Scan(&c.ID, &c.Name, &c.Email, &c.Phone, &address, &metadata, &c.Version,
		&c.CreatedAt, &c.UpdatedAt, &deletedAt); err != nil {
		return nil, fmt.Errorf("scan customer: %w", err)
	}
	return &c, decodeCustomer(&c, address, metadata, deletedAt)
}

// decodeCustomer completes a customer scanned from its columns.
func decodeCustomer(c *tandem.Customer, address, metadata string, deletedAt *time.Time) error {
	if err := json.Unmarshal([]byte(address), &c.Address); err != nil {
		return fmt.Errorf("decode address of %s: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(metadata), &c.Metadata); err != nil {
		return fmt.Errorf("decode metadata of %s: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.Deleted = deletedAt != nil
	return nil
}

func encodeCustomerJSON(c *tandem.Customer) (address, metadata string, err error) {
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	a, err := json.Marshal(c.Address)
	if err != nil {
		return "", "", err
	}
	m, err := json.Marshal(c.Metadata)
	if err != nil {
		return "", "", err
	}
	return string(a), string(m), nil
}
