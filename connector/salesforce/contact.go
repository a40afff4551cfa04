package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"

	"github.com/tandemsync/tandem"
)

// upsertResult is Salesforce's answer to an upsert, and one item of a
// composite upsert's answer.
type upsertResult struct {
	ID      string     `json:"id"`
	Success bool       `json:"success"`
	Created bool       `json:"created"`
	Errors  []apiError `json:"errors"`
}

// pushCustomer makes the Contact holding the customer's Tandem id match
// it. A live customer is upserted by external id: Salesforce creates the
// Contact or updates the one holding that id, so repeating a push (after a
// timeout, a crash, a 5xx) never makes a second Contact; upsert is
// idempotent by construction and needs no saved intent. A deleted customer
// deletes its Contact; one never pushed needs nothing.
//
// The result's Base is the Contact fields as written, as JSON of a
// Contact, so that a later change can be compared field by field; a push
// whose fields equal the base makes no call. A linked Contact that does
// not carry the Tandem id yet (made in Salesforce) is written by its id.
func (c *Connector) pushCustomer(ctx context.Context, req *tandem.PushRequest) (*tandem.PushResult, error) {
	rec, link := req.Record, req.Link
	switch {
	case rec.Deleted && link.RemoteID == "":
		return &tandem.PushResult{}, nil // it never reached Salesforce
	case rec.Deleted:
		if err := c.deleteContact(ctx, link.RemoteID); err != nil {
			return nil, err
		}
		return &tandem.PushResult{RemoteID: link.RemoteID}, nil
	}
	want, unchanged, err := c.contactToWrite(req)
	if err != nil {
		return nil, err
	}
	remoteID := link.RemoteID
	if unchanged {
		return result(remoteID, want)
	}
	if remoteID != "" && !c.carriesID(link.Base, rec.Ref.ID) {
		if err := c.adopt(ctx, remoteID, rec.Ref.ID, want); err != nil {
			return nil, err
		}
		return result(remoteID, want)
	}
	id, err := c.upsert(ctx, rec.Ref.ID, want)
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = remoteID
	}
	if id == "" { // a 204 names no Contact (API versions before 46.0)
		if id, err = c.findByExternalID(ctx, rec.Ref.ID); err != nil {
			return nil, err
		}
	}
	return result(id, want)
}

// contactToWrite returns the Contact fields of the live customer req
// pushes, with Tandem's id in the external id field, and whether they
// equal the link's base, so that a linked Contact needs no write.
func (c *Connector) contactToWrite(req *tandem.PushRequest) (want Contact, unchanged bool, err error) {
	rec := req.Record
	if rec.Customer == nil {
		return nil, false, &tandem.ProviderError{Class: tandem.Permanent,
			Err: fmt.Errorf("salesforce: customer %s has no fields", rec.Ref.ID)}
	}
	var prev Contact
	if len(req.Link.Base) > 0 {
		if err := json.Unmarshal(req.Link.Base, &prev); err != nil {
			return nil, false, &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("salesforce: decode base: %w", err)}
		}
	}
	cust := *rec.Customer
	cust.ID = rec.Ref.ID
	want = ToContact(&cust, c.cfg.ExternalIDField, prev)
	return want, req.Link.RemoteID != "" && prev != nil && maps.Equal(prev, want), nil
}

func result(remoteID string, written Contact) (*tandem.PushResult, error) {
	b, err := json.Marshal(written)
	if err != nil {
		return nil, &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("salesforce: encode base: %w", err)}
	}
	return &tandem.PushResult{RemoteID: remoteID, Base: b}, nil
}

// externalIDPath is the path of the record whose external id is localID.
func (c *Connector) externalIDPath(localID string) string {
	return c.dataPath("/sobjects/" + c.cfg.Object + "/" + c.cfg.ExternalIDField + "/" + url.PathEscape(localID))
}

// upsert writes ct to the record whose external id is localID, creating
// it if there is none, and returns the record's id when the answer names
// it (201, or 200 from API version 46.0; a 204 does not).
func (c *Connector) upsert(ctx context.Context, localID string, ct Contact) (string, error) {
	var res upsertResult
	if _, err := c.do(ctx, "upsert", http.MethodPatch, c.externalIDPath(localID), c.body(ct), &res); err != nil {
		return "", err
	}
	return res.ID, nil
}

// body is the JSON body writing ct: empty fields are null, which empties
// them, and the external id field is left out, since the path names it.
func (c *Connector) body(ct Contact) map[string]any {
	out := make(map[string]any, len(ct))
	for k, v := range ct {
		switch {
		case k == c.cfg.ExternalIDField:
		case v == "":
			out[k] = nil
		default:
			out[k] = v
		}
	}
	return out
}

// findByExternalID returns the id of the record whose external id is
// localID.
func (c *Connector) findByExternalID(ctx context.Context, localID string) (string, error) {
	var rec struct {
		ID string `json:"Id"`
	}
	if _, err := c.do(ctx, "get", http.MethodGet, c.externalIDPath(localID)+"?fields=Id", nil, &rec); err != nil {
		return "", err
	}
	if rec.ID == "" {
		return "", &tandem.ProviderError{Class: tandem.Retry,
			Err: fmt.Errorf("salesforce: the %s with %s %s has no Id", c.cfg.Object, c.cfg.ExternalIDField, localID)}
	}
	return rec.ID, nil
}

// deleteContact deletes the record id; one already gone (404 NOT_FOUND or
// ENTITY_IS_DELETED) is fine.
func (c *Connector) deleteContact(ctx context.Context, id string) error {
	path := c.dataPath("/sobjects/" + c.cfg.Object + "/" + url.PathEscape(id))
	status, err := c.do(ctx, "delete", http.MethodDelete, path, nil, nil)
	if status == http.StatusNotFound {
		return nil
	}
	return err
}
