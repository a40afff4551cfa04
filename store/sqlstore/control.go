package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/tandemsync/tandem"
)

// RetryFailure gives a parked push another run: in one transaction the
// link of ref to integration goes back to pending with no attempts counted
// (its last error stays until a push succeeds) and a push job is enqueued
// (or, if a write since the failure already has one waiting or running, that
// one pushes the record's latest state). ENOTFOUND when that link is not
// parked.
func (s *Store[TTx]) RetryFailure(ctx context.Context, integration string, ref tandem.Ref) error {
	return s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		if err := s.lockFailure(ctx, q, integration, ref); err != nil {
			return err
		}
		if err := q.Exec(ctx, `UPDATE links SET status = 'pending', attempts = 0, updated_at = $4
			WHERE integration = $1 AND kind = $2 AND local_id = $3`,
			integration, string(ref.Kind), ref.ID, s.now()); err != nil {
			return fmt.Errorf("retry failure: %w", err)
		}
		if _, err := s.river.InsertManyTx(ctx, tx, []river.InsertManyParams{pushJob(integration, ref)}); err != nil {
			return fmt.Errorf("enqueue push: %w", err)
		}
		return nil
	})
}

// DiscardFailure gives up on a parked push: the link of ref to integration
// shows status discarded, is no longer listed by Failures, and the record's
// current version is not pushed to integration (a job still waiting for it
// does nothing). The next local write of the record is pushed as usual.
// ENOTFOUND when that link is not parked.
func (s *Store[TTx]) DiscardFailure(ctx context.Context, integration string, ref tandem.Ref) error {
	return s.inTx(ctx, Durable, func(_ TTx, q Querier) error {
		if err := s.lockFailure(ctx, q, integration, ref); err != nil {
			return err
		}
		table := kinds[ref.Kind].table
		if err := q.Exec(ctx, `UPDATE links SET status = 'discarded', updated_at = $4,
			discarded_version = (SELECT version FROM `+table+` WHERE id = $3)
			WHERE integration = $1 AND kind = $2 AND local_id = $3`,
			integration, string(ref.Kind), ref.ID, s.now()); err != nil {
			return fmt.Errorf("discard failure: %w", err)
		}
		return nil
	})
}

// lockFailure locks the record of a parked link, so that no write or push
// of it lands between the check and the change; ENOTFOUND when the link is
// not parked.
func (s *Store[TTx]) lockFailure(ctx context.Context, q Querier, integration string, ref tandem.Ref) error {
	notParked := tandem.Errorf(tandem.ENOTFOUND, "no parked failure %s", tandem.FailureID(integration, ref))
	if _, ok := kinds[ref.Kind]; !ok {
		return notParked
	}
	_, err := s.lockVersion(ctx, q, ref)
	if errors.Is(err, ErrNoRows) {
		return notParked
	} else if err != nil {
		return err
	}
	var status string
	err = q.QueryRow(ctx, `SELECT status FROM links WHERE integration = $1 AND kind = $2 AND local_id = $3`,
		integration, string(ref.Kind), ref.ID).Scan(&status)
	switch {
	case errors.Is(err, ErrNoRows), err == nil && status != string(tandem.LinkFailed):
		return notParked
	case err != nil:
		return fmt.Errorf("read link: %w", err)
	}
	return nil
}

// PauseIntegration pauses the jobs of an integration (its River queue):
// no process sharing the database starts one of its pushes, applies or
// polls any more, so no call reaches its provider (a job already running
// finishes). When this process works the integration, it returns once its
// own workers have paused; the others learn it from the database within
// moments. Writes keep enqueuing the integration's jobs, which wait.
// Pausing a paused integration changes nothing.
func (s *Store[TTx]) PauseIntegration(ctx context.Context, integration string) error {
	queue := tandem.QueueOf(integration)
	if paused, err := s.IntegrationPaused(ctx, integration); err != nil || paused {
		return err
	}
	var pausedHere <-chan *river.Event
	if s.started.Load() && slices.Contains(s.opts.Integrations, integration) {
		events, cancel := s.river.Subscribe(river.EventKindQueuePaused)
		defer cancel()
		pausedHere = events
	}
	// River keeps a queue's state in river_queue once a process has worked
	// it; create the row, paused, for an integration never worked yet.
	now := s.now()
	_, err := s.e.Driver.GetExecutor().QueueCreateOrSetUpdatedAt(ctx, &riverdriver.QueueCreateOrSetUpdatedAtParams{
		Name: queue, Metadata: []byte("{}"), PausedAt: &now})
	if err != nil {
		return s.e.Translate(fmt.Errorf("create queue %s: %w", queue, err))
	}
	if err := s.river.QueuePause(ctx, queue, nil); err != nil {
		return s.e.Translate(fmt.Errorf("pause queue %s: %w", queue, err))
	}
	if pausedHere == nil {
		return nil
	}
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev := <-pausedHere:
			if ev.Queue != nil && ev.Queue.Name == queue {
				return nil
			}
		case <-timeout.C:
			// Paused in the database all the same; the workers' next poll of
			// the queue's settings applies it.
			s.opts.Logger.WarnContext(ctx, "pause not yet applied by this process's workers", "integration", integration)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ResumeIntegration resumes a paused integration: its waiting jobs run.
// Resuming an integration that is not paused changes nothing.
func (s *Store[TTx]) ResumeIntegration(ctx context.Context, integration string) error {
	err := s.river.QueueResume(ctx, tandem.QueueOf(integration), nil)
	if err != nil && !errors.Is(err, river.ErrNotFound) {
		return s.e.Translate(fmt.Errorf("resume queue %s: %w", integration, err))
	}
	return nil
}

// IntegrationPaused reports whether an integration is paused.
func (s *Store[TTx]) IntegrationPaused(ctx context.Context, integration string) (bool, error) {
	q, err := s.river.QueueGet(ctx, tandem.QueueOf(integration))
	switch {
	case errors.Is(err, river.ErrNotFound):
		return false, nil
	case err != nil:
		return false, s.e.Translate(fmt.Errorf("read queue %s: %w", integration, err))
	}
	return q.PausedAt != nil, nil
}
