package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/tandemsync/tandem"
)

// Batching of upserts: the pushes running at the same time leave as one
// composite upsert (group commit).
const (
	// maxBatch is the most records one composite upsert carries, and so how
	// many pushes the connector asks the engine to run at once (Workers).
	maxBatch = 200
	// idle is how long a batch waits for one more record: what a lone push
	// pays, small next to a call's round trip, and longer than the engine
	// takes to start the next pushes of a backlog while the last batch's
	// finish (River fetches at most every 10 ms, SQLite has one writer), so
	// that a backlog's pushes fill their batches (BenchmarkSalesforceBatching,
	// 10,000 records: 20 ms sent stragglers alone; 50 ms took 51 calls on
	// one machine and 71 to 91 on a slower one, where 100 ms takes 55 to 65).
	idle = 100 * time.Millisecond
	// linger is the longest a batch waits after its first record while
	// records keep coming: a backlog flowing at a few hundred records a
	// second fills its batches rather than leaving every 200 ms.
	linger = 500 * time.Millisecond
)

// writeBody is the JSON of a write of ct: an empty field is null, which
// empties it.
func writeBody(ct Contact) map[string]any {
	out := make(map[string]any, len(ct)+1)
	for k, v := range ct {
		if v == "" {
			out[k] = nil
		} else {
			out[k] = v
		}
	}
	return out
}

// upserted is the outcome of one record of a composite upsert: what Push
// returns for it, or its failure, a *tandem.ProviderError.
type upserted struct {
	result *tandem.PushResult
	err    error
}

// Workers implements tandem.Concurrent: a batch fills only with that many
// pushes running at once.
func (c *Connector) Workers() int { return maxBatch }

// composite upserts contacts, each holding Tandem's id in the external id
// field, in one composite call (allOrNone false) and
// returns their results in order: one record's failure is its own,
// classified from its item errors, and the others still succeed; a failure
// of the whole call (no answer, a 5xx, the budget) is each record's. The
// call serves several pushes, so no one push's context may cancel it: it
// is bounded by the HTTP client's timeout, and an upsert by external id
// may be repeated without harm.
func (c *Connector) composite(contacts []Contact) []upserted {
	records := make([]map[string]any, len(contacts))
	for i, ct := range contacts {
		rec := writeBody(ct)
		rec["attributes"] = map[string]string{"type": c.cfg.Object}
		records[i] = rec
	}
	body := map[string]any{"allOrNone": false, "records": records}
	path := c.dataPath("/composite/sobjects/" + c.cfg.Object + "/" + c.cfg.ExternalIDField)
	var answer []upsertResult
	_, err := c.do(context.Background(), "upsert", http.MethodPatch, path, body, &answer)
	if err == nil && len(answer) != len(contacts) {
		err = &tandem.ProviderError{Class: tandem.Retry,
			Err: fmt.Errorf("salesforce: a composite upsert of %d records answered %d results", len(contacts), len(answer))}
	}
	results := make([]upserted, len(contacts))
	for i, ct := range contacts {
		switch {
		case err != nil:
			results[i].err = err
		case !answer[i].Success:
			results[i].err = classifyItem(answer[i].Errors)
		default:
			results[i].result, results[i].err = result(answer[i].ID, ct)
		}
	}
	return results
}
