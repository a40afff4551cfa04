package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"
)

func openTestDB(t *testing.T) *sql.DB {
	t.Helper()
	db := sql.OpenDB(connector{dsn: DSN(filepath.Join(t.TempDir(), "t.db")), d: &sqlite.Driver{}})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func synchronous(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) int {
	t.Helper()
	var v int
	if err := q.QueryRowContext(context.Background(), "PRAGMA synchronous").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDurableTransactions: durable transactions commit with FULL sync, the
// rest with NORMAL, and the connection returns to NORMAL after each.
func TestDurableTransactions(t *testing.T) {
	const normal, full = 1, 2
	db := openTestDB(t)
	if got := synchronous(t, db); got != normal {
		t.Fatalf("connection synchronous = %d, want NORMAL", got)
	}
	for _, tc := range []struct {
		durable bool
		commit  bool
		want    int
	}{{true, true, full}, {true, false, full}, {false, true, normal}} {
		ctx := context.Background()
		if tc.durable {
			ctx = context.WithValue(ctx, durableKey{}, true)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := synchronous(t, tx); got != tc.want {
			t.Errorf("durable=%v: synchronous in tx = %d, want %d", tc.durable, got, tc.want)
		}
		if tc.commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := synchronous(t, db); got != normal {
			t.Errorf("after durable=%v commit=%v: synchronous = %d, want NORMAL again", tc.durable, tc.commit, got)
		}
	}
}

// TestStatementCacheNestedUse: a cached statement whose rows are still open
// can run again (uncached) without disturbing those rows.
func TestStatementCacheNestedUse(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE n (v INTEGER); INSERT INTO n VALUES (1), (2), (3)"); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	const query = "SELECT v FROM n WHERE v >= ? ORDER BY v"
	outer, err := tx.QueryContext(ctx, query, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var v int
		if err := outer.Scan(&v); err != nil {
			t.Fatal(err)
		}
		var count int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ("+query+")", v).Scan(&count); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, query, v) // the same SQL while outer is open
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		_ = inner.Close()
		if n != count {
			t.Fatalf("inner query from %d saw %d rows, want %d", v, n, count)
		}
		got = append(got, v)
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2] != 3 {
		t.Fatalf("outer rows = %v, want 1 2 3", got)
	}
}
