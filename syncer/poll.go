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
	var jobs []*river.PeriodicJob
	for name, every := range intervals {
		if every <= 0 {
			continue
		}
		jobs = append(jobs, river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) {
				opts := *pollInsertOpts
				opts.Queue = tandem.QueueOf(name)
				return tandem.PollArgs{Integration: name}, &opts
			}, &river.PeriodicJobOpts{RunOnStart: true}))
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
		s.logger.WarnContext(ctx, "events lost while Tandem was away; run a full reconciliation",
			"integration", name, "cursor", cursor)
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
