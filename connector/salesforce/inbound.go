package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tandemsync/tandem"
)

// Event types of the events Poll returns.
const (
	eventChanged = "changed" // a live record as SOQL read it
	eventDeleted = "deleted" // a record in the deleted replication answer
)

// timeLayouts are how Salesforce writes datetimes in JSON.
var timeLayouts = []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05.000Z07:00", time.RFC3339Nano}

func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("salesforce: %q is not a datetime", s)
}

// remoteRecord is a record as Tandem reads it, and the payload of its
// events: the mapped fields, and what orders and attributes the change.
type remoteRecord struct {
	ID       string    `json:"id"`
	Modstamp time.Time `json:"modstamp"` // SystemModstamp; for a deleted record, when it was deleted
	Deleted  bool      `json:"deleted,omitempty"`
	// Ours says the integration user made the last change.
	Ours   bool    `json:"ours,omitempty"`
	Fields Contact `json:"fields,omitempty"`
}

// readFields are the fields a read asks for: the mapped ones and those
// ordering and attributing a change.
func (c *Connector) readFields() []string {
	names := []string{"Id"}
	for _, m := range Mappings(c.cfg.ExternalIDField) {
		names = append(names, m.Remote...)
	}
	return append(names, "SystemModstamp", "LastModifiedById")
}

// recordOf reads a record of a query or GET answer, made by user unless
// its LastModifiedById says otherwise.
func (c *Connector) recordOf(row map[string]any, user string) (remoteRecord, error) {
	str := func(name string) string {
		s, _ := row[name].(string)
		return s
	}
	rec := remoteRecord{ID: str("Id"), Fields: Contact{}, Ours: user != "" && str("LastModifiedById") == user}
	if rec.ID == "" {
		return rec, fmt.Errorf("salesforce: a %s without Id", c.cfg.Object)
	}
	for _, m := range Mappings(c.cfg.ExternalIDField) {
		for _, name := range m.Remote {
			rec.Fields[name] = str(name)
		}
	}
	var err error
	if rec.Modstamp, err = parseTime(str("SystemModstamp")); err != nil {
		return rec, err
	}
	return rec, nil
}

// change is a record as a remote change.
func (c *Connector) change(rec remoteRecord) (*tandem.RemoteChange, error) {
	ch := &tandem.RemoteChange{Kind: tandem.KindCustomer, RemoteID: rec.ID, Deleted: rec.Deleted,
		Watermark: rec.Modstamp.UnixMilli(), Ours: rec.Ours, At: rec.Modstamp}
	if rec.Deleted {
		return ch, nil
	}
	base, err := json.Marshal(rec.Fields)
	if err != nil {
		return nil, err
	}
	cust := ToCustomer(rec.Fields, c.cfg.ExternalIDField)
	ch.LocalID, cust.ID = cust.ID, ""
	ch.Customer, ch.Base = &cust, base
	return ch, nil
}

// Decode implements tandem.Source for the events Poll and Verify return.
func (c *Connector) Decode(ev *tandem.InboundEvent) (*tandem.RemoteChange, bool, error) {
	switch ev.Type {
	case eventChanged, eventDeleted:
	case eventNotified:
		var n notifiedRecord
		if err := json.Unmarshal(ev.Payload, &n); err != nil {
			return nil, false, fmt.Errorf("salesforce: decode event %s: %w", ev.ID, err)
		}
		return &tandem.RemoteChange{Kind: tandem.KindCustomer, RemoteID: n.ID, Nudge: true}, true, nil
	default:
		return nil, false, nil
	}
	var rec remoteRecord
	if err := json.Unmarshal(ev.Payload, &rec); err != nil {
		return nil, false, fmt.Errorf("salesforce: decode event %s: %w", ev.ID, err)
	}
	ch, err := c.change(rec)
	if err != nil {
		return nil, false, err
	}
	return ch, true, nil
}

// Fetch implements tandem.Source: the record as Salesforce has it now; a
// record that is gone is a delete as of now.
func (c *Connector) Fetch(ctx context.Context, kind tandem.Kind, remoteID string) (*tandem.RemoteChange, error) {
	if kind != tandem.KindCustomer {
		return nil, &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("salesforce: %s records are not synced", kind)}
	}
	cr, err := c.session.get(ctx)
	if err != nil {
		return nil, err
	}
	path := c.dataPath("/sobjects/" + c.cfg.Object + "/" + url.PathEscape(remoteID) + "?fields=" +
		url.QueryEscape(strings.Join(c.readFields(), ",")))
	var row map[string]any
	status, err := c.do(ctx, "get", http.MethodGet, path, nil, &row)
	switch {
	case status == http.StatusNotFound:
		return c.change(remoteRecord{ID: remoteID, Deleted: true, Modstamp: c.now()})
	case err != nil:
		return nil, err
	}
	rec, err := c.recordOf(row, cr.user)
	if err != nil {
		return nil, &tandem.ProviderError{Class: tandem.Retry, Err: err}
	}
	return c.change(rec)
}

// Snapshot implements tandem.Source: a base is the Contact fields as JSON.
func (c *Connector) Snapshot(kind tandem.Kind, base []byte) (tandem.Fields, error) {
	if kind != tandem.KindCustomer {
		return tandem.Fields{}, fmt.Errorf("salesforce: %s records are not synced", kind)
	}
	var ct Contact
	if err := json.Unmarshal(base, &ct); err != nil {
		return tandem.Fields{}, fmt.Errorf("salesforce: decode base: %w", err)
	}
	cust := ToCustomer(ct, c.cfg.ExternalIDField)
	cust.ID = ""
	return tandem.Fields{Customer: &cust}, nil
}
