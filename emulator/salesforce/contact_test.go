package salesforce

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var idPattern = regexp.MustCompile(`^003[0-9A-Za-z]{15}$`)

func TestUpsertByExternalID(t *testing.T) {
	h := newHarness(t, Config{})
	a := h.upsert(t, "tdmc_1", map[string]any{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"})
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var res upsertResult
	a.decode(t, &res)
	if !idPattern.MatchString(res.ID) || !res.Success || !res.Created || res.Errors == nil {
		t.Fatalf("create answered %+v", res)
	}
	if got := idSuffix(res.ID[:15]); got != res.ID[15:] {
		t.Errorf("id %s: suffix %s, want %s", res.ID, res.ID[15:], got)
	}
	created, _ := h.em.Contact(res.ID)

	h.clock.Add(time.Second)
	a = h.upsert(t, "tdmc_1", map[string]any{"Email": nil, "Phone": "+1 555 0100"})
	if a.status != http.StatusOK {
		t.Fatalf("update: %d %s", a.status, a.body)
	}
	var upd upsertResult
	a.decode(t, &upd)
	if upd.ID != res.ID || upd.Created || !upd.Success {
		t.Errorf("update answered %+v", upd)
	}
	// Before API version 46.0 an update answers 204 without a body.
	old := h.do(t, http.MethodPatch, "/services/data/v45.0/sobjects/Contact/Tandem_Id__c/tdmc_1", map[string]any{"Phone": "1"})
	if old.status != http.StatusNoContent || len(old.body) != 0 {
		t.Errorf("update on v45.0: %d %s", old.status, old.body)
	}

	a = h.do(t, http.MethodGet, testVersion+"/sobjects/Contact/"+res.ID, nil)
	var rec map[string]any
	a.decode(t, &rec)
	want := map[string]any{"Id": res.ID, "FirstName": "Ada", "LastName": "Lovelace", "Email": nil, "Phone": "1",
		"Tandem_Id__c": "tdmc_1", "LastModifiedById": h.em.IntegrationUserID(), "IsDeleted": false,
		"SystemModstamp": "2026-03-02T10:00:01.000+0000"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v", k, rec[k], v)
		}
	}
	if c, _ := h.em.Contact(res.ID); !c.SystemModstamp.After(created.SystemModstamp) {
		t.Errorf("SystemModstamp did not move: %v then %v", created.SystemModstamp, c.SystemModstamp)
	}
	// 15-character ids and reads by external id find the same record.
	if a := h.do(t, http.MethodGet, testVersion+"/sobjects/Contact/"+res.ID[:15], nil); a.status != http.StatusOK {
		t.Errorf("GET by 15-character id: %d", a.status)
	}
	if a := h.do(t, http.MethodGet, testVersion+"/sobjects/Contact/Tandem_Id__c/tdmc_1", nil); a.status != http.StatusOK {
		t.Errorf("GET by external id: %d %s", a.status, a.body)
	}
	if got := len(h.em.Contacts()); got != 1 {
		t.Errorf("%d contacts, want 1", got)
	}
	reqs := h.em.Requests()
	if last := reqs[len(reqs)-1]; last.CallOptions != "client=tandem" || last.User != h.em.IntegrationUserID() {
		t.Errorf("request log: %+v", last)
	}
}

func TestUpsertErrors(t *testing.T) {
	h := newHarness(t, Config{})
	h.mustCreate(t, "taken", map[string]any{"LastName": "X"})
	for _, tc := range []struct {
		desc   string
		path   string
		body   any
		status int
		code   string
	}{
		{"no LastName", "/Tandem_Id__c/a", map[string]any{"FirstName": "Ada"}, 400, "REQUIRED_FIELD_MISSING"},
		{"LastName emptied", "/Tandem_Id__c/taken", map[string]any{"LastName": nil}, 400, "REQUIRED_FIELD_MISSING"},
		{"LastName too long", "/Tandem_Id__c/a", map[string]any{"LastName": strings.Repeat("é", 81)}, 400, "STRING_TOO_LONG"},
		{"unknown field", "/Tandem_Id__c/a", map[string]any{"LastName": "X", "Nope__c": "1"}, 400, "INVALID_FIELD"},
		{"read-only field", "/Tandem_Id__c/a", map[string]any{"LastName": "X", "SystemModstamp": "x"}, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{"not a string", "/Tandem_Id__c/a", map[string]any{"LastName": 7}, 400, "JSON_PARSER_ERROR"},
		{"other external id in the body", "/Tandem_Id__c/a", map[string]any{"LastName": "X", "Tandem_Id__c": "b"}, 400, "INVALID_FIELD"},
		{"other external id in the body, other case", "/Tandem_Id__c/a", map[string]any{"LastName": "X", "tandem_id__c": "b"}, 400, "INVALID_FIELD"},
		{"not the external id field", "/Email/a@example.com", map[string]any{"LastName": "X"}, 404, "NOT_FOUND"},
		{"updateOnly of a missing record", "/Tandem_Id__c/a?updateOnly=true", map[string]any{"LastName": "X"}, 404, "NOT_FOUND"},
		{"another object", "x", nil, 404, "NOT_FOUND"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			path := testVersion + "/sobjects/Contact" + tc.path
			if tc.path == "x" {
				path = testVersion + "/sobjects/Account/Tandem_Id__c/a"
			}
			a := h.do(t, http.MethodPatch, path, tc.body)
			if a.status != tc.status || a.errorCode(t) != tc.code {
				t.Errorf("got %d %s, want %d %s", a.status, a.body, tc.status, tc.code)
			}
		})
	}
	if got := len(h.em.Contacts()); got != 1 {
		t.Errorf("%d contacts, want only the first", got)
	}
}

// TestUpdateByID: PATCH on a Contact's id updates it as the caller, the
// external id field included (how a Contact made in Salesforce comes to
// carry Tandem's id), with the same checks as any write.
func TestUpdateByID(t *testing.T) {
	h := newHarness(t, Config{})
	typed, err := h.em.UI().CreateContact(Fields{"LastName": "Lovelace", "Phone": "1"})
	if err != nil {
		t.Fatal(err)
	}
	h.mustCreate(t, "tdmc_taken", map[string]any{"LastName": "Other"})
	path := testVersion + "/sobjects/Contact/" + typed.ID
	h.clock.Add(time.Second)
	a := h.do(t, http.MethodPatch, path, map[string]any{"Email": "ada@example.com", "Phone": nil, "Tandem_Id__c": "tdmc_1"})
	if a.status != http.StatusNoContent {
		t.Fatalf("update: %d %s", a.status, a.body)
	}
	got, _ := h.em.Contact(typed.ID)
	if got.Email != "ada@example.com" || got.Phone != "" || got.ExternalID != "tdmc_1" || got.LastName != "Lovelace" ||
		got.LastModifiedByID != h.em.IntegrationUserID() || !got.SystemModstamp.After(typed.SystemModstamp) {
		t.Errorf("after the update: %+v", got)
	}
	for _, tc := range []struct {
		desc, path string
		body       map[string]any
		code       string
	}{
		{"taken external id", path, map[string]any{"Tandem_Id__c": "tdmc_taken"}, "DUPLICATE_VALUE"},
		{"read-only field", path, map[string]any{"SystemModstamp": "x"}, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{"unknown id", testVersion + "/sobjects/Contact/003000000000000AAA", map[string]any{"Phone": "2"}, "NOT_FOUND"},
	} {
		if a := h.do(t, http.MethodPatch, tc.path, tc.body); a.status/100 != 4 || a.errorCode(t) != tc.code {
			t.Errorf("%s: got %d %s, want %s", tc.desc, a.status, a.body, tc.code)
		}
	}
}

func TestCompositeUpsert(t *testing.T) {
	h := newHarness(t, Config{})
	existing := h.mustCreate(t, "tdmc_1", map[string]any{"LastName": "Old"})
	contact := func(fs map[string]any) map[string]any {
		fs["attributes"] = map[string]string{"type": "Contact"}
		return fs
	}
	a := h.do(t, http.MethodPatch, testVersion+"/composite/sobjects/Contact/Tandem_Id__c", map[string]any{
		"allOrNone": false,
		"records": []any{
			contact(map[string]any{"Tandem_Id__c": "tdmc_1", "LastName": "New"}),
			contact(map[string]any{"Tandem_Id__c": "tdmc_2", "FirstName": "No last name"}),
			contact(map[string]any{"Tandem_Id__c": "tdmc_3", "LastName": "Three"}),
			contact(map[string]any{"LastName": "No external id"}),
			map[string]any{"Tandem_Id__c": "tdmc_5", "LastName": "No attributes"},
		},
	})
	if a.status != http.StatusOK {
		t.Fatalf("composite: %d %s", a.status, a.body)
	}
	var res []upsertResult
	a.decode(t, &res)
	if len(res) != 5 {
		t.Fatalf("%d results, want 5: %s", len(res), a.body)
	}
	if !res[0].Success || res[0].Created || res[0].ID != existing {
		t.Errorf("update item: %+v", res[0])
	}
	if res[1].Success || len(res[1].Errors) != 1 || res[1].Errors[0].StatusCode != "REQUIRED_FIELD_MISSING" ||
		res[1].Errors[0].Fields[0] != "LastName" {
		t.Errorf("bad item: %+v", res[1])
	}
	if !res[2].Success || !res[2].Created || !idPattern.MatchString(res[2].ID) {
		t.Errorf("create item: %+v", res[2])
	}
	if res[3].Success || res[3].Errors[0].StatusCode != "MISSING_ARGUMENT" {
		t.Errorf("item without external id: %+v", res[3])
	}
	if res[4].Success || res[4].Errors[0].StatusCode != "INVALID_TYPE" {
		t.Errorf("item without attributes: %+v", res[4])
	}
	if c, _ := h.em.Contact(existing); c.LastName != "New" {
		t.Errorf("the update was not made: %+v", c)
	}
	if got := len(h.em.Contacts()); got != 2 {
		t.Errorf("%d contacts, want 2", got)
	}

	var many []any
	for range 201 {
		many = append(many, contact(map[string]any{"Tandem_Id__c": "x", "LastName": "X"}))
	}
	a = h.do(t, http.MethodPatch, testVersion+"/composite/sobjects/Contact/Tandem_Id__c", map[string]any{"records": many})
	if a.status != http.StatusBadRequest || a.errorCode(t) != "EXCEEDED_ID_LIMIT" {
		t.Errorf("201 records: %d %s", a.status, a.body)
	}
}

func TestCompositeAllOrNone(t *testing.T) {
	h := newHarness(t, Config{})
	a := h.do(t, http.MethodPatch, testVersion+"/composite/sobjects/Contact/Tandem_Id__c", map[string]any{
		"allOrNone": true,
		"records": []any{
			map[string]any{"attributes": map[string]string{"type": "Contact"}, "Tandem_Id__c": "a", "LastName": "A"},
			map[string]any{"attributes": map[string]string{"type": "Contact"}, "Tandem_Id__c": "b"},
		},
	})
	var res []upsertResult
	a.decode(t, &res)
	if len(res) != 2 || res[0].Success || res[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" ||
		res[1].Errors[0].StatusCode != "REQUIRED_FIELD_MISSING" {
		t.Errorf("answered %s", a.body)
	}
	if got := len(h.em.Contacts()); got != 0 {
		t.Errorf("%d contacts after a rolled-back call, want 0", got)
	}
	if id := h.mustCreate(t, "a", map[string]any{"LastName": "A"}); !idPattern.MatchString(id) {
		t.Errorf("id %q", id)
	}
}
