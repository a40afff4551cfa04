package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// maxCachedStmts bounds a connection's statement cache. Tandem's and River's
// statements are a fixed set well below it.
const maxCachedStmts = 256

// connector opens modernc connections that add two things to the driver:
//
//   - a cache of prepared statements keyed by SQL text. SQLite parses every
//     statement that is not prepared, and River's statements are long:
//     without the cache, parsing took a third of the CPU time of an API create.
//   - durable transactions. Connections run with synchronous=NORMAL, so
//     queue bookkeeping does not wait on the disk; a transaction begun with a
//     context marked durable (durableKey) runs with synchronous=FULL, whose
//     commit syncs the WAL (everything committed before it included). SQLite
//     only changes the setting outside a transaction, hence here.
type connector struct {
	dsn string
	d   *sqlite.Driver
}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	dc, err := c.d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	inner, ok := dc.(innerConn)
	if !ok {
		_ = dc.Close()
		return nil, errors.New("sqlite driver connection lacks context methods")
	}
	return &cachingConn{innerConn: inner, stmts: map[string]*cachedStmt{}}, nil
}

func (c connector) Driver() driver.Driver { return c.d }

// innerConn is what modernc's connection implements and cachingConn keeps.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// durableKey marks the context of a BeginTx whose commit must be durable.
type durableKey struct{}

// cachingConn runs queries through cached prepared statements. database/sql
// hands a connection to one goroutine at a time (rows are closed under the
// same lock), so the cache needs no locking of its own.
type cachingConn struct {
	innerConn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	// busy is set while rows of the statement are open: a second use then
	// goes uncached instead of resetting those rows.
	busy bool
}

// cached returns the statement for query, preparing it on first use; nil
// when it is busy or the cache is full.
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil, nil
	}
	ds, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		_ = ds.Close()
		return nil, nil
	}
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	return s, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.cached(ctx, query)
	if err != nil || s == nil {
		return c.innerConn.ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.cached(ctx, query)
	if err != nil || s == nil {
		return c.innerConn.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s}, nil
}

// BeginTx begins a transaction, with synchronous=FULL for its commit when
// ctx asks for a durable one.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	durable, _ := ctx.Value(durableKey{}).(bool)
	if !durable {
		return c.innerConn.BeginTx(ctx, opts)
	}
	if _, err := c.ExecContext(ctx, "PRAGMA synchronous = FULL", nil); err != nil {
		return nil, err
	}
	tx, err := c.innerConn.BeginTx(ctx, opts)
	if err != nil {
		c.relax()
		return nil, err
	}
	return &durableTx{Tx: tx, c: c}, nil
}

// relax returns the connection to synchronous=NORMAL. Should that fail, the
// connection stays on FULL: slower, never less safe.
func (c *cachingConn) relax() {
	_, _ = c.ExecContext(context.Background(), "PRAGMA synchronous = NORMAL", nil)
}

// durableTx relaxes its connection again once it ends.
type durableTx struct {
	driver.Tx
	c *cachingConn
}

func (t *durableTx) Commit() error {
	defer t.c.relax()
	return t.Tx.Commit()
}

func (t *durableTx) Rollback() error {
	defer t.c.relax()
	return t.Tx.Rollback()
}

func (c *cachingConn) Close() error {
	for _, s := range c.stmts {
		_ = s.stmt.Close()
	}
	clear(c.stmts)
	return c.innerConn.Close()
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	r.s.busy = false
	return r.Rows.Close()
}
