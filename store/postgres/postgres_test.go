package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemsync/tandem/internal/pgtest"
	"github.com/tandemsync/tandem/store/sqlstore"
	"github.com/tandemsync/tandem/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts sqlstore.Options) (storetest.Store, sqlstore.Querier) {
		url := pgtest.URL(t)
		st, err := Open(context.Background(), url, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		raw, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(raw.Close)
		return st, querier{raw}
	})
}

func BenchmarkDrain(b *testing.B) {
	storetest.BenchmarkDrain(b, func(t testing.TB, opts sqlstore.Options) (storetest.Store, sqlstore.Querier) {
		st, err := Open(context.Background(), pgtest.URL(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		return st, nil
	})
}
