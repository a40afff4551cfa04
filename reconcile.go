package tandem

import (
	"context"
	"time"
)

// Lister is a Source that can also list every remote record of a kind, page
// by page: what reconciliation and link-up walk.
type Lister interface {
	Source
	// List returns one page of the live remote records of kind after cursor
	// (empty: the first page), each as a change at the time of listing, and
	// the cursor of the next page ("" after the last one).
	List(ctx context.Context, kind Kind, cursor string) (page []*RemoteChange, next string, err error)
}

// LinkedRecord is a local record (live or tombstone) with its link to one
// integration (nil when it has none).
type LinkedRecord struct {
	Record *Record
	Link   *Link
}

// ReconcileArgs are the arguments of a reconcile job. RunID names the run
// the API started; periodic runs have none and make their own.
type ReconcileArgs struct {
	Integration string `json:"integration"`
	RunID       string `json:"run_id,omitempty"`
	DryRun      bool   `json:"dry_run,omitempty"`
}

// Kind is the job kind of reconcile jobs in the queue.
func (ReconcileArgs) Kind() string { return "reconcile" }

// Repairs that reconciliation makes (or, in a dry run, would make).
const (
	RepairLink         = "link"          // a remote record matched to a local one
	RepairCreateLocal  = "create_local"  // only remote: created here
	RepairCreateRemote = "create_remote" // only local: created there
	RepairUpdateLocal  = "update_local"  // changed there: applied here
	RepairUpdateRemote = "update_remote" // differs there: pushed
	RepairDeleteLocal  = "delete_local"  // deleted there: deleted here
	RepairDeleteRemote = "delete_remote" // deleted here: deleted there
	RepairAmbiguous    = "ambiguous"     // several candidates: left alone
)

// ReconcileRun is one reconciliation of an integration, with its progress
// and, once finished, its report.
type ReconcileRun struct {
	ID          string
	Integration string
	DryRun      bool
	// Status is running, done or failed.
	Status     string
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	Progress   ReconcileProgress
	// Actions lists the repairs (at most MaxReportedActions of them).
	Actions []ReconcileAction
}

// Statuses of a reconcile run.
const (
	RunRunning = "running"
	RunDone    = "done"
	RunFailed  = "failed"
)

// MaxReportedActions bounds a run's stored list of repairs; the counts in
// its progress cover them all.
const MaxReportedActions = 1000

// ReconcileProgress counts what a run has seen and done so far.
type ReconcileProgress struct {
	RemoteScanned int            `json:"remote_scanned"`
	LocalScanned  int            `json:"local_scanned"`
	Pages         int            `json:"pages"`
	Repairs       map[string]int `json:"repairs"`
}

// ReconcileAction is one repair of a run.
type ReconcileAction struct {
	Action   string `json:"action"`
	LocalID  string `json:"local_id,omitempty"`
	RemoteID string `json:"remote_id,omitempty"`
	Detail   string `json:"detail,omitempty"`
}
