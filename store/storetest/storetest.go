// Package storetest is the one conformance suite every Tandem store passes:
// the catalog's contract, transactional enqueue, coalescing, one push at a
// time per record, retries and parking, and the schema checks. Each engine's
// tests call Run with a function that opens a fresh, migrated store.
package storetest

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store"
	"github.com/tandemsync/tandem/store/sqlstore"
	"github.com/tandemsync/tandem/syncer"
	"github.com/tandemsync/tandem/syncer/syncertest"
)

// Store is the contract the suite checks.
type Store = store.Store

// Opener opens a new store on an empty database. The suite migrates it and
// stops it when the test ends; raw runs SQL on the same database behind the
// store's back (fault injection, inspection).
type Opener func(t testing.TB, opts sqlstore.Options) (st Store, raw sqlstore.Querier)

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"CreateGet", testCreateGet},
		{"CreateInvalid", testCreateInvalid},
		{"IdempotentCreate", testIdempotentCreate},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ListPages", testListPages},
		{"UpdateVersions", testUpdateVersions},
		{"DeleteTombstone", testDeleteTombstone},
		{"Schema", testSchema},
		{"EnqueueInWriteTx", testEnqueueInWriteTx},
		{"EnqueueFailureRollsBack", testEnqueueFailureRollsBack},
		{"NoPushToOrigin", testNoPushToOrigin},
		{"BurstCoalesces", testBurstCoalesces},
		{"WriteDuringPush", testWriteDuringPush},
		{"OnePushPerRecord", testOnePushPerRecord},
		{"QueueWorkers", testQueueWorkers},
		{"RetryThenPark", testRetryThenPark},
		{"PermanentParks", testPermanentParks},
		{"RetryLaterWaits", testRetryLaterWaits},
		{"IntentOutlivesFailure", testIntentOutlivesFailure},
		{"Inbox", testInbox},
		{"ConcurrentDeliveries", testConcurrentDeliveries},
		{"ReconcileReads", testReconcileReads},
		{"Resync", testResync},
		{"ReconcileRuns", testReconcileRuns},
		{"OneLiveRun", testOneLiveRun},
		{"Prune", testPrune},
		{"SyncStats", testSyncStats},
		{"RetryDiscard", testRetryDiscard},
		{"DiscardHoldsWaitingJob", testDiscardHoldsWaitingJob},
		{"PauseResume", testPauseResume},
		{"SharedQueueMoved", testSharedQueueMoved},
		{"Invoices", testInvoices},
		{"RecordedEcho", testRecordedEcho},
		{"InboundWaitsForPush", testInboundWaitsForPush},
		{"InvoicePushes", testInvoicePushes},
		{"InvoiceReads", testInvoiceReads},
		{"InvoiceWaitsForCustomer", testInvoiceWaitsForCustomer},
		{"InvoiceOfDeletedCustomerParks", testInvoiceOfDeletedCustomerParks},
		{"ApplyInvoices", testApplyInvoices},
		{"ReconcileInvoices", testReconcileInvoices},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open)
		})
	}
}

// env is one test's store with its syncer and test integration.
type env struct {
	st  Store
	raw sqlstore.Querier
	in  *syncertest.Integration
	// src is in's inbound half: the events tests deliver, applied.
	src *source
	sy  *syncer.Syncer
}

// newEnv opens a migrated store with one test integration "test". With work
// set, the store's workers are running when it returns.
func newEnv(t *testing.T, open Opener, work bool, tweak func(*sqlstore.Options)) *env {
	t.Helper()
	in := syncertest.New("test")
	workers := river.NewWorkers()
	opts := sqlstore.Options{
		Integrations:      []string{"test"},
		Workers:           workers,
		MaxWorkers:        8,
		FetchPollInterval: 20 * time.Millisecond,
		RetryPolicy:       fastRetry{},
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if tweak != nil {
		tweak(&opts)
	}
	st, raw := open(t, opts)
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	src := newSource(in)
	sy := syncer.New(st, []tandem.Integration{src}, syncer.Options{Logger: opts.Logger})
	sy.Register(workers)
	e := &env{st: st, raw: raw, in: in, src: src, sy: sy}
	if work {
		e.start(t)
	}
	return e
}

func (e *env) start(t *testing.T) {
	t.Helper()
	if err := e.st.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.st.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}

// jobs counts push jobs in the given states.
func (e *env) jobs(t *testing.T, states ...string) int {
	t.Helper()
	n := 0
	for _, s := range states {
		var c int
		if err := e.raw.QueryRow(context.Background(),
			`SELECT COUNT(*) FROM river_job WHERE kind = 'push' AND state = $1`, s).Scan(&c); err != nil {
			t.Fatalf("count jobs: %v", err)
		}
		n += c
	}
	return n
}

// fastRetry retries failed jobs after 10ms instead of River's backoff.
type fastRetry struct{}

func (fastRetry) NextRetry(*rivertype.JobRow) time.Time { return time.Now().Add(10 * time.Millisecond) }

var api = tandem.Write{Origin: tandem.OriginAPI}

func mustCreate(t *testing.T, st Store, c *tandem.Customer) *tandem.Customer {
	t.Helper()
	got, _, err := st.CreateCustomer(context.Background(), c, api)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return got
}

func rename(name string) func(*tandem.Customer) error {
	return func(c *tandem.Customer) error { c.Name = name; return nil }
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := tandem.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// waitLink waits until the link of id to "test" satisfies cond.
func (e *env) waitLink(t *testing.T, id string, what string, cond func(*tandem.Link) bool) *tandem.Link {
	t.Helper()
	ref := tandem.Ref{Kind: tandem.KindCustomer, ID: id}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var l *tandem.Link
		links, err := e.st.Links(context.Background(), ref)
		for _, candidate := range links {
			if candidate.Integration == "test" {
				l = candidate
			}
		}
		if l != nil && cond(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for link of %s: %s; last %+v (%v)", id, what, l, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countingIntegration answers every push at once and closes done after want
// pushes.
type countingIntegration struct {
	n    atomic.Int64
	want int
	done chan struct{}
}

func (*countingIntegration) Name() string { return "noop" }

func (c *countingIntegration) Push(_ context.Context, req *tandem.PushRequest) (*tandem.PushResult, error) {
	if c.n.Add(1) == int64(c.want) {
		close(c.done)
	}
	return &tandem.PushResult{RemoteID: "r_" + req.Record.Ref.ID}, nil
}
