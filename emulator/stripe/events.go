package stripe

import (
	"encoding/json"
	"path"

	stripego "github.com/stripe/stripe-go/v86"
)

// Event is a Stripe event as /v1/events lists it and webhooks carry it.
type Event struct {
	ID              string       `json:"id"`
	Object          string       `json:"object"` // "event"
	APIVersion      string       `json:"api_version"`
	Created         int64        `json:"created"`
	Data            EventData    `json:"data"`
	Livemode        bool         `json:"livemode"`
	PendingWebhooks int          `json:"pending_webhooks"`
	Request         EventRequest `json:"request"`
	Type            string       `json:"type"`
}

// EventData is the object an event is about.
type EventData struct {
	// Object is the object after the change.
	Object json.RawMessage `json:"object"`
	// PreviousAttributes is, for *.updated events, an object with the old
	// values of the fields that changed (for metadata, of the keys that
	// changed).
	PreviousAttributes json.RawMessage `json:"previous_attributes,omitempty"`
}

// EventRequest names the API request that caused an event.
type EventRequest struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"` // null when the request had none (the dashboard)
}

// origin is who makes a change: an API request, the dashboard (a request id
// but no idempotency key), or nobody Stripe would tell about (silent).
type origin struct {
	requestID      string
	idempotencyKey string
	silent         bool
}

// emit records the event of a change to object, unless o is silent, and
// queues its delivery to the webhook endpoint. The caller holds e.mu.
func (e *Emulator) emit(typ string, object any, previous map[string]any, o origin) {
	if o.silent {
		return
	}
	ev := &Event{
		ID: newID("evt"), Object: "event", APIVersion: stripego.APIVersion, Created: e.now().Unix(), Type: typ,
		Data:    EventData{Object: mustJSON(object)},
		Request: EventRequest{ID: &o.requestID},
	}
	if previous != nil {
		ev.Data.PreviousAttributes = mustJSON(previous)
	}
	if o.idempotencyKey != "" {
		ev.Request.IdempotencyKey = &o.idempotencyKey
	}
	e.events.add(ev.ID, ev)
	w, ok := e.webhooks.target()
	if !ok {
		return
	}
	ev.PendingWebhooks = 1
	p := e.faults.plan()
	if p.drop {
		return
	}
	e.webhooks.submit(w, ev.ID, mustJSON(ev), p)
}

// markDelivered notes that the endpoint acknowledged an event.
func (e *Emulator) markDelivered(eventID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ev, ok := e.events.get(eventID); ok {
		ev.PendingWebhooks = 0
	}
}

func (e *Emulator) retrieveEvent(c *call) (any, error) {
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	id := c.r.PathValue("id")
	ev, ok := e.events.get(id)
	if !ok {
		return nil, resourceMissing("event", "id", id)
	}
	return ev, nil
}

// listEvents answers GET /v1/events: newest first, filtered by type (with *
// wildcards) or types[], created and delivery_success.
func (e *Emulator) listEvents(c *call) (any, error) {
	lp, created, err := parseListParams(c.form)
	if err != nil {
		return nil, err
	}
	typ, hasType := c.form.string("type")
	types, err := c.form.list("types")
	if err != nil {
		return nil, err
	}
	if hasType && len(types) > 0 {
		return nil, invalidParam("types", "", "You may pass either type or types, but not both.")
	}
	if len(types) > 20 {
		return nil, invalidParam("types", "", "You may pass up to 20 types.")
	}
	if hasType {
		types = []string{typ}
	}
	success, hasSuccess := c.form.string("delivery_success")
	if err := c.form.unknown(); err != nil {
		return nil, err
	}
	return e.events.page(lp, func(ev *Event) bool {
		return created.contains(ev.Created) && matchesType(ev.Type, types) &&
			(!hasSuccess || (ev.PendingWebhooks == 0) == (success == "true"))
	}, "event", "/v1/events")
}

// matchesType reports whether typ matches one of patterns (none: all match);
// a pattern may use * as in "customer.*".
func matchesType(typ string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, typ); ok {
			return true
		}
	}
	return len(patterns) == 0
}
