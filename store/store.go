// Package store names the contract of Tandem's stores: store/sqlite and
// store/postgres implement it (both through store/sqlstore), and
// store/storetest is the one suite that checks it.
package store

import (
	"context"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/syncer"
)

// Store is a complete Tandem store: the catalog, the sync engine's state,
// the schema and the job queue's lifecycle.
type Store interface {
	tandem.Catalog
	tandem.InvoiceCatalog
	syncer.Store
	syncer.ReconcileStore
	// Prune deletes what is past its retention: events already applied,
	// idempotency keys, reconciliation runs.
	Prune(ctx context.Context) error
	// ReconcileRun returns a run of an integration's reconciliation.
	ReconcileRun(ctx context.Context, integration, id string) (*tandem.ReconcileRun, error)
	// ReceiveEvents durably stores verified inbound events, once each, and
	// enqueues their application.
	ReceiveEvents(ctx context.Context, integration string, events []tandem.InboundEvent) (int, error)
	// SyncStats returns each integration's unfinished jobs and parked
	// links (for the metrics).
	SyncStats(ctx context.Context) ([]tandem.SyncStats, error)
	// RetryFailure puts a parked link back to pending and enqueues its push,
	// in one transaction; DiscardFailure gives up on the record's current
	// version (status discarded until the next write). Both answer ENOTFOUND
	// for a link that is not parked.
	RetryFailure(ctx context.Context, integration string, ref tandem.Ref) error
	DiscardFailure(ctx context.Context, integration string, ref tandem.Ref) error
	// PauseIntegration stops every process sharing the database from
	// starting the integration's jobs, which wait (none is lost) until
	// ResumeIntegration; IntegrationPaused reports the state.
	PauseIntegration(ctx context.Context, integration string) error
	ResumeIntegration(ctx context.Context, integration string) error
	IntegrationPaused(ctx context.Context, integration string) (bool, error)
	// Migrate brings the schema up to date; it refuses a newer schema.
	Migrate(ctx context.Context) error
	// CheckSchema reports a schema that is not exactly the current one.
	CheckSchema(ctx context.Context) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Start starts working jobs; Stop stops, letting running jobs finish
	// until ctx ends.
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	// Close releases the database connections.
	Close()
}
