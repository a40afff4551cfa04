package tandem

import "time"

// SyncStats is how far behind one integration is at one moment: the jobs it
// still has to run and the records parked on it. Stores compute it for the
// metrics.
type SyncStats struct {
	Integration string
	// Queued counts the integration's jobs not finished yet: waiting,
	// scheduled for a retry, or running.
	Queued int
	// OldestQueued is when the oldest of those jobs was enqueued (zero
	// when there is none).
	OldestQueued time.Time
	// Parked counts the links whose push is parked (status failed).
	Parked int
}

// CallObserver is told the outcome of every call an integration makes to
// its provider (the metrics count them).
type CallObserver interface {
	// ProviderCall reports one call: operation names what it did ("create",
	// "list_events"), outcome is one of the Call* outcomes.
	ProviderCall(integration, operation, outcome string)
}

// The outcomes of a provider call, as a CallObserver hears them.
const (
	CallOK          = "ok"           // the provider answered with success
	CallNotFound    = "not_found"    // the object does not exist (404)
	CallRateLimited = "rate_limited" // the provider asked to slow down (429)
	CallRetry       = "retry"        // a transient failure, retried with the same key
	CallAmbiguous   = "ambiguous"    // the provider may or may not have applied it (5xx)
	CallPermanent   = "permanent"    // refused; retrying will not help (other 4xx)
	CallNetwork     = "network"      // no answer at all (connection error, timeout)
)
