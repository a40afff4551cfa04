package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/connector/stripe"
	emulator "github.com/tandemsync/tandem/emulator/stripe"
	"github.com/tandemsync/tandem/store/sqlite"
)

// The reconciliation benchmark's workload and targets.
const (
	reconcileCustomers  = 100_000
	reconcileDrift      = 1000 // 1%: half changed in Stripe, half here
	reconcileRate       = 25   // STRIPE_RATE_LIMIT and the emulator's limit of the limited run
	targetReconcileRSS  = 256  // MiB
	targetReconcileSlow = 1.1  // × the floor the limited run's calls set
)

// BenchmarkStripeReconcile reconciles TANDEM_BENCH_RECONCILE_CUSTOMERS
// (default 100,000) customers linked on both sides, 1% of them changed
// behind Tandem's back (half in Stripe, half here), with Tandem in a child
// process on SQLite (for its own peak RSS):
//
//   - unlimited: the emulator answers as fast as it can;
//   - rate-25: the emulator allows 25 requests/s and STRIPE_RATE_LIMIT=25;
//     the floor is (list pages + repair writes) / 25 s.
//
// Each is timed from POST /integrations/stripe/reconcile until the run is
// done and every repair has reached its side.
func BenchmarkStripeReconcile(b *testing.B) {
	n := reconcileCustomers
	if v := os.Getenv("TANDEM_BENCH_RECONCILE_CUSTOMERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < reconcileDrift {
			b.Fatalf("TANDEM_BENCH_RECONCILE_CUSTOMERS=%q: want a number ≥ %d", v, reconcileDrift)
		}
	}
	b.Run("unlimited", func(b *testing.B) {
		r := measureOnce(b, func() *reconcileResult { return measureReconcile(b, n, 0) })
		r.report(b)
	})
	b.Run("rate-25", func(b *testing.B) {
		r := measureOnce(b, func() *reconcileResult { return measureReconcile(b, n, reconcileRate) })
		r.report(b)
	})
}

type reconcileResult struct {
	took              time.Duration
	pages, writes     int
	repairs           map[string]int
	peakRSSMiB, floor float64
}

func (r *reconcileResult) report(b *testing.B) {
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(r.took.Seconds(), "s")
	b.ReportMetric(float64(r.pages+r.writes), "requests")
	b.ReportMetric(r.peakRSSMiB, "peak-RSS-MiB")
	if r.floor > 0 {
		b.ReportMetric(r.took.Seconds()/r.floor, "×floor")
	}
}

// measureReconcile seeds both sides, then runs one reconciliation with the
// emulator limited to rate requests/s (0: no limit).
func measureReconcile(b *testing.B, n int, rate int) *reconcileResult {
	em, srv, _ := startBenchEmulator(b, emulator.Faults{})
	dbPath := filepath.Join(b.TempDir(), "tandem.db")
	seedStart := time.Now()
	ids := seedLinked(b, em, srv.URL, dbPath, n)
	// 1% drift behind Tandem's back: names changed in Stripe, names changed here.
	db, err := sql.Open("sqlite", sqlite.DSN(dbPath))
	if err != nil {
		b.Fatal(err)
	}
	wantThere, wantHere := map[string]string{}, map[string]string{}
	for i := range reconcileDrift {
		k := i * (n / reconcileDrift)
		if i%2 == 0 {
			name := fmt.Sprintf("changed in Stripe %d", k)
			if _, err := em.Silent().UpdateCustomer(ids[k].remote, emulator.CustomerParams{Name: &name}); err != nil {
				b.Fatal(err)
			}
			wantHere[ids[k].local] = name
			continue
		}
		name := fmt.Sprintf("changed here %d", k)
		if _, err := db.Exec(`UPDATE customers SET name = ?, version = version + 1, updated_at = ? WHERE id = ?`,
			name, time.Now().UTC(), ids[k].local); err != nil {
			b.Fatal(err)
		}
		wantThere[ids[k].remote] = name
	}
	_ = db.Close()
	seeded := time.Since(seedStart)
	if err := em.SetFaults(emulator.Faults{RateLimit: float64(rate)}); err != nil {
		b.Fatal(err)
	}

	limit := "1000000"
	if rate > 0 {
		limit = strconv.Itoa(rate)
	}
	p := startProcess(b, "TANDEM_DATABASE_URL=sqlite:"+dbPath, "STRIPE_SECRET_KEY="+benchStripeKey,
		"STRIPE_API_URL="+srv.URL, "STRIPE_RATE_LIMIT="+limit, "STRIPE_POLL_INTERVAL=0", "STRIPE_RECONCILE_INTERVAL=0")
	api := &client{t: b, base: p.URL}
	before := len(em.Requests())

	start := time.Now()
	var run reconcileRun
	if resp := api.do("POST", "/integrations/stripe/reconcile", nil, &run); resp.StatusCode != http.StatusAccepted {
		b.Fatalf("start reconcile: %s", resp.Status)
	}
	waitFor(b, 30*time.Minute, "the run and its repairs", func() bool {
		if run.Status == "running" {
			time.Sleep(100 * time.Millisecond)
			api.do("GET", "/integrations/stripe/reconcile/"+run.ID, nil, &run)
			return false
		}
		for id, name := range wantThere {
			if c, ok := em.Customer(id); !ok || c.Name != name {
				return false
			}
		}
		return true
	})
	took := time.Since(start)
	if run.Status != "done" {
		b.Fatalf("reconcile run: %s %s", run.Status, run.Error)
	}
	rss := peakRSSMiB(b, p.cmd.Process.Pid)
	for id, name := range wantHere {
		var c customer
		if api.do("GET", "/customers/"+id, nil, &c); c.Name != name {
			b.Errorf("changed in Stripe: local %s is %q, want %q", id, c.Name, name)
		}
	}
	r := &reconcileResult{took: took, repairs: run.Progress.Repairs, peakRSSMiB: rss}
	for _, req := range em.Requests()[before:] {
		switch {
		case req.Method == http.MethodGet && req.Path == "/v1/customers":
			r.pages++
		case req.Method != http.MethodGet:
			r.writes++
		}
	}
	if rate > 0 {
		r.floor = float64(r.pages+r.writes) / float64(rate)
	}

	w := os.Stdout
	fmt.Fprintf(w, "\n%s: %d customers linked on both sides (seeded in %v), %d changed behind Tandem's back (half in Stripe, half here); Tandem in a child process on SQLite\n",
		b.Name(), n, seeded.Round(time.Second), reconcileDrift)
	fmt.Fprintf(w, "run %s in %v (its walk %v): %d list pages, %d writes; repairs %v\n", run.ID, took.Round(time.Millisecond),
		run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond), r.pages, r.writes, run.Progress.Repairs)
	fmt.Fprintf(w, "peak RSS %.1f MiB (target ≤ %d MiB): %s\n", rss, targetReconcileRSS,
		strings.TrimSpace(verdict(rss <= targetReconcileRSS)))
	if rate > 0 {
		fmt.Fprintf(w, "floor at %d req/s: %.1f s; took %.3f× the floor (target ≤ %.2f×): %s\n", rate, r.floor,
			took.Seconds()/r.floor, targetReconcileSlow, strings.TrimSpace(verdict(took.Seconds()/r.floor <= targetReconcileSlow)))
	}
	if got := run.Progress.Repairs[tandem.RepairUpdateLocal] + run.Progress.Repairs[tandem.RepairUpdateRemote]; got != reconcileDrift || len(run.Progress.Repairs) != 2 {
		b.Errorf("repairs %v, want %d updates in all", run.Progress.Repairs, reconcileDrift)
	}
	return r
}

// linkedPair is a customer's id on each side.
type linkedPair struct{ local, remote string }

// seedLinked makes n customers in the emulator, silently, each carrying its
// local id, and the same n in a migrated database at dbPath, linked with
// the base the connector reads from the emulator: both sides equal, as
// after a sync.
func seedLinked(tb testing.TB, em *emulator.Emulator, apiURL, dbPath string, n int) []linkedPair {
	tb.Helper()
	ctx := context.Background()
	migratedSQLite(tb, dbPath).Close()

	pairs := make([]linkedPair, n)
	byRemote := map[string]int{}
	for i := range pairs {
		local := tandem.NewCustomerID()
		name, email := fmt.Sprintf("Customer %d", i), fmt.Sprintf("customer-%d@example.com", i)
		c, err := em.Silent().CreateCustomer(emulator.CustomerParams{Name: &name, Email: &email,
			Metadata: map[string]string{"tandem_id": local}})
		if err != nil {
			tb.Fatal(err)
		}
		pairs[i] = linkedPair{local: local, remote: c.ID}
		byRemote[c.ID] = i
	}
	conn, err := stripe.New(stripe.Config{SecretKey: benchStripeKey, APIURL: apiURL, RateLimit: math.MaxInt32})
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", sqlite.DSN(dbPath))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC()
	cursor := ""
	for {
		page, next, err := conn.List(ctx, tandem.KindCustomer, cursor)
		if err != nil {
			tb.Fatal(err)
		}
		for _, ch := range page {
			c := ch.Customer
			if _, err := tx.Exec(`INSERT INTO customers (id, name, email, version, origin, created_at, updated_at)
				VALUES (?, ?, ?, 1, 'api', ?, ?)`, ch.LocalID, c.Name, c.Email, now, now); err != nil {
				tb.Fatal(err)
			}
			if _, err := tx.Exec(`INSERT INTO links (integration, kind, local_id, remote_id, synced_version, base,
				status, synced_at, updated_at) VALUES ('stripe', 'customer', ?, ?, 1, ?, 'synced', ?, ?)`,
				ch.LocalID, ch.RemoteID, ch.Base, now, now); err != nil {
				tb.Fatal(err)
			}
			delete(byRemote, ch.RemoteID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if len(byRemote) != 0 {
		tb.Fatalf("%d seeded customers were not listed", len(byRemote))
	}
	return pairs
}
