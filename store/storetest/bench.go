package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store/sqlstore"
	"github.com/tandemsync/tandem/syncer"
)

// BenchmarkDrain measures how fast the engine works a backlog of push jobs
// against an integration that answers at once: b.N customers are written
// with the workers stopped, then the workers start and the benchmark waits
// until every link is synced. It reports pushes per second; the queue, not
// the integration, is what is measured.
func BenchmarkDrain(b *testing.B, open Opener) {
	workers := river.NewWorkers()
	st, _ := open(b, sqlstore.Options{
		Integrations:      []string{"noop"},
		Workers:           workers,
		MaxWorkers:        50,
		FetchPollInterval: 50 * time.Millisecond,
	})
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	in := &countingIntegration{done: make(chan struct{}), want: b.N}
	syncer.New(st, []tandem.Integration{in}, syncer.Options{}).Register(workers)
	for i := range b.N {
		if _, _, err := st.CreateCustomer(ctx, &tandem.Customer{Name: fmt.Sprint(i)}, api); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	if err := st.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Stop(ctx) })
	select {
	case <-in.done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d pushes after 5 minutes", in.n.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pushes/s")
}
