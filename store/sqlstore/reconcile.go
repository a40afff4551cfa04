package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
)

// RecordsByRemoteID returns the local records linked to the given remote
// records of integration, with their links.
func (s *Store[TTx]) RecordsByRemoteID(ctx context.Context, integration string, kind tandem.Kind, remoteIDs []string) ([]tandem.LinkedRecord, error) {
	if len(remoteIDs) == 0 {
		return nil, nil
	}
	// From links first (CROSS JOIN keeps that order in SQLite), so the
	// lookup goes through links_remote, not through every record.
	return s.linkedRecords(ctx, s.e.DB, integration, kind, func(t string) string {
		return `links l CROSS JOIN ` + t + ` WHERE l.integration = $1 AND l.kind = $2 AND l.remote_id <> ''
			AND l.remote_id IN (` + placeholders(3, len(remoteIDs)) + `) AND ` + t + `.id = l.local_id`
	}, stringArgs(remoteIDs)...)
}

// RecordsByID returns the local records with the given ids (tombstones
// included), with their links to integration.
func (s *Store[TTx]) RecordsByID(ctx context.Context, integration string, kind tandem.Kind, ids []string) ([]tandem.LinkedRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.recordsByID(ctx, s.e.DB, integration, kind, ids)
}

// recordsByID is RecordsByID with db running the query.
func (s *Store[TTx]) recordsByID(ctx context.Context, db Querier, integration string, kind tandem.Kind, ids []string) ([]tandem.LinkedRecord, error) {
	return s.linkedRecords(ctx, db, integration, kind, func(t string) string {
		return leftJoinLinks(t) + ` WHERE ` + t + `.id IN (` + placeholders(3, len(ids)) + `)`
	}, stringArgs(ids)...)
}

// ScanRecords returns up to limit local records (tombstones included) with
// ids after the given one, in id order, with their links to integration:
// the pages of a walk over the whole catalog.
func (s *Store[TTx]) ScanRecords(ctx context.Context, integration string, kind tandem.Kind, after string, limit int) ([]tandem.LinkedRecord, error) {
	return s.linkedRecords(ctx, s.e.DB, integration, kind, func(t string) string {
		return leftJoinLinks(t) + ` WHERE ` + t + `.id > $3 ORDER BY ` + t + `.id LIMIT ` + strconv.Itoa(limit)
	}, after)
}

// leftJoinLinks are the records of table, each with its link to the
// integration ($1) of the kind ($2) if it has one.
func leftJoinLinks(table string) string {
	return table + ` LEFT JOIN links l ON l.integration = $1 AND l.kind = $2 AND l.local_id = ` + table + `.id`
}

// linkedRecords returns the records of kind that query selects, with their
// links: query gets the kind's table and returns the FROM and WHERE clauses
// over that table and links l (parameters from $3). db runs the query.
func (s *Store[TTx]) linkedRecords(ctx context.Context, db Querier, integration string, kind tandem.Kind, query func(table string) string, args ...any) ([]tandem.LinkedRecord, error) {
	spec, err := specOf(kind)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT `+spec.columns+`, `+linkColumns+` FROM `+query(spec.table),
		append([]any{integration, string(kind)}, args...)...)
	if err != nil {
		return nil, s.e.Translate(fmt.Errorf("query records: %w", err))
	}
	defer rows.Close()
	var out []tandem.LinkedRecord
	for rows.Next() {
		var l nullableLink
		fields, err := spec.scan(linkRow{rows, &l})
		if err != nil {
			return nil, err
		}
		rec := recordOf(fields)
		link := l.link()
		if link != nil {
			link.Status = effectiveStatus(link, rec.Version)
		}
		out = append(out, tandem.LinkedRecord{Record: rec, Link: link})
	}
	if err := rows.Err(); err != nil {
		return nil, s.e.Translate(fmt.Errorf("query records: %w", err))
	}
	return out, nil
}

// Resync makes the next push of ref to integration start from base (what
// the remote side was found to hold; nil keeps the link's) and enqueues it,
// in one transaction: the push then writes the whole difference, even for a
// version the link took as synced.
func (s *Store[TTx]) Resync(ctx context.Context, integration string, ref tandem.Ref, base []byte) error {
	return s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		if err := q.Exec(ctx, `
			INSERT INTO links (integration, kind, local_id, status, base, updated_at)
			VALUES ($1, $2, $3, 'pending', $4, $5)
			ON CONFLICT (integration, kind, local_id) DO UPDATE SET
				synced_version = 0, base = COALESCE(excluded.base, links.base), updated_at = excluded.updated_at,
				revision = links.revision + 1`,
			integration, string(ref.Kind), ref.ID, base, s.now()); err != nil {
			return fmt.Errorf("resync link: %w", err)
		}
		if _, err := s.river.InsertManyTx(ctx, tx, []river.InsertManyParams{pushJob(integration, ref)}); err != nil {
			return fmt.Errorf("enqueue push: %w", err)
		}
		return nil
	})
}

// AbandonedAfter is how long a running reconciliation may go without
// saving its progress (it saves at least every second) before it counts as
// abandoned by a process that stopped.
const AbandonedAfter = 2 * time.Minute

// StartReconcile records a new run of integration's reconciliation and, when
// enqueue is set, the job that will carry it out, in one transaction. While
// another run of the integration is alive it answers ECONFLICT naming it;
// runs abandoned by a stopped process are marked failed.
func (s *Store[TTx]) StartReconcile(ctx context.Context, integration string, dryRun, enqueue bool) (*tandem.ReconcileRun, error) {
	now := s.now()
	run := &tandem.ReconcileRun{ID: newRunID(), Integration: integration, DryRun: dryRun, Status: tandem.RunRunning,
		StartedAt: now, Progress: tandem.ReconcileProgress{Repairs: map[string]int{}}}
	err := s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		if err := q.Exec(ctx, `UPDATE reconcile_runs SET status = 'failed', finished_at = $2, updated_at = $2,
			error = 'abandoned: its process stopped' WHERE integration = $1 AND status = 'running' AND updated_at < $3`,
			integration, now, now.Add(-AbandonedAfter)); err != nil {
			return fmt.Errorf("close abandoned runs: %w", err)
		}
		var live string
		err := q.QueryRow(ctx, `SELECT id FROM reconcile_runs WHERE integration = $1 AND status = 'running'`,
			integration).Scan(&live)
		switch {
		case err == nil:
			return tandem.Errorf(tandem.ECONFLICT, "reconcile run %s of %s is still running", live, integration)
		case !errors.Is(err, ErrNoRows):
			return fmt.Errorf("find a live run: %w", err)
		}
		if err := q.Exec(ctx, `INSERT INTO reconcile_runs (id, integration, dry_run, status, error, started_at,
			updated_at, progress, actions) VALUES ($1, $2, $3, $4, '', $5, $5, '{}', '[]')`,
			run.ID, integration, dryRun, run.Status, run.StartedAt); err != nil {
			return fmt.Errorf("insert reconcile run: %w", err)
		}
		if !enqueue {
			return nil
		}
		_, err = s.river.InsertTx(ctx, tx, tandem.ReconcileArgs{Integration: integration, RunID: run.ID, DryRun: dryRun},
			&river.InsertOpts{Queue: tandem.QueueOf(integration), MaxAttempts: 1})
		return err
	})
	if err != nil {
		return nil, s.e.Translate(err)
	}
	return run, nil
}

// SaveReconcileRun stores a run's progress, status and report.
func (s *Store[TTx]) SaveReconcileRun(ctx context.Context, run *tandem.ReconcileRun) error {
	progress, err := json.Marshal(run.Progress)
	if err != nil {
		return err
	}
	actions, err := json.Marshal(run.Actions)
	if err != nil {
		return err
	}
	var finished *time.Time
	if !run.FinishedAt.IsZero() {
		finished = &run.FinishedAt
	}
	return s.inTx(ctx, Relaxed, func(_ TTx, q Querier) error {
		if err := q.Exec(ctx, `UPDATE reconcile_runs SET status = $1, error = $2, finished_at = $3, progress = $4,
			actions = $5, updated_at = $7 WHERE id = $6`, run.Status, run.Error, finished, string(progress), string(actions),
			run.ID, s.now()); err != nil {
			return fmt.Errorf("save reconcile run: %w", err)
		}
		return nil
	})
}

// ReconcileRun returns a run of integration's reconciliation.
func (s *Store[TTx]) ReconcileRun(ctx context.Context, integration, id string) (*tandem.ReconcileRun, error) {
	run := &tandem.ReconcileRun{}
	var (
		finished          *time.Time
		progress, actions string
	)
	err := s.e.DB.QueryRow(ctx, `SELECT id, integration, dry_run, status, error, started_at, finished_at, progress, actions
		FROM reconcile_runs WHERE id = $1 AND integration = $2`, id, integration).Scan(
		&run.ID, &run.Integration, &run.DryRun, &run.Status, &run.Error, &run.StartedAt, &finished, &progress, &actions)
	switch {
	case errors.Is(err, ErrNoRows):
		return nil, tandem.Errorf(tandem.ENOTFOUND, "%s has no reconcile run %s", integration, id)
	case err != nil:
		return nil, s.e.Translate(fmt.Errorf("read reconcile run: %w", err))
	}
	run.StartedAt = run.StartedAt.UTC()
	if finished != nil {
		run.FinishedAt = finished.UTC()
	}
	if err := json.Unmarshal([]byte(progress), &run.Progress); err != nil {
		return nil, fmt.Errorf("decode reconcile progress: %w", err)
	}
	if err := json.Unmarshal([]byte(actions), &run.Actions); err != nil {
		return nil, fmt.Errorf("decode reconcile actions: %w", err)
	}
	return run, nil
}

// newRunID returns a fresh reconcile run id.
func newRunID() string { return "run_" + strings.ToLower(rand.Text()) }

// placeholders returns n numbered parameters from $start, comma-separated.
func placeholders(start, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("$" + strconv.Itoa(start+i))
	}
	return b.String()
}

func stringArgs(ss []string) []any {
	args := make([]any, len(ss))
	for i, s := range ss {
		args[i] = s
	}
	return args
}
