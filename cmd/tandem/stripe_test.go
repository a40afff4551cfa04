package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v86/webhook"

	emulator "github.com/tandemsync/tandem/emulator/stripe"
	"github.com/tandemsync/tandem/store/sqlite"
)

const (
	stripeTestKey    = "sk_test_tandem_behaviour"
	stripeTestSecret = "whsec_tandem_behaviour"
)

// stripeEnv is Tandem running in this process against a Stripe emulator
// whose webhooks reach it.
type stripeEnv struct {
	t      *testing.T
	em     *emulator.Emulator
	api    *client
	dbPath string // Tandem's SQLite database (unless env named another)
}

// newStripeEnv starts an emulator (cfg: its faults, its clock) and Tandem
// on a fresh SQLite database, wired both ways; edits change the program.
func newStripeEnv(t *testing.T, cfg emulator.Config, env map[string]string, edits ...func(*program)) *stripeEnv {
	t.Helper()
	cfg.SecretKey, cfg.Seed, cfg.WebhookBackoff, cfg.WebhookAttempts = stripeTestKey, 7, 20*time.Millisecond, 8
	em, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em)
	t.Cleanup(func() { srv.Close(); _ = em.Close() })
	if env == nil {
		env = map[string]string{}
	}
	dbPath := filepath.Join(t.TempDir(), "tandem.db")
	if env["TANDEM_DATABASE_URL"] == "" {
		env["TANDEM_DATABASE_URL"] = "sqlite:" + dbPath
	}
	env["STRIPE_SECRET_KEY"] = stripeTestKey
	env["STRIPE_API_URL"] = srv.URL
	env["STRIPE_WEBHOOK_SECRET"] = stripeTestSecret
	env["TANDEM_QUEUE_POLL_INTERVAL"] = "20ms"
	api := runInProcess(t, env, edits...)
	if err := em.SetWebhook(emulator.Webhook{URL: api.base + "/webhooks/stripe", Secret: stripeTestSecret}); err != nil {
		t.Fatal(err)
	}
	return &stripeEnv{t: t, em: em, api: api, dbPath: dbPath}
}

// stripeOf returns the live emulator customers whose tandem_id is id.
func (e *stripeEnv) stripeOf(id string) []emulator.Customer {
	var out []emulator.Customer
	for _, c := range e.em.Customers() {
		if c.Metadata["tandem_id"] == id && !c.Deleted {
			out = append(out, c)
		}
	}
	return out
}

// waitStripe waits until cond holds for the emulator's customers.
func (e *stripeEnv) waitStripe(what string, cond func() bool) {
	e.t.Helper()
	waitFor(e.t, 20*time.Second, what, cond)
}

// writes counts the writes Tandem sent to the emulator.
func (e *stripeEnv) writes() []emulator.Request {
	var out []emulator.Request
	for _, r := range e.em.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

// settle waits until the emulator delivered every webhook and Tandem's
// links of id are all synced.
func (e *stripeEnv) settle(id string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.em.WaitWebhooks(ctx); err != nil {
		e.t.Fatalf("webhooks still pending: %v", err)
	}
	e.waitStripe("link of "+id+" synced", func() bool { return e.linkStatus(id) == "synced" })
}

func (e *stripeEnv) linkStatus(id string) string {
	var sync struct {
		Data []struct{ Integration, Status string }
	}
	if resp := e.api.do("GET", "/customers/"+id+"/sync", nil, &sync); resp.StatusCode != http.StatusOK {
		return resp.Status
	}
	for _, l := range sync.Data {
		if l.Integration == "stripe" {
			return l.Status
		}
	}
	return "no link"
}

func str(s string) *string { return &s }

func TestStripeLocalChangesReachStripe(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, nil)
	var c customer
	e.api.do("POST", "/customers", map[string]any{"name": "Ada Lovelace", "email": "ada@example.com",
		"address": map[string]string{"city": "London", "country": "GB"}, "metadata": map[string]string{"plan": "pro"}}, &c)
	e.waitStripe("the customer in Stripe", func() bool { return len(e.stripeOf(c.ID)) == 1 })
	e.settle(c.ID)
	sc := e.stripeOf(c.ID)[0]
	if sc.Name != "Ada Lovelace" || sc.Email != "ada@example.com" || sc.Address == nil || sc.Address.City != "London" ||
		sc.Metadata["plan"] != "pro" {
		t.Fatalf("Stripe customer = %+v", sc)
	}

	e.api.do("PATCH", "/customers/"+c.ID, map[string]any{"email": "ada@lovelace.example", "metadata": map[string]string{"plan": ""}}, nil)
	e.waitStripe("the update in Stripe", func() bool {
		got, _ := e.em.Customer(sc.ID)
		return got.Email == "ada@lovelace.example" && got.Metadata["plan"] == ""
	})
	e.settle(c.ID)

	e.api.do("DELETE", "/customers/"+c.ID, nil, nil)
	e.waitStripe("the delete in Stripe", func() bool { got, _ := e.em.Customer(sc.ID); return got.Deleted })

	// Exactly one create, one update, one delete, each under a tandem: key;
	// the webhooks of our own writes caused no write back.
	writes := e.writes()
	var ops []string
	for _, w := range writes {
		if !strings.HasPrefix(w.IdempotencyKey, "tandem:customer:"+c.ID+":") {
			t.Errorf("write without a tandem key: %+v", w)
		}
		ops = append(ops, w.Method+" "+strings.SplitN(w.IdempotencyKey, ":", 4)[3])
	}
	if want := []string{"POST create:v1", "POST update:v2", "DELETE delete:v3"}; fmt.Sprint(ops) != fmt.Sprint(want) {
		t.Fatalf("writes to Stripe = %v, want %v", ops, want)
	}
}

func TestStripeChangesReachTandem(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, nil)
	sc, err := e.em.Dashboard().CreateCustomer(emulator.CustomerParams{Name: str("Grace Hopper"),
		Email: str("grace@example.com"), Metadata: map[string]string{"team": "navy"}})
	if err != nil {
		t.Fatal(err)
	}
	var local customer
	waitFor(t, 20*time.Second, "the customer in Tandem", func() bool {
		var page struct{ Data []customer }
		e.api.do("GET", "/customers?email=grace@example.com", nil, &page)
		if len(page.Data) == 1 {
			local = page.Data[0]
		}
		return len(page.Data) == 1
	})
	if local.Name != "Grace Hopper" || local.Metadata["team"] != "navy" {
		t.Fatalf("local customer = %+v", local)
	}
	// One write back: our id into Stripe's metadata.
	e.waitStripe("tandem_id written back", func() bool { got, _ := e.em.Customer(sc.ID); return got.Metadata["tandem_id"] == local.ID })
	e.settle(local.ID)

	if _, err := e.em.Dashboard().UpdateCustomer(sc.ID, emulator.CustomerParams{Name: str("Rear Admiral Hopper")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the update in Tandem", func() bool {
		var got customer
		e.api.do("GET", "/customers/"+local.ID, nil, &got)
		return got.Name == "Rear Admiral Hopper"
	})
	if _, err := e.em.Dashboard().DeleteCustomer(sc.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the delete in Tandem", func() bool {
		return e.api.do("GET", "/customers/"+local.ID, nil, nil).StatusCode == http.StatusNotFound
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.em.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if w := e.writes(); len(w) != 1 || w[0].Method != "POST" || !strings.Contains(w[0].IdempotencyKey, ":update:") {
		t.Fatalf("Tandem's writes to Stripe = %+v, want only the tandem_id write back", w)
	}
}

func TestStripeWebhookSignature(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, nil)
	body := []byte(`{"id":"evt_forged","object":"event","type":"customer.created","created":1,"data":{"object":{"id":"cus_forged","object":"customer","name":"Mallory","metadata":{}}}}`)
	for name, header := range map[string]string{
		"no signature":   "",
		"wrong secret":   webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_wrong"}).Header,
		"old timestamp":  webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: stripeTestSecret, Timestamp: time.Now().Add(-time.Hour)}).Header,
		"garbled header": "t=abc,v1=zz",
	} {
		req, _ := http.NewRequest("POST", e.api.base+"/webhooks/stripe", bytes.NewReader(body))
		req.Header.Set("Stripe-Signature", header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s, want 400", name, resp.Status)
		}
	}
	var page struct{ Data []customer }
	e.api.do("GET", "/customers", nil, &page)
	if len(page.Data) != 0 {
		t.Fatalf("a forged event created %+v", page.Data)
	}
}

// TestStripeFaultyWebhooks: duplicated, reordered and delayed deliveries of a
// run of dashboard edits leave Tandem with Stripe's final state.
func TestStripeFaultyWebhooks(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{Faults: emulator.Faults{DuplicateWebhooks: emulator.Chance{Probability: 0.5},
		ReorderWebhooks: emulator.Chance{Probability: 0.5}, ReorderHold: 300 * time.Millisecond}}, nil)
	sc, err := e.em.Dashboard().CreateCustomer(emulator.CustomerParams{Name: str("v0"), Email: str("faulty@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 15; i++ {
		if _, err := e.em.Dashboard().UpdateCustomer(sc.ID, emulator.CustomerParams{Name: str(fmt.Sprintf("v%d", i)),
			Metadata: map[string]string{"step": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.em.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	var local customer
	waitFor(t, 20*time.Second, "Stripe's final state in Tandem", func() bool {
		page := e.api.withEmail("faulty@example.com")
		if len(page) != 1 {
			return false
		}
		local = page[0]
		return local.Name == "v15" && local.Metadata["step"] == "15"
	})
	e.settle(local.ID)
	if got, _ := e.em.Customer(sc.ID); got.Name != "v15" || got.Metadata["tandem_id"] != local.ID {
		t.Fatalf("Stripe customer after the run = %+v", got)
	}
}

// TestStripeFaultyAPI: with rate limiting, 500s after writes were made,
// 500s before, and latency, every local customer ends up in Stripe exactly
// once, with its latest state.
func TestStripeFaultyAPI(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{Faults: emulator.Faults{RateLimit: 15, RateBurst: 2, Latency: 5 * time.Millisecond,
		FailAfterApply: emulator.Chance{Every: 4}, FailBeforeApply: emulator.Chance{Every: 7}}},
		map[string]string{"STRIPE_RATE_LIMIT": "40"}) // above the emulator's limit: 429s happen
	var ids []string
	for i := range 20 {
		var c customer
		e.api.do("POST", "/customers", map[string]any{"name": fmt.Sprintf("c%d", i)}, &c)
		ids = append(ids, c.ID)
		if i%3 == 0 {
			e.api.do("PATCH", "/customers/"+c.ID, map[string]any{"name": fmt.Sprintf("c%d renamed", i)}, nil)
		}
	}
	for i, id := range ids {
		want := fmt.Sprintf("c%d", i)
		if i%3 == 0 {
			want += " renamed"
		}
		// Retries back off from 1 s, doubling: a record unlucky enough to
		// meet several faults in a row on a loaded machine takes a while.
		waitFor(t, 2*time.Minute, id+" in Stripe", func() bool {
			got := e.stripeOf(id)
			return len(got) == 1 && got[0].Name == want && e.linkStatus(id) == "synced"
		})
	}
	var throttled, failed int
	for _, r := range e.em.Requests() {
		switch r.Status {
		case http.StatusTooManyRequests:
			throttled++
		case http.StatusInternalServerError:
			failed++
		}
	}
	if throttled == 0 || failed == 0 {
		t.Fatalf("the faults did not fire: %d 429s, %d 500s", throttled, failed)
	}
	for _, id := range ids {
		if n := len(e.stripeOf(id)); n != 1 {
			t.Errorf("%s is %d times in Stripe", id, n)
		}
	}
	// The webhooks of creates whose answer was a 500 came back before Tandem
	// knew the Stripe id: they linked the customers, and made no second row.
	if local := e.api.listAll(); len(local) != len(ids) {
		t.Fatalf("%d local customers, want %d", len(local), len(ids))
	}
}

// TestStripeConflicts: both sides change the same field before either
// hears of the other's change. The policy decides, both sides end up equal,
// and the link shows the conflict.
func TestStripeConflicts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ policy, want string }{
		{"newest", "Stripe edit"}, // Stripe's edit is the later one
		{"local", "Local edit"},
		{"stripe", "Stripe edit"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			t.Parallel()
			var ahead atomic.Int64 // how far Stripe's clock runs ahead of ours
			e := newStripeEnv(t, emulator.Config{Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }},
				map[string]string{"TANDEM_CONFLICT_POLICY": tc.policy})
			var c customer
			e.api.do("POST", "/customers", map[string]any{"name": "Original", "phone": "1"}, &c)
			e.waitStripe("the customer in Stripe", func() bool { return len(e.stripeOf(c.ID)) == 1 })
			e.settle(c.ID)
			remoteID := e.stripeOf(c.ID)[0].ID

			// Stripe's API fails for Tandem, so the local edit waits to be pushed
			// while Stripe is edited on its dashboard, later.
			if err := e.em.SetFaults(emulator.Faults{FailBeforeApply: emulator.Chance{Every: 1}}); err != nil {
				t.Fatal(err)
			}
			e.api.do("PATCH", "/customers/"+c.ID, map[string]any{"name": "Local edit"}, nil)
			waitFor(t, 10*time.Second, "the push to fail", func() bool { return len(e.writes()) > 1 })
			ahead.Store(int64(5 * time.Second))
			if _, err := e.em.Dashboard().UpdateCustomer(remoteID, emulator.CustomerParams{Name: str("Stripe edit"), Phone: str("2")}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 20*time.Second, "the conflict recorded", func() bool { return e.linkStatus(c.ID) == "conflict" })
			if err := e.em.SetFaults(emulator.Faults{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 20*time.Second, "both sides on "+tc.want, func() bool {
				var got customer
				e.api.do("GET", "/customers/"+c.ID, nil, &got)
				sc, _ := e.em.Customer(remoteID)
				return got.Name == tc.want && sc.Name == tc.want && sc.Phone == "2"
			})
		})
	}
}

// killableStripeEnv makes a Stripe emulator (10 ms of latency) and a
// start function that runs Tandem as a child process, on one SQLite
// database, with the emulator's webhooks pointed at it: a test kills it
// and starts it again.
func killableStripeEnv(t *testing.T) (*emulator.Emulator, func() *process) {
	t.Helper()
	em, err := emulator.New(emulator.Config{SecretKey: stripeTestKey, Faults: emulator.Faults{Latency: 10 * time.Millisecond},
		WebhookBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em)
	t.Cleanup(func() { srv.Close(); _ = em.Close() })
	env := []string{"TANDEM_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "tandem.db"),
		"STRIPE_SECRET_KEY=" + stripeTestKey, "STRIPE_API_URL=" + srv.URL, "STRIPE_WEBHOOK_SECRET=" + stripeTestSecret}
	return em, func() *process {
		p := startProcess(t, env...)
		if err := em.SetWebhook(emulator.Webhook{URL: p.URL + "/webhooks/stripe", Secret: stripeTestSecret}); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// TestStripeKilledMidBurst: a Tandem process killed with SIGKILL in the
// middle of a burst of 200 creates, then restarted: every customer exists in
// Stripe exactly once and matches.
func TestStripeKilledMidBurst(t *testing.T) {
	t.Parallel()
	em, start := killableStripeEnv(t)
	p := start()
	api := &client{t: t, base: p.URL}
	names := map[string]string{} // local id → name, for the creates the API answered
	var mu sync.Mutex
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				name := fmt.Sprintf("burst %d-%d", w, i)
				body, _ := json.Marshal(map[string]string{"name": name})
				resp, err := http.Post(p.URL+"/customers", "application/json", bytes.NewReader(body))
				if err != nil {
					return // the process is gone
				}
				var c customer
				_ = json.NewDecoder(resp.Body).Decode(&c)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					return
				}
				mu.Lock()
				names[c.ID] = name
				if len(names) == 100 {
					close(killed)
				}
				mu.Unlock()
			}
		})
	}
	<-killed
	p.Kill(t)
	wg.Wait()
	if len(names) >= 200 {
		t.Fatalf("the burst finished before the kill")
	}

	p = start()
	api.base = p.URL
	// Every customer stored (answered or not) ends up in Stripe exactly once.
	var local []customer
	waitFor(t, 60*time.Second, "every local customer in Stripe", func() bool {
		local = api.listAll()
		byID := map[string]int{}
		for _, c := range em.Customers() {
			if !c.Deleted {
				byID[c.Metadata["tandem_id"]]++
			}
		}
		for _, c := range local {
			if byID[c.ID] != 1 {
				return false
			}
		}
		return len(byID) == len(local)
	})
	for id, name := range names {
		var c customer
		if api.do("GET", "/customers/"+id, nil, &c).StatusCode != http.StatusOK || c.Name != name {
			t.Errorf("answered create %s (%s) is %+v locally", id, name, c)
		}
	}
	for _, c := range em.Customers() {
		if id := c.Metadata["tandem_id"]; names[id] != "" && c.Name != names[id] {
			t.Errorf("Stripe customer %s: name %q, want %q", c.ID, c.Name, names[id])
		}
	}
	t.Logf("%d creates answered before the kill, %d customers stored, each once in Stripe", len(names), len(local))
}

// listAll reads every page of GET /customers.
func (c *client) listAll() []customer {
	var all []customer
	path := "/customers?limit=100"
	for {
		var page struct {
			Data       []customer
			NextCursor string `json:"next_cursor"`
		}
		c.do("GET", path, nil, &page)
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all
		}
		path = "/customers?limit=100&cursor=" + page.NextCursor
	}
}

// TestStripePolling: with no webhook at all, and then with 30% of
// deliveries dropped, changes made in Stripe reach Tandem through the events
// poller, each applied once.
func TestStripePolling(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, map[string]string{"STRIPE_POLL_INTERVAL": "200ms"})
	if err := e.em.SetWebhook(emulator.Webhook{}); err != nil { // behind a firewall: no webhooks
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the first poll", func() bool {
		return slices.ContainsFunc(e.em.Requests(), func(r emulator.Request) bool { return r.Path == "/v1/events" })
	})
	sc, err := e.em.Dashboard().CreateCustomer(emulator.CustomerParams{Name: str("Polled"), Email: str("polled@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	var local customer
	waitFor(t, 20*time.Second, "the polled customer in Tandem", func() bool {
		var page struct{ Data []customer }
		e.api.do("GET", "/customers?email=polled@example.com", nil, &page)
		if len(page.Data) == 1 {
			local = page.Data[0]
		}
		return len(page.Data) == 1
	})

	// Webhooks back, but 30% of them lost: the poller fills the holes.
	if err := e.em.SetFaults(emulator.Faults{DropWebhooks: emulator.Chance{Probability: 0.3}}); err != nil {
		t.Fatal(err)
	}
	if err := e.em.SetWebhook(emulator.Webhook{URL: e.api.base + "/webhooks/stripe", Secret: stripeTestSecret}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		if _, err := e.em.Dashboard().UpdateCustomer(sc.ID, emulator.CustomerParams{
			Metadata: map[string]string{fmt.Sprintf("k%d", i): "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "all 30 changes in Tandem", func() bool {
		var got customer
		e.api.do("GET", "/customers/"+local.ID, nil, &got)
		return len(got.Metadata) == 30
	})
}

// deliver posts ev to Tandem's webhook endpoint, signed, as Stripe would.
func (e *stripeEnv) deliver(ev emulator.Event) {
	e.t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: stripeTestSecret}).Header
	req, _ := http.NewRequest("POST", e.api.base+"/webhooks/stripe", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("delivery of %s: %s", ev.ID, resp.Status)
	}
}

// TestStripeLateEcho: the echo of an older push arriving after a newer push
// does not take the customer back to the older state.
func TestStripeLateEcho(t *testing.T) {
	t.Parallel()
	var ahead atomic.Int64
	e := newStripeEnv(t, emulator.Config{Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }}, nil)
	if err := e.em.SetWebhook(emulator.Webhook{}); err != nil { // hold every delivery back
		t.Fatal(err)
	}
	c := e.api.mustCreate("v1")
	e.waitStripe("v1 synced", func() bool { return e.linkStatus(c.ID) == "synced" })
	for i, name := range []string{"A", "B"} {
		ahead.Store(int64(time.Duration(i+1) * 2 * time.Second)) // each push in a later second
		e.api.do("PATCH", "/customers/"+c.ID, map[string]any{"name": name}, nil)
		e.waitStripe(name+" synced", func() bool {
			got := e.stripeOf(c.ID)
			return len(got) == 1 && got[0].Name == name && e.linkStatus(c.ID) == "synced"
		})
	}
	var echoOfA emulator.Event
	for _, ev := range e.em.Events() {
		if k := ev.Request.IdempotencyKey; k != nil && strings.Contains(*k, ":update:v2") {
			echoOfA = ev
		}
	}
	if echoOfA.ID == "" {
		t.Fatal("no event for the push of A")
	}
	e.deliver(echoOfA)
	waitFor(t, 10*time.Second, "the late echo applied", func() bool { return e.applied(echoOfA.ID) })
	var got customer
	e.api.do("GET", "/customers/"+c.ID, nil, &got)
	if got.Name != "B" || got.Version != 3 {
		t.Fatalf("after the late echo of A: %+v, want B at version 3", got)
	}
}

// applied reports whether the apply job of a stored event has completed.
func (e *stripeEnv) applied(eventID string) bool {
	e.t.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(e.dbPath))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'apply' AND state = 'completed'
		AND CAST(args AS TEXT) LIKE ?`, "%"+eventID+"%").Scan(&n)
	return err == nil && n == 1
}

// TestStripeDashboardDeleteLater: a delete made in Stripe in a later second
// than the last change applied deletes the local customer.
func TestStripeDashboardDeleteLater(t *testing.T) {
	t.Parallel()
	var ahead atomic.Int64
	e := newStripeEnv(t, emulator.Config{Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }}, nil)
	c := e.api.mustCreate("Doomed")
	e.waitStripe("the customer in Stripe", func() bool { return len(e.stripeOf(c.ID)) == 1 })
	e.settle(c.ID)
	ahead.Store(int64(3 * time.Second))
	if _, err := e.em.Dashboard().DeleteCustomer(e.stripeOf(c.ID)[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the local delete", func() bool {
		return e.api.do("GET", "/customers/"+c.ID, nil, nil).StatusCode == http.StatusNotFound
	})
}
