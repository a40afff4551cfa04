package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
)

// ReceiveEvents stores verified inbound events of integration, each once,
// and enqueues an apply job for every one not seen before, in one durable
// transaction (shared with concurrent writes, see inGroup): once it
// returns, the events survive any crash and will be applied. It returns how
// many were new.
func (s *Store[TTx]) ReceiveEvents(ctx context.Context, integration string, events []tandem.InboundEvent) (int, error) {
	return s.receive(ctx, integration, events, nil)
}

// ReceivePolled is ReceiveEvents for events an integration's poller read,
// and stores the cursor to continue from in the same transaction.
func (s *Store[TTx]) ReceivePolled(ctx context.Context, integration string, events []tandem.InboundEvent, cursor string) (int, error) {
	return s.receive(ctx, integration, events, func(ctx context.Context, q Querier) error {
		if err := q.Exec(ctx, `INSERT INTO cursors (integration, cursor, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (integration) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
			integration, cursor, s.now()); err != nil {
			return fmt.Errorf("store cursor: %w", err)
		}
		return nil
	})
}

// Cursor returns where integration's poller continues from, "" before its
// first poll.
func (s *Store[TTx]) Cursor(ctx context.Context, integration string) (string, error) {
	var cursor string
	err := s.e.DB.QueryRow(ctx, `SELECT cursor FROM cursors WHERE integration = $1`, integration).Scan(&cursor)
	if errors.Is(err, ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", s.e.Translate(fmt.Errorf("read cursor: %w", err))
	}
	return cursor, nil
}

// receive stores the events not seen before with their apply jobs, and
// runs also (when set) in the same transaction; it returns how many events
// were new.
func (s *Store[TTx]) receive(ctx context.Context, integration string, events []tandem.InboundEvent, also func(context.Context, Querier) error) (int, error) {
	var fresh int
	err := s.inGroup(ctx, func(ctx context.Context, _ TTx, q Querier) ([]river.InsertManyParams, error) {
		var jobs []river.InsertManyParams
		now := s.now()
		for _, ev := range events {
			var one int
			err := q.QueryRow(ctx, `INSERT INTO inbox (integration, event_id, type, payload, received_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (integration, event_id) DO NOTHING RETURNING 1`,
				integration, ev.ID, ev.Type, ev.Payload, now).Scan(&one)
			switch {
			case errors.Is(err, ErrNoRows):
				continue // seen before: a duplicate delivery, or both webhook and poll
			case err != nil:
				return nil, fmt.Errorf("store event %s: %w", ev.ID, err)
			}
			jobs = append(jobs, river.InsertManyParams{
				Args:       tandem.ApplyArgs{Integration: integration, EventID: ev.ID},
				InsertOpts: &river.InsertOpts{Queue: tandem.QueueOf(integration)},
			})
		}
		if also != nil {
			if err := also(ctx, q); err != nil {
				return nil, err
			}
		}
		fresh = len(jobs)
		return jobs, nil
	})
	return fresh, err
}

// LoadEvent returns a stored inbound event.
func (s *Store[TTx]) LoadEvent(ctx context.Context, integration, id string) (*tandem.InboundEvent, error) {
	ev := tandem.InboundEvent{ID: id}
	err := s.e.DB.QueryRow(ctx, `SELECT type, payload FROM inbox WHERE integration = $1 AND event_id = $2`,
		integration, id).Scan(&ev.Type, &ev.Payload)
	if errors.Is(err, ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENOTFOUND, "no %s event %s", integration, id)
	}
	if err != nil {
		return nil, s.e.Translate(fmt.Errorf("load event: %w", err))
	}
	return &ev, nil
}
