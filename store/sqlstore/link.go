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

// linkColumns are the stored columns of a link, as scanLink reads them.
const linkColumns = `l.integration, l.kind, l.local_id, l.remote_id, l.synced_version, l.base, l.status,
	l.last_error, l.attempts, l.synced_at, l.updated_at, l.intent, l.watermark, l.discarded_version, l.revision`

// PushState returns what a push of ref to integration starts from: the
// record's current state (tombstones included) and its link, a pending link
// with no remote id when the record was never pushed. It reads through the
// engine's connections of background work.
func (s *Store[TTx]) PushState(ctx context.Context, integration string, ref tandem.Ref) (*tandem.Record, *tandem.Link, error) {
	recs, err := s.recordsByID(ctx, s.e.Background, integration, ref.Kind, []string{ref.ID})
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("load push state: %w", err)
	case len(recs) == 0:
		return nil, nil, errNotFound(ref.Kind, ref.ID)
	}
	rec, link := recs[0].Record, recs[0].Link
	if link == nil {
		link = &tandem.Link{Integration: integration, Ref: ref, Status: tandem.LinkPending}
	}
	return rec, link, nil
}

// BeginPush returns what the job's push starts from (see PushState), once
// no inbound write of its record is under way: the job is running already,
// so inbound writes that start now wait for the push (see updateLink), and
// one that began before is committed first (the record's row lock orders
// them where writers are concurrent; SQLite's single writer does already).
func (s *Store[TTx]) BeginPush(ctx context.Context, job *river.Job[tandem.PushArgs]) (*tandem.Record, *tandem.Link, error) {
	args := job.Args
	if s.e.ForUpdate != "" {
		err := s.inTx(ctx, Relaxed, func(_ TTx, q Querier) error {
			if _, err := s.lockVersion(ctx, q, args.Ref); err != nil && !errors.Is(err, ErrNoRows) {
				return err // none: PushState answers ENOTFOUND
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return s.PushState(ctx, args.Integration, args.Ref)
}

// Links returns the link of ref to every configured integration (pending
// for those it was never pushed to), and to any integration it was pushed to
// before, by integration name.
func (s *Store[TTx]) Links(ctx context.Context, ref tandem.Ref) ([]*tandem.Link, error) {
	spec, err := specOf(ref.Kind)
	if err != nil {
		return nil, err
	}
	var version int64
	if err := s.e.DB.QueryRow(ctx, `SELECT version FROM `+spec.table+` WHERE id = $1`, ref.ID).Scan(&version); err != nil {
		if errors.Is(err, ErrNoRows) {
			return nil, errNotFound(ref.Kind, ref.ID)
		}
		return nil, s.e.Translate(fmt.Errorf("read version: %w", err))
	}
	stored, err := s.queryLinks(ctx, `SELECT `+linkColumns+` FROM links l WHERE l.kind = $1 AND l.local_id = $2
		ORDER BY l.integration`, string(ref.Kind), ref.ID)
	if err != nil {
		return nil, err
	}
	byName := map[string]*tandem.Link{}
	for _, l := range stored {
		l.Status = effectiveStatus(l, version)
		byName[l.Integration] = l
	}
	links := stored
	for _, name := range s.opts.Integrations {
		if byName[name] == nil && s.syncs(name, ref.Kind) {
			links = append(links, &tandem.Link{Integration: name, Ref: ref, Status: tandem.LinkPending})
		}
	}
	return links, nil
}

// effectiveStatus is a link's status given its record's current version.
// Failed and conflict are what the engine recorded, discarded holds until the
// record moves past the discarded version; otherwise a link is synced when
// the remote side holds the current version, pending when not.
func effectiveStatus(l *tandem.Link, version int64) tandem.LinkStatus {
	switch {
	case l.Status == tandem.LinkDiscarded && version <= l.DiscardedVersion:
		return l.Status
	case l.Status == tandem.LinkFailed || l.Status == tandem.LinkConflict:
		return l.Status
	case l.SyncedVersion >= version:
		return tandem.LinkSynced
	default:
		return tandem.LinkPending
	}
}

// Failures returns the parked links, oldest failure first.
func (s *Store[TTx]) Failures(ctx context.Context) ([]*tandem.Link, error) {
	return s.queryLinks(ctx, `SELECT `+linkColumns+` FROM links l WHERE l.status = 'failed'
		ORDER BY l.updated_at, l.integration, l.kind, l.local_id`)
}

func (s *Store[TTx]) queryLinks(ctx context.Context, query string, args ...any) ([]*tandem.Link, error) {
	rows, err := s.e.DB.Query(ctx, query, args...)
	if err != nil {
		return nil, s.e.Translate(fmt.Errorf("query links: %w", err))
	}
	defer rows.Close()
	var links []*tandem.Link
	for rows.Next() {
		var l nullableLink
		if err := rows.Scan(l.dest()...); err != nil {
			return nil, fmt.Errorf("scan link: %w", err)
		}
		links = append(links, l.link())
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
// A customer's first remote id (newlyLinked, as the caller saw the link
// before the push) also wakes the pushes of its records that wait for it
// (see WaitForLink); a link that had one needs no read to know it.
func (s *Store[TTx]) FinishPush(ctx context.Context, job *river.Job[tandem.PushArgs], version int64, res *tandem.PushResult, newlyLinked bool) (moved bool, err error) {
	ref := job.Args.Ref
	err = s.inTx(ctx, Relaxed, func(tx TTx, q Querier) error {
		current, err := s.lockVersion(ctx, q, ref)
		if err != nil {
			return err
		}
		moved = current > version
		if newlyLinked && ref.Kind == tandem.KindCustomer {
			if err := s.wakeWaiting(ctx, tx, q, job.Args.Integration, ref.ID); err != nil {
				return err
			}
		}
		if res != nil {
			status := tandem.LinkSynced
			if moved {
				status = tandem.LinkPending
			}
			now := s.now()
			if err := q.Exec(ctx, `
				INSERT INTO links (integration, kind, local_id, remote_id, synced_version, base, status,
					last_error, attempts, synced_at, updated_at, intent, revision)
				VALUES ($1, $2, $3, $4, $5, $6, $7, '', 0, $8, $8, NULL, 1)
				ON CONFLICT (integration, kind, local_id) DO UPDATE SET
					remote_id = excluded.remote_id, synced_version = excluded.synced_version,
					base = excluded.base, status = excluded.status, last_error = '', attempts = 0,
					synced_at = excluded.synced_at, updated_at = excluded.updated_at, intent = NULL,
					revision = links.revision + 1`,
				job.Args.Integration, string(ref.Kind), ref.ID, res.RemoteID, version, res.Base, string(status), now); err != nil {
				return fmt.Errorf("record push: %w", err)
			}
		}
		if moved {
			return nil
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
	return s.inTx(ctx, Relaxed, func(_ TTx, q Querier) error {
		return s.recordPushError(ctx, q, integration, ref, msg, status)
	})
}

// ParkPush parks a push that cannot succeed: the link of the job's record
// shows failed with msg, and the job ends in the same transaction, under the
// record's row lock (as completed: the link holds the failure). A write that
// lands afterwards then enqueues a fresh push, instead of being absorbed by
// a job on its way out.
func (s *Store[TTx]) ParkPush(ctx context.Context, job *river.Job[tandem.PushArgs], msg string) error {
	ref := job.Args.Ref
	return s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		if _, err := s.lockVersion(ctx, q, ref); err != nil && !errors.Is(err, ErrNoRows) {
			return err
		}
		if err := s.recordPushError(ctx, q, job.Args.Integration, ref, msg, tandem.LinkFailed); err != nil {
			return err
		}
		if err := s.e.CompleteJobTx(ctx, tx, job); err != nil {
			return fmt.Errorf("end parked job: %w", err)
		}
		return nil
	})
}

// recordPushError records a failed push attempt on the link with status.
func (s *Store[TTx]) recordPushError(ctx context.Context, q Querier, integration string, ref tandem.Ref, msg string, status tandem.LinkStatus) error {
	err := q.Exec(ctx, `
		INSERT INTO links (integration, kind, local_id, status, last_error, attempts, updated_at)
		VALUES ($1, $2, $3, $4, $5, 1, $6)
		ON CONFLICT (integration, kind, local_id) DO UPDATE SET
			status = excluded.status, last_error = excluded.last_error,
			attempts = links.attempts + 1, updated_at = excluded.updated_at`,
		integration, string(ref.Kind), ref.ID, string(status), msg, s.now())
	if err != nil {
		return fmt.Errorf("record push error: %w", err)
	}
	return nil
}

// updateLink records an inbound change on the link of ref to integration,
// inside a write of ref at version that holds ref's row lock (as BeginPush
// and FinishPush take it); before is the record's version before the write.
// It answers EPRECONDITION when the link moved on from u.Revision, or while
// a push of ref to integration may be under way: its job runs, and the link
// is behind before (a push calls the provider only then, and nothing
// records a newer synced version while it does).
func (s *Store[TTx]) updateLink(ctx context.Context, tx TTx, q Querier, integration string, ref tandem.Ref, version, before int64, u *tandem.LinkUpdate) error {
	var revision, synced int64
	err := q.QueryRow(ctx, `SELECT revision, synced_version FROM links WHERE integration = $1 AND kind = $2 AND local_id = $3`,
		integration, string(ref.Kind), ref.ID).Scan(&revision, &synced)
	switch {
	case err != nil && !errors.Is(err, ErrNoRows):
		return fmt.Errorf("read link: %w", err)
	case revision != u.Revision:
		return tandem.Errorf(tandem.EPRECONDITION, "the link of %s %s to %s moved on", ref.Kind, ref.ID, integration)
	case synced >= before:
		return s.writeLink(ctx, tx, q, integration, ref, version, u)
	}
	// A push job of ref runs in integration's queue: its state is what
	// River's fetch committed, and at most a few jobs run at once.
	var pushing int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE state = 'running' AND queue = $1
		AND kind = 'push' AND `+s.e.JobArg("ref.kind")+` = $2 AND `+s.e.JobArg("ref.id")+` = $3`,
		integration, string(ref.Kind), ref.ID).Scan(&pushing); err != nil {
		return fmt.Errorf("read pushes: %w", err)
	}
	if pushing > 0 {
		return tandem.Errorf(tandem.EPRECONDITION, "a push of %s %s to %s is in flight", ref.Kind, ref.ID, integration)
	}
	return s.writeLink(ctx, tx, q, integration, ref, version, u)
}

// writeLink is updateLink's write, once it may go. The base only moves
// forward: an older change (a lower watermark) applied late never replaces
// a newer base. A customer linked here for the first time wakes the pushes
// waiting for it.
func (s *Store[TTx]) writeLink(ctx context.Context, tx TTx, q Querier, integration string, ref tandem.Ref, version int64, u *tandem.LinkUpdate) error {
	if ref.Kind == tandem.KindCustomer && u.RemoteID != "" {
		if err := s.wakeWaiting(ctx, tx, q, integration, ref.ID); err != nil {
			return err
		}
	}
	synced, status, conflict := int64(0), tandem.LinkSynced, u.Conflict
	if u.Synced {
		synced = version
	}
	if conflict != "" {
		status = tandem.LinkConflict
	}
	now := s.now()
	err := q.Exec(ctx, `
		INSERT INTO links (integration, kind, local_id, remote_id, synced_version, base, status, last_error,
			watermark, synced_at, updated_at, revision)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1)
		ON CONFLICT (integration, kind, local_id) DO UPDATE SET
			remote_id = CASE WHEN excluded.remote_id <> '' THEN excluded.remote_id ELSE links.remote_id END,
			base = CASE WHEN excluded.watermark >= links.watermark THEN COALESCE(excluded.base, links.base)
				ELSE links.base END,
			synced_version = CASE WHEN excluded.synced_version > links.synced_version
				THEN excluded.synced_version ELSE links.synced_version END,
			status = CASE WHEN excluded.last_error <> '' THEN excluded.status
				WHEN links.status = 'conflict' THEN 'conflict' ELSE excluded.status END,
			last_error = CASE WHEN excluded.last_error <> '' THEN excluded.last_error ELSE links.last_error END,
			watermark = CASE WHEN excluded.watermark > links.watermark THEN excluded.watermark ELSE links.watermark END,
			synced_at = excluded.synced_at, updated_at = excluded.updated_at, revision = links.revision + 1`,
		integration, string(ref.Kind), ref.ID, u.RemoteID, synced, u.Base, string(status), conflict, u.Watermark, now)
	if err != nil {
		return fmt.Errorf("update link: %w", err)
	}
	return nil
}

// ConfirmLink records an inbound change that needs no catalog write (an
// echo of our own write, a change the record already holds) on w.Origin's
// link of ref; version is the local version the remote side holds when
// w.Link.Synced. With w.PushToOrigin it also enqueues a push to the origin,
// whose copy is behind.
func (s *Store[TTx]) ConfirmLink(ctx context.Context, ref tandem.Ref, version int64, w tandem.Write) error {
	return s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		current, err := s.lockVersion(ctx, q, ref)
		if err != nil && !errors.Is(err, ErrNoRows) {
			return err
		}
		if err := s.updateLink(ctx, tx, q, w.Origin, ref, version, current, w.Link); err != nil {
			return err
		}
		if !w.PushToOrigin {
			return nil
		}
		if _, err := s.river.InsertManyTx(ctx, tx, []river.InsertManyParams{pushJob(w.Origin, ref)}); err != nil {
			return fmt.Errorf("enqueue push: %w", err)
		}
		return nil
	})
}

// LinkByRemoteID returns the link of integration whose remote id is
// remoteID; ENOTFOUND if no local record is linked to it.
func (s *Store[TTx]) LinkByRemoteID(ctx context.Context, integration string, kind tandem.Kind, remoteID string) (*tandem.Link, error) {
	links, err := s.queryLinks(ctx, `SELECT `+linkColumns+` FROM links l
		WHERE l.integration = $1 AND l.kind = $2 AND l.remote_id = $3
		AND l.remote_id <> ''`, integration, string(kind), remoteID) // the condition of the partial index links_remote
	switch {
	case err != nil:
		return nil, err
	case len(links) == 0 || remoteID == "":
		return nil, tandem.Errorf(tandem.ENOTFOUND, "no %s is linked to %s %s", kind, integration, remoteID)
	}
	return links[0], nil
}

// SaveIntent records an integration's intent on the link of ref, durably:
// it must outlive a crash that happens during the provider call it precedes.
func (s *Store[TTx]) SaveIntent(ctx context.Context, integration string, ref tandem.Ref, intent []byte) error {
	return s.inTx(ctx, Durable, func(_ TTx, q Querier) error {
		err := q.Exec(ctx, `
			INSERT INTO links (integration, kind, local_id, status, intent, updated_at)
			VALUES ($1, $2, $3, 'pending', $4, $5)
			ON CONFLICT (integration, kind, local_id) DO UPDATE SET
				intent = excluded.intent, updated_at = excluded.updated_at`,
			integration, string(ref.Kind), ref.ID, intent, s.now())
		if err != nil {
			return fmt.Errorf("save intent: %w", err)
		}
		return nil
	})
}

// nullableLink scans a link's columns where a LEFT JOIN may leave them NULL.
type nullableLink struct {
	integration, kind, localID, remoteID, status, lastError *string
	syncedVersion, watermark, discardedVersion, revision    *int64
	attempts                                                *int
	base, intent                                            []byte
	syncedAt, updatedAt                                     *time.Time
}

// dest lists the scan destinations of linkColumns.
func (n *nullableLink) dest() []any {
	return []any{&n.integration, &n.kind, &n.localID, &n.remoteID, &n.syncedVersion, &n.base, &n.status,
		&n.lastError, &n.attempts, &n.syncedAt, &n.updatedAt, &n.intent, &n.watermark, &n.discardedVersion, &n.revision}
}

// link returns the scanned link, nil when the join found none.
func (n *nullableLink) link() *tandem.Link {
	if n.integration == nil {
		return nil
	}
	l := &tandem.Link{
		Integration: *n.integration, Ref: tandem.Ref{Kind: tandem.Kind(*n.kind), ID: *n.localID},
		RemoteID: *n.remoteID, SyncedVersion: *n.syncedVersion, Base: n.base, Status: tandem.LinkStatus(*n.status),
		LastError: *n.lastError, Attempts: *n.attempts, UpdatedAt: n.updatedAt.UTC(), Intent: n.intent,
		Watermark: *n.watermark, DiscardedVersion: *n.discardedVersion, Revision: *n.revision,
	}
	if n.syncedAt != nil {
		l.SyncedAt = n.syncedAt.UTC()
	}
	return l
}
