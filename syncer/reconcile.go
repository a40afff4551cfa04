package syncer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
)

// ReconcileStore is what reconciliation needs of a store beyond Store.
type ReconcileStore interface {
	// RecordsByRemoteID returns the local records linked to these remote ids.
	RecordsByRemoteID(ctx context.Context, integration string, kind tandem.Kind, remoteIDs []string) ([]tandem.LinkedRecord, error)
	// RecordsByID returns the local records with these ids.
	RecordsByID(ctx context.Context, integration string, kind tandem.Kind, ids []string) ([]tandem.LinkedRecord, error)
	// ScanRecords returns the next page of all local records, by id.
	ScanRecords(ctx context.Context, integration string, kind tandem.Kind, after string, limit int) ([]tandem.LinkedRecord, error)
	// Resync enqueues a push of ref that starts from base (nil: the link's).
	Resync(ctx context.Context, integration string, ref tandem.Ref, base []byte) error
	// StartReconcile records a new run (and enqueues its job when asked).
	StartReconcile(ctx context.Context, integration string, dryRun, enqueue bool) (*tandem.ReconcileRun, error)
	// SaveReconcileRun stores a run's progress and report.
	SaveReconcileRun(ctx context.Context, run *tandem.ReconcileRun) error
}

// localPageSize is how many local records one step of the local walk reads.
const localPageSize = 500

// ReconcileOptions tune one reconciliation.
type ReconcileOptions struct {
	// DryRun reports the repairs without making them.
	DryRun bool
	// Progress, when set, is called after every page with the run so far.
	Progress func(run *tandem.ReconcileRun)
}

// Reconcile walks every remote record of the integration run names and every
// local record, of each kind it syncs (customers first), and repairs each difference through the normal write paths:
// remote changes are applied like events, local ones are pushed by the push
// workers (within the rate budget). Records that carry our id, or (with
// email matching on) customers whose email matches exactly one unlinked
// record on each side, are linked; several candidates are reported as ambiguous and left
// alone. Parked records are left to the operator. The run is updated in
// place and saved as it goes (at least every second) and at its end; the
// error says why it could not finish.
func (s *Syncer) Reconcile(ctx context.Context, run *tandem.ReconcileRun, opts ReconcileOptions) error {
	st, ok := s.store.(ReconcileStore)
	if !ok {
		return errors.New("this store cannot reconcile")
	}
	src, ok := s.sources[run.Integration].(tandem.Lister)
	if !ok {
		return tandem.Errorf(tandem.EINVALID, "integration %q cannot be reconciled", run.Integration)
	}
	if run.Progress.Repairs == nil {
		run.Progress.Repairs = map[string]int{}
	}
	r := &reconciler{s: s, st: st, src: src, run: run, opts: opts, start: time.Now(), saved: time.Now(),
		matchEmail: s.matchEmail[run.Integration], seen: map[string]struct{}{}, matched: map[string]struct{}{},
		deferred: map[string]struct{}{}, remoteEmails: map[string]int{}, ambiguous: map[string]struct{}{}}
	err := r.walk(ctx)
	run.FinishedAt = time.Now().UTC()
	run.Status = tandem.RunDone
	if err != nil {
		run.Status, run.Error = tandem.RunFailed, err.Error()
	}
	if opts.Progress != nil {
		opts.Progress(run)
	}
	if saveErr := st.SaveReconcileRun(context.WithoutCancel(ctx), run); saveErr != nil {
		err = errors.Join(err, saveErr)
	}
	s.logger.InfoContext(ctx, "reconciled", "integration", run.Integration, "run", run.ID, "dry_run", opts.DryRun,
		"status", run.Status, "remote", run.Progress.RemoteScanned, "local", run.Progress.LocalScanned,
		"repairs", run.Progress.Repairs, "error", run.Error)
	return err
}

// reconciler is the state of one run.
type reconciler struct {
	s          *Syncer
	st         ReconcileStore
	src        tandem.Lister
	run        *tandem.ReconcileRun
	opts       ReconcileOptions
	start      time.Time
	saved      time.Time // when the run was last saved
	matchEmail bool
	// kind is the kind being walked.
	kind tandem.Kind
	// seen holds the remote ids listed; matched the local ids linked in
	// this run (ids of different kinds never collide); deferred the unlinked remote records to match by email once
	// remoteEmails counts them per (lower-cased) email; ambiguous the emails
	// reported as such.
	seen, matched, deferred, ambiguous map[string]struct{}
	remoteEmails                       map[string]int
}

// walk reconciles each kind the integration syncs, customers first: the
// invoices it creates here go under customers it linked.
func (r *reconciler) walk(ctx context.Context) error {
	for _, kind := range r.s.kindsOf(r.run.Integration) {
		r.kind = kind
		if err := r.walkKind(ctx); err != nil {
			return err
		}
	}
	return nil
}

// walkKind reconciles the records of r.kind.
func (r *reconciler) walkKind(ctx context.Context) error {
	if err := r.eachRemotePage(ctx, r.remotePage); err != nil {
		return err
	}
	if len(r.deferred) > 0 {
		// Every unlinked remote email is known now: settle those records,
		// which needs their data again.
		if err := r.eachRemotePage(ctx, r.deferredPage); err != nil {
			return err
		}
	}
	after := ""
	for {
		page, err := r.st.ScanRecords(ctx, r.run.Integration, r.kind, after, localPageSize)
		if err != nil {
			return err
		}
		for _, lr := range page {
			if err := r.local(ctx, lr); err != nil {
				return err
			}
		}
		r.run.Progress.LocalScanned += len(page)
		r.report(ctx)
		if len(page) < localPageSize {
			return nil
		}
		after = page[len(page)-1].Record.Ref.ID
	}
}

// eachRemotePage lists every remote record of r.kind, one page at a time.
func (r *reconciler) eachRemotePage(ctx context.Context, fn func(context.Context, []*tandem.RemoteChange) error) error {
	cursor := ""
	for {
		page, next, err := r.src.List(ctx, r.kind, cursor)
		if err != nil {
			return fmt.Errorf("list %s %ss: %w", r.run.Integration, r.kind, err)
		}
		r.run.Progress.Pages++
		if err := fn(ctx, page); err != nil {
			return err
		}
		r.report(ctx)
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// remotePage compares one page of remote records with their local ones.
func (r *reconciler) remotePage(ctx context.Context, page []*tandem.RemoteChange) error {
	name := r.run.Integration
	ids := make([]string, len(page))
	for i, ch := range page {
		ids[i] = ch.RemoteID
	}
	linked, err := r.st.RecordsByRemoteID(ctx, name, r.kind, ids)
	if err != nil {
		return err
	}
	byRemote := map[string]tandem.LinkedRecord{}
	for _, lr := range linked {
		byRemote[lr.Link.RemoteID] = lr
	}
	var ours []string
	for _, ch := range page {
		if _, ok := byRemote[ch.RemoteID]; !ok && ch.LocalID != "" {
			ours = append(ours, ch.LocalID)
		}
	}
	carried, err := r.st.RecordsByID(ctx, name, r.kind, ours)
	if err != nil {
		return err
	}
	byLocal := map[string]tandem.LinkedRecord{}
	for _, lr := range carried {
		byLocal[lr.Record.Ref.ID] = lr
	}
	for _, ch := range page {
		r.seen[ch.RemoteID] = struct{}{}
		r.run.Progress.RemoteScanned++
		var err error
		if lr, ok := byRemote[ch.RemoteID]; ok {
			err = r.compare(ctx, ch, lr)
		} else if lr, ok := byLocal[ch.LocalID]; ok {
			err = r.carried(ctx, ch, lr)
		} else if email := emailKey(ch.Customer); r.matchEmail && email != "" {
			// Matching by email must know whether another unlinked remote
			// record has the same one: settled after the walk.
			r.deferred[ch.RemoteID] = struct{}{}
			r.remoteEmails[email]++
		} else {
			err = r.unlinked(ctx, ch)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// deferredPage settles the records of a page deferred by remotePage.
func (r *reconciler) deferredPage(ctx context.Context, page []*tandem.RemoteChange) error {
	for _, ch := range page {
		if _, ok := r.deferred[ch.RemoteID]; !ok {
			continue
		}
		if err := r.unlinked(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}

// compare settles a remote record linked to a local one.
func (r *reconciler) compare(ctx context.Context, ch *tandem.RemoteChange, lr tandem.LinkedRecord) error {
	local, link := lr.Record, lr.Link
	if settledByOperator(link) {
		return nil
	}
	switch {
	case local.Deleted:
		return r.repair(ctx, tandem.RepairDeleteRemote, local.Ref.ID, ch.RemoteID, "", func() error {
			return r.st.Resync(ctx, r.run.Integration, local.Ref, ch.Base)
		})
	case string(ch.Base) != string(link.Base):
		return r.repair(ctx, tandem.RepairUpdateLocal, local.Ref.ID, ch.RemoteID, "", func() error {
			return r.s.applyRetrying(ctx, r.src, ch)
		})
	case !sameRecord(ch.Fields, local.Fields):
		// Only the local side moved (a push waiting absorbs this one), or
		// the link wrongly says both sides agree: push from what is there.
		return r.repair(ctx, tandem.RepairUpdateRemote, local.Ref.ID, ch.RemoteID, "", func() error {
			return r.st.Resync(ctx, r.run.Integration, local.Ref, ch.Base)
		})
	}
	return nil
}

// carried settles a remote record that carries the id of a local record
// not linked to it.
func (r *reconciler) carried(ctx context.Context, ch *tandem.RemoteChange, lr tandem.LinkedRecord) error {
	if lr.Link != nil && lr.Link.RemoteID != "" {
		return r.repair(ctx, tandem.RepairAmbiguous, ch.LocalID, ch.RemoteID,
			"carries the id of a record linked to "+lr.Link.RemoteID, nil)
	}
	r.matched[ch.LocalID] = struct{}{}
	return r.repair(ctx, tandem.RepairLink, ch.LocalID, ch.RemoteID, "by tandem_id", func() error {
		return r.s.applyRetrying(ctx, r.src, ch)
	})
}

// unlinked settles a remote record that no local record is linked to: link
// it by email when that is unambiguous, else create it here.
func (r *reconciler) unlinked(ctx context.Context, ch *tandem.RemoteChange) error {
	email := emailKey(ch.Customer)
	if r.matchEmail && email != "" {
		candidates, err := r.unlinkedByEmail(ctx, ch.Customer.Email)
		if err != nil {
			return err
		}
		switch {
		case r.remoteEmails[email] > 1 || len(candidates) > 1:
			r.ambiguous[email] = struct{}{}
			return r.repair(ctx, tandem.RepairAmbiguous, "", ch.RemoteID, fmt.Sprintf(
				"email %s: %d unlinked records there, %d here", ch.Customer.Email, r.remoteEmails[email], len(candidates)), nil)
		case len(candidates) == 1:
			local := candidates[0]
			r.matched[local.Record.Ref.ID] = struct{}{}
			return r.repair(ctx, tandem.RepairLink, local.Record.Ref.ID, ch.RemoteID, "by email", func() error {
				// Link them, then apply the remote record like news of it:
				// merged with no base, and pushed back with our id.
				var revision int64
				if local.Link != nil {
					revision = local.Link.Revision
				}
				if err := r.s.store.ConfirmLink(ctx, local.Record.Ref, 0, tandem.Write{Origin: r.run.Integration,
					Link: &tandem.LinkUpdate{RemoteID: ch.RemoteID, Revision: revision}}); err != nil {
					return err
				}
				return r.s.applyRetrying(ctx, r.src, ch)
			})
		}
	}
	return r.repair(ctx, tandem.RepairCreateLocal, "", ch.RemoteID, "", func() error {
		return r.s.applyRetrying(ctx, r.src, ch)
	})
}

// unlinkedByEmail returns the live local customers with this email (in any
// case, as emailKey compares them) that are not linked to the integration
// yet, with their links.
func (r *reconciler) unlinkedByEmail(ctx context.Context, email string) ([]tandem.LinkedRecord, error) {
	var out []tandem.LinkedRecord
	f := tandem.CustomerFilter{Email: strings.TrimSpace(email), AnyCase: true, Limit: 100}
	for {
		page, err := r.s.store.ListCustomers(ctx, f)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(page.Customers))
		for i, c := range page.Customers {
			ids[i] = c.ID
		}
		recs, err := r.st.RecordsByID(ctx, r.run.Integration, tandem.KindCustomer, ids)
		if err != nil {
			return nil, err
		}
		for _, lr := range recs {
			if _, done := r.matched[lr.Record.Ref.ID]; !done && (lr.Link == nil || lr.Link.RemoteID == "") {
				out = append(out, lr)
			}
		}
		if page.Next == "" {
			return out, nil
		}
		f.After = page.Next
	}
}

// local settles a local record after the remote walk: linked to a remote
// record that was not listed (deleted there), or never pushed.
func (r *reconciler) local(ctx context.Context, lr tandem.LinkedRecord) error {
	rec, link := lr.Record, lr.Link
	if rec.Deleted || settledByOperator(link) {
		return nil
	}
	if link != nil && link.RemoteID != "" {
		if _, ok := r.seen[link.RemoteID]; ok || link.UpdatedAt.After(r.start) {
			return nil // listed, or linked after the listing began
		}
		// Newer than anything applied to the link, in the provider's own
		// watermark terms (Unix seconds for one, milliseconds for another).
		gone := &tandem.RemoteChange{Kind: rec.Ref.Kind, RemoteID: link.RemoteID, Deleted: true,
			Watermark: link.Watermark + 1, At: time.Now()}
		return r.repair(ctx, tandem.RepairDeleteLocal, rec.Ref.ID, link.RemoteID, "", func() error {
			return r.s.applyRetrying(ctx, r.src, gone)
		})
	}
	if _, ok := r.matched[rec.Ref.ID]; ok {
		return nil
	}
	if email := emailKey(rec.Customer); r.matchEmail && r.remoteEmails[email] > 0 {
		// A remote record has this email yet matched no one: ambiguous.
		if _, reported := r.ambiguous[email]; reported {
			return nil
		}
		r.ambiguous[email] = struct{}{}
		return r.repair(ctx, tandem.RepairAmbiguous, rec.Ref.ID, "",
			fmt.Sprintf("email %s is on several records here", rec.Customer.Email), nil)
	}
	return r.repair(ctx, tandem.RepairCreateRemote, rec.Ref.ID, "", "", func() error {
		return r.st.Resync(ctx, r.run.Integration, rec.Ref, nil)
	})
}

// repair counts and reports one repair and, unless this is a dry run, makes
// it. A repair that fails for its record alone is reported and the run goes
// on; an unavailable database ends it.
func (r *reconciler) repair(ctx context.Context, action, localID, remoteID, detail string, do func() error) error {
	if do != nil && !r.opts.DryRun {
		if err := do(); err != nil {
			if tandem.ErrorCode(err) == tandem.EUNAVAILABLE || ctx.Err() != nil {
				return err
			}
			r.s.logger.WarnContext(ctx, "repair failed", "integration", r.run.Integration, "action", action,
				"local_id", localID, "remote_id", remoteID, "error", err)
			action, detail = action+"_failed", err.Error()
		}
	}
	r.run.Progress.Repairs[action]++
	if action != tandem.RepairAmbiguous && !r.opts.DryRun {
		r.s.observer.ReconcileRepair(r.run.Integration, action)
	}
	if len(r.run.Actions) < tandem.MaxReportedActions {
		r.run.Actions = append(r.run.Actions, tandem.ReconcileAction{Action: action, LocalID: localID,
			RemoteID: remoteID, Detail: detail})
	}
	return nil
}

// report tells opts.Progress how the run goes, and saves it every second
// (what shows the run alive to the API and to other processes).
func (r *reconciler) report(ctx context.Context) {
	if r.opts.Progress != nil {
		r.opts.Progress(r.run)
	}
	if time.Since(r.saved) < time.Second {
		return
	}
	r.saved = time.Now()
	if err := r.st.SaveReconcileRun(ctx, r.run); err != nil {
		r.s.logger.WarnContext(ctx, "save reconcile progress", "run", r.run.ID, "error", err)
	}
}

// kindsOf returns the kinds reconciliation walks for an integration: those
// it declares (tandem.Selective), customers first; customers only for one
// that declares none.
func (s *Syncer) kindsOf(integration string) []tandem.Kind {
	sel, ok := s.integrations[integration].(tandem.Selective)
	if !ok {
		return []tandem.Kind{tandem.KindCustomer}
	}
	declared := sel.Kinds()
	kinds := make([]tandem.Kind, 0, len(declared))
	if slices.Contains(declared, tandem.KindCustomer) {
		kinds = append(kinds, tandem.KindCustomer)
	}
	for _, k := range declared {
		if k != tandem.KindCustomer {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// settledByOperator says a link is the operator's to settle: parked (to
// retry or discard) or discarded (until the record's next change).
func settledByOperator(l *tandem.Link) bool {
	return l != nil && (l.Status == tandem.LinkFailed || l.Status == tandem.LinkDiscarded)
}

// emailKey is the email records are matched by.
func emailKey(c *tandem.Customer) string {
	if c == nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(c.Email))
}

// ReconcileJobs are the periodic reconciliations of each integration
// (integrations with no interval, or 0, have none).
func ReconcileJobs(intervals map[string]time.Duration) []*river.PeriodicJob {
	return periodicJobs(intervals, func(name string) river.JobArgs { return tandem.ReconcileArgs{Integration: name} },
		reconcileInsertOpts, false)
}

// reconcileInsertOpts: one live periodic run per integration, not retried
// (the next period is the retry).
var reconcileInsertOpts = &river.InsertOpts{
	MaxAttempts: 1,
	UniqueOpts:  pollInsertOpts.UniqueOpts,
}

// reconcileWorker works reconcile jobs: the run the API started, or a new
// periodic one, saving its progress as it goes.
type reconcileWorker struct {
	river.WorkerDefaults[tandem.ReconcileArgs]
	s *Syncer
}

// Timeout lets a run take as long as the rate budget makes it.
func (w *reconcileWorker) Timeout(*river.Job[tandem.ReconcileArgs]) time.Duration { return -1 }

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[tandem.ReconcileArgs]) error {
	s, args := w.s, job.Args
	st, ok := s.store.(ReconcileStore)
	if !ok {
		return river.JobCancel(errors.New("this store cannot reconcile"))
	}
	run := &tandem.ReconcileRun{ID: args.RunID, Integration: args.Integration, DryRun: args.DryRun,
		Status: tandem.RunRunning, StartedAt: job.CreatedAt}
	if run.ID == "" {
		started, err := st.StartReconcile(ctx, args.Integration, args.DryRun, false)
		if tandem.ErrorCode(err) == tandem.ECONFLICT {
			s.logger.InfoContext(ctx, "periodic reconciliation skipped", "integration", args.Integration, "reason", err)
			return nil
		}
		if err != nil {
			return err
		}
		run = started
	}
	err := s.Reconcile(ctx, run, ReconcileOptions{DryRun: args.DryRun})
	if err != nil {
		return river.JobCancel(err) // recorded on the run; the next one starts afresh
	}
	return nil
}
