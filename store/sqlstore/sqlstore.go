// Package sqlstore is the engine-neutral half of Tandem's stores: the SQL of
// the catalog, links and idempotency keys, the migration runner and the River
// wiring, written once for every SQL engine. store/sqlite and store/postgres
// supply an Engine (connections, dialect, error translation, migrations) and
// get a complete store back.
package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/internal/batch"
)

// Querier runs SQL on a connection pool or inside a transaction. Statements
// use $1, $2… placeholders; the Engine rewrites them for its dialect.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) error
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is the result of a query, read row by row.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is the result of a query that returns at most one row.
type Row interface {
	Scan(dest ...any) error
}

// Engine is what a database engine supplies: its River driver, transactions,
// dialect and error translation. TTx is the engine's native transaction type,
// the one River's InsertTx takes.
type Engine[TTx any] struct {
	// Name is the engine's name in messages ("sqlite", "postgres").
	Name string
	// Driver is the River driver over the same database.
	Driver riverdriver.Driver[TTx]
	// DB runs statements outside a transaction.
	DB Querier
	// Background runs the reads of background work (push jobs) outside a
	// transaction, on the connections of Relaxed transactions (DB where the
	// engine has no others): their number bounds how much of the database
	// the workers take from the API.
	Background Querier
	// Begin starts a transaction whose commit has durability d; Commit and
	// Rollback end it.
	Begin    func(ctx context.Context, d Durability) (TTx, error)
	Commit   func(ctx context.Context, tx TTx) error
	Rollback func(ctx context.Context, tx TTx) error
	// Tx runs statements inside tx.
	Tx func(tx TTx) Querier
	// JobArg returns the SQL expression reading the string field at path
	// ("integration", "ref.id") of a River job's JSON args (river_job.args).
	JobArg func(path string) string
	// UnixSeconds returns the SQL expression of the timestamp expr as Unix
	// seconds, with their fraction.
	UnixSeconds func(expr string) string
	// ForUpdate is appended to a SELECT that must lock the rows it reads
	// until the transaction ends ("" where the engine has a single writer).
	ForUpdate string
	// ForShare is appended to a SELECT that must keep the rows it reads from
	// being changed until the transaction ends, sharing them with other
	// readers that do the same ("" where the engine has a single writer).
	ForShare string
	// LockMigrations, when set, holds a database-wide lock until unlock is
	// called, so that concurrent starts migrate one at a time.
	LockMigrations func(ctx context.Context) (unlock func(), err error)
	// Translate maps a driver error to a *tandem.Error where it has a meaning
	// for callers (unreachable database, unique violation), keeping the cause.
	Translate func(error) error
	// Migrations holds the engine's numbered schema files (0001_name.sql).
	Migrations fs.FS
	// CompleteJobTx marks a running job completed inside tx.
	CompleteJobTx func(ctx context.Context, tx TTx, job *river.Job[tandem.PushArgs]) error
	// Close releases the engine's connections.
	Close func()
	// WriteGroups is how many transactions of grouped writes may run at
	// once (see inGroup; at least 1): more overlap their waits on the disk,
	// fewer make larger groups.
	WriteGroups int
	// SingleProcess says that only this process can use the database (the
	// engine enforces it), so every job left running belongs to a process
	// that died: Start makes those jobs available again at once instead of
	// waiting for River's stuck-job rescuer.
	SingleProcess bool
}

// Durability says what a transaction's commit must survive.
type Durability int

const (
	// Durable commits survive power loss: catalog writes, whose loss would
	// drop a change the caller was told is stored.
	Durable Durability = iota
	// Relaxed commits survive a crash of Tandem but may be lost with the
	// machine, in exchange for not waiting on the disk: bookkeeping that is
	// safe to redo (a push whose completion is lost runs again, and pushes
	// are idempotent). Relaxed commits are never reordered before a later
	// durable one.
	Relaxed
)

// Options configure a Store. The zero value works: no integrations, River's
// defaults.
type Options struct {
	// Integrations are the names of the configured integrations: each catalog
	// write enqueues one push job for every one of them that syncs its kind,
	// except its origin.
	Integrations []string
	// Kinds names the kinds each integration syncs; an integration it does
	// not name syncs every kind.
	Kinds map[string][]tandem.Kind
	// Workers are the River workers this process runs; nil makes the store
	// insert-only (no jobs are worked).
	Workers *river.Workers
	// MaxWorkers is how many jobs of one integration may run at once in
	// this process (each integration has its own queue).
	MaxWorkers int
	// QueueWorkers, by integration name, replaces MaxWorkers for the
	// integrations that want more of their jobs running at once
	// (tandem.Concurrent).
	QueueWorkers map[string]int
	// FetchPollInterval is how often idle workers look for new jobs.
	FetchPollInterval time.Duration
	// MaxAttempts is how many times a push job runs before it is parked.
	MaxAttempts int
	// RetryPolicy spaces the attempts of a failing job (default: doubling
	// from 1 s to 5 min, with jitter; tests shorten it).
	RetryPolicy river.ClientRetryPolicy
	// PeriodicJobs are enqueued on schedule by the leader among the
	// processes sharing the database (the events pollers).
	PeriodicJobs []*river.PeriodicJob
	// JobTimeout bounds one run of a job (default 1 minute). A job still
	// marked running 30 seconds past it (its process died) is run again.
	JobTimeout time.Duration
	Logger     *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// levelFloor drops records below floor: River's info records (migration
// steps, periodic producer counts) are routine noise outside debugging.
type levelFloor struct {
	slog.Handler
	floor slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.floor && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(attrs), h.floor}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(name), h.floor}
}

// Store is a complete Tandem store on one SQL engine.
type Store[TTx any] struct {
	e     Engine[TTx]
	opts  Options
	river *river.Client[TTx]
	// writes is the group commit of creates and received events (see
	// inGroup).
	writes *batch.Group[groupBody[TTx], error]
	// started says that this process works jobs (between Start and Stop).
	started atomic.Bool
}

// New returns a store over e. It does not touch the database: call Migrate
// (or CheckSchema) and then Start.
func New[TTx any](e Engine[TTx], opts Options) (*Store[TTx], error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 25
	}
	if opts.JobTimeout == 0 {
		opts.JobTimeout = time.Minute
	}
	if opts.RetryPolicy == nil {
		opts.RetryPolicy = backoff{}
	}
	riverLogger := opts.Logger
	if !opts.Logger.Enabled(context.Background(), slog.LevelDebug) {
		riverLogger = slog.New(levelFloor{opts.Logger.Handler(), slog.LevelWarn})
	}
	cfg := &river.Config{
		Logger:               riverLogger,
		FetchPollInterval:    opts.FetchPollInterval,
		RetryPolicy:          opts.RetryPolicy,
		JobTimeout:           opts.JobTimeout,
		RescueStuckJobsAfter: opts.JobTimeout + 30*time.Second,
		MaxAttempts:          opts.MaxAttempts,
		PeriodicJobs:         opts.PeriodicJobs,
	}
	if opts.FetchPollInterval > 0 {
		// Under load a worker fetches again as soon as jobs finish, at most this
		// often: MaxWorkers / FetchCooldown bounds the jobs per second.
		cfg.FetchCooldown = min(opts.FetchPollInterval, 10*time.Millisecond)
	}
	if opts.Workers != nil {
		n := opts.MaxWorkers
		if n <= 0 {
			n = 10
		}
		cfg.Workers = opts.Workers
		cfg.Queues = map[string]river.QueueConfig{}
		for _, name := range opts.Integrations {
			cfg.Queues[tandem.QueueOf(name)] = river.QueueConfig{MaxWorkers: cmp.Or(opts.QueueWorkers[name], n)}
		}
	}
	client, err := river.NewClient(e.Driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	s := &Store[TTx]{e: e, opts: opts, river: client}
	s.writes = s.newWriteGroup()
	return s, nil
}

// works says whether this process works jobs: it has workers, and
// integrations whose queues they work.
func (s *Store[TTx]) works() bool { return s.opts.Workers != nil && len(s.opts.Integrations) > 0 }

// Start starts working jobs; it returns once the workers run.
func (s *Store[TTx]) Start(ctx context.Context) error {
	if !s.works() {
		return nil
	}
	if s.e.SingleProcess {
		err := s.e.DB.Exec(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
		if err != nil {
			return s.e.Translate(fmt.Errorf("requeue jobs of a crashed run: %w", err))
		}
	}
	// Versions before one queue per integration put every job in one queue
	// named "sync": move the jobs still to run to their integration's queue.
	err := s.e.DB.Exec(ctx, `UPDATE river_job SET queue = `+s.e.JobArg("integration")+`
		WHERE queue = 'sync' AND state NOT IN ('completed', 'cancelled', 'discarded')`)
	if err != nil {
		return s.e.Translate(fmt.Errorf("move jobs of the shared queue: %w", err))
	}
	if err := s.river.Start(ctx); err != nil {
		return err
	}
	s.started.Store(true)
	return nil
}

// Stop stops fetching jobs and waits for running ones until ctx is done, then
// cancels those still running (they run again after the next start).
func (s *Store[TTx]) Stop(ctx context.Context) error {
	if !s.works() {
		return nil
	}
	s.started.Store(false)
	err := s.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.river.StopAndCancel(cctx)
	}
	return err
}

// Close releases the database connections.
func (s *Store[TTx]) Close() { s.e.Close() }

// Ping checks that the database answers.
func (s *Store[TTx]) Ping(ctx context.Context) error {
	var one int
	if err := s.e.DB.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return s.e.Translate(err)
	}
	return nil
}

// inTx runs fn in a transaction of durability d and commits it when fn
// succeeds.
func (s *Store[TTx]) inTx(ctx context.Context, d Durability, fn func(tx TTx, q Querier) error) error {
	tx, err := s.e.Begin(ctx, d)
	if err != nil {
		return s.e.Translate(fmt.Errorf("begin: %w", err))
	}
	if err := fn(tx, s.e.Tx(tx)); err != nil {
		_ = s.e.Rollback(ctx, tx)
		return s.e.Translate(err)
	}
	if err := s.e.Commit(ctx, tx); err != nil {
		return s.e.Translate(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// now returns the store's clock reading at the precision both engines keep.
func (s *Store[TTx]) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// afterWrite completes a change of an existing record (an update or a
// delete) of ref at version inside its transaction: it records the write
// (see recordWrite) and enqueues its push jobs, which a job of the record
// waiting or running may absorb. Creates go through inGroup instead.
func (s *Store[TTx]) afterWrite(ctx context.Context, tx TTx, q Querier, ref tandem.Ref, version int64, w tandem.Write) error {
	jobs, err := s.recordWrite(ctx, tx, q, ref, version, w)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, tx, jobs, false)
}

// recordWrite records w.Link on the origin's link of a write of ref at
// version, and returns the write's push jobs: one for every integration but
// the origin (the origin too with w.PushToOrigin). A job already waiting or
// running for the same (integration, record) absorbs the new one: the
// worker reads the latest state, and runs again if the record moved on
// while it ran. Links need no other write: a link is pending whenever its
// synced version is behind.
func (s *Store[TTx]) recordWrite(ctx context.Context, tx TTx, q Querier, ref tandem.Ref, version int64, w tandem.Write) ([]river.InsertManyParams, error) {
	if w.Link != nil {
		if err := s.updateLink(ctx, tx, q, w.Origin, ref, version, version-1, w.Link); err != nil {
			return nil, err
		}
	}
	var jobs []river.InsertManyParams
	for _, name := range s.opts.Integrations {
		if s.syncs(name, ref.Kind) && (name != w.Origin || w.PushToOrigin) {
			jobs = append(jobs, pushJob(name, ref))
		}
	}
	return jobs, nil
}

// enqueue inserts jobs inside tx. fresh says that no unique option can
// refuse them (the pushes of records created in tx, which have no job yet;
// apply jobs, which have none): River's lighter insert, which does not
// handle unique conflicts, is then safe.
func (s *Store[TTx]) enqueue(ctx context.Context, tx TTx, jobs []river.InsertManyParams, fresh bool) error {
	if len(jobs) == 0 {
		return nil
	}
	var err error
	if fresh {
		_, err = s.river.InsertManyFastTx(ctx, tx, jobs)
	} else {
		_, err = s.river.InsertManyTx(ctx, tx, jobs)
	}
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	return nil
}

// syncs says whether integration syncs records of kind (Options.Kinds).
func (s *Store[TTx]) syncs(integration string, kind tandem.Kind) bool {
	kinds, selective := s.opts.Kinds[integration]
	return !selective || slices.Contains(kinds, kind)
}

// pushJob is the push job of ref to integration, in the integration's queue.
// Its unique options keep one live push job per (integration, record).
// Completed, cancelled and discarded jobs do not count, so a parked record
// takes new writes (or a retry) as a fresh job.
func pushJob(integration string, ref tandem.Ref) river.InsertManyParams {
	return river.InsertManyParams{
		Args: tandem.PushArgs{Integration: integration, Ref: ref},
		InsertOpts: &river.InsertOpts{
			Queue: tandem.QueueOf(integration),
			UniqueOpts: river.UniqueOpts{
				ByArgs: true,
				ByState: []rivertype.JobState{
					rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
					rivertype.JobStateRunning, rivertype.JobStateScheduled,
				},
			},
		},
	}
}

// Migrate brings the schema up to date: Tandem's own migrations, then
// River's, in one transaction. It refuses a schema newer than this binary.
func (s *Store[TTx]) Migrate(ctx context.Context) error {
	migrations, err := readMigrations(s.e.Migrations)
	if err != nil {
		return err
	}
	rm, err := rivermigrate.New(s.e.Driver, &rivermigrate.Config{Logger: s.opts.Logger})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if s.e.LockMigrations != nil {
		unlock, err := s.e.LockMigrations(ctx)
		if err != nil {
			return s.e.Translate(fmt.Errorf("lock migrations: %w", err))
		}
		defer unlock()
	}
	err = s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		if err := q.Exec(ctx, `CREATE TABLE IF NOT EXISTS tandem_schema (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			return fmt.Errorf("create tandem_schema: %w", err)
		}
		current, err := schemaVersion(ctx, q)
		if err != nil {
			return err
		}
		latest := migrations[len(migrations)-1].version
		if current > latest {
			return errSchemaNewer(current, latest)
		}
		for _, m := range migrations {
			if m.version <= current {
				continue
			}
			if err := q.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
			}
			if err := q.Exec(ctx, `INSERT INTO tandem_schema (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, s.now().Format(time.RFC3339)); err != nil {
				return fmt.Errorf("record migration %d: %w", m.version, err)
			}
			s.opts.Logger.Info("migrated", "engine", s.e.Name, "version", m.version, "name", m.name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// River's own migrations each take their own transaction: some of them
	// (new enum values on Postgres) cannot share one with later statements.
	if _, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return s.e.Translate(fmt.Errorf("river migrations: %w", err))
	}
	return nil
}

// CheckSchema returns nil when the database schema is exactly the one this
// binary expects, and an error saying what differs otherwise.
func (s *Store[TTx]) CheckSchema(ctx context.Context) error {
	migrations, err := readMigrations(s.e.Migrations)
	if err != nil {
		return err
	}
	latest := migrations[len(migrations)-1].version
	var current int
	err = s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		current, err = schemaVersion(ctx, q)
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("read schema version (run `tandem migrate`): %w", err)
	case current > latest:
		return errSchemaNewer(current, latest)
	case current < latest:
		return tandem.Errorf(tandem.EUNAVAILABLE, "database schema is at version %d, this binary needs %d: run `tandem migrate`", current, latest)
	}
	rm, err := rivermigrate.New(s.e.Driver, &rivermigrate.Config{Logger: s.opts.Logger})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	res, err := rm.Validate(ctx, nil)
	if err != nil {
		return s.e.Translate(fmt.Errorf("validate river schema: %w", err))
	}
	if !res.OK {
		return tandem.Errorf(tandem.EUNAVAILABLE, "queue schema is not current (%v): run `tandem migrate`", res.Messages)
	}
	return nil
}

func errSchemaNewer(current, latest int) error {
	return tandem.Errorf(tandem.ECONFLICT, "database schema is at version %d, newer than this binary's %d: upgrade tandem", current, latest)
}

func schemaVersion(ctx context.Context, q Querier) (int, error) {
	var v int
	if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM tandem_schema`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
