package salesforce

import (
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
)

// Contact is one Contact record as the emulator keeps it.
type Contact struct {
	ID                string
	FirstName         string
	LastName          string
	Email             string
	Phone             string
	MailingStreet     string
	MailingCity       string
	MailingState      string
	MailingPostalCode string
	MailingCountry    string
	// ExternalID is the value of the external id field (Config.ExternalIDField).
	ExternalID       string
	CreatedDate      time.Time
	SystemModstamp   time.Time
	LastModifiedByID string
	IsDeleted        bool
}

// Fields are values of a Contact's writable fields by API name, as a write
// sends them: a field that is absent is left as it is, an empty value
// empties it. The external id field is one of them.
type Fields map[string]string

// field is one Contact field the emulator knows.
type field struct {
	name     string
	writable bool
	value    func(c *Contact) *string // nil for the fields that are not strings
	max      int                      // the most characters a writable field holds
}

// schema lists the Contact fields, in the order records show them; the
// external id field is named as configured.
func schema(externalIDField string) []field {
	str := func(name string, max int, v func(c *Contact) *string) field {
		return field{name: name, writable: true, value: v, max: max}
	}
	// The lengths are Salesforce's for the standard Contact fields.
	return []field{
		{name: "Id", value: func(c *Contact) *string { return &c.ID }},
		str("FirstName", 40, func(c *Contact) *string { return &c.FirstName }),
		str("LastName", 80, func(c *Contact) *string { return &c.LastName }),
		str("Email", 80, func(c *Contact) *string { return &c.Email }),
		str("Phone", 40, func(c *Contact) *string { return &c.Phone }),
		str("MailingStreet", 255, func(c *Contact) *string { return &c.MailingStreet }),
		str("MailingCity", 40, func(c *Contact) *string { return &c.MailingCity }),
		str("MailingState", 80, func(c *Contact) *string { return &c.MailingState }),
		str("MailingPostalCode", 20, func(c *Contact) *string { return &c.MailingPostalCode }),
		str("MailingCountry", 80, func(c *Contact) *string { return &c.MailingCountry }),
		str(externalIDField, 255, func(c *Contact) *string { return &c.ExternalID }),
		{name: "CreatedDate"},
		{name: "SystemModstamp"},
		{name: "LastModifiedById", value: func(c *Contact) *string { return &c.LastModifiedByID }},
		{name: "IsDeleted"},
	}
}

// lookupField returns the field named name, ignoring case as SOQL and the
// REST API do.
func (e *Emulator) lookupField(name string) (field, bool) {
	for _, f := range e.fields {
		if equalFold(f.name, name) {
			return f, true
		}
	}
	return field{}, false
}

// get returns the value of field f of c as the JSON answer holds it.
func (c *Contact) get(f field) any {
	switch f.name {
	case "CreatedDate":
		return formatTime(c.CreatedDate)
	case "SystemModstamp":
		return formatTime(c.SystemModstamp)
	case "IsDeleted":
		return c.IsDeleted
	}
	if v := *f.value(c); v != "" {
		return v
	}
	return nil // Salesforce shows empty fields as null
}

// timeLayout is how Salesforce writes datetimes in JSON.
const timeLayout = "2006-01-02T15:04:05.000-0700"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// checkFields refuses fields a write may not set.
func (e *Emulator) checkFields(fs Fields) *Error {
	for name := range fs {
		f, ok := e.lookupField(name)
		if !ok {
			return badRequest("INVALID_FIELD", "No such column '%s' on sobject of type %s", name, e.object)
		}
		if !f.writable {
			return &Error{Status: http.StatusBadRequest, ErrorCode: "INVALID_FIELD_FOR_INSERT_UPDATE",
				Message: "Unable to create/update fields: " + f.name + ". Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
				Fields:  []string{f.name}}
		}
	}
	return nil
}

// apply sets fs on a copy of c and checks the result.
func (e *Emulator) apply(c Contact, fs Fields) (Contact, *Error) {
	if err := e.checkFields(fs); err != nil {
		return c, err
	}
	for name, v := range fs {
		f, _ := e.lookupField(name)
		if n := utf8.RuneCountInString(v); n > f.max {
			return c, &Error{Status: http.StatusBadRequest, ErrorCode: "STRING_TOO_LONG",
				Message: fmt.Sprintf("%s: data value too large: %d characters (max length=%d)", f.name, n, f.max),
				Fields:  []string{f.name}}
		}
		*f.value(&c) = v
	}
	if c.LastName == "" {
		return c, &Error{Status: http.StatusBadRequest, ErrorCode: "REQUIRED_FIELD_MISSING",
			Message: "Required fields are missing: [LastName]", Fields: []string{"LastName"}}
	}
	if c.ExternalID != "" {
		if other, ok := e.byExternalID(c.ExternalID); ok && other.ID != c.ID {
			return c, &Error{Status: http.StatusBadRequest, ErrorCode: "DUPLICATE_VALUE",
				Message: "duplicate value found: " + e.externalIDField + " duplicates value on record with id: " + other.ID,
				Fields:  []string{e.externalIDField}}
		}
	}
	return c, nil
}

// byExternalID returns the live Contact whose external id is v.
func (e *Emulator) byExternalID(v string) (*Contact, bool) {
	for _, c := range e.contacts {
		if !c.IsDeleted && c.ExternalID != "" && equalFold(c.ExternalID, v) {
			return c, true
		}
	}
	return nil, false
}

// byID returns the Contact id, deleted or not; id may be 15 or 18 characters.
func (e *Emulator) byID(id string) (*Contact, bool) {
	if len(id) == 15 {
		id += idSuffix(id)
	}
	c, ok := e.index[id]
	return c, ok
}

// stamp moves the clock of changes: SystemModstamp never goes back, so
// polling on it sees every change.
func (e *Emulator) stamp() time.Time {
	t := e.now().UTC().Truncate(time.Millisecond)
	if t.Before(e.lastStamp) {
		t = e.lastStamp
	}
	e.lastStamp = t
	return t
}

// create adds a Contact made of fs by user.
func (e *Emulator) create(fs Fields, user string) (*Contact, *Error) {
	c, err := e.apply(Contact{}, fs)
	if err != nil {
		return nil, err
	}
	e.seq++
	c.ID = newID(contactPrefix, e.seq)
	c.CreatedDate = e.stamp()
	c.SystemModstamp = c.CreatedDate
	c.LastModifiedByID = user
	stored := &c
	e.contacts = append(e.contacts, stored)
	e.index[c.ID] = stored
	e.changed(stored)
	return stored, nil
}

// update applies fs to the live Contact c as user.
func (e *Emulator) update(c *Contact, fs Fields, user string) *Error {
	next, err := e.apply(*c, fs)
	if err != nil {
		return err
	}
	next.SystemModstamp = e.stamp()
	next.LastModifiedByID = user
	*c = next
	e.changed(c)
	return nil
}

// remove deletes the Contact id as user: it goes to the recycle bin, where
// the deleted replication endpoint and queryAll still see it.
func (e *Emulator) remove(id, user string) *Error {
	c, ok := e.byID(id)
	if !ok {
		return notFound()
	}
	if c.IsDeleted {
		return newError(http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
	}
	c.IsDeleted = true
	c.SystemModstamp = e.stamp()
	c.LastModifiedByID = user
	return nil
}

// upsert creates or updates the Contact whose external id is value.
func (e *Emulator) upsert(value string, fs Fields, user string) (c *Contact, created bool, err *Error) {
	out := Fields{e.externalIDField: value}
	for k, v := range fs {
		if !equalFold(k, e.externalIDField) {
			out[k] = v
		} else if !equalFold(v, value) {
			return nil, false, badRequest("INVALID_FIELD",
				"The value of the external id field in the body does not match the value in the URL: %s", e.externalIDField)
		}
	}
	fs = out
	if c, ok := e.byExternalID(value); ok {
		return c, false, e.update(c, fs, user)
	}
	c, err = e.create(fs, user)
	return c, err == nil, err
}
