package main

import (
	"database/sql"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	emulator "github.com/tandemsync/tandem/emulator/stripe"
	"github.com/tandemsync/tandem/store/sqlite"
)

// TestStripeLostWebhooks: with 30% of the webhook deliveries lost, 300
// changes made in Stripe all reach the local catalog through the events
// poller, and each event is applied once (an event that came both ways has
// one apply job).
func TestStripeLostWebhooks(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{Faults: emulator.Faults{DropWebhooks: emulator.Chance{Probability: 0.3}}},
		map[string]string{"STRIPE_POLL_INTERVAL": "200ms"})
	// The first poll starts the cursor from now; from then on no event is lost.
	waitFor(t, 20*time.Second, "the first poll", func() bool {
		return slices.ContainsFunc(e.em.Requests(), func(r emulator.Request) bool { return r.Path == "/v1/events" })
	})
	const customers, changes = 10, 30
	ids := make([]string, customers)
	for k := range ids {
		sc, err := e.em.Dashboard().CreateCustomer(emulator.CustomerParams{Name: str(fmt.Sprintf("c%d", k))})
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = sc.ID
	}
	for i := range changes {
		for k, id := range ids {
			if _, err := e.em.Dashboard().UpdateCustomer(id, emulator.CustomerParams{
				Name: str(fmt.Sprintf("c%d v%d", k, i)), Metadata: map[string]string{"seq": fmt.Sprint(i)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 60*time.Second, "every change in Tandem", func() bool {
		got := map[string]bool{}
		for _, c := range e.api.listAll() {
			got[c.Name] = true
		}
		for k := range ids {
			if !got[fmt.Sprintf("c%d v%d", k, changes-1)] {
				return false
			}
		}
		return len(got) == customers
	})
	// Every event Stripe made (ours included) is stored and applied once.
	db, err := sql.Open("sqlite", sqlite.DSN(e.dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var jobs, events, done int
	waitFor(t, 30*time.Second, "an apply job for every event", func() bool {
		err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT json_extract(args, '$.event_id')),
			COUNT(*) FILTER (WHERE state = 'completed') FROM river_job WHERE kind = 'apply'`).Scan(&jobs, &events, &done)
		return err == nil && events == len(e.em.Events()) && done == jobs
	})
	if jobs != events || events < customers*(changes+1) {
		t.Fatalf("%d apply jobs for %d events; want one each, at least %d events", jobs, events, customers*(changes+1))
	}
}

// TestStripeCatchUpAfterDowntime: Tandem is stopped while 100 changes
// happen in Stripe (their webhooks fail for good); restarted, it reads
// them from its cursor and applies them all, in order.
func TestStripeCatchUpAfterDowntime(t *testing.T) {
	t.Parallel()
	em, err := emulator.New(emulator.Config{SecretKey: stripeTestKey, WebhookBackoff: 5 * time.Millisecond, WebhookAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em)
	t.Cleanup(func() { srv.Close(); _ = em.Close() })
	env := []string{"TANDEM_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "tandem.db"),
		"STRIPE_SECRET_KEY=" + stripeTestKey, "STRIPE_API_URL=" + srv.URL, "STRIPE_WEBHOOK_SECRET=" + stripeTestSecret,
		"STRIPE_POLL_INTERVAL=500ms"}
	start := func() (*process, *client) {
		p := startProcess(t, env...)
		if err := em.SetWebhook(emulator.Webhook{URL: p.URL + "/webhooks/stripe", Secret: stripeTestSecret}); err != nil {
			t.Fatal(err)
		}
		return p, &client{t: t, base: p.URL}
	}
	p, api := start()
	ids := make([]string, 5)
	for k := range ids {
		sc, err := em.Dashboard().CreateCustomer(emulator.CustomerParams{Name: str(fmt.Sprintf("c%d", k))})
		if err != nil {
			t.Fatal(err)
		}
		ids[k] = sc.ID
	}
	waitFor(t, 20*time.Second, "the customers in Tandem", func() bool { return len(api.listAll()) == len(ids) })
	// The poller has stored its cursor (its first poll starts it from now).
	waitFor(t, 20*time.Second, "a poll", func() bool {
		return slices.ContainsFunc(em.Requests(), func(r emulator.Request) bool { return r.Path == "/v1/events" })
	})

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("stopped with exit code %d", code)
	}
	for i := range 20 {
		for k, id := range ids {
			if _, err := em.Dashboard().UpdateCustomer(id, emulator.CustomerParams{
				Name: str(fmt.Sprintf("c%d v%d", k, i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, api = start()
	waitFor(t, 30*time.Second, "the 100 changes in Tandem", func() bool {
		got := map[string]bool{}
		for _, c := range api.listAll() {
			got[c.Name] = true
		}
		for k := range ids {
			if !got[fmt.Sprintf("c%d v19", k)] {
				return false
			}
		}
		return true
	})
}

// TestStripeEventGapReconciles: a cursor older than Stripe's 30-day event
// window falls back to a full reconciliation, which finds what changed in
// between (here a customer whose events are gone).
func TestStripeEventGapReconciles(t *testing.T) {
	t.Parallel()
	em, apiURL := startStripeEmulator(t)
	if _, err := em.Silent().CreateCustomer(emulator.CustomerParams{Name: str("made while away"),
		Email: str("away@example.com")}); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "tandem.db")
	migratedSQLite(t, dbPath).Close()
	db, err := sql.Open("sqlite", sqlite.DSN(dbPath))
	if err != nil {
		t.Fatal(err)
	}
	away := time.Now().Add(-31 * 24 * time.Hour)
	if _, err := db.Exec(`INSERT INTO cursors (integration, cursor, updated_at) VALUES ('stripe', ?, ?)`,
		strconv.FormatInt(away.Unix(), 10), away.UTC()); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	api := runInProcess(t, map[string]string{"TANDEM_DATABASE_URL": "sqlite:" + dbPath, "STRIPE_SECRET_KEY": stripeTestKey,
		"STRIPE_API_URL": apiURL, "STRIPE_POLL_INTERVAL": "200ms", "STRIPE_RECONCILE_INTERVAL": "0"})
	waitFor(t, 20*time.Second, "the customer made while away", func() bool {
		var page struct{ Data []customer }
		api.do("GET", "/customers?email=away@example.com", nil, &page)
		return len(page.Data) == 1
	})
}
