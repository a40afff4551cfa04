package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tandemsync/tandem"
)

// PollJobs are the periodic jobs that run each integration's events poller
// every interval (integrations with no interval, or 0, are not polled).
// Only the leader among the processes sharing a database enqueues them, and
// a poll still waiting or running absorbs the next one.
func PollJobs(intervals map[string]time.Duration) []*river.PeriodicJob {
	return periodicJobs(intervals, func(name string) river.JobArgs { return tandem.PollArgs{Integration: name} },
		pollInsertOpts, true)
}

// periodicJobs makes one periodic job per integration with a positive
// interval, its arguments made by args.
func periodicJobs(intervals map[string]time.Duration, args func(name string) river.JobArgs, opts *river.InsertOpts, runOnStart bool) []*river.PeriodicJob {
	var jobs []*river.PeriodicJob
	for name, every := range intervals {
		if every <= 0 {
			continue
		}
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) {
				o := *opts
				o.Queue = tandem.QueueOf(name)
				return args(name), &o
			}, &river.PeriodicJobOpts{RunOnStart: runOnStart}))
	}
	return jobs
}

// pollInsertOpts: one live poll per integration, never retried (the next
// tick is the retry).
var pollInsertOpts = &river.InsertOpts{
	MaxAttempts: 1,
	UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}},
}

// pollWorker works poll jobs: it reads an integration's events after the
// stored cursor and receives them like webhook deliveries (the inbox skips
// those already received), storing the new cursor in the same transaction.
type pollWorker struct {
	river.WorkerDefaults[tandem.PollArgs]
	s *Syncer
}

func (w *pollWorker) Work(ctx context.Context, job *river.Job[tandem.PollArgs]) error {
	s, name := w.s, job.Args.Integration
	p, ok := s.pollers[name]
	if !ok {
		return river.JobCancel(fmt.Errorf("integration %q cannot be polled", name))
	}
	cursor, err := s.store.Cursor(ctx, name)
	if err != nil {
		return err
	}
	events, next, err := p.Poll(ctx, cursor)
	if errors.Is(err, tandem.ErrEventGap) {
		if err := s.reconcileGap(ctx, name, cursor); err != nil {
			return err
		}
	} else if err != nil {
		s.logger.WarnContext(ctx, "poll failed", "integration", name, "error", err)
		return err
	}
	n, err := s.store.ReceivePolled(ctx, name, events, next)
	if err != nil {
		return err
	}
	if n > 0 {
		s.logger.InfoContext(ctx, "polled", "integration", name, "events", len(events), "new", n)
	}
	return nil
}

// reconcileGap starts a full reconciliation of an integration whose poller
// found events lost beyond the provider's retention, and says so.
func (s *Syncer) reconcileGap(ctx context.Context, name, cursor string) error {
	st, ok := s.store.(ReconcileStore)
	if !ok {
		s.logger.WarnContext(ctx, "events lost while Tandem was away; run a full reconciliation",
			"integration", name, "cursor", cursor)
		return nil
	}
	run, err := st.StartReconcile(ctx, name, false, true)
	if tandem.ErrorCode(err) == tandem.ECONFLICT {
		s.logger.WarnContext(ctx, "events lost while Tandem was away; a full reconciliation is running",
			"integration", name, "cursor", cursor, "reason", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("start reconciliation: %w", err)
	}
	s.logger.WarnContext(ctx, "events lost while Tandem was away; full reconciliation started",
		"integration", name, "cursor", cursor, "run", run.ID)
	return nil
}
