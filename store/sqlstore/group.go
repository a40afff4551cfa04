package sqlstore

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/internal/batch"
)

// groupBody is the work of one write that can share a transaction with
// others (a catalog create, received events): it stores new rows and
// returns the jobs to enqueue, which the transaction inserts together with
// those of the writes it shares. The jobs must be new ones that no unique
// option can refuse (a new record's pushes, apply jobs), so that River's
// lighter insert serves them all. A body may run twice (see commitGroup), so
// it must start from its inputs each time and keep its results only in
// what it sets on its last run.
type groupBody[TTx any] func(ctx context.Context, tx TTx, q Querier) ([]river.InsertManyParams, error)

// Such writes share transactions (a group commit): those that arrive while
// Engine.WriteGroups transactions of them run wait, and commit together in
// the next, up to maxGroup of them. Their jobs are enqueued with one
// insert, and the commit's wait on the disk is paid once. A lone write runs
// at once in a transaction of its own.
const maxGroup = 256

// groupTimeout bounds a transaction of grouped writes, which no caller's
// context can cancel (the others wait on it): a database that stops
// answering fails them instead of holding them forever.
const groupTimeout = 30 * time.Second

// newWriteGroup returns the group commit of s's grouped writes.
func (s *Store[TTx]) newWriteGroup() *batch.Group[groupBody[TTx], error] {
	return batch.NewGroup(maxGroup, max(s.e.WriteGroups, 1), s.commitGroup)
}

// inGroup runs body in a durable transaction, shared with concurrent
// grouped writes, and returns once it is committed. Its result is as if it
// ran alone: when a write of the group fails, each runs again in a
// transaction of its own.
func (s *Store[TTx]) inGroup(ctx context.Context, body groupBody[TTx]) error {
	err, cancelled := s.writes.Do(ctx, body)
	if cancelled != nil {
		return cancelled
	}
	return err
}

// commitGroup runs bodies in one transaction and returns each one's error.
// When one fails, the others are not to blame: unless the database is
// unavailable (which would fail them all again), each runs again alone.
func (s *Store[TTx]) commitGroup(bodies []groupBody[TTx]) []error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	err := s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		var jobs []river.InsertManyParams
		for _, body := range bodies {
			j, err := body(ctx, tx, q)
			if err != nil {
				return err
			}
			jobs = append(jobs, j...)
		}
		return s.enqueue(ctx, tx, jobs, true)
	})
	errs := make([]error, len(bodies))
	if err != nil && len(bodies) > 1 && tandem.ErrorCode(err) != tandem.EUNAVAILABLE {
		for i := range bodies {
			errs[i] = s.commitGroup(bodies[i : i+1])[0]
		}
		return errs
	}
	for i := range errs {
		errs[i] = err
	}
	return errs
}
