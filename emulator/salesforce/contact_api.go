package salesforce

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// record is a Contact as the API shows it: attributes, then the fields.
type record map[string]any

// record returns c with the fields named (all fields when names is nil).
func (e *Emulator) record(c *Contact, version string, names []field) record {
	if names == nil {
		names = e.fields
	}
	r := record{"attributes": map[string]string{
		"type": e.object, "url": "/services/data/v" + version + "/sobjects/" + e.object + "/" + c.ID,
	}}
	for _, f := range names {
		r[f.name] = c.get(f)
	}
	return r
}

// upsertResult is the answer to an upsert, and one item of a composite one.
type upsertResult struct {
	ID      string      `json:"id,omitempty"`
	Success bool        `json:"success"`
	Errors  []itemError `json:"errors"`
	Created bool        `json:"created"`
}

// liveContact returns the Contact id unless it is missing (404 NOT_FOUND)
// or deleted (404 ENTITY_IS_DELETED).
func (e *Emulator) liveContact(id string) (*Contact, *Error) {
	ct, ok := e.byID(id)
	if !ok {
		return nil, notFound()
	}
	if ct.IsDeleted {
		return nil, newError(http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
	}
	return ct, nil
}

// getContact serves GET .../sobjects/Contact/{id}.
func (e *Emulator) getContact(c *call) (int, any, error) {
	ct, lerr := e.liveContact(c.r.PathValue("id"))
	if lerr != nil {
		return 0, nil, lerr
	}
	return http.StatusOK, e.record(ct, c.version, nil), nil
}

// deleteContact serves DELETE .../sobjects/Contact/{id}.
func (e *Emulator) deleteContact(c *call) (int, any, error) {
	if err := e.remove(c.r.PathValue("id"), c.user); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// updateContact serves PATCH .../sobjects/Contact/{id}: an update by
// Salesforce id, 204 with no body.
func (e *Emulator) updateContact(c *call) (int, any, error) {
	ct, lerr := e.liveContact(c.r.PathValue("id"))
	if lerr != nil {
		return 0, nil, lerr
	}
	fs, err := c.fields()
	if err != nil {
		return 0, nil, err
	}
	if err := e.update(ct, fs, c.user); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// externalIDPath checks that the {field} of the path is the external id field.
func (e *Emulator) externalIDPath(c *call) *Error {
	if f := c.r.PathValue("field"); !equalFold(f, e.externalIDField) {
		return newError(http.StatusNotFound, "NOT_FOUND",
			"Provided external ID field does not exist or is not accessible: %s", f)
	}
	return nil
}

// getByExternalID serves GET .../sobjects/Contact/{field}/{value}.
func (e *Emulator) getByExternalID(c *call) (int, any, error) {
	if err := e.externalIDPath(c); err != nil {
		return 0, nil, err
	}
	ct, ok := e.byExternalID(c.r.PathValue("value"))
	if !ok {
		return 0, nil, notFound()
	}
	return http.StatusOK, e.record(ct, c.version, nil), nil
}

// upsertContact serves PATCH .../sobjects/Contact/{field}/{value}: 201 with
// the id when it creates; when it updates, 200 with the same body from API
// version 46.0 on, and 204 before. ?updateOnly=true never creates.
func (e *Emulator) upsertContact(c *call) (int, any, error) {
	if err := e.externalIDPath(c); err != nil {
		return 0, nil, err
	}
	fs, err := c.fields()
	if err != nil {
		return 0, nil, err
	}
	value := c.r.PathValue("value")
	if _, exists := e.byExternalID(value); !exists && c.r.URL.Query().Get("updateOnly") == "true" {
		return 0, nil, notFound()
	}
	ct, created, uerr := e.upsert(value, fs, c.user)
	if uerr != nil {
		return 0, nil, uerr
	}
	res := upsertResult{ID: ct.ID, Success: true, Errors: []itemError{}, Created: created}
	switch {
	case created:
		return http.StatusCreated, res, nil
	case versionAtLeast(c.version, 46):
		return http.StatusOK, res, nil
	default:
		return http.StatusNoContent, nil, nil
	}
}

func versionAtLeast(version string, major int) bool {
	n, _ := strconv.Atoi(strings.TrimSuffix(version, ".0"))
	return n >= major
}

// maxCompositeRecords is the most records one composite call may carry.
const maxCompositeRecords = 200

// compositeUpsert serves PATCH .../composite/sobjects/Contact/{field}: one
// result per record, in order, answered 200 even when items failed. With
// allOrNone, one failure rolls back every record.
func (e *Emulator) compositeUpsert(c *call) (int, any, error) {
	if err := e.externalIDPath(c); err != nil {
		return 0, nil, err
	}
	var body struct {
		AllOrNone bool                         `json:"allOrNone"`
		Records   []map[string]json.RawMessage `json:"records"`
	}
	if err := c.decode(&body); err != nil {
		return 0, nil, err
	}
	if len(body.Records) > maxCompositeRecords {
		return 0, nil, badRequest("EXCEEDED_ID_LIMIT", "Maximum number of records exceeded: %d", maxCompositeRecords)
	}
	if body.AllOrNone {
		// Check every record against a copy of the state first.
		if results, failed := e.dryRun(body.Records, c.user); failed {
			return http.StatusOK, results, nil
		}
	}
	results := make([]upsertResult, len(body.Records))
	for i, rec := range body.Records {
		results[i] = e.upsertItem(rec, c.user)
	}
	return http.StatusOK, results, nil
}

// upsertItem upserts one record of a composite call.
func (e *Emulator) upsertItem(rec map[string]json.RawMessage, user string) upsertResult {
	fail := func(err *Error) upsertResult {
		return upsertResult{Success: false, Errors: []itemError{err.item()}}
	}
	var attrs struct {
		Type string `json:"type"`
	}
	if raw, ok := rec["attributes"]; !ok || json.Unmarshal(raw, &attrs) != nil || attrs.Type == "" {
		return fail(badRequest("INVALID_TYPE", "Must send a concrete entity type."))
	}
	if attrs.Type != e.object {
		return fail(badRequest("INVALID_TYPE", "sObject type '%s' is not supported.", attrs.Type))
	}
	fs, err := fieldsOf(rec)
	if err != nil {
		return fail(err)
	}
	var value string
	for k, v := range fs {
		if equalFold(k, e.externalIDField) {
			value = v
		}
	}
	if value == "" {
		return fail(&Error{ErrorCode: "MISSING_ARGUMENT", Message: e.externalIDField + " not specified",
			Fields: []string{e.externalIDField}})
	}
	ct, created, err := e.upsert(value, fs, user)
	if err != nil {
		return fail(err)
	}
	return upsertResult{ID: ct.ID, Success: true, Errors: []itemError{}, Created: created}
}

// dryRun upserts recs on a copy of the Contacts, without outbound
// messages, and reports whether any failed: then every result is an error,
// those of the good records ALL_OR_NONE_OPERATION_ROLLED_BACK.
func (e *Emulator) dryRun(recs []map[string]json.RawMessage, user string) ([]upsertResult, bool) {
	saved := e.snapshot()
	results := make([]upsertResult, len(recs))
	failed := false
	e.dryRunning = true
	for i, rec := range recs {
		results[i] = e.upsertItem(rec, user)
		failed = failed || !results[i].Success
	}
	e.dryRunning = false
	e.restore(saved)
	if !failed {
		return nil, false
	}
	rolledBack := &Error{ErrorCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK", Message: "Record rolled back because not all records were valid and the request was using AllOrNone header"}
	for i := range results {
		if results[i].Success {
			results[i] = upsertResult{Errors: []itemError{rolledBack.item()}}
		}
	}
	return results, true
}

// state is a copy of the Contacts, for a rollback.
type state struct {
	contacts []Contact
	seq      int64
}

func (e *Emulator) snapshot() state {
	s := state{seq: e.seq}
	for _, c := range e.contacts {
		s.contacts = append(s.contacts, *c)
	}
	return s
}

// restore puts the Contacts back as s holds them; those made since are gone.
func (e *Emulator) restore(s state) {
	e.contacts = e.contacts[:len(s.contacts)]
	clear(e.index)
	for i := range s.contacts {
		*e.contacts[i] = s.contacts[i]
		e.index[s.contacts[i].ID] = e.contacts[i]
	}
	e.seq = s.seq
}
