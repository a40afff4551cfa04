package syncer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
)

// applyWorker works apply jobs: one stored inbound event each. It writes
// the change through the catalog's write path with the integration as
// origin, so it is pushed to every other integration and not back, and
// records on the link what the remote side now holds.
type applyWorker struct {
	river.WorkerDefaults[tandem.ApplyArgs]
	s *Syncer
}

func (w *applyWorker) Work(ctx context.Context, job *river.Job[tandem.ApplyArgs]) error {
	s, args := w.s, job.Args
	src, ok := s.sources[args.Integration]
	if !ok {
		return river.JobCancel(fmt.Errorf("integration %q is not configured", args.Integration))
	}
	ev, err := s.store.LoadEvent(ctx, args.Integration, args.EventID)
	if err != nil {
		return fmt.Errorf("load event: %w", err)
	}
	ch, ok, err := src.Decode(ev)
	switch {
	case err != nil:
		return river.JobCancel(fmt.Errorf("decode event %s: %w", ev.ID, err)) // a stored event will not decode later
	case !ok:
		return nil
	case ch.Nudge:
		// A notification that the record changed: apply its current state.
		nudge := ch
		if ch, err = src.Fetch(ctx, nudge.Kind, nudge.RemoteID); err != nil {
			return fmt.Errorf("fetch %s %s: %w", nudge.Kind, nudge.RemoteID, err)
		}
	}
	if err := s.applyRetrying(ctx, src, ch); err != nil {
		if tandem.ErrorCode(err) == tandem.EPRECONDITION && snoozes(job.JobRow) < maxBusySnoozes {
			// Its record stays busy (a long push): try again later, which
			// counts no failed attempt.
			s.logger.DebugContext(ctx, "apply waits", "integration", args.Integration, "event", ev.ID, "error", err)
			return river.JobSnooze(time.Second)
		}
		s.logger.WarnContext(ctx, "apply failed", "integration", args.Integration, "event", ev.ID, "error", err)
		return err
	}
	if !ch.At.IsZero() {
		s.observer.InboundLag(args.Integration, time.Since(ch.At))
	}
	s.logger.DebugContext(ctx, "applied", "integration", args.Integration, "event", ev.ID, "type", ev.Type,
		"remote_id", ch.RemoteID, "echo", ch.Ours)
	return nil
}

// applyPatience bounds how long applyRetrying keeps trying a change whose
// record is busy; the first pauses are milliseconds, the longest maxPause.
// An apply job whose record stays busy waits a second at a time, up to
// maxBusySnoozes times (a push runs for the job timeout at most); then
// its failure counts as an attempt, retried and finally listed like any.
const (
	applyPatience  = 3 * time.Second
	maxPause       = 200 * time.Millisecond
	maxBusySnoozes = 30
)

// applyRetrying applies ch, again after a short pause when its record was
// busy: a push of it in flight (its result must be recorded first, so that
// this change is decided from it), or its link moved on between the read
// and the write (another change of the record applied, a push recorded).
// Each attempt reads afresh, so a burst of events about one record settles
// within milliseconds instead of waiting for the queue's retry backoff.
// When the record stays busy, the EPRECONDITION error is returned.
func (s *Syncer) applyRetrying(ctx context.Context, src tandem.Source, ch *tandem.RemoteChange) error {
	deadline := time.Now().Add(applyPatience)
	for pause := time.Millisecond; ; pause = min(2*pause, maxPause) {
		err := s.apply(ctx, src, ch)
		if tandem.ErrorCode(err) != tandem.EPRECONDITION || time.Now().Add(pause).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// apply brings the local record in line with a remote change.
func (s *Syncer) apply(ctx context.Context, src tandem.Source, ch *tandem.RemoteChange) error {
	name := src.Name()
	local, link, err := s.localOf(ctx, name, ch)
	if err != nil {
		return err
	}
	var revision int64 // what the link writes below are decided from
	if link != nil {
		revision = link.Revision
	}
	// seen records that the remote side is at ch, with nothing to merge.
	seen := func(ch *tandem.RemoteChange) error {
		return s.store.ConfirmLink(ctx, link.Ref, 0, tandem.Write{Origin: name,
			Link: &tandem.LinkUpdate{RemoteID: ch.RemoteID, Watermark: ch.Watermark, Revision: revision}})
	}
	if link != nil && link.RemoteID != "" {
		nothingNew := func() bool { return string(ch.Base) == string(link.Base) && !ch.Deleted }
		switch {
		case ch.Watermark < link.Watermark:
			return nil // older news than what was applied
		case nothingNew():
			// The state both sides agreed on (typically our own write coming
			// back), whatever the order: nothing to read or write.
		case ch.Ours && !ch.Deleted && local != nil && ch.LocalID == local.Ref.ID && sameRecord(ch.Fields, local.Fields):
			// Our push of the record's current state, back before the push
			// recorded it: a change made there after it has an event of its own.
			return seen(ch)
		case ch.Ours && !ch.Deleted && ch.OursVersion > 0 && ch.OursVersion <= link.SyncedVersion:
			// A step of one of our pushes that is already recorded: the
			// link's base is what that push left there, and anything
			// changed there since has an event of its own. Only fields the
			// provider owns may be news here (learned by the push). The
			// link's watermark stays: a change made there before this step
			// need not be in the base, and its event must not look old.
			if !ownsFields(local) {
				return nil
			}
			pushed, err := src.Snapshot(ch.Kind, link.Base)
			if err != nil {
				return err
			}
			recorded := *ch
			recorded.Fields, recorded.Base, recorded.LocalID = pushed, link.Base, local.Ref.ID
			recorded.Watermark = link.Watermark
			ch = &recorded
		case ch.Watermark == link.Watermark, ch.Ours, !ch.Deleted && ch.LocalID == "" && link.SyncedVersion > 0:
			// Same tick, order unknown; or our own write whose snapshot is not
			// the state we last pushed (an older push's echo arriving late);
			// or a snapshot without the Tandem id a push of ours already
			// wrote there, so older than that push: apply the provider's
			// current state, not the event's snapshot.
			if ch, err = src.Fetch(ctx, ch.Kind, ch.RemoteID); err != nil {
				return err
			}
		}
		if nothingNew() && !ownsFields(local) {
			return seen(ch)
		}
	}
	update := &tandem.LinkUpdate{RemoteID: ch.RemoteID, Base: ch.Base, Watermark: ch.Watermark, Revision: revision}
	switch {
	case ch.Deleted && (local == nil || local.Deleted):
		if link == nil {
			return nil
		}
		return s.store.ConfirmLink(ctx, link.Ref, 0, tandem.Write{Origin: name, Link: update})
	case ch.Deleted && local.Invoice != nil && !local.Invoice.Status.Editable():
		// Only drafts can be deleted, there as here: a finalized invoice
		// here is kept, and the link shows the conflict.
		update.Conflict = fmt.Sprintf("deleted in %s while %s here; kept the local invoice", name, local.Invoice.Status)
		return s.store.ConfirmLink(ctx, link.Ref, 0, tandem.Write{Origin: name, Link: update})
	case ch.Deleted:
		update.Synced = true
		w := tandem.Write{Origin: name, IfVersion: local.Version, Link: update}
		if local.Invoice != nil {
			return ignoreGone(s.store.DeleteInvoice(ctx, local.Ref.ID, w))
		}
		return ignoreGone(s.store.DeleteCustomer(ctx, local.Ref.ID, w))
	case local == nil:
		// Born remotely (or carrying an id that is not ours): a new local
		// record, and one write back of its new id. Another change of the
		// same record may have created it meanwhile: read again.
		err := s.create(ctx, src, ch, tandem.Write{Origin: name, Link: update, PushToOrigin: true})
		if tandem.ErrorCode(err) == tandem.ECONFLICT {
			return tandem.Errorf(tandem.EPRECONDITION, "%s %s was created here meanwhile: %v", ch.Kind, ch.RemoteID, err)
		}
		return err
	case local.Deleted:
		// Deleted here while changed there: the pending delete wins.
		return seen(ch)
	}
	return s.merge(ctx, src, local, link, ch, update)
}

// ownsFields says whether the provider owns fields of local that a push
// of it learns (an invoice's number, status and amounts, given by Stripe):
// a change equal to the state a push recorded may still hold news for the
// local record, so it is merged rather than only confirmed.
func ownsFields(local *tandem.Record) bool { return local != nil && local.Invoice != nil }

// create stores a record born remotely. An invoice goes under the local
// customer linked to its remote customer, which is brought in first when
// no local customer is linked to it yet.
func (s *Syncer) create(ctx context.Context, src tandem.Source, ch *tandem.RemoteChange, w tandem.Write) error {
	if ch.Invoice == nil {
		c := *ch.Customer
		_, _, err := s.store.CreateCustomer(ctx, &c, w)
		return err
	}
	customer, err := s.customerOf(ctx, src, ch.CustomerRemoteID)
	if err != nil {
		return err
	}
	inv := *ch.Invoice
	inv.CustomerID = customer
	_, _, err = s.store.CreateInvoice(ctx, &inv, w)
	return err
}

// customerOf returns the id of the local customer linked to the remote
// customer remoteID, applying that customer's current state first when no
// local customer is linked to it.
func (s *Syncer) customerOf(ctx context.Context, src tandem.Source, remoteID string) (string, error) {
	if remoteID == "" {
		return "", tandem.Errorf(tandem.EINVALID, "the %s invoice names no customer", src.Name())
	}
	link, err := s.store.LinkByRemoteID(ctx, src.Name(), tandem.KindCustomer, remoteID)
	if tandem.ErrorCode(err) == tandem.ENOTFOUND {
		ch, ferr := src.Fetch(ctx, tandem.KindCustomer, remoteID)
		if ferr != nil {
			return "", fmt.Errorf("fetch customer %s: %w", remoteID, ferr)
		}
		if err := s.apply(ctx, src, ch); err != nil {
			return "", fmt.Errorf("apply customer %s: %w", remoteID, err)
		}
		link, err = s.store.LinkByRemoteID(ctx, src.Name(), tandem.KindCustomer, remoteID)
	}
	if err != nil {
		return "", err
	}
	return link.Ref.ID, nil
}

// merge applies a remote change to a live local record by three-way merge
// against the link's base.
func (s *Syncer) merge(ctx context.Context, src tandem.Source, local *tandem.Record, link *tandem.Link, ch *tandem.RemoteChange, update *tandem.LinkUpdate) error {
	name := src.Name()
	// No base yet. Our own record (it carries our id: its create's echo)
	// is as we wrote it, so the local changes since win. A record matched to
	// ours at link-up: a field only one side holds is kept, and different
	// values on both sides are a conflict.
	base := ch.Fields
	if ch.LocalID != local.Ref.ID {
		base = tandem.Fields{}
	}
	if link != nil && len(link.Base) > 0 {
		b, err := src.Snapshot(ch.Kind, link.Base)
		if err != nil {
			return err
		}
		base = b
	}
	remoteAt := ch.At // a watermark need not be a time (Salesforce's are milliseconds)
	if remoteAt.IsZero() {
		remoteAt = time.Unix(ch.Watermark, 0)
	}
	p := &picker{remoteWins: s.policy.remoteWins(name, local.UpdatedAt, remoteAt)}
	var merged tandem.Fields
	var finalized []string
	if local.Invoice != nil {
		merged.Invoice, finalized = mergeInvoice(p, orZero(base.Invoice), local.Invoice, ch.Invoice)
	} else {
		merged.Customer = mergeCustomer(p, orZero(base.Customer), local.Customer, ch.Customer)
	}
	var details []string
	if len(p.conflicts) > 0 {
		kept := "the local values"
		if p.remoteWins {
			kept = name + "'s values"
		}
		details = append(details, fmt.Sprintf("both sides changed %s; kept %s", strings.Join(p.conflicts, ", "), kept))
	}
	if len(finalized) > 0 {
		details = append(details, fmt.Sprintf("%s finalized it with other %s than here; kept %s's (a finalized invoice cannot change)",
			name, strings.Join(finalized, ", "), name))
	}
	if update.Conflict = strings.Join(details, "; "); update.Conflict != "" {
		s.logger.InfoContext(ctx, "conflict", "integration", name, "kind", local.Ref.Kind, "id", local.Ref.ID,
			"detail", update.Conflict)
	}
	update.Synced = sameRecord(merged, ch.Fields) && ch.LocalID == local.Ref.ID
	w := tandem.Write{Origin: name, IfVersion: local.Version, Link: update, PushToOrigin: !update.Synced}
	if sameRecord(merged, local.Fields) {
		// Nothing changes here; the link learns what the remote side holds,
		// and a push follows if that is behind.
		return s.store.ConfirmLink(ctx, local.Ref, local.Version, w)
	}
	if merged.Invoice != nil {
		_, err := s.store.UpdateInvoice(ctx, local.Ref.ID, w, func(inv *tandem.Invoice) error {
			*inv = *merged.Invoice
			return nil
		})
		return err
	}
	_, err := s.store.UpdateCustomer(ctx, local.Ref.ID, w, func(c *tandem.Customer) error {
		m := merged.Customer
		c.Name, c.Email, c.Phone, c.Address, c.Metadata = m.Name, m.Email, m.Phone, m.Address, m.Metadata
		return nil
	})
	return err
}

// orZero returns p, or a zero value when p is nil (no base yet).
func orZero[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

// localOf finds the local record a remote change is about, with its link:
// by the link's remote id, else by the Tandem id the remote record carries
// (our own create, whose event can arrive before the create call returned).
// Both are nil for a record born remotely.
func (s *Syncer) localOf(ctx context.Context, integration string, ch *tandem.RemoteChange) (*tandem.Record, *tandem.Link, error) {
	link, err := s.store.LinkByRemoteID(ctx, integration, ch.Kind, ch.RemoteID)
	switch {
	case tandem.ErrorCode(err) == tandem.ENOTFOUND && ch.LocalID != "":
		rec, l, err := s.store.PushState(ctx, integration, tandem.Ref{Kind: ch.Kind, ID: ch.LocalID})
		if tandem.ErrorCode(err) == tandem.ENOTFOUND {
			return nil, nil, nil // an id that is not ours (another install, a reset)
		}
		if err != nil {
			return nil, nil, err
		}
		return rec, l, nil
	case tandem.ErrorCode(err) == tandem.ENOTFOUND:
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	rec, l, err := s.store.PushState(ctx, integration, link.Ref)
	if err != nil {
		return nil, nil, err
	}
	return rec, l, nil
}

// ignoreGone treats a record deleted meanwhile as done.
func ignoreGone(err error) error {
	if tandem.ErrorCode(err) == tandem.ENOTFOUND {
		return nil
	}
	return err
}
