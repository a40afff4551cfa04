package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
)

// QueueApply is the River queue of apply jobs.
const QueueApply = "apply"

// ReceiveEvents stores verified inbound events of integration, each once,
// and enqueues an apply job for every one not seen before, in one durable
// transaction: once it returns, the events survive any crash and will be
// applied. It returns how many were new.
func (s *Store[TTx]) ReceiveEvents(ctx context.Context, integration string, events []tandem.InboundEvent) (int, error) {
	fresh := 0
	err := s.inTx(ctx, Durable, func(tx TTx, q Querier) error {
		fresh = 0
		var params []river.InsertManyParams
		now := s.now()
		for _, ev := range events {
			var one int
			err := q.QueryRow(ctx, `INSERT INTO inbox (integration, event_id, type, payload, received_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (integration, event_id) DO NOTHING RETURNING 1`,
				integration, ev.ID, ev.Type, ev.Payload, now).Scan(&one)
			switch {
			case errors.Is(err, ErrNoRows):
				continue // a duplicate delivery
			case err != nil:
				return fmt.Errorf("store event %s: %w", ev.ID, err)
			}
			fresh++
			params = append(params, river.InsertManyParams{
				Args:       tandem.ApplyArgs{Integration: integration, EventID: ev.ID},
				InsertOpts: &river.InsertOpts{Queue: QueueApply},
			})
		}
		if len(params) == 0 {
			return nil
		}
		if _, err := s.river.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("enqueue apply: %w", err)
		}
		return nil
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
