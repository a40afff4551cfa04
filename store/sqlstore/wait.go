package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tandemsync/tandem"
)

// WaitForLink decides whether the push of ref to integration must wait for
// the record it depends on (an invoice's customer) to reach integration
// first. Under that record's row lock, which FinishPush holds while it
// records a remote id, it reads its link: with a remote id there, ready is
// true and the push can go. Otherwise ref's link records msg as its last
// error and stays pending (no failed attempt is counted): the caller's job
// waits, and FinishPush of the dependency wakes it.
func (s *Store[TTx]) WaitForLink(ctx context.Context, integration string, ref, dependsOn tandem.Ref, msg string) (ready bool, err error) {
	err = s.inTx(ctx, Relaxed, func(_ TTx, q Querier) error {
		if _, err := s.lockVersion(ctx, q, dependsOn); err != nil && !errors.Is(err, ErrNoRows) {
			return err
		}
		remoteID, err := remoteIDOf(ctx, q, integration, dependsOn)
		if ready = remoteID != ""; ready || err != nil {
			return err
		}
		if err := q.Exec(ctx, `
			INSERT INTO links (integration, kind, local_id, status, last_error, updated_at)
			VALUES ($1, $2, $3, 'pending', $4, $5)
			ON CONFLICT (integration, kind, local_id) DO UPDATE SET
				status = 'pending', last_error = excluded.last_error, updated_at = excluded.updated_at`,
			integration, string(ref.Kind), ref.ID, msg, s.now()); err != nil {
			return fmt.Errorf("record wait: %w", err)
		}
		return nil
	})
	return ready, err
}

// wakeWaiting runs inside a write that records customer's remote id in
// integration (its push, or an inbound change): when it had none before, the pushes of its live
// records that have none either (they wait for it, see WaitForLink) are
// made available now (River's JobRetry), or enqueued if they have no job. A push that decided
// to wait moments before is still running, and River ignores changes to a
// running job: that one waits out its snooze, which the syncer bounds.
func (s *Store[TTx]) wakeWaiting(ctx context.Context, tx TTx, q Querier, integration, customer string) error {
	var waiting []tandem.Kind // the kinds whose records can wait for a customer here
	for _, kind := range slices.Sorted(maps.Keys(kinds)) {
		if kinds[kind].customerColumn != "" && s.syncs(integration, kind) {
			waiting = append(waiting, kind)
		}
	}
	if len(waiting) == 0 {
		return nil
	}
	had, err := remoteIDOf(ctx, q, integration, tandem.Ref{Kind: tandem.KindCustomer, ID: customer})
	if had != "" || err != nil {
		return err
	}
	var params []river.InsertManyParams
	for _, kind := range waiting {
		spec := kinds[kind]
		ids, err := queryStrings(ctx, q, `SELECT t.id FROM `+spec.table+` t
			LEFT JOIN links l ON l.integration = $1 AND l.kind = $2 AND l.local_id = t.id
			WHERE t.`+spec.customerColumn+` = $3 AND t.deleted_at IS NULL AND COALESCE(l.remote_id, '') = ''`,
			integration, string(kind), customer)
		if err != nil {
			return fmt.Errorf("find records waiting for customer %s: %w", customer, err)
		}
		for _, id := range ids {
			params = append(params, pushJob(integration, tandem.Ref{Kind: kind, ID: id}))
		}
	}
	if len(params) == 0 {
		return nil
	}
	results, err := s.river.InsertManyTx(ctx, tx, params)
	if err != nil {
		return fmt.Errorf("enqueue waiting pushes: %w", err)
	}
	for _, r := range results {
		// A snoozed job waits as scheduled, or as available with a future
		// time when the snooze is shorter than River's scheduler interval.
		if r.UniqueSkippedAsDuplicate && r.Job.State != rivertype.JobStateRunning {
			if _, err := s.river.JobRetryTx(ctx, tx, r.Job.ID); err != nil {
				return fmt.Errorf("wake push job %d: %w", r.Job.ID, err)
			}
		}
	}
	return nil
}

// remoteIDOf returns the remote id of ref's link to integration, "" when
// it has none.
func remoteIDOf(ctx context.Context, q Querier, integration string, ref tandem.Ref) (string, error) {
	var remoteID string
	err := q.QueryRow(ctx, `SELECT remote_id FROM links WHERE integration = $1 AND kind = $2 AND local_id = $3`,
		integration, string(ref.Kind), ref.ID).Scan(&remoteID)
	if err != nil && !errors.Is(err, ErrNoRows) {
		return "", fmt.Errorf("read link of %s %s: %w", ref.Kind, ref.ID, err)
	}
	return remoteID, nil
}

// queryStrings returns the first column of query's rows.
func queryStrings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
