package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

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
	created, replayed, err := s.createCustomer(ctx, c, w)
	if w.IdempotencyKey != "" && tandem.ErrorCode(err) == tandem.ECONFLICT {
		// A concurrent create with the same key committed first: replay it.
		created, replayed, err = s.createCustomer(ctx, c, w)
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
	err := s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		if w.IdempotencyKey != "" {
			first, err := s.replay(ctx, q, w)
			if err != nil || first != nil {
				out, replayed = first, first != nil
				return err
			}
		}
		now := s.now()
		c := *in
		c.ID, c.Version, c.CreatedAt, c.UpdatedAt, c.Deleted = tandem.NewCustomerID(), 1, now, now, false
		address, metadata, err := encodeCustomerJSON(&c)
		if err != nil {
			return err
		}
		if err := q.Exec(ctx, `INSERT INTO customers (id, name, email, phone, address, metadata, version,
			created_at, updated_at, deleted_at, origin)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10)`,
			c.ID, c.Name, c.Email, c.Phone, address, metadata, c.Version, c.CreatedAt, c.UpdatedAt, w.Origin); err != nil {
			return fmt.Errorf("insert customer: %w", err)
		}
		if w.IdempotencyKey != "" {
			snapshot, err := json.Marshal(&c)
			if err != nil {
				return err
			}
			if err := q.Exec(ctx, `INSERT INTO idempotency_keys (key, request_hash, response, created_at)
				VALUES ($1, $2, $3, $4)`, w.IdempotencyKey, w.RequestHash, string(snapshot), now); err != nil {
				return fmt.Errorf("store idempotency key: %w", err)
			}
		}
		out = &c
		return s.afterWrite(ctx, tx, q, tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID}, c.Version, w)
	})
	if err != nil {
		return nil, false, err
	}
	return out, replayed, nil
}

// replay returns the first result stored under w's idempotency key, nil if
// the key is new, and EINVALID if the key was used for another request.
func (s *Store[TTx]) replay(ctx context.Context, q Querier, w tandem.Write) (*tandem.Customer, error) {
	var hash, response string
	err := q.QueryRow(ctx, `SELECT request_hash, response FROM idempotency_keys WHERE key = $1`, w.IdempotencyKey).Scan(&hash, &response)
	switch {
	case errors.Is(err, ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read idempotency key: %w", err)
	case hash != w.RequestHash:
		return nil, &tandem.Error{Code: tandem.EINVALID, Field: "Idempotency-Key",
			Message: "this key was already used for a different request"}
	}
	var c tandem.Customer
	if err := json.Unmarshal([]byte(response), &c); err != nil {
		return nil, fmt.Errorf("decode idempotent response: %w", err)
	}
	return &c, nil
}

// GetCustomer returns a live customer.
func (s *Store[TTx]) GetCustomer(ctx context.Context, id string) (*tandem.Customer, error) {
	c, err := s.loadCustomer(ctx, s.e.DB, id, false)
	if err != nil {
		return nil, s.e.Translate(err)
	}
	if c.Deleted {
		return nil, errCustomerNotFound(id)
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
		query += ` AND email = $2`
		args = append(args, f.Email)
	}
	query += ` ORDER BY id LIMIT $` + strconv.Itoa(len(args)+1)
	args = append(args, f.Limit+1)
	rows, err := s.e.DB.Query(ctx, query, args...)
	if err != nil {
		return nil, s.e.Translate(fmt.Errorf("list customers: %w", err))
	}
	defer rows.Close()
	page := &tandem.CustomerPage{}
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		page.Customers = append(page.Customers, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.e.Translate(fmt.Errorf("list customers: %w", err))
	}
	if len(page.Customers) > f.Limit {
		page.Customers = page.Customers[:f.Limit]
		page.Next = page.Customers[f.Limit-1].ID
	}
	return page, nil
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
	c, err := s.loadCustomer(ctx, q, id, true)
	if err != nil {
		return nil, err
	}
	if c.Deleted {
		return nil, errCustomerNotFound(id)
	}
	if w.IfVersion != 0 && w.IfVersion != c.Version {
		return nil, tandem.Errorf(tandem.EPRECONDITION, "customer %s is at version %d, not %d", id, c.Version, w.IfVersion)
	}
	return c, nil
}

// loadCustomer reads a customer, tombstones included.
func (s *Store[TTx]) loadCustomer(ctx context.Context, q Querier, id string, lock bool) (*tandem.Customer, error) {
	query := `SELECT ` + customerColumns + ` FROM customers WHERE id = $1`
	if lock {
		query += s.e.ForUpdate
	}
	c, err := scanCustomer(q.QueryRow(ctx, query, id))
	if errors.Is(err, ErrNoRows) {
		return nil, errCustomerNotFound(id)
	}
	return c, err
}

func errCustomerNotFound(id string) error {
	return tandem.Errorf(tandem.ENOTFOUND, "customer %s not found", id)
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
