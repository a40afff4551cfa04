package tandem

import (
	"regexp"
	"strings"
	"time"
)

// LinkStatus is the sync state of one record with one integration.
type LinkStatus string

// The states of a link.
const (
	// LinkPending: the record has changes the integration has not confirmed.
	LinkPending LinkStatus = "pending"
	// LinkSynced: the integration holds the record's latest version.
	LinkSynced LinkStatus = "synced"
	// LinkFailed: the push is parked with its error until retried or discarded.
	LinkFailed LinkStatus = "failed"
	// LinkConflict: both sides changed the same field; recorded for review.
	LinkConflict LinkStatus = "conflict"
	// LinkDiscarded: an operator discarded a parked failure; the record's
	// current version is not pushed. The next local write makes the link
	// pending again.
	LinkDiscarded LinkStatus = "discarded"
)

// LinkUpdate is what an inbound change records on its integration's link.
type LinkUpdate struct {
	RemoteID string
	// Base is the state the remote side now holds.
	Base []byte
	// Watermark orders the remote side's changes: older news is ignored.
	Watermark int64
	// Synced says the remote side holds the version written.
	Synced bool
	// Conflict, when not empty, describes a conflict the write resolved; the
	// link shows it (status conflict) until its next successful push.
	Conflict string
	// Revision is the link's revision the change was decided from (the
	// Link read; 0 when there was none). The write fails with EPRECONDITION
	// when the link has moved on since (a push recorded, another change
	// applied) or a push of the record is in flight: the caller reads again.
	Revision int64
}

// Link ties one local record to its counterpart in one integration.
type Link struct {
	Integration string
	Ref         Ref
	// RemoteID is the record's id in the remote system, once known.
	RemoteID string
	// SyncedVersion is the highest local version the remote side confirmed.
	SyncedVersion int64
	// Base is the last state both sides agreed on.
	Base   []byte
	Status LinkStatus
	// LastError is the most recent push failure, kept until a push succeeds.
	LastError string
	// Watermark is the newest remote change applied (see LinkUpdate).
	Watermark int64
	// Intent is what an unfinished push saved before calling the provider
	// (see PushRequest.SaveIntent); nil once a push succeeded.
	Intent []byte
	// Attempts counts failed pushes since the last success.
	Attempts int
	// DiscardedVersion is the record version whose parked push an operator
	// discarded (0 if none); see LinkDiscarded.
	DiscardedVersion int64
	// Revision counts the writes that moved the link's sync state (remote
	// id, base, watermark, synced version); see LinkUpdate.Revision.
	Revision int64
	// SyncedAt is when the last push succeeded (zero if never).
	SyncedAt  time.Time
	UpdatedAt time.Time
}

// FailureID names a link in the list of parked failures:
// "<integration>:<kind>:<local id>" ("stripe:customer:tdmc_…").
func FailureID(integration string, ref Ref) string {
	return integration + ":" + string(ref.Kind) + ":" + ref.ID
}

// namePattern is what integration names, kinds and local ids look like.
var namePattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// ParseFailureID reads a FailureID strictly; an EINVALID *Error about field
// "id" when s is not one.
func ParseFailureID(s string) (integration string, ref Ref, err error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || !namePattern.MatchString(parts[0]) || !namePattern.MatchString(parts[1]) ||
		!namePattern.MatchString(parts[2]) {
		return "", Ref{}, FieldError("id", "%q is not a failure id (<integration>:<kind>:<local id>, as GET /sync/failures lists them)", s)
	}
	return parts[0], Ref{Kind: Kind(parts[1]), ID: parts[2]}, nil
}
