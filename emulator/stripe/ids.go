package stripe

import "math/rand/v2"

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns a random Stripe-style identifier such as cus_4QFJOjw2pOmAGJ.
// Identifiers do not come from the seeded fault source: they need to be
// unique, not reproducible.
func newID(prefix string) string {
	b := make([]byte, len(prefix)+1+24)
	copy(b, prefix)
	b[len(prefix)] = '_'
	for i := len(prefix) + 1; i < len(b); i++ {
		b[i] = idAlphabet[rand.IntN(len(idAlphabet))]
	}
	return string(b)
}
