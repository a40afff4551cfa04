package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the baseline's SQLite driver, the one store/sqlite uses

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/internal/pgtest"

	"github.com/tandemsync/tandem/store/sqlite"
)

// The load and the targets of BenchmarkCreateCustomer. The targets are
// printed next to the figures, never asserted.
const (
	benchClients          = 32
	benchWarmup           = time.Second
	targetThroughputRatio = 0.5 // Tandem's req/s at least half the baseline's
	targetP99Ratio        = 2.0 // Tandem's p99 at most twice the baseline's
	targetPeakRSSMiB      = 100 // Tandem's peak RSS below this
)

// BenchmarkCreateCustomer drives POST /customers with 32 concurrent clients
// over loopback for TANDEM_BENCH_DURATION (default 10s, after a 1s warm-up;
// TANDEM_BENCH_ROUNDS times, default 3),
// first against a baseline server (decode the JSON, one INSERT in one
// transaction) and then against Tandem with one integration, so every create
// also enqueues a push job. Each server is a child process on a fresh
// database of the engine, so its peak RSS is its own. Run it with
//
//	go test ./cmd/tandem -run '^$' -bench BenchmarkCreateCustomer -benchtime 1x
//
// Each call runs one fixed-duration load, whatever b.N.
func BenchmarkCreateCustomer(b *testing.B) {
	window := benchDuration(b)
	b.Run("sqlite", func(b *testing.B) {
		benchEngine(b, window, func(tb testing.TB) string {
			return "sqlite:" + filepath.Join(tb.TempDir(), "bench.db")
		})
	})
	b.Run("postgres", func(b *testing.B) { benchEngine(b, window, pgtest.URL) })
}

// measured keeps each sub-benchmark's comparison: the framework calls a
// benchmark function again when it wants a larger b.N (-benchtime Nx with
// N > 1), and the load must run only once.
var measured = map[*testing.B]*comparison{}

// benchEngine measures, for each round, the baseline and then Tandem, each on
// a fresh database newDB makes, and reports the medians. Pairing the two in
// every round keeps the machine's drifts out of the ratios.
// TANDEM_TEST_PROCESS=baseline overrides startProcess's TANDEM_TEST_PROCESS=1:
// the last of duplicate entries in exec.Cmd.Env wins.
func benchEngine(b *testing.B, window time.Duration, newDB func(testing.TB) string) {
	c, ok := measured[b]
	if !ok {
		c = &comparison{load: "POST /customers", window: window, targets: createTargets}
		for range benchRounds(b) {
			c.rounds = append(c.rounds, round{
				baseline: measureServer(b, "baseline", window, newDB(b), "TANDEM_TEST_PROCESS=baseline"),
				tandem:   measureServer(b, "tandem", window, newDB(b), "TANDEM_TEST_INTEGRATION=noop"),
			})
		}
		measured[b] = c
		c.print(os.Stdout, b.Name())
	}
	c.report(b)
}

// benchRounds is how many times each server is measured:
// TANDEM_BENCH_ROUNDS or 3.
func benchRounds(tb testing.TB) int {
	tb.Helper()
	v := os.Getenv("TANDEM_BENCH_ROUNDS")
	if v == "" {
		return 3
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("TANDEM_BENCH_ROUNDS=%q: want a positive number", v)
	}
	return n
}

// benchDuration is the measured window: TANDEM_BENCH_DURATION or 10s.
func benchDuration(tb testing.TB) time.Duration {
	tb.Helper()
	v := os.Getenv("TANDEM_BENCH_DURATION")
	if v == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		tb.Fatalf("TANDEM_BENCH_DURATION=%q: want a positive duration", v)
	}
	return d
}

// serverResult is what the load measured of one server.
type serverResult struct {
	name       string
	load       loadResult
	peakRSSMiB float64
}

// measureServer starts a child process on the database at dbURL, with env
// selecting the server, loads it, reads its peak RSS and stops it.
func measureServer(tb testing.TB, name string, window time.Duration, dbURL, env string) *serverResult {
	tb.Helper()
	p := startProcess(tb, "TANDEM_DATABASE_URL="+dbURL, env)
	load := runLoad(tb, p.URL, window)
	rss := peakRSSMiB(tb, p.cmd.Process.Pid)
	p.Kill(tb)
	return &serverResult{name: name, load: load, peakRSSMiB: rss}
}

// loadResult is what a server answered within the measured window.
type loadResult struct {
	window    time.Duration
	latencies []time.Duration // of the 201 answers, sorted
	errors    map[string]int  // failed requests and other answers, by kind
}

// rate is the throughput in 201 answers per second.
func (r *loadResult) rate() float64 { return float64(len(r.latencies)) / r.window.Seconds() }

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of the
// latencies.
func (r *loadResult) percentile(p float64) time.Duration {
	i := int(math.Ceil(p / 100 * float64(len(r.latencies))))
	return r.latencies[max(i-1, 0)]
}

// failures counts the requests that did not create a customer.
func (r *loadResult) failures() int {
	n := 0
	for _, c := range r.errors {
		n += c
	}
	return n
}

// runLoad sends POST /customers to baseURL from benchClients goroutines for
// the warm-up and then the window.
func runLoad(tb testing.TB, baseURL string, window time.Duration) loadResult {
	tb.Helper()
	return runRequests(tb, window, func(hc *http.Client, w, n int) error { return createCustomer(hc, baseURL, w, n) })
}

// runRequests calls send from benchClients goroutines (w, the goroutine;
// n, its call) for the warm-up and then the window; send returns nil for a
// success. A call counts when it completes within the window; the load
// fails the benchmark when none succeeded.
func runRequests(tb testing.TB, window time.Duration, send func(hc *http.Client, w, n int) error) loadResult {
	tb.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = benchClients
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	from := time.Now().Add(benchWarmup)
	until := from.Add(window)
	parts := make([]loadResult, benchClients)
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() {
			part := &parts[w]
			part.errors = map[string]int{}
			for n := 0; ; n++ {
				sent := time.Now()
				if !sent.Before(until) {
					return
				}
				err := send(hc, w, n)
				done := time.Now()
				switch {
				case done.Before(from) || !done.Before(until): // warm-up, or past the window
				case err != nil:
					part.errors[err.Error()]++
				default:
					part.latencies = append(part.latencies, done.Sub(sent))
				}
			}
		})
	}
	wg.Wait()
	r := loadResult{window: window, errors: map[string]int{}}
	for _, part := range parts {
		r.latencies = append(r.latencies, part.latencies...)
		for kind, n := range part.errors {
			r.errors[kind] += n
		}
	}
	if len(r.latencies) == 0 {
		tb.Fatalf("no request succeeded in %v; errors: %v", window, r.errors)
	}
	slices.Sort(r.latencies)
	return r
}

// benchCustomer holds the writable fields of a customer in the API's JSON.
type benchCustomer struct {
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Phone    string            `json:"phone"`
	Address  tandem.Address    `json:"address"`
	Metadata map[string]string `json:"metadata"`
}

// createCustomer sends client w's n-th customer and reads the whole answer;
// anything but 201 is an error.
func createCustomer(client *http.Client, baseURL string, w, n int) error {
	body, err := json.Marshal(benchCustomer{
		Name:  fmt.Sprintf("Customer %d-%d", w, n),
		Email: fmt.Sprintf("customer-%d-%d@example.com", w, n),
		Phone: "+1 415 555 0100",
		Address: tandem.Address{Line1: "500 Howard Street", City: "San Francisco", State: "CA",
			PostalCode: "94105", Country: "US"},
		Metadata: map[string]string{"plan": "pro", "source": "benchmark"},
	})
	if err != nil {
		return err
	}
	return answered(client.Post(baseURL+"/customers", "application/json", bytes.NewReader(body)))(http.StatusCreated)
}

// answered reads and closes a response's body, then reports an error for
// any status but want (or for a failed call).
func answered(resp *http.Response, err error) func(want int) error {
	return func(want int) error {
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != want {
			return fmt.Errorf("answer %s", resp.Status)
		}
		return nil
	}
}

// peakRSSMiB reads the peak resident set size (VmHWM) of process pid.
func peakRSSMiB(tb testing.TB, pid int) float64 {
	tb.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatalf("peak RSS: %v", err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			if f := strings.Fields(rest); len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
					return kb / 1024
				}
			}
			tb.Fatalf("peak RSS: unexpected line %q", line)
		}
	}
	tb.Fatalf("peak RSS: no VmHWM in /proc/%d/status", pid)
	return 0
}

// comparison is Tandem measured against a baseline, round by round.
type comparison struct {
	load    string // what the clients send
	window  time.Duration
	targets targets
	rounds  []round
	notes   []string // one per round, printed under it when set
}

// targets are Tandem's targets against the baseline; a zero p99 ratio or
// peak RSS is reported, not targeted.
type targets struct {
	throughput, p99 float64
	rssMiB          int
}

// createTargets are BenchmarkCreateCustomer's.
var createTargets = targets{throughput: targetThroughputRatio, p99: targetP99Ratio, rssMiB: targetPeakRSSMiB}

// round is one measurement of each server.
type round struct{ baseline, tandem *serverResult }

// throughputRatio is Tandem's throughput over the baseline's.
func (r round) throughputRatio() float64 { return r.tandem.load.rate() / r.baseline.load.rate() }

// p99Ratio is Tandem's p99 latency over the baseline's.
func (r round) p99Ratio() float64 {
	return float64(r.tandem.load.percentile(99)) / float64(r.baseline.load.percentile(99))
}

// summary is the median over the rounds of one server's figures (peak RSS:
// the largest).
type summary struct {
	name                string
	rate, p50, p99, rss float64
	failures            int
}

func (c *comparison) summarize(server func(round) *serverResult) summary {
	var rates, p50s, p99s []float64
	s := summary{name: server(c.rounds[0]).name}
	for _, r := range c.rounds {
		res := server(r)
		rates = append(rates, res.load.rate())
		p50s = append(p50s, milliseconds(res.load.percentile(50)))
		p99s = append(p99s, milliseconds(res.load.percentile(99)))
		s.rss = max(s.rss, res.peakRSSMiB)
		s.failures += res.load.failures()
	}
	s.rate, s.p50, s.p99 = median(rates), median(p50s), median(p99s)
	return s
}

// ratios are the medians of the rounds' throughput and p99 ratios.
func (c *comparison) ratios() (throughput, p99 float64) {
	var ts, ps []float64
	for _, r := range c.rounds {
		ts, ps = append(ts, r.throughputRatio()), append(ps, r.p99Ratio())
	}
	return median(ts), median(ps)
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// report gives the medians to the benchmark framework.
func (c *comparison) report(b *testing.B) {
	b.ReportMetric(0, "ns/op") // fixed-duration loads, not b.N operations
	for _, s := range []summary{c.summarize(baselineOf), c.summarize(tandemOf)} {
		b.ReportMetric(s.rate, s.name+"-req/s")
		b.ReportMetric(s.p50, s.name+"-p50-ms")
		b.ReportMetric(s.p99, s.name+"-p99-ms")
		b.ReportMetric(s.rss, s.name+"-peak-RSS-MiB")
	}
	throughput, p99 := c.ratios()
	b.ReportMetric(throughput, "throughput-ratio")
	b.ReportMetric(p99, "p99-ratio")
}

func baselineOf(r round) *serverResult { return r.baseline }
func tandemOf(r round) *serverResult   { return r.tandem }

// print writes each round, then the medians as a table with each target and
// whether it is met under its figure, then the errors.
func (c *comparison) print(w io.Writer, name string) {
	line := func(cells ...any) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-16s %10s %10s %10s %10s %7s", cells...), " "))
	}
	fmt.Fprintf(w, "\n%s: %s, %d clients, %d rounds of %v measured after a %v warm-up\n",
		name, c.load, benchClients, len(c.rounds), c.window, benchWarmup)
	for i, r := range c.rounds {
		fmt.Fprintf(w, "round %d: baseline %.0f req/s p99 %.2f ms, tandem %.0f req/s p99 %.2f ms: %.2f× throughput, %.2f× p99\n",
			i+1, r.baseline.load.rate(), milliseconds(r.baseline.load.percentile(99)),
			r.tandem.load.rate(), milliseconds(r.tandem.load.percentile(99)), r.throughputRatio(), r.p99Ratio())
		if i < len(c.notes) {
			fmt.Fprintf(w, "         %s\n", c.notes[i])
		}
	}
	line("median", "req/s", "p50", "p99", "peak RSS", "errors")
	tandemSummary := c.summarize(tandemOf)
	for _, s := range []summary{c.summarize(baselineOf), tandemSummary} {
		line(s.name, fmt.Sprintf("%.1f", s.rate), fmt.Sprintf("%.2f ms", s.p50), fmt.Sprintf("%.2f ms", s.p99),
			fmt.Sprintf("%.1f MiB", s.rss), strconv.Itoa(s.failures))
	}
	throughput, p99 := c.ratios()
	t := c.targets
	p99Target, p99Verdict, rssTarget, rssVerdict := "reported", "", "", ""
	if t.p99 > 0 {
		p99Target, p99Verdict = fmt.Sprintf("≤ %.2f×", t.p99), verdict(p99 <= t.p99)
	}
	if t.rssMiB > 0 {
		rssTarget, rssVerdict = fmt.Sprintf("< %d MiB", t.rssMiB), verdict(tandemSummary.rss < float64(t.rssMiB))
	}
	line("tandem/baseline", fmt.Sprintf("%.2f×", throughput), "", fmt.Sprintf("%.2f×", p99), "", "")
	line("target (tandem)", fmt.Sprintf("≥ %.2f×", t.throughput), "", p99Target, rssTarget, "")
	line("", verdict(throughput >= t.throughput), "", p99Verdict, rssVerdict, "")
	for _, r := range c.rounds {
		for _, s := range []*serverResult{r.baseline, r.tandem} {
			for _, kind := range slices.Sorted(maps.Keys(s.load.errors)) {
				fmt.Fprintf(w, "%s error ×%d: %s\n", s.name, s.load.errors[kind], kind)
			}
		}
	}
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// verdict says whether a target was met.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}

// The baseline's table, with the column types of Tandem's customers table
// on each engine, and its one statement.
const (
	baselineSQLiteSchema = `CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL,
		email TEXT NOT NULL, phone TEXT NOT NULL, address TEXT NOT NULL, metadata TEXT NOT NULL,
		created_at DATETIME NOT NULL)`
	baselinePostgresSchema = `CREATE TABLE customers (id TEXT PRIMARY KEY, name TEXT NOT NULL,
		email TEXT NOT NULL, phone TEXT NOT NULL, address JSONB NOT NULL, metadata JSONB NOT NULL,
		created_at TIMESTAMPTZ NOT NULL)`
	baselineInsert = `INSERT INTO customers (id, name, email, phone, address, metadata, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
)

// baselineRow is a customer as the baseline stores and answers it.
type baselineRow struct {
	ID string `json:"id"`
	benchCustomer
	CreatedAt time.Time `json:"created_at"`
}

// serveBaseline is the benchmark's baseline, the floor Tandem is compared
// with: a bare net/http server on addr whose POST /customers decodes the
// customer and inserts it in a transaction of its own into the database at
// dbURL (a TANDEM_DATABASE_URL). It logs its URL as the program does and
// serves until ctx ends.
func serveBaseline(ctx context.Context, addr, dbURL string) error {
	execTx, closeDB, err := openBaselineDB(ctx, dbURL)
	if err != nil {
		return err
	}
	defer closeDB()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /customers", func(w http.ResponseWriter, r *http.Request) {
		row := baselineRow{ID: tandem.NewCustomerID(), CreatedAt: time.Now().UTC()}
		if err := json.NewDecoder(r.Body).Decode(&row.benchCustomer); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Neither a struct nor a map of strings can fail to marshal.
		address, _ := json.Marshal(row.Address)
		metadata, _ := json.Marshal(row.Metadata)
		err := execTx(r.Context(), baselineInsert, row.ID, row.Name, row.Email, row.Phone,
			string(address), string(metadata), row.CreatedAt)
		if err != nil {
			logger.Error("insert customer", "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(row)
	})
	return serveBaselineMux(ctx, addr, mux, logger)
}

// serveBaselineMux serves a baseline's handler on addr until ctx ends,
// logging the line startProcess waits for.
func serveBaselineMux(ctx context.Context, addr string, mux http.Handler, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	logger.Info("listening", "url", "http://"+ln.Addr().String())
	return serveUntilDone(ctx, ln, mux)
}

// openBaselineDB opens the database at dbURL as Tandem's store for its engine
// does, creates the baseline's table, and returns execTx, which runs one
// statement in a transaction of its own.
func openBaselineDB(ctx context.Context, dbURL string) (execTx func(ctx context.Context, query string, args ...any) error, closeDB func(), err error) {
	switch {
	case strings.HasPrefix(dbURL, "sqlite:"):
		// store/sqlite's DSN and pool (WAL, one connection), with every
		// commit as durable as Tandem's catalog writes: FULL sync.
		db, err := sql.Open("sqlite", sqlite.DSN(strings.TrimPrefix(dbURL, "sqlite:")))
		if err != nil {
			return nil, nil, err
		}
		db.SetMaxOpenConns(1)
		if _, err := db.ExecContext(ctx, "PRAGMA synchronous = FULL; "+baselineSQLiteSchema); err != nil {
			_ = db.Close()
			return nil, nil, err
		}
		return func(ctx context.Context, query string, args ...any) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}, func() { _ = db.Close() }, nil
	case strings.HasPrefix(dbURL, "postgres://"):
		pool, err := pgxpool.New(ctx, dbURL)
		if err != nil {
			return nil, nil, err
		}
		if _, err := pool.Exec(ctx, baselinePostgresSchema); err != nil {
			pool.Close()
			return nil, nil, err
		}
		return func(ctx context.Context, query string, args ...any) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, query, args...)
				return err
			})
		}, pool.Close, nil
	}
	return nil, nil, errors.New("TANDEM_DATABASE_URL: want sqlite:PATH or postgres://…")
}
