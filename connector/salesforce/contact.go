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
// idempotent by construction and needs no saved intent. The upsert joins
// the pushes running at the same time in one composite call (composite.go);
// the push waits for its own record's result. A deleted customer
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
	switch {
	case unchanged:
		return result(remoteID, want)
	case remoteID != "" && !c.carriesID(link.Base, rec.Ref.ID):
		// Born in Salesforce, or matched at link-up: the Contact lacks our
		// id, and an upsert by it would make a second Contact.
		if err := c.adopt(ctx, remoteID, want); err != nil {
			return nil, err
		}
		return result(remoteID, want)
	}
	up, err := c.upserts.Do(ctx, want)
	if err != nil {
		return nil, err
	}
	return up.result, up.err
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

// carriesID says whether the Contact a link's base describes holds localID
// in the external id field.
func (c *Connector) carriesID(base []byte, localID string) bool {
	var ct Contact
	return json.Unmarshal(base, &ct) == nil && ct[c.cfg.ExternalIDField] == localID
}

// adopt writes ct, Tandem's id in its external id field included, to the
// record id, updating it by its Id.
func (c *Connector) adopt(ctx context.Context, id string, ct Contact) error {
	_, err := c.do(ctx, "update", http.MethodPatch, c.dataPath("/sobjects/"+c.cfg.Object+"/"+url.PathEscape(id)), writeBody(ct), nil)
	return err
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
