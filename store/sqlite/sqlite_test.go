package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/tandemsync/tandem/store/sqlstore"
	"github.com/tandemsync/tandem/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts sqlstore.Options) (storetest.Store, sqlstore.Querier) {
		path := filepath.Join(t.TempDir(), "tandem.db")
		st, err := Open(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = raw.Close() })
		return st, querier{raw}
	})
}

func BenchmarkDrain(b *testing.B) {
	storetest.BenchmarkDrain(b, func(t testing.TB, opts sqlstore.Options) (storetest.Store, sqlstore.Querier) {
		st, err := Open(filepath.Join(t.TempDir(), "tandem.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		return st, nil
	})
}
