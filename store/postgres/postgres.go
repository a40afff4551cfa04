// Package postgres is Tandem's store on PostgreSQL (pgx). Several Tandem
// processes may share one database: River hands each job to one of them, and
// row locks serialise the writes to one record.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// defaultMaxConns is the size of the connection pool of durable
// transactions unless the URL sets pool_max_conns; background work gets an
// eighth as many more (at least 2).
const defaultMaxConns = 16

// Store is a Tandem store on PostgreSQL.
type Store = sqlstore.Store[pgx.Tx]

// Open connects to the database at url (postgres://…). Call Migrate or
// CheckSchema before use.
func Open(ctx context.Context, url string, opts sqlstore.Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx errors may echo the URL, password included: say only what failed.
		return nil, errors.New("parse postgres url: not a valid connection string")
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default (4 on small machines) starves 32 concurrent API
		// calls plus the workers; a commit mostly waits on the disk.
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	// Background work (push jobs: relaxed transactions and their reads) gets
	// connections of its own, whose commits do not wait for the WAL to reach
	// the disk (no extra statement per transaction). They are few, so that
	// workers with a backlog cannot take the database from the API: a push
	// holds one only while it reads or records, not while it waits on the
	// provider.
	relaxedCfg := cfg.Copy()
	relaxedCfg.MaxConns = max(cfg.MaxConns/8, 2)
	relaxedCfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	relaxed, err := pgxpool.NewWithConfig(ctx, relaxedCfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	migs, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	e := sqlstore.Engine[pgx.Tx]{
		Name:       "postgres",
		Driver:     riverpgxv5.New(pool),
		DB:         querier{pool},
		Background: querier{relaxed},
		Begin: func(ctx context.Context, d sqlstore.Durability) (pgx.Tx, error) {
			if d == sqlstore.Relaxed {
				return relaxed.Begin(ctx)
			}
			return pool.Begin(ctx)
		},
		Commit:   func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) },
		Rollback: func(ctx context.Context, tx pgx.Tx) error { return tx.Rollback(ctx) },
		Tx:       func(tx pgx.Tx) sqlstore.Querier { return querier{tx} },
		JobArg:   func(path string) string { return "(args #>> '{" + strings.ReplaceAll(path, ".", ",") + "}')" },
		UnixSeconds: func(expr string) string {
			return "EXTRACT(EPOCH FROM " + expr + ")::double precision"
		},
		// Row locks order a record's writes against the push worker's final
		// check; the advisory lock keeps concurrent starts from migrating twice.
		ForUpdate:      " FOR UPDATE",
		ForShare:       " FOR SHARE",
		LockMigrations: func(ctx context.Context) (func(), error) { return advisoryLock(ctx, pool) },
		Translate:      translate,
		Migrations:     migs,
		CompleteJobTx: func(ctx context.Context, tx pgx.Tx, job *river.Job[tandem.PushArgs]) error {
			_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
			return err
		},
		// One transaction of grouped writes gathers the next group while
		// another commits.
		WriteGroups: 2,
		Close: func() {
			relaxed.Close()
			pool.Close()
		},
	}
	s, err := sqlstore.New(e, opts)
	if err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// migrationLock is the advisory lock key that serialises migrations.
const migrationLock = 7354201

// advisoryLock holds the migration lock on a connection of its own until
// unlock is called.
func advisoryLock(ctx context.Context, pool *pgxpool.Pool) (unlock func(), err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		conn.Release()
		return nil, err
	}
	return func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
		conn.Release()
	}, nil
}

// translate gives driver errors their meaning for callers.
func translate(err error) error {
	var (
		pe *pgconn.PgError
		ne net.Error
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe) && pe.Code == "23505": // unique_violation
		return &tandem.Error{Code: tandem.ECONFLICT, Message: "already exists"}
	case errors.As(err, &pe) && (pe.Code[:2] == "08" || pe.Code[:2] == "57" || pe.Code == "53300"):
		// connection exceptions, operator intervention (shutdown), too many connections
		return fmt.Errorf("%w: %w", unavailable, err)
	case errors.As(err, &ne), pgconn.SafeToRetry(err), pgconn.Timeout(err),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF): // the connection dropped
		return fmt.Errorf("%w: %w", unavailable, err)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %w", unavailable, err)
	}
	return err
}

var unavailable = &tandem.Error{Code: tandem.EUNAVAILABLE, Message: "database unavailable"}

// conn is what *pgxpool.Pool and pgx.Tx share.
type conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier adapts pgx to sqlstore.Querier.
type querier struct{ c conn }

func (q querier) Exec(ctx context.Context, query string, args ...any) error {
	_, err := q.c.Exec(ctx, query, args...)
	return err
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return q.c.Query(ctx, query, args...)
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return row{q.c.QueryRow(ctx, query, args...)}
}

type row struct{ pgx.Row }

func (r row) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	return err
}
