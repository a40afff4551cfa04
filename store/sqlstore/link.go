package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
)

// ErrNoRows is what an Engine's Row.Scan returns when the query found no row.
var ErrNoRows = errors.New("no rows")

const linkColumns = `integration, kind, local_id, remote_id, synced_version, base, status, last_error, attempts, synced_at, updated_at`

// kindTables names the table holding each entity kind; its rows carry a
// version and are locked by the push worker's final check.
var kindTables = map[tandem.Kind]string{
	tandem.KindCustomer: "customers",
}

// LoadRecord returns the current state of a record, tombstones included.
func (s *Store[TTx]) LoadRecord(ctx context.Context, ref tandem.Ref) (*tandem.Record, error) {
	switch ref.Kind {
	case tandem.KindCustomer:
		c, err := s.loadCustomer(ctx, s.e.DB, ref.ID, false)
		if err != nil {
			return nil, s.e.Translate(err)
		}
		return &tandem.Record{Ref: ref, Version: c.Version, Deleted: c.Deleted, Customer: c}, nil
	default:
		return nil, tandem.Errorf(tandem.EINVALID, "unknown kind %q", ref.Kind)
	}
}

// GetLink returns the link of ref to integration; ENOTFOUND if there is none.
func (s *Store[TTx]) GetLink(ctx context.Context, integration string, ref tandem.Ref) (*tandem.Link, error) {
	l, err := scanLink(s.e.DB.QueryRow(ctx, `SELECT `+linkColumns+` FROM links
		WHERE integration = $1 AND kind = $2 AND local_id = $3`, integration, string(ref.Kind), ref.ID))
	if errors.Is(err, ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENOTFOUND, "%s %s has no link to %s", ref.Kind, ref.ID, integration)
	}
	return l, s.e.Translate(err)
}

// Links returns every link of ref, by integration name.
func (s *Store[TTx]) Links(ctx context.Context, ref tandem.Ref) ([]*tandem.Link, error) {
	return s.queryLinks(ctx, `SELECT `+linkColumns+` FROM links WHERE kind = $1 AND local_id = $2
		ORDER BY integration`, string(ref.Kind), ref.ID)
}

// Failures returns the parked links, oldest failure first.
func (s *Store[TTx]) Failures(ctx context.Context) ([]*tandem.Link, error) {
	return s.queryLinks(ctx, `SELECT `+linkColumns+` FROM links WHERE status = 'failed'
		ORDER BY updated_at, integration, kind, local_id`)
}

func (s *Store[TTx]) queryLinks(ctx context.Context, query string, args ...any) ([]*tandem.Link, error) {
	rows, err := s.e.DB.Query(ctx, query, args...)
	if err != nil {
		return nil, s.e.Translate(fmt.Errorf("query links: %w", err))
	}
	defer rows.Close()
	var links []*tandem.Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, err
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.e.Translate(fmt.Errorf("query links: %w", err))
	}
	return links, nil
}

// FinishPush ends a run of a push job. res, when not nil, is the outcome of
// pushing version: it is recorded on the link. Then, in the same transaction
// and with the record's row locked, the record's version is read again: if a
// write landed meanwhile (its own job was absorbed by this running one), moved
// is true and the job must run again; otherwise the job is completed before
// the lock is released, so no write can slip between the check and the end.
func (s *Store[TTx]) FinishPush(ctx context.Context, job *river.Job[tandem.PushArgs], version int64, res *tandem.PushResult) (moved bool, err error) {
	ref := job.Args.Ref
	table, ok := kindTables[ref.Kind]
	if !ok {
		return false, tandem.Errorf(tandem.EINVALID, "unknown kind %q", ref.Kind)
	}
	err = s.inTx(ctx, func(tx TTx, q Querier) error {
		var current int64
		if err := q.QueryRow(ctx, `SELECT version FROM `+table+` WHERE id = $1`+s.e.ForUpdate, ref.ID).Scan(&current); err != nil {
			return fmt.Errorf("lock %s %s: %w", ref.Kind, ref.ID, err)
		}
		moved = current > version
		if res != nil {
			status := tandem.LinkSynced
			if moved {
				status = tandem.LinkPending
			}
			now := s.now()
			if err := q.Exec(ctx, `
				INSERT INTO links (integration, kind, local_id, remote_id, synced_version, base, status,
					last_error, attempts, synced_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, '', 0, $8, $8)
				ON CONFLICT (integration, kind, local_id) DO UPDATE SET
					remote_id = excluded.remote_id, synced_version = excluded.synced_version,
					base = excluded.base, status = excluded.status, last_error = '', attempts = 0,
					synced_at = excluded.synced_at, updated_at = excluded.updated_at`,
				job.Args.Integration, string(ref.Kind), ref.ID, res.RemoteID, version, res.Base, string(status), now); err != nil {
				return fmt.Errorf("record push: %w", err)
			}
		}
		if moved {
			return nil
		}
		if res == nil {
			// Nothing was pushed; still settle a link left pending by the write.
			if err := q.Exec(ctx, `UPDATE links SET status = 'synced', updated_at = $4
				WHERE integration = $1 AND kind = $2 AND local_id = $3 AND status = 'pending'
				AND synced_version >= $5`,
				job.Args.Integration, string(ref.Kind), ref.ID, s.now(), current); err != nil {
				return fmt.Errorf("settle link: %w", err)
			}
		}
		if err := s.e.CompleteJobTx(ctx, tx, job); err != nil {
			return fmt.Errorf("complete job: %w", err)
		}
		return nil
	})
	return moved, err
}

// RecordPushError notes a failed push on the link: parked (status failed,
// shown in Failures) when the engine gave up on it, pending otherwise.
func (s *Store[TTx]) RecordPushError(ctx context.Context, integration string, ref tandem.Ref, msg string, parked bool) error {
	status := tandem.LinkPending
	if parked {
		status = tandem.LinkFailed
	}
	err := s.e.DB.Exec(ctx, `
		INSERT INTO links (integration, kind, local_id, status, last_error, attempts, updated_at)
		VALUES ($1, $2, $3, $4, $5, 1, $6)
		ON CONFLICT (integration, kind, local_id) DO UPDATE SET
			status = excluded.status, last_error = excluded.last_error,
			attempts = links.attempts + 1, updated_at = excluded.updated_at`,
		integration, string(ref.Kind), ref.ID, string(status), msg, s.now())
	if err != nil {
		return s.e.Translate(fmt.Errorf("record push error: %w", err))
	}
	return nil
}

func scanLink(r Row) (*tandem.Link, error) {
	var (
		l            tandem.Link
		kind, status string
		syncedAt     *time.Time
	)
	if err := r.Scan(&l.Integration, &kind, &l.Ref.ID, &l.RemoteID, &l.SyncedVersion, &l.Base, &status,
		&l.LastError, &l.Attempts, &syncedAt, &l.UpdatedAt); err != nil {
		return nil, fmt.Errorf("scan link: %w", err)
	}
	l.Ref.Kind, l.Status = tandem.Kind(kind), tandem.LinkStatus(status)
	if syncedAt != nil {
		l.SyncedAt = syncedAt.UTC()
	}
	l.UpdatedAt = l.UpdatedAt.UTC()
	return &l, nil
}
