//go:build !unix

package sqlite

// lockFile is a no-op where flock(2) does not exist: there, nothing stops a
// second process from opening the same database.
func lockFile(string) (func(), error) { return func() {}, nil }
