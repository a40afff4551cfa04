package httpapi

import (
	"context"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tandemsync/tandem"
)

// reconcileRunBody is a reconciliation run with its progress and report.
type reconcileRunBody struct {
	ID          string                   `json:"id"`
	Integration string                   `json:"integration"`
	DryRun      bool                     `json:"dry_run"`
	Status      string                   `json:"status" enum:"running,done,failed"`
	Error       string                   `json:"error,omitempty"`
	StartedAt   time.Time                `json:"started_at"`
	FinishedAt  *time.Time               `json:"finished_at,omitempty"`
	Progress    tandem.ReconcileProgress `json:"progress"`
	Actions     []tandem.ReconcileAction `json:"actions" doc:"The repairs made (or, in a dry run, planned), at most 1,000"`
}

type reconcileRunOutput struct {
	Body reconcileRunBody
}

type startReconcileInput struct {
	Integration string `path:"name" doc:"The integration's name" example:"stripe"`
	DryRun      bool   `query:"dry_run" doc:"Only list what would change"`
}

type reconcileRunInput struct {
	Integration string `path:"name" example:"stripe"`
	ID          string `path:"id" doc:"The run's id"`
}

// startReconcile records a run and enqueues its job: the answer comes at
// once, the run's progress is read with getReconcile.
func (s *Server) startReconcile(ctx context.Context, in *startReconcileInput) (*reconcileRunOutput, error) {
	if _, ok := s.sources[in.Integration].(tandem.Lister); !ok {
		return nil, huma.Error404NotFound("no integration " + in.Integration + " that can be reconciled")
	}
	run, err := s.store.StartReconcile(ctx, in.Integration, in.DryRun, true)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return newReconcileRunOutput(run), nil
}

func (s *Server) getReconcile(ctx context.Context, in *reconcileRunInput) (*reconcileRunOutput, error) {
	run, err := s.store.ReconcileRun(ctx, in.Integration, in.ID)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return newReconcileRunOutput(run), nil
}

func newReconcileRunOutput(run *tandem.ReconcileRun) *reconcileRunOutput {
	out := &reconcileRunOutput{Body: reconcileRunBody{ID: run.ID, Integration: run.Integration, DryRun: run.DryRun,
		Status: run.Status, Error: run.Error, StartedAt: run.StartedAt, Progress: run.Progress, Actions: run.Actions}}
	if !run.FinishedAt.IsZero() {
		out.Body.FinishedAt = &run.FinishedAt
	}
	if out.Body.Actions == nil {
		out.Body.Actions = []tandem.ReconcileAction{}
	}
	if out.Body.Progress.Repairs == nil {
		out.Body.Progress.Repairs = map[string]int{}
	}
	return out
}
