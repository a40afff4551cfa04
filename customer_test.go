package tandem

import (
	"errors"
	"strings"
	"testing"
)

func TestCustomerValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) } // runes, not bytes, count
	manyKeys := map[string]string{}
	for i := range MaxMetadataKeys + 1 {
		manyKeys[strings.Repeat("k", i+1)] = "v"
	}
	tests := []struct {
		name  string
		c     Customer
		field string // "" when valid
	}{
		{"empty customer", Customer{}, ""},
		{"full customer", Customer{Name: long(256), Email: "a.b+c@example.co.uk", Phone: long(20),
			Address: Address{Country: "FR"}, Metadata: map[string]string{long(40): long(500)}}, ""},
		{"name too long", Customer{Name: long(257)}, "name"},
		{"email without domain", Customer{Email: "ada"}, "email"},
		{"email with display name", Customer{Email: "Ada <ada@example.com>"}, "email"},
		{"phone too long", Customer{Phone: long(21)}, "phone"},
		{"address line too long", Customer{Address: Address{City: long(201)}}, "address.city"},
		{"too many metadata keys", Customer{Metadata: manyKeys}, "metadata"},
		{"empty metadata key", Customer{Metadata: map[string]string{"": "v"}}, "metadata"},
		{"metadata key too long", Customer{Metadata: map[string]string{long(41): "v"}}, "metadata." + long(41)},
		{"metadata key with bracket", Customer{Metadata: map[string]string{"a[0]": "v"}}, "metadata.a[0]"},
		{"metadata value too long", Customer{Metadata: map[string]string{"k": long(501)}}, "metadata.k"},
		{"invalid UTF-8", Customer{Name: "\xff"}, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			var e *Error
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("valid customer refused: %v", err)
			case tc.field == "":
			case !errors.As(err, &e) || e.Code != EINVALID || e.Field != tc.field:
				t.Fatalf("err = %v, want EINVALID on %s", err, tc.field)
			}
		})
	}
}

func TestNewCustomerID(t *testing.T) {
	prev := ""
	for range 1000 {
		id := NewCustomerID()
		if !strings.HasPrefix(id, CustomerIDPrefix) || len(id) != len(CustomerIDPrefix)+26 {
			t.Fatalf("id %q: want %s and 26 characters", id, CustomerIDPrefix)
		}
		if id <= prev {
			t.Fatalf("ids out of order: %q after %q", id, prev)
		}
		prev = id
	}
}

func TestErrorCode(t *testing.T) {
	wrapped := errors.Join(errors.New("context"), Errorf(ENOTFOUND, "customer %s not found", "x"))
	for _, tc := range []struct {
		err  error
		code string
		msg  string
	}{
		{nil, "", "internal error"},
		{errors.New("boom"), EINTERNAL, "internal error"},
		{wrapped, ENOTFOUND, "customer x not found"},
	} {
		if got := ErrorCode(tc.err); got != tc.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if tc.err != nil && ErrorMessage(tc.err) != tc.msg {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tc.err, ErrorMessage(tc.err), tc.msg)
		}
	}
}
