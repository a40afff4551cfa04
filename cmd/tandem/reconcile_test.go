package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	emulator "github.com/tandemsync/tandem/emulator/stripe"
	"github.com/tandemsync/tandem/store/sqlite"
	"github.com/tandemsync/tandem/store/sqlstore"
)

// reconcileRun is a reconcile run as the API shows it.
type reconcileRun struct {
	ID         string
	Status     string
	DryRun     bool `json:"dry_run"`
	Error      string
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Progress   struct {
		RemoteScanned int            `json:"remote_scanned"`
		LocalScanned  int            `json:"local_scanned"`
		Repairs       map[string]int `json:"repairs"`
	}
	Actions []tandem.ReconcileAction
}

// reconcile starts a run of integration through the API and waits for its
// end.
func (e *stripeEnv) reconcile(integration string, dryRun bool) reconcileRun {
	e.t.Helper()
	var run reconcileRun
	path := "/integrations/" + integration + "/reconcile"
	if dryRun {
		path += "?dry_run=true"
	}
	if resp := e.api.do("POST", path, nil, &run); resp.StatusCode != http.StatusAccepted {
		e.t.Fatalf("start reconcile: %s", resp.Status)
	}
	waitFor(e.t, 30*time.Second, "the reconcile run to end", func() bool {
		e.api.do("GET", "/integrations/"+integration+"/reconcile/"+run.ID, nil, &run)
		return run.Status != "running"
	})
	if run.Status != "done" {
		e.t.Fatalf("reconcile run %s: %s %s", run.ID, run.Status, run.Error)
	}
	return run
}

// sqlExec runs statements on Tandem's database behind its back.
func (e *stripeEnv) sqlExec(query string, args ...any) {
	e.t.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(e.dbPath))
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// driftHere changes Tandem's database behind its back, as a restore or a
// bad script would: a customer only here (its id returned), the one of
// ids["changed-here"] renamed "changed in Tandem", and the one of
// ids["deleted-here"] deleted.
func (e *stripeEnv) driftHere(ids map[string]string) (onlyHere string) {
	e.t.Helper()
	now := time.Now().UTC()
	onlyHere = tandem.NewCustomerID()
	e.sqlExec(`INSERT INTO customers (id, name, email, phone, address, metadata, version, created_at, updated_at, origin)
		VALUES (?, 'only-here', '', '', '{}', '{}', 1, ?, ?, 'api')`, onlyHere, now, now)
	e.sqlExec(`UPDATE customers SET name = 'changed in Tandem', version = version + 1, updated_at = ? WHERE id = ?`, now, ids["changed-here"])
	e.sqlExec(`UPDATE customers SET deleted_at = ?, version = version + 1, updated_at = ? WHERE id = ?`, now, now, ids["deleted-here"])
	return onlyHere
}

// driftRepairs are the repairs of five linked records and one difference
// of each kind: created, changed and deleted on either side.
var driftRepairs = map[string]int{tandem.RepairCreateLocal: 1, tandem.RepairUpdateLocal: 1, tandem.RepairDeleteLocal: 1,
	tandem.RepairCreateRemote: 1, tandem.RepairUpdateRemote: 1, tandem.RepairDeleteRemote: 1}

// dryRunFinds checks that a dry run of integration after driftRepairs'
// differences finds want, scanning the 5 records there and 6 here.
func (e *stripeEnv) dryRunFinds(integration string, want map[string]int) {
	e.t.Helper()
	dry := e.reconcile(integration, true)
	if !maps.Equal(dry.Progress.Repairs, want) || !dry.DryRun {
		e.t.Fatalf("dry run found %v, want %v; actions %+v", dry.Progress.Repairs, want, dry.Actions)
	}
	if dry.Progress.RemoteScanned != 5 || dry.Progress.LocalScanned != 6 {
		e.t.Errorf("dry run scanned %d there and %d here, want 5 and 6", dry.Progress.RemoteScanned, dry.Progress.LocalScanned)
	}
}

// TestStripeReconcile seeds every kind of difference into both sides'
// storage behind Tandem's back (no event, no job), then checks that a dry
// run lists them and changes nothing, and that a run repairs them all.
func TestStripeReconcile(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, map[string]string{"STRIPE_POLL_INTERVAL": "0", "STRIPE_RECONCILE_INTERVAL": "0"})
	ids := map[string]string{}
	for _, name := range []string{"same", "changed-there", "deleted-there", "changed-here", "deleted-here"} {
		c := e.api.mustCreate(name)
		ids[name] = c.ID
		e.settle(c.ID)
	}
	if run := e.reconcile("stripe", false); len(run.Progress.Repairs) != 0 {
		t.Fatalf("in sync, reconcile repaired %v", run.Progress.Repairs)
	}
	stripeID := func(name string) string { return e.stripeOf(ids[name])[0].ID }

	silent := e.em.Silent()
	onlyThere, err := silent.CreateCustomer(emulator.CustomerParams{Name: str("only-there"), Email: str("there@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := silent.UpdateCustomer(stripeID("changed-there"), emulator.CustomerParams{Name: str("changed in Stripe")}); err != nil {
		t.Fatal(err)
	}
	goneThere := stripeID("deleted-there")
	if _, err := silent.DeleteCustomer(goneThere); err != nil {
		t.Fatal(err)
	}
	onlyHere := e.driftHere(ids)
	writesBefore := len(e.writes())

	want := driftRepairs
	e.dryRunFinds("stripe", want)
	time.Sleep(200 * time.Millisecond) // let anything a dry run wrongly queued show
	var page struct{ Data []customer }
	e.api.do("GET", "/customers?limit=100", nil, &page)
	if len(page.Data) != 5 || len(e.writes()) != writesBefore {
		t.Fatalf("the dry run changed something: %d local customers (want 5), %d Stripe writes (want %d)",
			len(page.Data), len(e.writes()), writesBefore)
	}

	run := e.reconcile("stripe", false)
	if !maps.Equal(run.Progress.Repairs, want) {
		t.Fatalf("run repaired %v, want %v; actions %+v", run.Progress.Repairs, want, run.Actions)
	}
	e.waitStripe("both sides equal", func() bool {
		var page struct{ Data []customer }
		e.api.do("GET", "/customers?limit=100", nil, &page)
		local := map[string]string{}
		for _, c := range page.Data {
			local[c.ID] = c.Name
		}
		remote := map[string]string{}
		for _, c := range e.em.Customers() {
			if !c.Deleted {
				remote[c.Metadata["tandem_id"]] = c.Name
			}
		}
		return len(local) == 5 && maps.Equal(local, remote)
	})
	var got customer
	e.api.do("GET", "/customers/"+ids["changed-there"], nil, &got)
	if got.Name != "changed in Stripe" {
		t.Errorf("changed there: local name %q", got.Name)
	}
	if resp := e.api.do("GET", "/customers/"+ids["deleted-there"], nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted there: local GET answered %s", resp.Status)
	}
	if len(e.stripeOf(onlyHere)) != 1 || len(e.stripeOf(ids["deleted-here"])) != 0 {
		t.Errorf("only here: %d in Stripe (want 1); deleted here: %d in Stripe (want 0)",
			len(e.stripeOf(onlyHere)), len(e.stripeOf(ids["deleted-here"])))
	}
	if s := e.stripeOf(ids["changed-here"]); len(s) != 1 || s[0].Name != "changed in Tandem" {
		t.Errorf("changed here: Stripe has %+v", s)
	}
	e.api.do("GET", "/customers?email=there@example.com", nil, &page)
	if len(page.Data) != 1 {
		t.Fatalf("only there: %d local customers", len(page.Data))
	}
	e.waitStripe("the tandem_id written back", func() bool { return len(e.stripeOf(page.Data[0].ID)) == 1 })
	if e.stripeOf(page.Data[0].ID)[0].ID != onlyThere.ID {
		t.Errorf("only there: linked to another Stripe customer")
	}
	if again := e.reconcile("stripe", false); len(again.Progress.Repairs) != 0 {
		t.Errorf("a second run still repaired %v", again.Progress.Repairs)
	}
	resp := e.api.do("GET", "/metrics", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	for action := range want {
		line := `tandem_reconcile_repairs_total{action="` + action + `",integration="stripe"} 1`
		if !strings.Contains(string(body), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

// TestLinkUp connects Tandem to a Stripe account that already has
// customers: tandem link stripe --dry-run prints the plan and changes
// nothing; without --dry-run matches are linked (by email in any case), the
// missing created on each side, and ambiguous duplicates left alone.
func TestLinkUp(t *testing.T) {
	t.Parallel()
	em, apiURL := startStripeEmulator(t)
	dbPath := filepath.Join(t.TempDir(), "tandem.db")
	env := map[string]string{"TANDEM_DATABASE_URL": "sqlite:" + dbPath, "STRIPE_SECRET_KEY": stripeTestKey,
		"STRIPE_API_URL": apiURL, "TANDEM_LOG_LEVEL": "error"}

	local := linkUpCatalog(t, dbPath) // made before Stripe was configured

	// The Stripe account.
	dash := em.Dashboard()
	remote := map[string]string{}
	for _, c := range []struct {
		key, email string
		meta       map[string]string
	}{
		{"match", "Match@Example.COM", nil}, {"dup1", "dup@example.com", nil}, {"dup2", "dup@example.com", nil},
		{"only-there", "there@example.com", nil}, {"twin", "twin@example.com", nil},
		{"carried", "other@example.com", map[string]string{"tandem_id": local["carried"]}},
	} {
		p := emulator.CustomerParams{Name: str(c.key), Email: str(c.email), Metadata: c.meta}
		if c.key == "match" {
			p.Phone = str("+1 555 0100") // only Stripe has it: the link keeps it on both sides
		}
		sc, err := dash.CreateCustomer(p)
		if err != nil {
			t.Fatal(err)
		}
		remote[c.key] = sc.ID
	}

	plan := runLink(t, env, "stripe", "--dry-run")
	for _, want := range []string{"2 matched", "1 to create here", "1 to create there", "3 ambiguous",
		remote["dup1"], remote["dup2"], remote["twin"]} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan lacks %q:\n%s", want, plan)
		}
	}
	if n := len(em.Customers()); n != 6 || slicesAnyWrite(em.Requests()) {
		t.Fatalf("the dry run changed Stripe: %d customers", n)
	}

	runLink(t, env, "stripe")
	// The pushes run in serve: start it to drain them.
	api := runInProcess(t, env)
	waitFor(t, 20*time.Second, "link-up pushes done", func() bool {
		byTandemID := map[string]string{}
		for _, c := range em.Customers() {
			if !c.Deleted && c.Metadata["tandem_id"] != "" {
				byTandemID[c.Metadata["tandem_id"]] = c.ID
			}
		}
		return byTandemID[local["match"]] == remote["match"] && byTandemID[local["carried"]] == remote["carried"] &&
			byTandemID[local["only-here"]] != ""
	})
	var matched struct{ Phone string }
	api.do("GET", "/customers/"+local["match"], nil, &matched)
	if matched.Phone != "+1 555 0100" {
		t.Errorf("matched by email: local phone %q, want Stripe's", matched.Phone)
	}
	for _, c := range em.Customers() {
		if c.ID == remote["match"] && c.Phone != "+1 555 0100" {
			t.Errorf("matched by email: Stripe's phone became %q", c.Phone)
		}
	}
	checkLinkUpLocal(t, api)
	if n := len(em.Customers()); n != 7 {
		t.Errorf("Stripe has %d customers, want 7 (6 + only-here)", n)
	}
	for _, key := range []string{"dup1", "dup2", "twin"} {
		for _, c := range em.Customers() {
			if c.ID == remote[key] && c.Metadata["tandem_id"] != "" {
				t.Errorf("ambiguous %s was linked", key)
			}
		}
	}
}

// linkUpCatalog makes the local catalog of the link-up tests in a new
// SQLite database at dbPath and returns the ids of its customers by key:
// match, dup, only-here, twin1 and twin2 (the same email), and carried.
func linkUpCatalog(tb testing.TB, dbPath string) map[string]string {
	tb.Helper()
	st := migratedSQLite(tb, dbPath)
	defer st.Close()
	local := map[string]string{}
	for _, c := range []struct{ key, email string }{
		{"match", "match@example.com"}, {"dup", "dup@example.com"}, {"only-here", "here@example.com"},
		{"twin1", "twin@example.com"}, {"twin2", "twin@example.com"}, {"carried", "carried@example.com"},
	} {
		created, _, err := st.CreateCustomer(context.Background(), &tandem.Customer{Name: c.key, Email: c.email},
			tandem.Write{Origin: "api"})
		if err != nil {
			tb.Fatal(err)
		}
		local[c.key] = created.ID
	}
	return local
}

// checkLinkUpLocal checks the local side after a link-up of linkUpCatalog:
// the record only there was created here once, the ambiguous ones were not.
func checkLinkUpLocal(tb testing.TB, api *client) {
	tb.Helper()
	for email, want := range map[string]int{"there@example.com": 1, "dup@example.com": 1} {
		var page struct{ Data []customer }
		api.do("GET", "/customers?email="+email, nil, &page)
		if len(page.Data) != want {
			tb.Errorf("%d local customers with email %s, want %d", len(page.Data), email, want)
		}
	}
}

// runLink runs tandem link integration args with env as its environment
// and returns what it printed.
func runLink(tb testing.TB, env map[string]string, integration string, args ...string) string {
	tb.Helper()
	var out bytes.Buffer
	p := &program{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &bytes.Buffer{}}
	if err := p.run(context.Background(), append([]string{"link", integration}, args...)); err != nil {
		tb.Fatalf("tandem link %s %v: %v\n%s", integration, args, err, out.String())
	}
	return out.String()
}

// slicesAnyWrite reports whether any request changed something.
func slicesAnyWrite(rs []emulator.Request) bool {
	for _, r := range rs {
		if r.Method != http.MethodGet {
			return true
		}
	}
	return false
}

// startStripeEmulator serves a fresh Stripe emulator (no webhook) until the
// test ends, and returns it with its address.
func startStripeEmulator(tb testing.TB) (*emulator.Emulator, string) {
	tb.Helper()
	em, err := emulator.New(emulator.Config{SecretKey: stripeTestKey})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(em)
	tb.Cleanup(func() { srv.Close(); _ = em.Close() })
	return em, srv.URL
}

// migratedSQLite opens the SQLite store at path (created) and migrates it;
// the caller closes it before a Tandem process opens the same file.
func migratedSQLite(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(path, sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		st.Close()
		tb.Fatal(err)
	}
	return st
}
