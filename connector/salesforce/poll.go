package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tandemsync/tandem"
)

// Polling windows.
const (
	// pollOverlap: SystemModstamp is taken when a save starts and a long
	// save commits later, and clocks differ; each poll reads again this
	// much before its cursor so that such changes are not missed. The inbox
	// drops the repeats: their event ids are the same.
	pollOverlap = 2 * time.Minute
	// deletedRetention is how far back the deleted replication endpoint
	// answers (Salesforce keeps deleted ids 15 days; a minute's margin).
	deletedRetention = 15*24*time.Hour - time.Minute
)

// soqlTime is a SOQL datetime literal (unquoted, UTC).
const soqlTime = "2006-01-02T15:04:05.000Z"

// pollCursor is where a poll continues from.
type pollCursor struct {
	// Modstamp is the newest SystemModstamp read.
	Modstamp time.Time `json:"modstamp"`
	// Deleted is the deleted replication's latestDateCovered.
	Deleted time.Time `json:"deleted"`
}

// Poll implements tandem.Poller. Each poll reads the live records whose
// SystemModstamp (which also moves on automated changes) is at or after
// the cursor's, less pollOverlap, with SOQL in SystemModstamp order,
// following nextRecordsUrl page by page; and the records deleted since the
// last poll, from the deleted replication endpoint. Every record read is
// one event whose id is the record's id and modstamp, so re-reading it is
// harmless. An empty cursor starts from now. A cursor older than the 15
// days of deleted ids also returns tandem.ErrEventGap.
func (c *Connector) Poll(ctx context.Context, cursor string) ([]tandem.InboundEvent, string, error) {
	now := c.now().UTC()
	if cursor == "" {
		return nil, encodeCursor(pollCursor{Modstamp: now, Deleted: now.Truncate(time.Minute)}), nil
	}
	var cur pollCursor
	if err := json.Unmarshal([]byte(cursor), &cur); err != nil || cur.Modstamp.IsZero() || cur.Deleted.IsZero() {
		return nil, "", fmt.Errorf("salesforce: bad poll cursor %q", cursor)
	}
	cr, err := c.session.get(ctx)
	if err != nil {
		return nil, "", err
	}
	changed, err := c.pollChanged(ctx, &cur, cr.user)
	if err != nil {
		return nil, "", err
	}
	deleted, lost, err := c.pollDeleted(ctx, &cur, now)
	if err != nil {
		return nil, "", err
	}
	var gap error
	if lost {
		gap = tandem.ErrEventGap
	}
	events := append(changed, deleted...)
	slices.SortStableFunc(events, func(a, b timedEvent) int { return a.at.Compare(b.at) })
	out := make([]tandem.InboundEvent, len(events))
	for i, ev := range events {
		out[i] = ev.InboundEvent
	}
	return out, encodeCursor(cur), gap
}

// timedEvent is an event with the time it orders by.
type timedEvent struct {
	tandem.InboundEvent
	at time.Time
}

func encodeCursor(cur pollCursor) string {
	b, _ := json.Marshal(cur) // two times always encode
	return string(b)
}

// event returns rec as an event.
func event(rec remoteRecord) (timedEvent, error) {
	payload, err := json.Marshal(rec)
	if err != nil {
		return timedEvent{}, fmt.Errorf("salesforce: encode event: %w", err)
	}
	typ, version := eventChanged, strconv.FormatInt(rec.Modstamp.UnixMilli(), 10)
	if rec.Deleted {
		typ, version = eventDeleted, eventDeleted+"-"+version // a record undeleted may be deleted again
	}
	return timedEvent{InboundEvent: tandem.InboundEvent{ID: rec.ID + "@" + version, Type: typ, Payload: payload},
		at: rec.Modstamp}, nil
}

// pollChanged reads the live records changed since cur.Modstamp, less the
// overlap, and moves cur.Modstamp to the newest read.
func (c *Connector) pollChanged(ctx context.Context, cur *pollCursor, user string) ([]timedEvent, error) {
	q := fmt.Sprintf("SELECT %s FROM %s WHERE SystemModstamp >= %s ORDER BY SystemModstamp ASC, Id ASC",
		strings.Join(c.readFields(), ", "), c.cfg.Object, cur.Modstamp.Add(-pollOverlap).UTC().Format(soqlTime))
	path := c.dataPath("/query?q=" + url.QueryEscape(q))
	var events []timedEvent
	for path != "" {
		var page queryPage
		if _, err := c.do(ctx, "query", http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		for _, row := range page.Records {
			rec, err := c.recordOf(row, user)
			if err != nil {
				return nil, &tandem.ProviderError{Class: tandem.Retry, Err: err}
			}
			ev, err := event(rec)
			if err != nil {
				return nil, err
			}
			events = append(events, ev)
			if rec.Modstamp.After(cur.Modstamp) {
				cur.Modstamp = rec.Modstamp
			}
		}
		path = ""
		if !page.Done {
			path = page.NextRecordsURL // exactly as returned
		}
	}
	return events, nil
}

// pollDeleted reads the records deleted since cur.Deleted and moves it to
// the latest date the answer covers; lost reports that cur.Deleted was
// older than Salesforce keeps deleted ids. Salesforce ignores the seconds
// of start and end.
func (c *Connector) pollDeleted(ctx context.Context, cur *pollCursor, now time.Time) (events []timedEvent, lost bool, err error) {
	if earliest := now.Add(-deletedRetention); cur.Deleted.Before(earliest) {
		cur.Deleted, lost = earliest, true
	}
	start, end := cur.Deleted.UTC().Truncate(time.Minute), now.Add(time.Minute).Truncate(time.Minute)
	if !start.Before(end) {
		return nil, lost, nil
	}
	path := c.dataPath("/sobjects/" + c.cfg.Object + "/deleted/?start=" + url.QueryEscape(start.Format(time.RFC3339)) +
		"&end=" + url.QueryEscape(end.Format(time.RFC3339)))
	var answer struct {
		DeletedRecords []struct {
			ID          string `json:"id"`
			DeletedDate string `json:"deletedDate"`
		} `json:"deletedRecords"`
		LatestDateCovered string `json:"latestDateCovered"`
	}
	if _, err := c.do(ctx, "deleted", http.MethodGet, path, nil, &answer); err != nil {
		return nil, false, err
	}
	covered, err := parseTime(answer.LatestDateCovered)
	if err != nil {
		return nil, false, &tandem.ProviderError{Class: tandem.Retry, Err: err}
	}
	for _, d := range answer.DeletedRecords {
		at, err := parseTime(d.DeletedDate)
		if err != nil {
			return nil, false, &tandem.ProviderError{Class: tandem.Retry, Err: err}
		}
		ev, err := event(remoteRecord{ID: d.ID, Modstamp: at, Deleted: true})
		if err != nil {
			return nil, false, err
		}
		events = append(events, ev)
	}
	cur.Deleted = covered
	return events, lost, nil
}
