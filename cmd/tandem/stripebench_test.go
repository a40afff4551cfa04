package main

// The Stripe sync benchmarks: how fast changes cross between Tandem and
// Stripe (the emulator) in each direction, how fast Tandem takes Stripe's
// webhooks against a bare baseline, how a burst of edits is coalesced, and
// how closely a backlog follows the rate budget. Run them with
//
//	go test ./cmd/tandem -run '^$' -bench BenchmarkStripe -benchtime 1x
//
// Each runs its fixed workload once, whatever b.N, prints its figures next
// to their targets (printed, never asserted) and reports the key ones to the
// framework. Every wait is bounded: a workload that does not finish in time
// fails its benchmark and says what was missing.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v86"
	"github.com/stripe/stripe-go/v86/webhook"

	"github.com/tandemsync/tandem"
	emulator "github.com/tandemsync/tandem/emulator/stripe"
	"github.com/tandemsync/tandem/store/sqlite"
)

// The benchmarks' Stripe credentials, their workloads and their targets.
const (
	benchStripeKey     = "sk_test_tandem_bench"
	benchWebhookSecret = "whsec_tandem_bench"

	propagationRate        = 20 // changes per second, each direction
	propagationWindow      = 30 * time.Second
	propagationCustomers   = 20 // customers edited on Stripe's dashboard
	propagationBudget      = "25"
	targetOutboundP50      = 150 * time.Millisecond
	targetOutboundP99      = 500 * time.Millisecond
	targetInboundP99       = time.Second
	pollOnlyInterval       = 5 * time.Second // STRIPE_POLL_INTERVAL's default
	targetIngestRatio      = 0.5             // Tandem's webhook req/s at least half the baseline's
	ingestCustomers        = 20              // the customers the webhook events are about
	coalesceCustomers      = 10
	coalesceUpdates        = 1000
	coalesceSpread         = time.Second
	targetCoalescedWrites  = 50
	budgetCreates          = 1000
	budgetRate             = 25 // STRIPE_RATE_LIMIT and the emulator's limit, per second
	targetBudgetRatio      = 1.15
	targetThrottledShare   = 0.01
	webhookBaselineProcess = "webhook-baseline" // TANDEM_TEST_PROCESS of the ingest baseline
)

// stripeMeasured keeps each benchmark's figures: the framework calls a
// benchmark function again when it wants a larger b.N, and the workload
// must run only once.
var stripeMeasured = map[*testing.B]any{}

func measureOnce[T any](b *testing.B, measure func() T) T {
	if v, ok := stripeMeasured[b]; ok {
		return v.(T)
	}
	v := measure()
	stripeMeasured[b] = v
	return v
}

// ---------------------------------------------------------------------------
// 1. Propagation

// propagationEnv gives the propagation runs a budget above their load.
var propagationEnv = map[string]string{"STRIPE_RATE_LIMIT": propagationBudget}

// BenchmarkStripePropagation measures how long a change takes to cross, at
// a steady 20 changes per second for TANDEM_BENCH_DURATION (default 30s),
// with Tandem on SQLite in this process and the emulator's webhooks wired
// to it:
//
//   - local-to-stripe: creates and updates (every other change, of a
//     customer drawn at random among those created) through the API; for
//     each, from the API's answer to the emulator having finished the write
//     that holds it (its Idempotency-Key, tandem:customer:<id>:<op>:v<n>,
//     names the version; a write of a later version holds the earlier
//     changes).
//   - stripe-to-local: updates made on the emulator's dashboard to 20
//     customers in turn; for each, from the edit to the local row showing it
//     (the API's list is read every 10 ms).
//   - stripe-to-local-poll-only: the same with no webhook at all, so every
//     change comes through the events poller (STRIPE_POLL_INTERVAL=5s, the
//     default): target p99 ≤ the interval + 1 s.
//
// All run with STRIPE_RATE_LIMIT=25 (propagationEnv), test mode's limit: 20
// changes/s need 20 writes/s plus the events poller's reads, so the default
// budget of 20 calls/s would be saturated and its queue would grow through
// the run whatever Tandem did.
func BenchmarkStripePropagation(b *testing.B) {
	window := propagationWindow
	if os.Getenv("TANDEM_BENCH_DURATION") != "" {
		window = benchDuration(b)
	}
	b.Run("local-to-stripe", func(b *testing.B) {
		r := measureOnce(b, func() *propagationResult { return measureOutbound(b, window) })
		r.report(b)
	})
	b.Run("stripe-to-local", func(b *testing.B) {
		r := measureOnce(b, func() *propagationResult { return measureInbound(b, window, false) })
		r.report(b)
	})
	b.Run("stripe-to-local-poll-only", func(b *testing.B) {
		r := measureOnce(b, func() *propagationResult { return measureInbound(b, window, true) })
		r.report(b)
	})
}

// propagationResult is one direction's latencies.
type propagationResult struct {
	latencies []time.Duration // sorted
}

func (r *propagationResult) percentile(p float64) time.Duration {
	return (&loadResult{latencies: r.latencies}).percentile(p)
}

func (r *propagationResult) report(b *testing.B) {
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(len(r.latencies)), "changes")
	b.ReportMetric(milliseconds(r.percentile(50)), "p50-ms")
	b.ReportMetric(milliseconds(r.percentile(99)), "p99-ms")
	b.ReportMetric(milliseconds(r.latencies[len(r.latencies)-1]), "max-ms")
}

// localChange is a create or update the API answered.
type localChange struct {
	id       string
	version  int64
	create   bool
	sent     time.Time
	answered time.Time
}

func measureOutbound(b *testing.B, window time.Duration) *propagationResult {
	e := newStripeBenchEnv(b, emulator.Faults{}, propagationEnv)
	var (
		mu      sync.Mutex
		changes []localChange
		pool    []string // customers whose create was answered
		pick    = rand.New(rand.NewPCG(7, 7))
		errs    []string
	)
	ticks := atRate(propagationRate, window, func(i int) {
		mu.Lock()
		create := i%2 == 0 || len(pool) == 0
		var id string
		if !create {
			id = pool[pick.IntN(len(pool))]
		}
		mu.Unlock()
		var out benchLocal
		var err error
		sent := time.Now()
		if create {
			err = callAPI(e.hc, "POST", e.api.base+"/customers", map[string]any{
				"name": fmt.Sprintf("Customer %d", i), "email": fmt.Sprintf("customer-%d@example.com", i),
				"metadata": map[string]string{"seq": strconv.Itoa(i)}}, &out, http.StatusCreated)
		} else {
			err = callAPI(e.hc, "PATCH", e.api.base+"/customers/"+id, map[string]any{
				"name": fmt.Sprintf("Customer %d", i), "metadata": map[string]string{"seq": strconv.Itoa(i)}},
				&out, http.StatusOK)
		}
		answered := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err.Error())
			return
		}
		changes = append(changes, localChange{id: out.ID, version: out.Version, create: create, sent: sent, answered: answered})
		if create {
			pool = append(pool, out.ID)
		}
	})
	loadEnd := time.Now()
	if len(changes) == 0 {
		b.Fatalf("local→Stripe: the API took no change; errors: %v", errs)
	}

	// Wait until every change is in the emulator.
	var applied []time.Time
	deadline := loadEnd.Add(60 * time.Second)
	for {
		var missing int
		applied, missing = matchWrites(changes, e.writes.snapshot())
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("local→Stripe: %d of %d changes still not in the emulator 60s after the load ended", missing, len(changes))
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := &propagationResult{}
	var api []time.Duration
	creates := 0
	for i, c := range changes {
		r.latencies = append(r.latencies, applied[i].Sub(c.answered))
		api = append(api, c.answered.Sub(c.sent))
		if c.create {
			creates++
		}
	}
	slices.Sort(r.latencies)
	slices.Sort(api)
	calls := countCalls(e.em.Requests())

	w := os.Stdout
	fmt.Fprintf(w, "\n%s: %d changes/s for %v (%d creates, %d updates) through the API; Tandem on SQLite in this process, %s\n",
		b.Name(), propagationRate, window, creates, len(changes)-creates, tandemKnobs(propagationEnv))
	fmt.Fprintf(w, "per change: from the API's answer to the emulator having finished the write holding its version\n")
	row := func(cells ...any) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-22s %8s %10s %10s %10s", cells...), " "))
	}
	row("", "changes", "p50", "p99", "max")
	row("local → Stripe", strconv.Itoa(len(r.latencies)), fmtMS(r.percentile(50)), fmtMS(r.percentile(99)),
		fmtMS(r.latencies[len(r.latencies)-1]))
	row("target", "", "≤ "+fmtMS(targetOutboundP50), "≤ "+fmtMS(targetOutboundP99), "")
	row("", "", verdict(r.percentile(50) <= targetOutboundP50), verdict(r.percentile(99) <= targetOutboundP99), "")
	fmt.Fprintf(w, "API answers: p50 %s, p99 %s; %d ticks, %d API errors\n",
		fmtMS((&loadResult{latencies: api}).percentile(50)), fmtMS((&loadResult{latencies: api}).percentile(99)), ticks, len(errs))
	fmt.Fprintf(w, "Stripe calls: %s\n", calls)
	if len(errs) > 0 {
		b.Errorf("local→Stripe: %d API calls failed, first: %s", len(errs), errs[0])
	}
	return r
}

// matchWrites finds, for each change, when the emulator finished the first
// successful write of its record at its version or a later one; missing
// counts the changes with none yet.
func matchWrites(changes []localChange, writes []emulatorWrite) (applied []time.Time, missing int) {
	byID := map[string][]emulatorWrite{}
	for _, w := range writes {
		if w.ID != "" && w.Status == http.StatusOK {
			byID[w.ID] = append(byID[w.ID], w)
		}
	}
	applied = make([]time.Time, len(changes))
	for i, c := range changes {
		for _, w := range byID[c.id] {
			if w.Version >= c.version && (applied[i].IsZero() || w.At.Before(applied[i])) {
				applied[i] = w.At
			}
		}
		if applied[i].IsZero() {
			missing++
		}
	}
	return applied, missing
}

// remoteEdit is an edit made outside Tandem, to record customer, carrying
// seq.
type remoteEdit struct {
	customer int // index in the benchmark's records
	seq      int
	made     time.Time
}

// sighting is when a record was first seen where the edits go holding seq.
type sighting struct {
	at  time.Time
	seq int
}

// editLoad is the outcome of measureEdits.
type editLoad struct {
	latencies *propagationResult
	edits     int
	loadEnd   time.Time
	errs      []string // of the edits
	watchErr  error    // the first of observe
}

// measureEdits makes edits at rate for window: edit i goes to record
// i % records and carries seq i. Meanwhile, every 10 ms, observe reports
// through saw the seq each record holds where the edits should arrive. It
// returns, per edit, the time from the edit to its record first seen with
// that seq or a later one, once every record shows its last edit.
func measureEdits(tb testing.TB, records int, rate float64, window time.Duration, edit func(k, seq int) error,
	observe func(saw func(k, seq int)) error) *editLoad {
	tb.Helper()
	var (
		mu       sync.Mutex
		seen     = make([][]sighting, records)
		last     = make([]int, records) // highest seq seen per record
		watchErr error
	)
	for k := range last {
		last[k] = -1
	}
	stop, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			now := time.Now()
			mu.Lock()
			err := observe(func(k, seq int) {
				if seq > last[k] {
					last[k] = seq
					seen[k] = append(seen[k], sighting{at: now, seq: seq})
				}
			})
			if err != nil && watchErr == nil {
				watchErr = err
			}
			mu.Unlock()
		}
	}()
	stopWatching := sync.OnceFunc(func() { close(stop); <-watched })
	defer stopWatching()

	var (
		cmu     sync.Mutex
		edits   []remoteEdit
		out     = &editLoad{latencies: &propagationResult{}}
		lastSeq = make([]int, records)
	)
	for k := range lastSeq {
		lastSeq[k] = -1
	}
	atRate(rate, window, func(i int) {
		k := i % records
		err := edit(k, i)
		made := time.Now()
		cmu.Lock()
		defer cmu.Unlock()
		if err != nil {
			out.errs = append(out.errs, err.Error())
			return
		}
		edits = append(edits, remoteEdit{customer: k, seq: i, made: made})
		lastSeq[k] = max(lastSeq[k], i)
	})
	out.loadEnd, out.edits = time.Now(), len(edits)
	if len(edits) == 0 {
		tb.Fatalf("no edit was made; errors: %v", out.errs)
	}
	waitFor(tb, 60*time.Second, "every edit to arrive", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for k := range lastSeq {
			if last[k] < lastSeq[k] {
				return false
			}
		}
		return true
	})
	stopWatching()
	for _, c := range edits {
		for _, s := range seen[c.customer] {
			if s.seq >= c.seq {
				out.latencies.latencies = append(out.latencies.latencies, s.at.Sub(c.made))
				break
			}
		}
	}
	slices.Sort(out.latencies.latencies)
	out.watchErr = watchErr
	return out
}

func measureInbound(b *testing.B, window time.Duration, pollOnly bool) *propagationResult {
	env, target, mode := maps.Clone(propagationEnv), targetInboundP99, "webhooks and polls"
	if pollOnly {
		env["STRIPE_POLL_INTERVAL"] = pollOnlyInterval.String()
		target, mode = pollOnlyInterval+time.Second, "polls only (no webhook), STRIPE_POLL_INTERVAL="+pollOnlyInterval.String()
	}
	e := newStripeBenchEnv(b, emulator.Faults{}, env)
	ids := make([]string, propagationCustomers)
	index := map[string]int{}
	for k := range ids {
		ids[k] = e.api.mustCreate(fmt.Sprintf("Dashboard customer %d", k)).ID
		index[ids[k]] = k
	}
	remote := e.waitLinked(ids, 30*time.Second)
	if pollOnly {
		if err := e.em.SetWebhook(emulator.Webhook{}); err != nil {
			b.Fatal(err)
		}
		e.waitPolling(stripeName)
	}

	load := measureEdits(b, len(ids), propagationRate, window, func(k, seq int) error {
		_, err := e.em.Dashboard().UpdateCustomer(remote[k], emulator.CustomerParams{
			Name: str(fmt.Sprintf("Dashboard customer %d edit %d", k, seq)), Metadata: map[string]string{"seq": strconv.Itoa(seq)}})
		return err
	}, func(saw func(k, seq int)) error {
		// The local rows, through the API.
		var page struct{ Data []benchLocal }
		err := callAPI(e.hc, "GET", e.api.base+"/customers?limit=100", nil, &page, http.StatusOK)
		for _, c := range page.Data {
			k, ok := index[c.ID]
			if seq, err := strconv.Atoi(c.Metadata["seq"]); ok && err == nil {
				saw(k, seq)
			}
		}
		return err
	})
	r, loadEnd, errs, watchErr := load.latencies, load.loadEnd, load.errs, load.watchErr
	calls := countCalls(e.em.Requests())
	w := os.Stdout
	fmt.Fprintf(w, "\n%s: %d dashboard edits/s for %v over %d customers, %s; Tandem on SQLite in this process, %s\n",
		b.Name(), propagationRate, window, len(ids), mode, tandemKnobs(env))
	fmt.Fprintf(w, "per edit: from the edit in the emulator to the local row showing it (the API's list read every 10 ms)\n")
	row := func(cells ...any) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-22s %8s %10s %10s %10s", cells...), " "))
	}
	row("", "changes", "p50", "p99", "max")
	row("Stripe → local", strconv.Itoa(len(r.latencies)), fmtMS(r.percentile(50)), fmtMS(r.percentile(99)),
		fmtMS(r.latencies[len(r.latencies)-1]))
	row("target", "", "", "≤ "+fmtMS(target), "")
	row("", "", "", verdict(r.percentile(99) <= target), "")
	fmt.Fprintf(w, "all edits in Tandem %v after the last one; Tandem's Stripe calls during the run: %s\n",
		time.Since(loadEnd).Round(time.Millisecond), calls)
	if len(errs) > 0 || watchErr != nil {
		b.Errorf("Stripe→local: %d dashboard edits failed %v; watcher error: %v", len(errs), errs, watchErr)
	}
	return r
}

// ---------------------------------------------------------------------------
// 2. Webhook ingest

// BenchmarkStripeWebhookIngest drives POST /webhooks/stripe with validly
// signed customer.updated events (distinct ids, about 20 customers Tandem
// created and linked) from 32 concurrent clients for TANDEM_BENCH_DURATION
// (default 10s, after a 1s warm-up), TANDEM_BENCH_ROUNDS times (default 3):
// against Tandem (a child process on SQLite, its Stripe API an emulator in
// this process), then against a baseline child process that checks the same
// signature and inserts the event (id, payload) in one durable transaction
// into SQLite. Tandem answers 200 once the event and its apply job are
// committed; the apply jobs then run in the background, against the
// emulator, and are part of the cost.
func BenchmarkStripeWebhookIngest(b *testing.B) {
	window := benchDuration(b)
	c := measureOnce(b, func() *comparison {
		c := &comparison{load: "POST /webhooks/stripe (signed customer.updated events)", window: window,
			targets: targets{throughput: targetIngestRatio}}
		for i := range benchRounds(b) {
			tandemRes, objects, backlog := measureIngestTandem(b, window, i)
			baseline := startProcess(b, "TANDEM_DATABASE_URL=sqlite:"+filepath.Join(b.TempDir(), "baseline.db"),
				"TANDEM_TEST_PROCESS="+webhookBaselineProcess, "STRIPE_WEBHOOK_SECRET="+benchWebhookSecret)
			baselineRes := measureIngestServer(b, "baseline", baseline, window, objects, fmt.Sprintf("r%db", i))
			c.rounds = append(c.rounds, round{baseline: baselineRes, tandem: tandemRes})
			c.notes = append(c.notes, "tandem at the end: "+backlog)
		}
		c.print(os.Stdout, b.Name())
		return c
	})
	c.report(b)
}

// measureIngestTandem starts an emulator and Tandem in a child process
// wired to it, creates the customers the events will be about, loads
// Tandem's webhook endpoint, and returns its figures, the customers' Stripe
// objects (for the baseline's events) and its apply queue at the end.
func measureIngestTandem(b *testing.B, window time.Duration, round int) (*serverResult, []map[string]any, string) {
	em, srv, _ := startBenchEmulator(b, emulator.Faults{})
	defer func() { srv.Close(); _ = em.Close() }()
	dbPath := filepath.Join(b.TempDir(), "tandem.db")
	p := startProcess(b, "TANDEM_DATABASE_URL=sqlite:"+dbPath, "STRIPE_SECRET_KEY="+benchStripeKey,
		"STRIPE_API_URL="+srv.URL, "STRIPE_WEBHOOK_SECRET="+benchWebhookSecret)
	if err := em.SetWebhook(emulator.Webhook{URL: p.URL + "/webhooks/stripe", Secret: benchWebhookSecret}); err != nil {
		b.Fatal(err)
	}
	api := &client{t: b, base: p.URL}
	ids := make([]string, ingestCustomers)
	for k := range ids {
		ids[k] = api.mustCreate(fmt.Sprintf("Webhook customer %d", k)).ID
	}
	remote := waitLinked(b, em, api, ids, 30*time.Second)
	objects := make([]map[string]any, len(remote))
	for k, id := range remote {
		objects[k] = stripeObject(b, srv.URL, id)
	}
	res := measureIngestServer(b, "tandem", p, window, objects, fmt.Sprintf("r%dt", round))
	return res, objects, applyBacklog(dbPath)
}

// measureIngestServer loads the webhook endpoint of the child process proc
// with events about objects, their ids starting with idPrefix, reads its
// peak RSS and stops it.
func measureIngestServer(b *testing.B, name string, proc *process, window time.Duration, objects []map[string]any, idPrefix string) *serverResult {
	feed := &eventFeed{objects: objects, prefix: idPrefix}
	url := proc.URL + "/webhooks/stripe"
	load := runRequests(b, window, func(hc *http.Client, _, _ int) error {
		body, sig, err := feed.next()
		if err != nil {
			return err
		}
		req, err := http.NewRequest("POST", url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("Stripe-Signature", sig)
		return answered(hc.Do(req))(http.StatusOK)
	})
	rss := peakRSSMiB(b, proc.cmd.Process.Pid)
	proc.Kill(b)
	return &serverResult{name: name, load: load, peakRSSMiB: rss}
}

// eventFeed makes signed customer.updated events about its objects, each
// with a new id and name.
type eventFeed struct {
	objects []map[string]any
	prefix  string
	n       atomic.Int64
}

func (f *eventFeed) next() (body []byte, signature string, err error) {
	n := f.n.Add(1)
	obj := maps.Clone(f.objects[int(n)%len(f.objects)])
	previous, err := json.Marshal(map[string]any{"name": obj["name"]})
	if err != nil {
		return nil, "", err
	}
	obj["name"] = fmt.Sprintf("Webhook edit %d", n)
	object, err := json.Marshal(obj)
	if err != nil {
		return nil, "", err
	}
	reqID := fmt.Sprintf("req_bench%s%d", f.prefix, n)
	body, err = json.Marshal(emulator.Event{
		ID: fmt.Sprintf("evt_bench%s%d", f.prefix, n), Object: "event", APIVersion: stripego.APIVersion,
		Created: time.Now().Unix(), Type: "customer.updated", PendingWebhooks: 1,
		Data:    emulator.EventData{Object: object, PreviousAttributes: previous},
		Request: emulator.EventRequest{ID: &reqID},
	})
	if err != nil {
		return nil, "", err
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: benchWebhookSecret})
	return body, signed.Header, nil
}

// applyBacklog reads, from a stopped Tandem's SQLite database, how many
// events it stored and where their apply jobs were.
func applyBacklog(dbPath string) string {
	db, err := sql.Open("sqlite", sqlite.DSN(dbPath))
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	var inbox int
	if err := db.QueryRow(`SELECT count(*) FROM inbox`).Scan(&inbox); err != nil {
		return err.Error()
	}
	rows, err := db.Query(`SELECT state, count(*) FROM river_job WHERE kind = 'apply' GROUP BY state ORDER BY state`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var states []string
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return err.Error()
		}
		states = append(states, fmt.Sprintf("%s %d", state, n))
	}
	return fmt.Sprintf("%d events stored; apply jobs: %s", inbox, strings.Join(states, ", "))
}

// serveWebhookBaseline is the ingest benchmark's baseline: a bare net/http
// server on addr whose POST /webhooks/stripe checks the Stripe signature
// with secret, reads the event's id and inserts (id, payload) in a
// transaction of its own into the database at dbURL, opened as the create
// baseline's (openBaselineDB: Tandem's DSN, FULL sync on SQLite).
func serveWebhookBaseline(ctx context.Context, addr, dbURL, secret string) error {
	execTx, closeDB, err := openBaselineDB(ctx, dbURL)
	if err != nil {
		return err
	}
	defer closeDB()
	payloadType := "BLOB"
	if !strings.HasPrefix(dbURL, "sqlite:") {
		payloadType = "BYTEA"
	}
	if err := execTx(ctx, `CREATE TABLE webhook_events (event_id TEXT PRIMARY KEY, payload `+payloadType+` NOT NULL)`); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/stripe", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := webhook.ValidatePayload(body, r.Header.Get("Stripe-Signature"), secret); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var ev struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
			http.Error(w, "not an event", http.StatusBadRequest)
			return
		}
		if err := execTx(r.Context(), `INSERT INTO webhook_events (event_id, payload) VALUES ($1, $2)
			ON CONFLICT (event_id) DO NOTHING`, ev.ID, body); err != nil {
			logger.Error("insert event", "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"received":1}`)
	})
	return serveBaselineMux(ctx, addr, mux, logger)
}

// ---------------------------------------------------------------------------
// 3. Coalescing

// BenchmarkStripeCoalescing sends 1,000 updates spread over 10 customers
// within one second through the API (the customers created first and in
// Stripe), waits until both sides agree, and counts the Stripe writes Tandem
// made for those updates.
func BenchmarkStripeCoalescing(b *testing.B) {
	type result struct {
		writes, correct int
		burst           time.Duration
	}
	r := measureOnce(b, func() result {
		e := newStripeBenchEnv(b, emulator.Faults{}, nil)
		ids := make([]string, coalesceCustomers)
		for k := range ids {
			ids[k] = e.api.mustCreate(fmt.Sprintf("Coalesced customer %d", k)).ID
		}
		e.waitLinked(ids, 30*time.Second)
		e.waitQuiet(500*time.Millisecond, 30*time.Second)
		mark, requestMark := len(e.writes.snapshot()), len(e.em.Requests())

		var (
			mu      sync.Mutex
			errs    []string
			lastAns time.Time
		)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range benchClients {
			wg.Go(func() {
				for n := w; n < coalesceUpdates; n += benchClients {
					time.Sleep(time.Until(start.Add(time.Duration(n) * coalesceSpread / coalesceUpdates)))
					k := n % len(ids)
					err := callAPI(e.hc, "PATCH", e.api.base+"/customers/"+ids[k], map[string]any{
						"name": fmt.Sprintf("Coalesced customer %d update %d", k, n), "metadata": map[string]string{"seq": strconv.Itoa(n)}},
						nil, http.StatusOK)
					now := time.Now()
					mu.Lock()
					if err != nil {
						errs = append(errs, err.Error())
					}
					if now.After(lastAns) {
						lastAns = now
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		burst := lastAns.Sub(start)

		// Both sides should agree soon; when they still differ after 30s, the
		// figures are printed with what differs and the benchmark fails.
		for deadline := time.Now().Add(30 * time.Second); len(e.compare(ids)) > 0 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		e.waitQuiet(time.Second, 30*time.Second)
		diffs := e.compare(ids)

		var posts, ok200 int
		for _, w := range e.writes.snapshot()[mark:] {
			if w.Method == http.MethodPost {
				posts++
				if w.Status == http.StatusOK {
					ok200++
				}
			}
		}
		calls := countCalls(e.em.Requests()[requestMark:])
		w := os.Stdout
		fmt.Fprintf(w, "\n%s: %d PATCH /customers/{id} over %d customers scheduled within %v (32 clients); Tandem on SQLite in this process, %s\n",
			b.Name(), coalesceUpdates, len(ids), coalesceSpread, tandemKnobs(nil))
		row := func(cells ...any) {
			fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-16s %14s %14s %14s", cells...), " "))
		}
		row("", "last answer", "Stripe writes", "final state")
		row("measured", burst.Round(time.Millisecond).String(), fmt.Sprintf("%d (%d ok)", posts, ok200),
			fmt.Sprintf("%d/%d equal", len(ids)-len(diffs), len(ids)))
		row("target", "≈ "+coalesceSpread.String(), fmt.Sprintf("≤ %d", targetCoalescedWrites), "all equal")
		row("", verdict(burst <= coalesceSpread+coalesceSpread/10), verdict(posts <= targetCoalescedWrites), verdict(len(diffs) == 0))
		fmt.Fprintf(w, "Stripe calls after the burst started: %s; %d API errors\n", calls, len(errs))
		for _, d := range diffs {
			fmt.Fprintln(w, "differs:", d)
		}
		if len(errs) > 0 {
			b.Errorf("%d updates failed, first: %s", len(errs), errs[0])
		}
		if len(diffs) > 0 {
			b.Errorf("coalescing: %d of %d customers still differ between Tandem and Stripe 30s after the burst:\n%s",
				len(diffs), len(ids), strings.Join(diffs, "\n"))
		}
		return result{writes: posts, correct: len(ids) - len(diffs), burst: burst}
	})
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(r.writes), "stripe-writes")
	b.ReportMetric(float64(r.correct), "customers-equal")
	b.ReportMetric(milliseconds(r.burst), "burst-ms")
}

// ---------------------------------------------------------------------------
// 4. Rate budget

// BenchmarkStripeRateBudget: with STRIPE_RATE_LIMIT=25 and the emulator
// limited to 25 requests per second, 1,000 creates through the API (32
// clients, as fast as it takes them) must reach Stripe exactly once each,
// close to the 40 s the limit allows at best, with hardly any 429.
func BenchmarkStripeRateBudget(b *testing.B) {
	type result struct {
		elapsed          time.Duration // first create to last write in Stripe
		throttled        float64       // share of the calls answered 429
		lost, duplicated int
	}
	r := measureOnce(b, func() result {
		env := map[string]string{"STRIPE_RATE_LIMIT": strconv.Itoa(budgetRate)}
		e := newStripeBenchEnv(b, emulator.Faults{RateLimit: budgetRate}, env)
		first := time.Now()
		ids := e.createAll(budgetCreates, "/customers", func(n int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("Budget customer %d", n), "email": fmt.Sprintf("budget-%d@example.com", n),
				"metadata": map[string]string{"plan": "pro"}}
		})
		apiTook := time.Since(first)
		floor := time.Duration(float64(budgetCreates) / budgetRate * float64(time.Second))
		timeout := 3*floor + 30*time.Second
		inStripe := func() (distinct, extra int) {
			n := map[string]int{}
			for _, c := range e.em.Customers() {
				if id := c.Metadata["tandem_id"]; ids[id] && !c.Deleted {
					n[id]++
				}
			}
			for _, k := range n {
				extra += k - 1
			}
			return len(n), extra
		}
		for {
			distinct, _ := inStripe()
			if distinct == len(ids) {
				break
			}
			if time.Since(first) > timeout {
				b.Fatalf("rate budget: %d of %d customers in the emulator %v after the first create", distinct, len(ids), timeout)
			}
			time.Sleep(250 * time.Millisecond)
		}
		e.waitQuiet(2*time.Second, 60*time.Second)
		distinct, extra := inStripe()

		var last time.Time
		for _, w := range e.writes.snapshot() {
			if w.Method == http.MethodPost && w.Path == "/v1/customers" && w.Status == http.StatusOK && w.At.After(last) {
				last = w.At
			}
		}
		reqs := e.em.Requests()
		throttledN := 0
		for _, q := range reqs {
			if q.Status == http.StatusTooManyRequests {
				throttledN++
			}
		}
		res := result{elapsed: last.Sub(first), throttled: float64(throttledN) / float64(len(reqs)),
			lost: len(ids) - distinct, duplicated: extra}
		ratio := float64(res.elapsed) / float64(floor)

		w := os.Stdout
		fmt.Fprintf(w, "\n%s: %d POST /customers (32 clients; the API took them in %v), emulator limit %d/s; Tandem on SQLite in this process, %s\n",
			b.Name(), budgetCreates, apiTook.Round(time.Millisecond), budgetRate, tandemKnobs(env))
		row := func(cells ...any) {
			fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-10s %16s %8s %8s %12s %6s %10s", cells...), " "))
		}
		row("", "first create →", "floor", "ratio", "answered 429", "lost", "duplicated")
		row("", "last in Stripe", "", "", "", "", "")
		row("measured", res.elapsed.Round(time.Millisecond).String(), floor.String(), fmt.Sprintf("%.3f×", ratio),
			fmt.Sprintf("%.2f%%", 100*res.throttled), strconv.Itoa(res.lost), strconv.Itoa(res.duplicated))
		row("target", "", "", fmt.Sprintf("≤ %.2f×", targetBudgetRatio), fmt.Sprintf("< %.0f%%", 100*targetThrottledShare), "0", "0")
		row("", "", "", verdict(ratio <= targetBudgetRatio), verdict(res.throttled < targetThrottledShare),
			verdict(res.lost == 0), verdict(res.duplicated == 0))
		fmt.Fprintf(w, "Stripe calls: %s\n", countCalls(reqs))
		return res
	})
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(r.elapsed.Seconds(), "elapsed-s")
	b.ReportMetric(float64(r.elapsed)/float64(time.Duration(float64(budgetCreates)/budgetRate*float64(time.Second))), "floor-ratio")
	b.ReportMetric(100*r.throttled, "429-%")
	b.ReportMetric(float64(r.lost), "lost")
	b.ReportMetric(float64(r.duplicated), "duplicated")
}

// ---------------------------------------------------------------------------
// Shared: the emulator with its log of writes, Tandem in this process.

// emulatorWrite is a request with a tandem: Idempotency-Key the emulator
// finished handling, with what its key names.
type emulatorWrite struct {
	Method, Path, Key string
	ID, Op            string // the record and operation the key names
	Version           int64
	Status            int
	At                time.Time // when the emulator's handler returned
}

// writeLog records the emulator's tandem: requests as they finish.
type writeLog struct {
	mu     sync.Mutex
	writes []emulatorWrite
}

func (l *writeLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if !strings.HasPrefix(key, "tandem:") {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		at := time.Now()
		rec := emulatorWrite{Method: r.Method, Path: r.URL.Path, Key: key, Status: sw.status, At: at}
		if rec.Status == 0 {
			rec.Status = http.StatusOK
		}
		// tandem:<kind>:<id>:<op>:v<version>[:<retry suffix>]
		if parts := strings.Split(key, ":"); len(parts) >= 5 && strings.HasPrefix(parts[4], "v") {
			if v, err := strconv.ParseInt(parts[4][1:], 10, 64); err == nil {
				rec.ID, rec.Op, rec.Version = parts[2], parts[3], v
			}
		}
		l.mu.Lock()
		l.writes = append(l.writes, rec)
		l.mu.Unlock()
	})
}

func (l *writeLog) snapshot() []emulatorWrite {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.writes)
}

// statusWriter notes the status an http.Handler answers.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// startBenchEmulator serves a fresh emulator with faults, its webhook
// retries quick, behind a writeLog.
func startBenchEmulator(tb testing.TB, faults emulator.Faults) (*emulator.Emulator, *httptest.Server, *writeLog) {
	tb.Helper()
	em, err := emulator.New(emulator.Config{SecretKey: benchStripeKey, Seed: 7, Faults: faults,
		WebhookBackoff: 20 * time.Millisecond, WebhookAttempts: 8})
	if err != nil {
		tb.Fatal(err)
	}
	log := &writeLog{}
	srv := httptest.NewServer(log.wrap(em))
	tb.Cleanup(func() { srv.Close(); _ = em.Close() })
	return em, srv, log
}

// stripeBenchEnv is Tandem running in this process on a fresh SQLite
// database against an emulator whose webhooks reach it.
type stripeBenchEnv struct {
	tb     testing.TB
	em     *emulator.Emulator
	writes *writeLog
	api    *client      // for the benchmark's own goroutine
	hc     *http.Client // for the load's goroutines
	dbPath string       // Tandem's SQLite database
}

func newStripeBenchEnv(tb testing.TB, faults emulator.Faults, env map[string]string) *stripeBenchEnv {
	tb.Helper()
	em, srv, log := startBenchEmulator(tb, faults)
	if env == nil {
		env = map[string]string{}
	}
	dbPath := filepath.Join(tb.TempDir(), "tandem.db")
	env["TANDEM_DATABASE_URL"] = "sqlite:" + dbPath
	env["STRIPE_SECRET_KEY"] = benchStripeKey
	env["STRIPE_API_URL"] = srv.URL
	env["STRIPE_WEBHOOK_SECRET"] = benchWebhookSecret
	env["TANDEM_SHUTDOWN_TIMEOUT"] = "5s"
	api := serveInProcess(tb, env)
	if err := em.SetWebhook(emulator.Webhook{URL: api.base + "/webhooks/stripe", Secret: benchWebhookSecret}); err != nil {
		tb.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * benchClients
	tb.Cleanup(tr.CloseIdleConnections)
	return &stripeBenchEnv{tb: tb, em: em, writes: log, api: api,
		hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, dbPath: dbPath}
}

// stripeName is the Stripe integration's name.
const stripeName = "stripe"

// waitPolling waits until the events poller of integration has read once
// after its first run (which only sets its cursor): from then on, a change
// waits at most one interval for the next poll. The workload of a polling
// benchmark starts only then, so that it measures the steady state, not
// the process's start (River elects the leader that schedules the polls
// seconds after it starts).
func (e *stripeBenchEnv) waitPolling(integration string) {
	e.tb.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(e.dbPath))
	if err != nil {
		e.tb.Fatal(err)
	}
	defer db.Close()
	updates := func() (at string) {
		_ = db.QueryRow(`SELECT updated_at FROM cursors WHERE integration = ?`, integration).Scan(&at)
		return at
	}
	var first string
	waitFor(e.tb, 60*time.Second, "the poller of "+integration+" started", func() bool { first = updates(); return first != "" })
	waitFor(e.tb, 60*time.Second, "a second poll of "+integration, func() bool { return updates() != first })
}

// createAll POSTs body(n) to path for n from 1 to count, from
// benchClients concurrent clients, and returns the ids created; any
// failure fails the benchmark.
func (e *stripeBenchEnv) createAll(count int, path string, body func(n int) map[string]any) map[string]bool {
	var (
		mu   sync.Mutex
		ids  = map[string]bool{}
		errs []string
		next atomic.Int64
	)
	var wg sync.WaitGroup
	for range benchClients {
		wg.Go(func() {
			for n := int(next.Add(1)); n <= count; n = int(next.Add(1)) {
				var out benchLocal
				err := callAPI(e.hc, "POST", e.api.base+path, body(n), &out, http.StatusCreated)
				mu.Lock()
				if err != nil {
					errs = append(errs, err.Error())
				} else {
					ids[out.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		e.tb.Fatalf("%d creates of %s failed, first: %s", len(errs), path, errs[0])
	}
	return ids
}

// tunables are the settings a run of the in-process benchmarks takes from
// the test's environment when set there (the product's defaults otherwise),
// to see what they change; a benchmark's own settings win.
var tunables = []string{"TANDEM_QUEUE_POLL_INTERVAL", "TANDEM_WORKERS", "STRIPE_RATE_LIMIT"}

// tandemKnobs describes the settings of an in-process run whose env sets
// them or leaves them to the tunables and the defaults.
func tandemKnobs(env map[string]string) string {
	get := func(k, def string) string {
		if v := env[k]; v != "" {
			return v
		}
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	return fmt.Sprintf("queue poll %s, %s workers, STRIPE_RATE_LIMIT=%s", get("TANDEM_QUEUE_POLL_INTERVAL", "50ms"),
		get("TANDEM_WORKERS", "10"), get("STRIPE_RATE_LIMIT", "20"))
}

// serveInProcess runs `tandem serve` in this process (runInProcess), with
// the tunables the environment sets.
func serveInProcess(tb testing.TB, env map[string]string) *client {
	tb.Helper()
	for _, k := range tunables {
		if v := os.Getenv(k); v != "" && env[k] == "" {
			env[k] = v
		}
	}
	return runInProcess(tb, env)
}

func (e *stripeBenchEnv) waitLinked(ids []string, timeout time.Duration) []string {
	e.tb.Helper()
	return waitLinked(e.tb, e.em, e.api, ids, timeout)
}

// waitLinked waits until each local customer id is once in the emulator,
// its link is synced and the emulator's webhooks are delivered; it returns
// the customers' Stripe ids.
func waitLinked(tb testing.TB, em *emulator.Emulator, api *client, ids []string, timeout time.Duration) []string {
	tb.Helper()
	remote := make([]string, len(ids))
	waitFor(tb, timeout, fmt.Sprintf("%d customers in the emulator and synced", len(ids)), func() bool {
		byTandemID := map[string][]string{}
		for _, c := range em.Customers() {
			if !c.Deleted {
				byTandemID[c.Metadata["tandem_id"]] = append(byTandemID[c.Metadata["tandem_id"]], c.ID)
			}
		}
		for i, id := range ids {
			if len(byTandemID[id]) != 1 || syncStatus(api, id) != "synced" {
				return false
			}
			remote[i] = byTandemID[id][0]
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := em.WaitWebhooks(ctx); err != nil {
		tb.Fatalf("the emulator's webhooks still pending after %v: %v", timeout, err)
	}
	return remote
}

// waitQuiet waits until the emulator has delivered its webhooks and Tandem
// has sent it no tandem: request for quiet.
func (e *stripeBenchEnv) waitQuiet(quiet, timeout time.Duration) {
	e.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := e.em.WaitWebhooks(ctx)
		cancel()
		if err != nil {
			e.tb.Fatalf("the emulator's webhooks still pending after %v", timeout)
		}
		n := len(e.writes.snapshot())
		time.Sleep(quiet)
		if len(e.writes.snapshot()) == n && e.em.WaitWebhooks(context.Background()) == nil {
			return
		}
		if time.Now().After(deadline) {
			e.tb.Fatalf("Tandem still writing to the emulator %v later", timeout)
		}
	}
}

// compare returns how each local customer differs from its Stripe customer
// and link (nothing when they agree and the link is synced).
func (e *stripeBenchEnv) compare(ids []string) []string {
	byTandemID := map[string][]emulator.Customer{}
	for _, c := range e.em.Customers() {
		if !c.Deleted {
			byTandemID[c.Metadata["tandem_id"]] = append(byTandemID[c.Metadata["tandem_id"]], c)
		}
	}
	var diffs []string
	for _, id := range ids {
		var l benchLocal
		if err := callAPI(e.hc, "GET", e.api.base+"/customers/"+id, nil, &l, http.StatusOK); err != nil {
			diffs = append(diffs, id+": "+err.Error())
			continue
		}
		scs := byTandemID[id]
		if len(scs) != 1 {
			diffs = append(diffs, fmt.Sprintf("%s: %d Stripe customers", id, len(scs)))
			continue
		}
		if d := l.differs(scs[0]); d != "" {
			diffs = append(diffs, id+": "+d)
			continue
		}
		if s := syncStatus(e.api, id); s != "synced" {
			diffs = append(diffs, id+": link "+s)
		}
	}
	return diffs
}

// benchLocal is a customer as the API answers it.
type benchLocal struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Phone    string            `json:"phone"`
	Address  tandem.Address    `json:"address"`
	Metadata map[string]string `json:"metadata"`
	Version  int64             `json:"version"`
}

// differs says how the Stripe customer sc differs from l, "" if it holds
// the same fields and l's id as tandem_id.
func (l benchLocal) differs(sc emulator.Customer) string {
	var addr tandem.Address
	if sc.Address != nil {
		a := sc.Address
		addr = tandem.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}
	}
	meta := maps.Clone(sc.Metadata)
	delete(meta, "tandem_id")
	switch {
	case sc.Metadata["tandem_id"] != l.ID:
		return "tandem_id " + sc.Metadata["tandem_id"]
	case sc.Name != l.Name || sc.Email != l.Email || sc.Phone != l.Phone:
		return fmt.Sprintf("local %q %q %q, Stripe %q %q %q", l.Name, l.Email, l.Phone, sc.Name, sc.Email, sc.Phone)
	case addr != l.Address:
		return fmt.Sprintf("address: local %+v, Stripe %+v", l.Address, addr)
	case !maps.Equal(meta, l.Metadata) && len(meta)+len(l.Metadata) > 0:
		return fmt.Sprintf("metadata: local %v, Stripe %v", l.Metadata, meta)
	}
	return ""
}

// syncStatus is the status of the Stripe link of the local customer id.
func syncStatus(api *client, id string) string {
	var s struct {
		Data []struct{ Integration, Status string }
	}
	if resp := api.do("GET", "/customers/"+id+"/sync", nil, &s); resp.StatusCode != http.StatusOK {
		return resp.Status
	}
	for _, l := range s.Data {
		if l.Integration == "stripe" {
			return l.Status
		}
	}
	return "no link"
}

// stripeObject reads the Stripe customer id from the emulator at stripeURL
// as Stripe's JSON.
func stripeObject(tb testing.TB, stripeURL, id string) map[string]any {
	tb.Helper()
	req, err := http.NewRequest("GET", stripeURL+"/v1/customers/"+id, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+benchStripeKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var obj map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("read Stripe customer %s: %s %v", id, resp.Status, err)
	}
	return obj
}

// callAPI sends a JSON request and decodes the answer into out (when not
// nil); any status but want is an error. It is safe in any goroutine.
func callAPI(hc *http.Client, method, url string, body, out any, want int) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: answer %s", method, req.URL.Path, resp.Status)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// atRate calls fn(0), fn(1), … each in its own goroutine at perSecond from
// now until window has passed, waits for them all, and returns how many it
// started. A slow call does not delay the next.
func atRate(perSecond float64, window time.Duration, fn func(i int)) int {
	interval := time.Duration(float64(time.Second) / perSecond)
	start := time.Now()
	var wg sync.WaitGroup
	n := 0
	for ; time.Duration(n)*interval < window; n++ {
		time.Sleep(time.Until(start.Add(time.Duration(n) * interval)))
		i := n
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
	return n
}

// countCalls summarises API requests the emulator answered.
func countCalls(reqs []emulator.Request) string {
	var writes, writesOK, reads, throttled int
	for _, r := range reqs {
		if r.Method == http.MethodGet {
			reads++
		} else {
			writes++
			if r.Status == http.StatusOK {
				writesOK++
			}
		}
		if r.Status == http.StatusTooManyRequests {
			throttled++
		}
	}
	return fmt.Sprintf("%d writes (%d answered 200), %d reads, %d answered 429", writes, writesOK, reads, throttled)
}

func fmtMS(d time.Duration) string { return fmt.Sprintf("%.1f ms", milliseconds(d)) }
