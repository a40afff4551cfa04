package syncer

import (
	"maps"
	"slices"
	"time"

	"github.com/tandemsync/tandem"
)

// Policy decides conflicts: fields that both sides changed since the last
// state they agreed on.
type Policy string

// The conflict policies; an integration's name is a policy too (that
// integration's value wins).
const (
	// PolicyNewest keeps the value of the side that changed last.
	PolicyNewest Policy = "newest"
	// PolicyLocal keeps Tandem's value.
	PolicyLocal Policy = "local"
)

// remoteWins says whether integration's value wins a conflict, given when
// each side changed.
func (p Policy) remoteWins(integration string, localAt, remoteAt time.Time) bool {
	switch p {
	case PolicyLocal:
		return false
	case Policy(integration):
		return true
	default:
		return remoteAt.After(localAt)
	}
}

// merge is the three-way merge of a customer, field by field (metadata key
// by key) against base, the last state both sides agreed on: a field only
// one side changed takes that side's value; a field both changed to
// different values is a conflict, which remoteWins settles. It returns the
// merged fields and the names of the conflicting ones.
func merge(base, local, remote *tandem.Customer, remoteWins bool) (merged *tandem.Customer, conflicts []string) {
	merged = &tandem.Customer{}
	pick := func(name string, b, l, r string) string {
		switch {
		case r == b || r == l:
			return l
		case l == b:
			return r
		}
		conflicts = append(conflicts, name)
		if remoteWins {
			return r
		}
		return l
	}
	merged.Name = pick("name", base.Name, local.Name, remote.Name)
	merged.Email = pick("email", base.Email, local.Email, remote.Email)
	merged.Phone = pick("phone", base.Phone, local.Phone, remote.Phone)
	a := []struct {
		name    string
		dst     *string
		b, l, r string
	}{
		{"address.line1", &merged.Address.Line1, base.Address.Line1, local.Address.Line1, remote.Address.Line1},
		{"address.line2", &merged.Address.Line2, base.Address.Line2, local.Address.Line2, remote.Address.Line2},
		{"address.city", &merged.Address.City, base.Address.City, local.Address.City, remote.Address.City},
		{"address.state", &merged.Address.State, base.Address.State, local.Address.State, remote.Address.State},
		{"address.postal_code", &merged.Address.PostalCode, base.Address.PostalCode, local.Address.PostalCode, remote.Address.PostalCode},
		{"address.country", &merged.Address.Country, base.Address.Country, local.Address.Country, remote.Address.Country},
	}
	for _, f := range a {
		*f.dst = pick(f.name, f.b, f.l, f.r)
	}
	merged.Metadata = map[string]string{}
	keys := slices.Sorted(maps.Keys(union(base.Metadata, local.Metadata, remote.Metadata)))
	for _, k := range keys {
		// An absent key merges as an empty value: removing a key is a change.
		if v := pick("metadata."+k, base.Metadata[k], local.Metadata[k], remote.Metadata[k]); v != "" {
			merged.Metadata[k] = v
		}
	}
	return merged, conflicts
}

func union(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

// sameFields reports whether two customers hold the same synced fields.
func sameFields(a, b *tandem.Customer) bool {
	return a.Name == b.Name && a.Email == b.Email && a.Phone == b.Phone && a.Address == b.Address &&
		maps.Equal(a.Metadata, b.Metadata)
}
