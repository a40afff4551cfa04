package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/connector/salesforce"
	sfemulator "github.com/tandemsync/tandem/emulator/salesforce"
	"github.com/tandemsync/tandem/store/sqlite"
	"github.com/tandemsync/tandem/store/sqlstore"
)

// The Salesforce batching benchmark's workload and target.
const (
	batchingChanges      = 10_000
	targetCompositeCalls = 60
)

// BenchmarkSalesforceBatching: TANDEM_BENCH_SALESFORCE_CHANGES (default
// 10,000) local changes wait to be pushed to Salesforce (customers created
// through the store, each write enqueueing its push in its transaction, as
// the API's creates do, while Tandem is down), then Tandem starts in this
// process on that SQLite database with Salesforce only, against the
// emulator, with its default settings. It counts the composite upserts and
// all the API calls Tandem made until every customer is a Contact, once.
// Target: at most 60 composite calls for 10,000 changes.
func BenchmarkSalesforceBatching(b *testing.B) {
	n := batchingChanges
	if v := os.Getenv("TANDEM_BENCH_SALESFORCE_CHANGES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("TANDEM_BENCH_SALESFORCE_CHANGES=%q: want a positive number", v)
		}
	}
	type result struct {
		composite, calls, contacts int
		took                       time.Duration
	}
	r := measureOnce(b, func() result {
		sf, srv := serveSalesforceEmulator(b, sfemulator.Faults{}, nil)
		dbPath := filepath.Join(b.TempDir(), "tandem.db")
		seedStart := time.Now()
		ids := seedWaitingPushes(b, dbPath, n)
		seeded := time.Since(seedStart)

		start := time.Now()
		api := serveInProcess(b, map[string]string{"TANDEM_DATABASE_URL": "sqlite:" + dbPath,
			"SALESFORCE_CLIENT_ID": salesforceTestClientID, "SALESFORCE_CLIENT_SECRET": salesforceTestClientSecret,
			"SALESFORCE_LOGIN_URL": srv.URL})
		var contacts int
		for deadline := start.Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
			if contacts = len(contactsOf(sf, ids)); contacts == len(ids) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d customers are Contacts 5 minutes after the start", contacts, len(ids))
			}
		}
		took := time.Since(start)
		r := result{contacts: contacts, took: took}
		reqs := sf.Requests()
		r.calls = len(reqs)
		for _, q := range reqs {
			if strings.Contains(q.Path, "/composite/") {
				r.composite++
			}
		}
		total := 0
		for _, cs := range liveContacts(sf) {
			total += len(cs)
		}
		if total != contacts {
			b.Errorf("%d Contacts for %d customers", total, contacts)
		}
		if f := api.failures(); len(f) > 0 {
			b.Errorf("%d pushes parked, first %+v", len(f), f[0])
		}

		w := os.Stdout
		fmt.Fprintf(w, "\n%s: %d customers created while Tandem was down (seeded in %v), then Tandem started on SQLite in this process with Salesforce only (emulator); queue poll %s, TANDEM_WORKERS %s\n",
			b.Name(), n, seeded.Round(time.Millisecond), cmp.Or(os.Getenv("TANDEM_QUEUE_POLL_INTERVAL"), "50ms"),
			cmp.Or(os.Getenv("TANDEM_WORKERS"), "10"))
		row := func(cells ...any) {
			fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-10s %16s %14s %10s %14s", cells...), " "))
		}
		row("", "composite calls", "all API calls", "contacts", "start → last")
		row("measured", strconv.Itoa(r.composite), strconv.Itoa(r.calls), strconv.Itoa(r.contacts), took.Round(time.Millisecond).String())
		target := targetCompositeCalls * n / batchingChanges
		row("target", "≤ "+strconv.Itoa(target), "", strconv.Itoa(n), "")
		row("", verdict(r.composite <= target), "", verdict(r.contacts == n), "")
		fmt.Fprintf(w, "%.1f records per composite call\n", float64(r.contacts)/float64(max(r.composite, 1)))
		return r
	})
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(r.composite), "composite-calls")
	b.ReportMetric(float64(r.calls), "salesforce-calls")
	b.ReportMetric(float64(r.contacts), "contacts")
	b.ReportMetric(r.took.Seconds(), "s")
}

// serveSalesforceEmulator serves a fresh Salesforce emulator with faults
// and the behaviour tests' credentials; inFlight, unless nil, counts the
// composite upserts it is answering.
func serveSalesforceEmulator(tb testing.TB, faults sfemulator.Faults, inFlight *atomic.Int64) (*sfemulator.Emulator, *httptest.Server) {
	tb.Helper()
	sf, err := sfemulator.New(sfemulator.Config{ClientID: salesforceTestClientID, ClientSecret: salesforceTestClientSecret,
		Faults: faults})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if inFlight != nil && strings.Contains(r.URL.Path, "/composite/") {
			inFlight.Add(1)
			defer inFlight.Add(-1)
		}
		sf.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() { srv.Close(); _ = sf.Close() })
	return sf, srv
}

// seedWaitingPushes creates n customers in a new SQLite database at dbPath
// through the store, with Salesforce configured, so that each waits to be
// pushed there; it returns their ids.
func seedWaitingPushes(tb testing.TB, dbPath string, n int) []string {
	tb.Helper()
	st, err := sqlite.Open(dbPath, sqlstore.Options{Integrations: []string{salesforce.Name}})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		c, _, err := st.CreateCustomer(ctx, &tandem.Customer{Name: fmt.Sprintf("Waiting Customer%d", i),
			Email: fmt.Sprintf("waiting-%d@example.com", i)}, tandem.Write{Origin: tandem.OriginAPI})
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = c.ID
	}
	return ids
}

// liveContacts returns the emulator's Contacts that are not deleted, by
// external id.
func liveContacts(sf *sfemulator.Emulator) map[string][]sfemulator.Contact {
	out := map[string][]sfemulator.Contact{}
	for _, c := range sf.Contacts() {
		if !c.IsDeleted {
			out[c.ExternalID] = append(out[c.ExternalID], c)
		}
	}
	return out
}

// contactsOf returns the one live Contact of each of ids that has exactly
// one, by id.
func contactsOf(sf *sfemulator.Emulator, ids []string) map[string]sfemulator.Contact {
	live := liveContacts(sf)
	out := map[string]sfemulator.Contact{}
	for _, id := range ids {
		if cs := live[id]; len(cs) == 1 {
			out[id] = cs[0]
		}
	}
	return out
}
