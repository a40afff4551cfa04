// Package syncer is the sync engine's worker side: it runs the push jobs the
// store enqueues with every catalog write. A push reads the record's current
// state (never a copy taken at enqueue time), hands it to the integration,
// records the outcome on the link and decides, from the integration's
// classification of a failure, whether to retry, wait or park.
package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tandemsync/tandem"
)

// Store is what the syncer needs of a store.
type Store interface {
	tandem.Catalog
	tandem.InvoiceCatalog
	// PushState returns the record's current state and its link to
	// integration (a pending link with no remote id if it was never pushed).
	PushState(ctx context.Context, integration string, ref tandem.Ref) (*tandem.Record, *tandem.Link, error)
	// BeginPush returns the job's PushState once no inbound write of its
	// record is under way; inbound writes of the record from the job's
	// integration wait while the job runs (they answer EPRECONDITION).
	BeginPush(ctx context.Context, job *river.Job[tandem.PushArgs]) (*tandem.Record, *tandem.Link, error)
	// FinishPush records the push of version (res nil: none was needed)
	// and ends the job; newlyLinked says that res gives the record its first
	// remote id, which wakes the pushes of the records waiting for it.
	FinishPush(ctx context.Context, job *river.Job[tandem.PushArgs], version int64, res *tandem.PushResult, newlyLinked bool) (moved bool, err error)
	RecordPushError(ctx context.Context, integration string, ref tandem.Ref, msg string, parked bool) error
	// ParkPush parks the job's record with msg and ends the job, in one
	// transaction.
	ParkPush(ctx context.Context, job *river.Job[tandem.PushArgs], msg string) error
	// WaitForLink says whether the push of ref to integration can go, its
	// dependency (an invoice's customer) having a remote id there; if not,
	// it records msg on ref's link, which stays pending.
	WaitForLink(ctx context.Context, integration string, ref, dependsOn tandem.Ref, msg string) (ready bool, err error)
	// SaveIntent records an integration's intent on the link of ref.
	SaveIntent(ctx context.Context, integration string, ref tandem.Ref, intent []byte) error
	// LoadEvent returns a stored inbound event.
	LoadEvent(ctx context.Context, integration, id string) (*tandem.InboundEvent, error)
	// LinkByRemoteID finds the link of a remote record; ENOTFOUND if none.
	LinkByRemoteID(ctx context.Context, integration string, kind tandem.Kind, remoteID string) (*tandem.Link, error)
	// Cursor returns where an integration's poller continues from.
	Cursor(ctx context.Context, integration string) (string, error)
	// ReceivePolled stores polled events, each once, with the next cursor.
	ReceivePolled(ctx context.Context, integration string, events []tandem.InboundEvent, cursor string) (int, error)
	// ConfirmLink records w.Link on w.Origin's link of ref without a catalog
	// write (with w.PushToOrigin, it also enqueues a push to the origin);
	// version is the local version the remote side holds when w.Link.Synced.
	ConfirmLink(ctx context.Context, ref tandem.Ref, version int64, w tandem.Write) error
}

// Syncer pushes local changes to the configured integrations and applies
// the changes they report.
type Syncer struct {
	store        Store
	integrations map[string]tandem.Integration
	sources      map[string]tandem.Source
	pollers      map[string]tandem.Poller
	policy       Policy
	matchEmail   map[string]bool
	observer     Observer
	logger       *slog.Logger
}

// Options configure a Syncer.
type Options struct {
	// Policy settles conflicts (default PolicyNewest).
	Policy Policy
	// Logger is where the syncer logs (nil discards).
	Logger *slog.Logger
	// MatchEmail names the integrations whose reconciliation links unlinked
	// records by exact email (after their Tandem id).
	MatchEmail map[string]bool
	// Observer, when set, is told how long changes took to sync and which
	// repairs reconciliation made.
	Observer Observer
}

// Observer is told how long changes took to sync (the metrics).
type Observer interface {
	// OutboundLag reports a push the integration confirmed, lag after the
	// local write of the version it carried.
	OutboundLag(integration string, lag time.Duration)
	// InboundLag reports an integration's change applied (or found already
	// applied) locally, lag after the integration made it.
	InboundLag(integration string, lag time.Duration)
	// ReconcileRepair reports a repair reconciliation made.
	ReconcileRepair(integration, action string)
}

// noObserver is the Observer of a syncer that has none.
type noObserver struct{}

func (noObserver) OutboundLag(string, time.Duration) {}
func (noObserver) InboundLag(string, time.Duration)  {}
func (noObserver) ReconcileRepair(string, string)    {}

// New returns a Syncer for integrations through st. Integrations that are
// also a tandem.Source have their changes applied.
func New(st Store, integrations []tandem.Integration, opts Options) *Syncer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Policy == "" {
		opts.Policy = PolicyNewest
	}
	if opts.Observer == nil {
		opts.Observer = noObserver{}
	}
	s := &Syncer{store: st, integrations: map[string]tandem.Integration{}, sources: map[string]tandem.Source{},
		pollers: map[string]tandem.Poller{}, policy: opts.Policy, matchEmail: opts.MatchEmail,
		observer: opts.Observer, logger: opts.Logger}
	for _, in := range integrations {
		s.integrations[in.Name()] = in
		if src, ok := in.(tandem.Source); ok {
			s.sources[in.Name()] = src
		}
		if p, ok := in.(tandem.Poller); ok {
			s.pollers[in.Name()] = p
		}
	}
	return s
}

// Register adds the syncer's workers to w.
func (s *Syncer) Register(w *river.Workers) {
	river.AddWorker(w, &pushWorker{s: s})
	river.AddWorker(w, &applyWorker{s: s})
	river.AddWorker(w, &pollWorker{s: s})
	river.AddWorker(w, &reconcileWorker{s: s})
}

// pushWorker works push jobs. River runs at most one live job per
// (integration, record) thanks to the jobs' unique options; FinishPush closes
// the gap those leave while a job runs. While a push job runs, the inbound
// changes of its record wait (see applyRetrying).
type pushWorker struct {
	river.WorkerDefaults[tandem.PushArgs]
	s *Syncer
}

func (w *pushWorker) Work(ctx context.Context, job *river.Job[tandem.PushArgs]) error {
	s, args := w.s, job.Args
	in, ok := s.integrations[args.Integration]
	if !ok {
		return s.park(ctx, job, fmt.Errorf("integration %q is not configured", args.Integration))
	}
	rec, link, err := s.beginPush(ctx, job)
	if err != nil {
		return fmt.Errorf("load %s %s: %w", args.Ref.Kind, args.Ref.ID, err)
	}

	var res *tandem.PushResult
	// A discarded link holds back the version an operator gave up on.
	if link.SyncedVersion < rec.Version && link.Status != tandem.LinkDiscarded {
		customerLink, ready, err := s.customerLink(ctx, job, rec, link)
		if !ready {
			return err // it waits, or is parked
		}
		res, err = in.Push(ctx, &tandem.PushRequest{Record: rec, Link: link, CustomerLink: customerLink,
			SaveIntent: func(ctx context.Context, intent []byte) error {
				return s.store.SaveIntent(ctx, args.Integration, args.Ref, intent)
			}})
		if err != nil {
			return s.fail(ctx, job, err)
		}
		s.logger.DebugContext(ctx, "pushed", "integration", args.Integration, "kind", args.Ref.Kind,
			"id", args.Ref.ID, "version", rec.Version, "remote_id", res.RemoteID)
	}
	newlyLinked := res != nil && res.RemoteID != "" && link.RemoteID == ""
	moved, err := s.store.FinishPush(ctx, job, rec.Version, res, newlyLinked)
	if err != nil {
		// The push is done but not recorded: the retry pushes the same version
		// again, which the integration's idempotency makes harmless.
		return fmt.Errorf("finish push: %w", err)
	}
	if res != nil {
		s.observer.OutboundLag(args.Integration, time.Since(rec.UpdatedAt))
	}
	if moved {
		return river.JobSnooze(0) // a write landed while we pushed: push it now
	}
	return nil
}

// beginPush returns what the job's push starts from. For an integration
// that reports changes (a Source), that is after any inbound write of the
// record under way; the others have none.
func (s *Syncer) beginPush(ctx context.Context, job *river.Job[tandem.PushArgs]) (*tandem.Record, *tandem.Link, error) {
	if _, inbound := s.sources[job.Args.Integration]; inbound {
		return s.store.BeginPush(ctx, job)
	}
	return s.store.PushState(ctx, job.Args.Integration, job.Args.Ref)
}

// maxCustomerWait bounds the wait of a push for its customer's remote id
// between two looks, which double from a second: the customer's push wakes
// the waiting ones as soon as it records the id, so this is the fallback
// (for a push that was deciding to wait at that very moment).
const maxCustomerWait = time.Minute

// customerLink returns, for a record that belongs to a customer (an
// invoice), that customer's link to the job's integration. When the
// customer has no remote id there yet, the push waits: the link shows why,
// and the job is snoozed (River counts no attempt, so it is neither parked
// nor lost; writes meanwhile are absorbed by it, and it pushes the latest
// state once it runs). A customer deleted before it got one never will:
// the push is parked. Unless ready, the push does not go and err is the
// job's result.
func (s *Syncer) customerLink(ctx context.Context, job *river.Job[tandem.PushArgs], rec *tandem.Record, link *tandem.Link) (cl *tandem.Link, ready bool, err error) {
	if rec.Invoice == nil {
		return nil, true, nil
	}
	args := job.Args
	customer := tandem.Ref{Kind: tandem.KindCustomer, ID: rec.Invoice.CustomerID}
	crec, cl, err := s.store.PushState(ctx, args.Integration, customer)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("load customer %s: %w", customer.ID, err)
	case cl.RemoteID != "" || (rec.Deleted && link.RemoteID == ""):
		return cl, true, nil // a draft deleted before it was pushed needs no customer
	case crec.Deleted:
		return nil, false, s.park(ctx, job, fmt.Errorf("customer %s was deleted before it reached %s", customer.ID, args.Integration))
	}
	msg := fmt.Sprintf("waits for customer %s to reach %s", customer.ID, args.Integration)
	linked, err := s.store.WaitForLink(ctx, args.Integration, args.Ref, customer, msg)
	if err != nil {
		return nil, false, fmt.Errorf("record wait: %w", err)
	}
	if linked {
		return nil, false, river.JobSnooze(0) // linked meanwhile: run again at once
	}
	s.logger.DebugContext(ctx, "push waits", "integration", args.Integration, "kind", args.Ref.Kind,
		"id", args.Ref.ID, "customer", customer.ID)
	return nil, false, river.JobSnooze(min(time.Second<<min(snoozes(job.JobRow), 20), maxCustomerWait))
}

// snoozes is how many times River snoozed the job so far.
func snoozes(job *rivertype.JobRow) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(job.Metadata, &m) // no metadata counts as none
	return m.Snoozes
}

// fail records a failed push and turns the integration's classification into
// River's retry policy: park permanent failures, wait as long as the provider
// asks, retry the rest with backoff until the attempts run out.
func (s *Syncer) fail(ctx context.Context, job *river.Job[tandem.PushArgs], err error) error {
	var pe *tandem.ProviderError
	if !errors.As(err, &pe) {
		pe = &tandem.ProviderError{Class: tandem.Retry, Err: err}
	}
	switch {
	case pe.Class == tandem.Permanent, pe.Class != tandem.RetryLater && job.Attempt >= job.MaxAttempts:
		return s.park(ctx, job, err)
	case pe.Class == tandem.RetryLater:
		s.recordError(ctx, job, err)
		return river.JobSnooze(pe.Delay)
	}
	s.recordError(ctx, job, err)
	return err
}

// recordError records a failed attempt that will be retried.
func (s *Syncer) recordError(ctx context.Context, job *river.Job[tandem.PushArgs], err error) {
	args := job.Args
	s.logger.WarnContext(ctx, "push failed", "integration", args.Integration, "kind", args.Ref.Kind,
		"id", args.Ref.ID, "attempt", job.Attempt, "error", err)
	if rerr := s.store.RecordPushError(ctx, args.Integration, args.Ref, err.Error(), false); rerr != nil {
		s.logger.ErrorContext(ctx, "record push error", "error", rerr)
	}
}

// park parks a push that cannot succeed: its record is listed with the
// error, and its job ends. If that cannot be recorded, the job is retried.
func (s *Syncer) park(ctx context.Context, job *river.Job[tandem.PushArgs], err error) error {
	args := job.Args
	s.logger.ErrorContext(ctx, "push parked", "integration", args.Integration, "kind", args.Ref.Kind,
		"id", args.Ref.ID, "attempt", job.Attempt, "error", err)
	if perr := s.store.ParkPush(ctx, job, err.Error()); perr != nil {
		s.logger.ErrorContext(ctx, "park push", "error", perr)
		return err
	}
	return nil
}
