package salesforce

import (
	"net/http"
	"strings"
	"time"
)

// Replication windows: updated ids go back 30 days, deleted ones 15.
const (
	updatedWindow = 30 * 24 * time.Hour
	deletedWindow = 15 * 24 * time.Hour
)

// replicationRange reads start and end, ignoring their seconds as
// Salesforce does, and returns the range covered: up to end or now,
// whichever is earlier, to the minute.
func (e *Emulator) replicationRange(c *call, window time.Duration) (start, covered time.Time, err *Error) {
	q := c.r.URL.Query()
	parse := func(name string) (time.Time, *Error) {
		// An unescaped "+" of the offset arrives as a space.
		t, ok := parseDatetime(strings.ReplaceAll(q.Get(name), " ", "+"))
		if !ok {
			return time.Time{}, badRequest("INVALID_REPLICATION_DATE", "%s: %q is not a valid dateTime", name, q.Get(name))
		}
		return t.UTC().Truncate(time.Minute), nil
	}
	if start, err = parse("start"); err != nil {
		return
	}
	var end time.Time
	if end, err = parse("end"); err != nil {
		return
	}
	now := e.now().UTC()
	if !start.Before(end) {
		return start, end, badRequest("INVALID_REPLICATION_DATE", "start date must be before end date")
	}
	if start.Before(now.Add(-window)) {
		return start, end, badRequest("INVALID_REPLICATION_DATE", "startDate cannot be more than %d days ago",
			int(window/(24*time.Hour)))
	}
	covered = end
	if now := now.Truncate(time.Minute); now.Before(covered) {
		covered = now
	}
	return start, covered, nil
}

// updated serves GET .../sobjects/Contact/updated/?start=&end=: the ids of
// the live Contacts changed in the range.
func (e *Emulator) updated(c *call) (int, any, error) {
	start, covered, err := e.replicationRange(c, updatedWindow)
	if err != nil {
		return 0, nil, err
	}
	ids := []string{}
	for _, ct := range e.stampedIn(start, covered, false) {
		ids = append(ids, ct.ID)
	}
	return http.StatusOK, map[string]any{"ids": ids, "latestDateCovered": formatTime(covered)}, nil
}

// deletedRecord is one item of the deleted replication answer.
type deletedRecord struct {
	ID          string `json:"id"`
	DeletedDate string `json:"deletedDate"`
}

// deleted serves GET .../sobjects/Contact/deleted/?start=&end=: the
// Contacts deleted in the range.
func (e *Emulator) deleted(c *call) (int, any, error) {
	start, covered, err := e.replicationRange(c, deletedWindow)
	if err != nil {
		return 0, nil, err
	}
	recs := []deletedRecord{}
	for _, ct := range e.stampedIn(start, covered, true) {
		recs = append(recs, deletedRecord{ID: ct.ID, DeletedDate: formatTime(ct.SystemModstamp)})
	}
	return http.StatusOK, map[string]any{
		"deletedRecords":        recs,
		"earliestDateAvailable": formatTime(e.now().Add(-deletedWindow).Truncate(time.Minute)),
		"latestDateCovered":     formatTime(covered),
	}, nil
}

// stampedIn returns the Contacts, deleted or live as deleted says, whose
// SystemModstamp (for a deleted one, when it was deleted) is within
// [start, end).
func (e *Emulator) stampedIn(start, end time.Time, deleted bool) []*Contact {
	var out []*Contact
	for _, ct := range e.contacts {
		if ct.IsDeleted == deleted && !ct.SystemModstamp.Before(start) && ct.SystemModstamp.Before(end) {
			out = append(out, ct)
		}
	}
	return out
}
