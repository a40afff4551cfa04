// Package tandem is the vocabulary of the Tandem sync engine: the catalog's
// records, the links that tie them to remote systems, the integrations that
// push them there, and the one error type every layer speaks.
//
// Architecture in a few lines:
//
//   - store/sqlite and store/postgres persist the catalog, the links and a River
//     job queue in one database; every catalog write enqueues its push jobs in
//     the same transaction (store/sqlstore holds the engine-neutral SQL, and
//     store/storetest the one conformance suite both engines pass).
//   - syncer works the push jobs: it reads the record's current state and hands
//     it to an Integration, then records the outcome on the link.
//   - httpapi serves the REST API (huma, OpenAPI 3.1) over a Catalog.
//   - cmd/tandem wires the concrete types together; nothing else does.
//
// This package imports only the standard library.
package tandem

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Kind names an entity kind of the catalog. The engine treats kinds
// generically; each kind has its own table and API.
type Kind string

// KindCustomer is the kind of a Customer.
const KindCustomer Kind = "customer"

// Ref names one record of the catalog.
type Ref struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
}

// OriginAPI is the origin of writes made through Tandem's own API. Writes
// applied from an integration carry that integration's name as origin, so the
// engine never pushes a change back to where it came from.
const OriginAPI = "api"

// Write describes where a catalog write comes from and what it expects.
type Write struct {
	// Origin is OriginAPI or the name of the integration the change came from.
	// Every configured integration except the origin gets a push job.
	Origin string
	// PushToOrigin pushes the write to its origin integration too: what is
	// written differs from what the origin holds (a merge kept local values,
	// or the origin lacks Tandem's id).
	PushToOrigin bool
	// Link, when set, is recorded on the origin's link in the same
	// transaction as the write.
	Link *LinkUpdate
	// IfVersion, when non-zero, makes the write fail with EPRECONDITION unless
	// the record's current version equals it.
	IfVersion int64
	// IdempotencyKey, on a create, makes a retried create return the first
	// result. RequestHash fingerprints the request, so reuse of a key for a
	// different request is refused.
	IdempotencyKey string
	RequestHash    string
}

// Catalog is the local customer catalog: the write path every change takes,
// whether it comes from the API or from an integration.
type Catalog interface {
	// CreateCustomer stores a new customer. replayed reports that w's
	// idempotency key was seen before and c is the first result.
	CreateCustomer(ctx context.Context, c *Customer, w Write) (created *Customer, replayed bool, err error)
	// GetCustomer returns a live customer; ENOTFOUND for unknown or deleted ids.
	GetCustomer(ctx context.Context, id string) (*Customer, error)
	// ListCustomers returns one page of live customers in id order.
	ListCustomers(ctx context.Context, f CustomerFilter) (*CustomerPage, error)
	// UpdateCustomer applies change to the stored customer and saves the result
	// as a new version.
	UpdateCustomer(ctx context.Context, id string, w Write, change func(*Customer) error) (*Customer, error)
	// DeleteCustomer turns the customer into a tombstone, kept for sync and
	// invisible to reads.
	DeleteCustomer(ctx context.Context, id string, w Write) error
	// Links returns the sync state of a record, one link per integration.
	Links(ctx context.Context, ref Ref) ([]*Link, error)
	// Failures returns the links whose push is parked, oldest first.
	Failures(ctx context.Context) ([]*Link, error)
}

// Fields are the fields of one record in local terms: exactly the one of
// its kind is set.
type Fields struct {
	Customer *Customer // KindCustomer
	Invoice  *Invoice  // KindInvoice
}

// Record is the current local state of one catalog record, as the engine
// pushes it; its Fields are set for tombstones too.
type Record struct {
	Ref     Ref
	Version int64
	// UpdatedAt is when that version was written.
	UpdatedAt time.Time
	Deleted   bool
	Fields
}

// QueueOf names the job queue of an integration: its push, apply and poll
// jobs all run there, so that pausing that one queue pauses the integration
// (no provider calls; jobs wait, none is lost) and resuming it drains them.
// Integration names are therefore valid queue names: lower-case letters,
// digits, '_' and '-'.
func QueueOf(integration string) string { return integration }

// InboundEvent is a verified event from an integration, stored as received.
type InboundEvent struct {
	ID      string
	Type    string
	Payload []byte
}

// ApplyArgs are the arguments of an apply job: one stored inbound event.
type ApplyArgs struct {
	Integration string `json:"integration"`
	EventID     string `json:"event_id"`
}

// Kind is the job kind of apply jobs in the queue.
func (ApplyArgs) Kind() string { return "apply" }

// PushArgs are the arguments of a push job: they name a record and an
// integration, never a copy of the record's data, so the worker always pushes
// the latest state and a burst of writes coalesces into one job.
type PushArgs struct {
	Integration string `json:"integration"`
	Ref         Ref    `json:"ref"`
}

// Kind is the job kind of push jobs in the queue.
func (PushArgs) Kind() string { return "push" }

// Integration pushes local records to one external system. Implementations
// classify their failures with ProviderError; the engine alone decides whether
// to retry, wait or park.
type Integration interface {
	// Name is the integration's stable name ("stripe"), used as origin and in
	// links.
	Name() string
	// Push makes the remote side match the request's record.
	Push(ctx context.Context, req *PushRequest) (*PushResult, error)
}

// Selective is an Integration that syncs only some kinds of records: writes
// of the other kinds enqueue no push to it. Integrations that are not
// Selective sync every kind.
type Selective interface {
	Kinds() []Kind
}

// Concurrent is an Integration that wants more of its jobs running at once
// than the engine runs per integration by default (TANDEM_WORKERS), because
// it batches the pushes that run together into fewer provider calls: a
// batch fills only with that many pushes waiting on it at once.
type Concurrent interface {
	// Workers is how many of the integration's jobs may run at once.
	Workers() int
}

// Source is the inbound half of an integration: it verifies what the
// provider sends, and reads the provider's current state.
type Source interface {
	// Name is the integration's name, as for Integration.
	Name() string
	// Verify checks a webhook delivery and returns the events it carries; an
	// EINVALID *Error when it is not authentic.
	Verify(d *Delivery) ([]InboundEvent, error)
	// Decode returns the change a stored event reports; ok is false for
	// events the integration does not sync.
	Decode(ev *InboundEvent) (change *RemoteChange, ok bool, err error)
	// Fetch returns the current state of a remote record, for when an event
	// cannot be ordered against what was applied before.
	Fetch(ctx context.Context, kind Kind, remoteID string) (*RemoteChange, error)
	// Snapshot decodes a link's base into the local fields it holds.
	Snapshot(kind Kind, base []byte) (Fields, error)
}

// Delivery is one webhook delivery as it was received.
type Delivery struct {
	Header http.Header
	// Body is the raw body, as signed.
	Body []byte
	// PathSecret is the last segment of a delivery to
	// /webhooks/{integration}/{secret}, for providers that sign nothing and
	// authenticate with a secret URL; "" on /webhooks/{integration}.
	PathSecret string
}

// Acknowledger is a Source whose provider expects a particular answer to a
// delivery once its events are stored (Salesforce's SOAP Ack); the others
// get a small JSON summary.
type Acknowledger interface {
	Ack() (contentType string, body []byte)
}

// Poller is a Source that can also list its recent events, so that changes
// arrive without webhooks (behind a firewall, or after lost deliveries).
type Poller interface {
	// Poll returns the events after cursor, oldest first, and the cursor to
	// continue from; an empty cursor starts from now. Events already seen
	// may come again (the inbox ignores them). When events were lost beyond
	// the provider's retention, it also returns ErrEventGap.
	Poll(ctx context.Context, cursor string) (events []InboundEvent, next string, err error)
}

// ErrEventGap says that events older than the provider keeps were never
// read: only a full reconciliation can recover what they held.
var ErrEventGap = errors.New("events were lost beyond the provider's retention; a full reconciliation is needed")

// PollArgs are the arguments of a poll job.
type PollArgs struct {
	Integration string `json:"integration"`
}

// Kind is the job kind of poll jobs in the queue.
func (PollArgs) Kind() string { return "poll" }

// RemoteChange is the state of a remote record after a change, in local
// terms.
type RemoteChange struct {
	Kind     Kind
	RemoteID string
	// LocalID is Tandem's id as the remote record carries it, if it does.
	LocalID string
	Deleted bool
	// Fields are the remote record's fields in local terms (none for a
	// delete). The local ids they hold (an invoice's CustomerID) are left
	// empty: CustomerRemoteID names the customer.
	Fields
	// CustomerRemoteID is, for a record that belongs to a customer (an
	// invoice), the remote id of that customer: the engine finds the local
	// customer by its link, and brings the customer in first when there is
	// none.
	CustomerRemoteID string
	// Base is the remote state as a link's base.
	Base []byte
	// Watermark orders the record's changes; equal watermarks cannot be
	// ordered (the engine then fetches the current state).
	Watermark int64
	// Ours says the change was caused by one of Tandem's own writes.
	Ours bool
	// OursVersion is, for a change Ours, the local version the write that
	// caused it pushed, when the provider tells (0: unknown). A push of
	// several calls (an invoice and its lines) causes several changes, each
	// showing a step: once the push is recorded, they hold no news.
	OursVersion int64
	// Nudge says the event names the record without its state (a
	// notification that it changed): the engine fetches the record's current
	// state and applies that. Only Kind and RemoteID are set.
	Nudge bool
	// At is when the change happened at the provider (its event's time),
	// zero when unknown; the sync lag is measured from it, and the newest
	// conflict policy compares it with the local write's time (when zero,
	// it takes Watermark as Unix seconds).
	At time.Time
}

// PushRequest is one push of a record to an integration.
type PushRequest struct {
	// Record is the record's current local state.
	Record *Record
	// Link is the record's link to this integration: a pending link with no
	// remote id for a record never pushed. Its Intent is what an earlier
	// attempt saved before it called the provider.
	Link *Link
	// CustomerLink is, for a record that belongs to a customer (an invoice),
	// that customer's link to this integration. The engine pushes such a
	// record only once its customer has a remote id; until then the push
	// waits, neither failed nor lost.
	CustomerLink *Link
	// SaveIntent durably records, on the link, what the integration is about
	// to do, before it does it. A retry after a crash or an unknown outcome
	// then sees it in Link.Intent and can finish that same operation (replay
	// a create with its idempotency key) instead of starting a second one.
	// A successful push clears it.
	SaveIntent func(ctx context.Context, intent []byte) error
}

// PushResult is what a successful push reports back to the link.
type PushResult struct {
	// RemoteID is the record's id in the remote system.
	RemoteID string
	// Base is the state both sides agree on after the push (a snapshot the
	// integration may use for three-way merges); optional.
	Base []byte
}
