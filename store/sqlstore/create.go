package sqlstore

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/internal/batch"
)

// createBody is the work of one catalog create inside a transaction: it
// stores the new record and returns its push jobs (recordWrite's), which
// the transaction enqueues together with those of the creates it shares.
// It may run twice (see commitCreates), so it must start from its inputs
// each time and keep its results only in what it sets on its last run.
type createBody[TTx any] func(ctx context.Context, tx TTx, q Querier) ([]river.InsertManyParams, error)

// Creates share transactions (a group commit): those that arrive while
// Engine.CreateGroups transactions of creates run wait, and commit together
// in the next, up to maxCreateGroup of them. Their push jobs are enqueued
// with one insert, and the commit's wait on the disk is paid once. A lone
// create runs at once in a transaction of its own.
const maxCreateGroup = 256

// createTimeout bounds a transaction of grouped creates, which no caller's
// context can cancel (the others wait on it): a database that stops
// answering fails them instead of holding them forever.
const createTimeout = 30 * time.Second

// newCreateGroup returns the group commit of s's creates.
func (s *Store[TTx]) newCreateGroup() *batch.Group[createBody[TTx], error] {
	return batch.NewGroup(maxCreateGroup, max(s.e.CreateGroups, 1), s.commitCreates)
}

// create runs body in a transaction, shared with concurrent creates, and
// returns once it is committed. Its result is as if it ran alone: when a
// create of the group fails, each runs again in a transaction of its own.
func (s *Store[TTx]) create(ctx context.Context, body createBody[TTx]) error {
	err, cancelled := s.creates.Do(ctx, body)
	if cancelled != nil {
		return cancelled
	}
	return err
}

// commitCreates runs bodies in one transaction and returns each one's
// error. When one fails, the others are not to blame: unless the database
// is unavailable (which would fail them all again), each runs again alone.
func (s *Store[TTx]) commitCreates(bodies []createBody[TTx]) []error {
	ctx, cancel := context.WithTimeout(context.Background(), createTimeout)
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
			errs[i] = s.commitCreates(bodies[i : i+1])[0]
		}
		return errs
	}
	for i := range errs {
		errs[i] = err
	}
	return errs
}
