// Package sqlite is Tandem's store on an embedded SQLite database (pure Go,
// modernc.org/sqlite): one file, WAL journal, one connection, so every write
// is serialised and River's queue lives in the same file. One process at a
// time may use a database file (a lock file next to it says which); use
// PostgreSQL to run several.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a Tandem store on SQLite.
type Store = sqlstore.Store[*sql.Tx]

// Open opens (creating it and its folder if needed) the SQLite database at
// path. Call Migrate or CheckSchema before use.
func Open(path string, opts sqlstore.Options) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	dsn := DSN(path)
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector{dsn: dsn, d: &sqlite.Driver{}})
	db.SetMaxOpenConns(1) // one writer; River's driver asks for it too
	migs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	e := sqlstore.Engine[*sql.Tx]{
		Name:       "sqlite",
		Driver:     riversqlite.New(db),
		DB:         querier{db},
		Background: querier{db},
		Begin: func(ctx context.Context, d sqlstore.Durability) (*sql.Tx, error) {
			if d == sqlstore.Durable {
				ctx = context.WithValue(ctx, durableKey{}, true)
			}
			return db.BeginTx(ctx, nil)
		},
		Commit: func(_ context.Context, tx *sql.Tx) error { return tx.Commit() },
		Rollback: func(_ context.Context, tx *sql.Tx) error {
			return tx.Rollback()
		},
		Tx:     func(tx *sql.Tx) sqlstore.Querier { return querier{tx} },
		JobArg: func(path string) string { return "json_extract(args, '$." + path + "')" },
		// River keeps times as UTC text ("2006-01-02 15:04:05.000").
		UnixSeconds: func(expr string) string { return "((julianday(" + expr + ") - 2440587.5) * 86400.0)" },
		Translate:   translate,
		Migrations:  migs,
		CompleteJobTx: func(ctx context.Context, tx *sql.Tx, job *river.Job[tandem.PushArgs]) error {
			_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job)
			return err
		},
		Close: func() {
			_ = db.Close()
			unlock()
		},
		SingleProcess: true,
	}
	s, err := sqlstore.New(e, opts)
	if err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// DSN is the modernc data source name Tandem opens path with: WAL journal
// and NORMAL sync, under which a commit survives a crash of the process but
// not of the machine. Durable transactions switch their connection to FULL
// sync for their commit (see conn.go).
func DSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// translate gives driver errors their meaning for callers.
func translate(err error) error {
	var se *sqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		return &tandem.Error{Code: tandem.ECONFLICT, Message: "already exists"}
	case errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_IOERR ||
		se.Code()&0xff == sqlite3.SQLITE_CANTOPEN || se.Code()&0xff == sqlite3.SQLITE_FULL):
		return fmt.Errorf("%w: %w", &tandem.Error{Code: tandem.EUNAVAILABLE, Message: "database unavailable"}, err)
	}
	return err
}

// placeholder matches the $1-style placeholders of sqlstore's statements.
var placeholder = regexp.MustCompile(`\$(\d+)`)

// rebind rewrites $N placeholders as SQLite's ?N.
func rebind(q string) string {
	if !strings.Contains(q, "$") {
		return q
	}
	return placeholder.ReplaceAllString(q, "?$1")
}

// conn is what *sql.DB and *sql.Tx share.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// querier adapts database/sql to sqlstore.Querier.
type querier struct{ c conn }

func (q querier) Exec(ctx context.Context, query string, args ...any) error {
	_, err := q.c.ExecContext(ctx, rebind(query), args...)
	return err
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	r, err := q.c.QueryContext(ctx, rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return rows{r}, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return row{q.c.QueryRowContext(ctx, rebind(query), args...)}
}

type rows struct{ *sql.Rows }

func (r rows) Close() { _ = r.Rows.Close() }

type row struct{ *sql.Row }

func (r row) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}
