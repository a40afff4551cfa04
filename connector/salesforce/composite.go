package salesforce

import (
	"context"
	"fmt"
	"net/http"

	"github.com/tandemsync/tandem"
)

// maxBatch is the most records one composite upsert carries.
const maxBatch = 200

// BatchResult is the outcome of one record of UpsertBatch: what Push would
// have returned for it, or its failure, a *tandem.ProviderError.
type BatchResult struct {
	Result *tandem.PushResult
	Err    error
}

// batchItem is one record of a composite upsert: Tandem's id and the
// fields to write.
type batchItem struct {
	localID string
	contact Contact
}

// UpsertBatch pushes live customers as Push would, many per call: the
// composite upsert by external id (up to 200 records a call, allOrNone
// false), idempotent like a single upsert. It returns one result per
// request, in order: one record's failure is its own, classified as
// Push's, and the others still succeed. A failure of a whole call (no
// answer, a 5xx, the budget) is the failure of each of its records.
// Records whose fields equal their link's base need no call; deleted
// records and other kinds are refused (Permanent) without a call: push
// them with Push.
func (c *Connector) UpsertBatch(ctx context.Context, reqs []*tandem.PushRequest) []BatchResult {
	results := make([]BatchResult, len(reqs))
	var items []batchItem
	var index []int // of items in reqs
	for i, req := range reqs {
		rec := req.Record
		if rec.Ref.Kind != tandem.KindCustomer || rec.Deleted {
			results[i].Err = &tandem.ProviderError{Class: tandem.Permanent,
				Err: fmt.Errorf("salesforce: a batch upserts live customers only, not %s %s", rec.Ref.Kind, rec.Ref.ID)}
			continue
		}
		want, unchanged, err := c.contactToWrite(req)
		switch {
		case err != nil:
			results[i].Err = err
			continue
		case unchanged:
			results[i].Result, results[i].Err = result(req.Link.RemoteID, want)
			continue
		}
		items = append(items, batchItem{localID: rec.Ref.ID, contact: want})
		index = append(index, i)
	}
	for start := 0; start < len(items); start += maxBatch {
		end := min(start+maxBatch, len(items))
		for j, r := range c.composite(ctx, items[start:end]) {
			results[index[start+j]] = r
		}
	}
	return results
}

// composite upserts items in one composite call and returns their results
// in order.
func (c *Connector) composite(ctx context.Context, items []batchItem) []BatchResult {
	records := make([]map[string]any, len(items))
	for i, it := range items {
		rec := c.body(it.contact)
		rec[c.cfg.ExternalIDField] = it.localID // the path names the field, each record its value
		rec["attributes"] = map[string]string{"type": c.cfg.Object}
		records[i] = rec
	}
	body := map[string]any{"allOrNone": false, "records": records}
	path := c.dataPath("/composite/sobjects/" + c.cfg.Object + "/" + c.cfg.ExternalIDField)
	var answer []upsertResult
	_, err := c.do(ctx, "upsert_batch", http.MethodPatch, path, body, &answer)
	if err == nil && len(answer) != len(items) {
		err = &tandem.ProviderError{Class: tandem.Retry,
			Err: fmt.Errorf("salesforce: a composite upsert of %d records answered %d results", len(items), len(answer))}
	}
	results := make([]BatchResult, len(items))
	for i, it := range items {
		switch {
		case err != nil:
			results[i].Err = err
		case !answer[i].Success:
			results[i].Err = classifyItem(answer[i].Errors)
		default:
			results[i].Result, results[i].Err = result(answer[i].ID, it.contact)
		}
	}
	return results
}
