package salesforce

import "strings"

// contactPrefix is the key prefix of Contact ids; userPrefix and orgPrefix
// those of users and organizations.
const (
	contactPrefix = "003"
	userPrefix    = "005"
	orgPrefix     = "00D"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns the 18-character id number n of the object with the key
// prefix: the prefix, a pod "5g", a reserved "0", n in 9 base-62 digits and
// the 3-character case-safe suffix.
func newID(prefix string, n int64) string {
	digits := make([]byte, 9)
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = base62[n%62]
		n /= 62
	}
	id := prefix + "5g0" + string(digits)
	return id + idSuffix(id)
}

// idSuffix is the case-safe suffix of a 15-character id: for each group of
// five characters, a letter whose index has bit i set when character i of
// the group is an upper-case letter.
func idSuffix(id string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var b strings.Builder
	for g := range 3 {
		idx := 0
		for i := range 5 {
			if c := id[g*5+i]; c >= 'A' && c <= 'Z' {
				idx |= 1 << i
			}
		}
		b.WriteByte(alphabet[idx])
	}
	return b.String()
}

// equalFold compares ASCII case-insensitively, as Salesforce compares field
// names and external id values.
func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
