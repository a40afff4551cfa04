package stripe

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	stripego "github.com/stripe/stripe-go/v86"

	"github.com/tandemsync/tandem"
)

// eventRetention is how far back Stripe lists events.
const eventRetention = 30 * 24 * time.Hour

// maxPollEvents bounds one poll; the next one continues.
const maxPollEvents = 1000

// customerEvents are the customer event types Tandem syncs.
var customerEvents = []string{"customer.created", "customer.updated", "customer.deleted"}

// polledEvents are the event types the poller reads: those Decode syncs
// (Stripe takes at most 20).
var polledEvents = func() []*string {
	var types []*string
	for _, t := range slices.Concat(customerEvents, invoiceEvents) {
		types = append(types, stripego.String(t))
	}
	return types
}()

// Poll implements tandem.Poller. The cursor is the created second of the
// newest event read; each poll lists the events created since that second
// (the ones of that same second again: the inbox drops them), oldest first.
// A cursor older than Stripe's 30-day retention, or more than maxPollEvents
// events since it, report tandem.ErrEventGap: what was not read needs a full
// reconciliation.
func (c *Connector) Poll(ctx context.Context, cursor string) ([]tandem.InboundEvent, string, error) {
	now := time.Now()
	if cursor == "" {
		return nil, strconv.FormatInt(now.Unix(), 10), nil // start from now, not from 30 days of history
	}
	since, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil {
		return nil, "", fmt.Errorf("stripe: bad poll cursor %q", cursor)
	}
	var gap error
	if oldest := now.Add(-eventRetention).Unix(); since < oldest {
		since, gap = oldest, tandem.ErrEventGap
	}
	params := &stripego.EventListParams{Types: polledEvents, CreatedRange: &stripego.RangeQueryParams{GreaterThanOrEqual: since}}
	params.Limit = stripego.Int64(pageSize)
	var (
		events []tandem.InboundEvent
		encErr error
	)
	next := since
	err = list(ctx, c, "list_events", c.api.V1Events.List(ctx, params).All(ctx), func(ev *stripego.Event) bool {
		// Events keep the API version they were made with: read them as
		// plain JSON, never through the webhook package's version check.
		payload, err := json.Marshal(ev)
		if err != nil {
			encErr = fmt.Errorf("stripe: encode event %s: %w", ev.ID, err)
			return false
		}
		events = append(events, tandem.InboundEvent{ID: ev.ID, Type: string(ev.Type), Payload: payload})
		next = max(next, ev.Created)
		if len(events) >= maxPollEvents {
			// Stripe lists newest first: the older ones after the cursor are
			// not read, so say so rather than skip them silently.
			gap = tandem.ErrEventGap
			return false
		}
		return true
	})
	if err == nil {
		err = encErr
	}
	if err != nil {
		return nil, "", err
	}
	slices.Reverse(events) // oldest first
	return events, strconv.FormatInt(next, 10), gap
}
