package tandem

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits on customer fields. The metadata limits are Stripe's, so every
// customer Tandem accepts can be written to Stripe as it is.
const (
	MaxNameLen          = 256
	MaxEmailLen         = 512
	MaxPhoneLen         = 20
	MaxAddressFieldLen  = 200
	MaxMetadataKeys     = 50
	MaxMetadataKeyLen   = 40
	MaxMetadataValueLen = 500
)

// Customer is one entry of the local customer catalog. Its ID is Tandem's own
// and never a provider's.
type Customer struct {
	ID        string
	Name      string
	Email     string
	Phone     string
	Address   Address
	Metadata  map[string]string
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// Deleted marks a tombstone: kept for sync, invisible to reads.
	Deleted bool
}

// Address is a postal address; every field is optional.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Validate reports the first field of c that breaks the catalog's rules as an
// EINVALID *Error naming that field.
func (c *Customer) Validate() error {
	if err := checkLen("name", c.Name, MaxNameLen); err != nil {
		return err
	}
	if err := checkLen("email", c.Email, MaxEmailLen); err != nil {
		return err
	}
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
			return FieldError("email", "%q is not a valid email address", c.Email)
		}
	}
	if err := checkLen("phone", c.Phone, MaxPhoneLen); err != nil {
		return err
	}
	for _, f := range []struct{ name, value string }{
		{"address.line1", c.Address.Line1}, {"address.line2", c.Address.Line2},
		{"address.city", c.Address.City}, {"address.state", c.Address.State},
		{"address.postal_code", c.Address.PostalCode}, {"address.country", c.Address.Country},
	} {
		if err := checkLen(f.name, f.value, MaxAddressFieldLen); err != nil {
			return err
		}
	}
	return ValidateMetadata(c.Metadata)
}

// ValidateMetadata checks metadata against Stripe's limits: at most 50 keys,
// keys of at most 40 characters without square brackets, values of at most
// 500 characters.
func ValidateMetadata(m map[string]string) error {
	if len(m) > MaxMetadataKeys {
		return FieldError("metadata", "has %d keys, at most %d are allowed", len(m), MaxMetadataKeys)
	}
	for k, v := range m {
		field := "metadata." + k
		switch {
		case k == "":
			return FieldError("metadata", "keys must not be empty")
		case utf8.RuneCountInString(k) > MaxMetadataKeyLen:
			return FieldError(field, "key is longer than %d characters", MaxMetadataKeyLen)
		case strings.ContainsAny(k, "[]"):
			return FieldError(field, "key must not contain '[' or ']'")
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return FieldError(field, "must be valid UTF-8")
		case utf8.RuneCountInString(v) > MaxMetadataValueLen:
			return FieldError(field, "value is longer than %d characters", MaxMetadataValueLen)
		}
	}
	return nil
}

func checkLen(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return FieldError(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n > max {
		return FieldError(field, "is %d characters long, at most %d are allowed", n, max)
	}
	return nil
}

// CustomerFilter selects a page of customers.
type CustomerFilter struct {
	// Email, when set, keeps only customers with exactly this email.
	Email string
	// AnyCase matches Email without regard to the case of its letters
	// (ASCII letters on every store; SQLite folds no others).
	AnyCase bool
	// After is the cursor of the previous page: the last id it returned.
	After string
	// Limit is the page size.
	Limit int
}

// CustomerPage is one page of customers. Next is the cursor of the following
// page, empty on the last one.
type CustomerPage struct {
	Customers []*Customer
	Next      string
}

// CustomerIDPrefix starts every customer id: no Stripe id (cus_…) or
// Salesforce id (15 or 18 alphanumerics) can look like one.
const CustomerIDPrefix = "tdmc_"

// NewCustomerID returns a new customer id. Ids sort by creation time, which
// gives lists a stable order.
func NewCustomerID() string { return CustomerIDPrefix + newSortableID() }

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

var idClock struct {
	sync.Mutex
	last uint64
}

// newSortableID returns 26 lowercase characters: 48 bits of milliseconds, then
// 80 random bits; ids from one process are strictly increasing.
func newSortableID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	idClock.Lock()
	if ms <= idClock.last {
		ms = idClock.last + 1 // keep order within one millisecond
	}
	idClock.last = ms
	idClock.Unlock()
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	_, _ = rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}
