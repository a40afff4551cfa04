package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemsync/tandem/internal/pgtest"
	"github.com/tandemsync/tandem/syncer/syncertest"
)

// TestEndToEnd boots the real program on a free port with a temporary SQLite
// file and drives the API over HTTP.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pushes := filepath.Join(dir, "pushes.jsonl")
	p := startProcess(t, "TANDEM_DATABASE_URL=sqlite:"+filepath.Join(dir, "db", "tandem.db"),
		"TANDEM_TEST_PUSH_FILE="+pushes, "TANDEM_API_TOKEN=s3cret-token")
	c := &client{t: t, base: p.URL, token: "s3cret-token"}

	if resp := (&client{t: t, base: p.URL}).do("GET", "/customers", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without token: %s", resp.Status)
	}
	if resp := (&client{t: t, base: p.URL}).do("GET", "/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %s", resp.Status)
	}

	var created customer
	resp := c.do("POST", "/customers", map[string]any{"name": "Grace Hopper", "email": "grace@example.com"}, &created)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("ETag") != `"1"` || !strings.HasPrefix(created.ID, "tdmc_") {
		t.Fatalf("create: %s %s %+v", resp.Status, resp.Header.Get("ETag"), created)
	}
	var updated customer
	resp = c.do("PATCH", "/customers/"+created.ID, map[string]any{"name": "Rear Admiral Hopper"}, &updated, "If-Match", `"1"`)
	if resp.StatusCode != http.StatusOK || updated.Version != 2 || updated.Email != "grace@example.com" {
		t.Fatalf("patch: %s %+v", resp.Status, updated)
	}
	if resp := c.do("PUT", "/customers/"+created.ID, map[string]any{"name": "Stale"}, nil, "If-Match", `"1"`); resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale put: %s", resp.Status)
	}
	waitPushes(t, pushes, 10*time.Second, "version 2 pushed", func(ps []syncertest.Push) bool {
		return len(ps) > 0 && ps[len(ps)-1].Version == 2 && ps[len(ps)-1].Name == "Rear Admiral Hopper"
	})
	if resp := c.do("DELETE", "/customers/"+created.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %s", resp.Status)
	}
	if resp := c.do("GET", "/customers/"+created.ID, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("get after delete: %s", resp.Status)
	}
	waitPushes(t, pushes, 10*time.Second, "delete pushed", func(ps []syncertest.Push) bool {
		return len(ps) > 0 && ps[len(ps)-1].Deleted
	})

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d", code)
	}
	if logs := p.Logs(); strings.Contains(logs, "s3cret-token") {
		t.Fatalf("the API token appears in the logs:\n%s", logs)
	}
}

// TestKilledAfterAnswer: a process killed with SIGKILL right after the API
// answered still runs the write's job after a restart.
func TestKilledAfterAnswer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "TANDEM_DATABASE_URL=sqlite:" + filepath.Join(dir, "tandem.db")
	pushes := "TANDEM_TEST_PUSH_FILE=" + filepath.Join(dir, "pushes.jsonl")
	// The first process can never finish a push: the job is still running or
	// waiting when it dies.
	p := startProcess(t, db, pushes, "TANDEM_TEST_PUSH_DELAY=forever")
	c := &client{t: t, base: p.URL}
	var ids []string
	for i := range 20 {
		ids = append(ids, c.mustCreate("killed-"+string(rune('a'+i))).ID)
	}
	waitFor(t, 10*time.Second, "a push to be running", func() bool { return strings.Contains(p.Logs(), "push started") })
	p.Kill(t)
	if n := len(pushFile(t, filepath.Join(dir, "pushes.jsonl"))); n != 0 {
		t.Fatalf("%d pushes before the restart", n)
	}

	startProcess(t, db, pushes)
	got := waitPushes(t, filepath.Join(dir, "pushes.jsonl"), 30*time.Second, "every job after restart", func(ps []syncertest.Push) bool {
		return len(distinct(ps)) == len(ids)
	})
	for _, id := range ids {
		if _, ok := distinct(got)[id]; !ok {
			t.Errorf("customer %s never pushed", id)
		}
	}
}

// TestGracefulShutdown: SIGTERM lets a running job finish, then the process
// exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "pushes.jsonl")
	p := startProcess(t, "TANDEM_DATABASE_URL=sqlite:"+filepath.Join(dir, "tandem.db"),
		"TANDEM_TEST_PUSH_FILE="+path, "TANDEM_TEST_PUSH_DELAY=1s")
	c := &client{t: t, base: p.URL}
	created := c.mustCreate("slow push")
	waitFor(t, 10*time.Second, "the push to start", func() bool {
		return strings.Contains(p.Logs(), "push started "+created.ID)
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code = %d", code)
	}
	if ps := pushFile(t, path); len(ps) != 1 || ps[0].Ref.ID != created.ID {
		t.Fatalf("pushes after graceful stop = %+v, want the running one finished", ps)
	}
}

// TestTwoProcessesSharePostgres: two processes on one Postgres database split
// the jobs, and every job runs exactly once.
func TestTwoProcessesSharePostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	path := filepath.Join(t.TempDir(), "pushes.jsonl")
	env := []string{"TANDEM_DATABASE_URL=" + url, "TANDEM_TEST_PUSH_FILE=" + path, "TANDEM_TEST_PUSH_DELAY=5ms"}
	a, b := startProcess(t, env...), startProcess(t, env...)
	clients := []*client{{t: t, base: a.URL}, {t: t, base: b.URL}}
	const n = 200
	for i := range n {
		clients[i%2].mustCreate("shared")
	}
	waitPushes(t, path, 60*time.Second, "all jobs", func(ps []syncertest.Push) bool {
		return len(distinct(ps)) == n
	})
	// Once every job is completed, no duplicate run can still land.
	db, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	waitFor(t, 30*time.Second, "every job completed", func() bool {
		var open int
		err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE state <> 'completed'`).Scan(&open)
		return err == nil && open == 0
	})
	got := pushFile(t, path)
	if len(got) != n {
		t.Fatalf("%d pushes for %d jobs: some ran twice", len(got), n)
	}
	pids := map[int]int{}
	for _, p := range got {
		pids[p.PID]++
	}
	if len(pids) != 2 {
		t.Fatalf("jobs per process = %v, want both processes working", pids)
	}
	t.Logf("jobs per process: %v", pids)
}

func distinct(ps []syncertest.Push) map[string]int {
	m := map[string]int{}
	for _, p := range ps {
		m[p.Ref.ID]++
	}
	return m
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
