package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// How long Tandem keeps what it needs only for a while.
const (
	// EventRetention keeps a received event's id long enough to recognise
	// any other delivery of it: Stripe lists events for 30 days.
	EventRetention = 31 * 24 * time.Hour
	// IdempotencyRetention is how long a create's Idempotency-Key replays
	// its first result (as long as Stripe keeps its own keys).
	IdempotencyRetention = 24 * time.Hour
	// RunRetention is how long reconciliation runs stay readable.
	RunRetention = 30 * 24 * time.Hour
)

// Prune deletes, in one transaction, the received events older than
// EventRetention whose apply job is over, the idempotency keys older than
// IdempotencyRetention and the reconciliation runs older than RunRetention.
// Several processes may prune at once.
func (s *Store[TTx]) Prune(ctx context.Context) error {
	now := s.now()
	return s.inTx(ctx, Relaxed, func(_ TTx, q Querier) error {
		if err := q.Exec(ctx, `DELETE FROM inbox WHERE received_at < $1 AND NOT EXISTS (
			SELECT 1 FROM river_job WHERE kind = 'apply' AND state NOT IN ('completed', 'cancelled', 'discarded')
			AND `+s.e.JobArg("integration")+` = inbox.integration AND `+s.e.JobArg("event_id")+` = inbox.event_id)`,
			now.Add(-EventRetention)); err != nil {
			return fmt.Errorf("prune events: %w", err)
		}
		if err := q.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, now.Add(-IdempotencyRetention)); err != nil {
			return fmt.Errorf("prune idempotency keys: %w", err)
		}
		if err := q.Exec(ctx, `DELETE FROM reconcile_runs WHERE started_at < $1 AND status <> 'running'`,
			now.Add(-RunRetention)); err != nil {
			return fmt.Errorf("prune reconcile runs: %w", err)
		}
		return nil
	})
}
