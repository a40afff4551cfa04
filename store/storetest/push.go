package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store/sqlstore"
)

const wait = 15 * time.Second

func testEnqueueInWriteTx(t *testing.T, open Opener) {
	e := newEnv(t, open, true, nil)
	ctx := context.Background()
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Pushed"})
	e.in.WaitVersion(t, wait, c.ID, 1)
	l := e.waitLink(t, c.ID, "synced at 1", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if l.SyncedVersion != 1 || l.RemoteID != "remote_"+c.ID || l.SyncedAt.IsZero() {
		t.Fatalf("link = %+v", l)
	}
	if err := e.st.DeleteCustomer(ctx, c.ID, api); err != nil {
		t.Fatal(err)
	}
	e.in.WaitVersion(t, wait, c.ID, 2)
	if p := e.in.PushesOf(c.ID); !p[len(p)-1].Deleted {
		t.Fatalf("delete pushed as %+v", p[len(p)-1])
	}
	links, err := e.st.Links(ctx, tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID})
	if err != nil || len(links) != 1 || links[0].Integration != "test" {
		t.Fatalf("links = %v, %v", links, err)
	}
}

func testEnqueueFailureRollsBack(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Before"})
	// Take the queue away behind the store's back: enqueuing now fails.
	if err := e.raw.Exec(ctx, `ALTER TABLE river_job RENAME TO river_job_away`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.st.CreateCustomer(ctx, &tandem.Customer{Name: "Lost?"}, api); err == nil {
		t.Fatal("create succeeded without a queue")
	}
	if _, err := e.st.UpdateCustomer(ctx, c.ID, api, rename("After")); err == nil {
		t.Fatal("update succeeded without a queue")
	}
	if err := e.st.DeleteCustomer(ctx, c.ID, api); err == nil {
		t.Fatal("delete succeeded without a queue")
	}
	if err := e.raw.Exec(ctx, `ALTER TABLE river_job_away RENAME TO river_job`); err != nil {
		t.Fatal(err)
	}
	page, err := e.st.ListCustomers(ctx, tandem.CustomerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Customers) != 1 || page.Customers[0].Name != "Before" || page.Customers[0].Version != 1 {
		t.Fatalf("failed writes left %+v", page.Customers)
	}
}

func testNoPushToOrigin(t *testing.T, open Opener) {
	e := newEnv(t, open, false, func(o *sqlstore.Options) { o.Integrations = []string{"test", "other"} })
	ctx := context.Background()
	_, _, err := e.st.CreateCustomer(ctx, &tandem.Customer{Name: "From test"}, tandem.Write{Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.raw.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'push'
		AND CAST(args AS TEXT) LIKE '%"integration":%"test"%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 || e.jobs(t, "available") != 1 {
		t.Fatalf("jobs to origin = %d, all = %d; want 0 and 1", n, e.jobs(t, "available"))
	}
}

func testBurstCoalesces(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	c := mustCreate(t, e.st, &tandem.Customer{Name: "v1"})
	for i := 2; i <= 20; i++ {
		if _, err := e.st.UpdateCustomer(ctx, c.ID, api, rename(fmt.Sprintf("v%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.jobs(t, "available"); n != 1 {
		t.Fatalf("%d waiting jobs after a burst, want 1", n)
	}
	links, err := e.st.Links(ctx, tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID})
	if err != nil || len(links) != 1 || links[0].Integration != "test" || links[0].Status != tandem.LinkPending {
		t.Fatalf("links before any push = %+v, %v; want test pending", links, err)
	}
	e.start(t)
	e.in.WaitVersion(t, wait, c.ID, 20)
	e.waitLink(t, c.ID, "synced", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if _, err := e.st.UpdateCustomer(ctx, c.ID, api, rename("v21")); err != nil {
		t.Fatal(err)
	}
	e.in.WaitVersion(t, wait, c.ID, 21)
	e.waitLink(t, c.ID, "synced at 21", func(l *tandem.Link) bool {
		return l.Status == tandem.LinkSynced && l.SyncedVersion == 21
	})
	if p := e.in.PushesOf(c.ID); len(p) != 2 || p[0].Name != "v20" || p[1].Name != "v21" {
		t.Fatalf("pushes = %+v, want one push of v20, then v21", p)
	}
}

// testWriteDuringPush is River's unique-job trap: a write that lands while the
// record's push is running cannot enqueue a job of its own, so the running
// job must notice and push again.
func testWriteDuringPush(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	entered, release := make(chan int64, 4), make(chan struct{})
	e.in.Hold = func(ctx context.Context, rec *tandem.Record) {
		entered <- rec.Version
		if rec.Version == 1 {
			<-release
		}
	}
	e.start(t)
	c := mustCreate(t, e.st, &tandem.Customer{Name: "first"})
	if v := <-entered; v != 1 {
		t.Fatalf("first push of version %d", v)
	}
	if _, err := e.st.UpdateCustomer(ctx, c.ID, api, rename("second")); err != nil {
		t.Fatal(err)
	}
	close(release)
	e.in.WaitVersion(t, wait, c.ID, 2)
	l := e.waitLink(t, c.ID, "synced at 2", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if l.SyncedVersion != 2 {
		t.Fatalf("link = %+v", l)
	}
	if p := e.in.PushesOf(c.ID); len(p) != 2 || p[1].Name != "second" {
		t.Fatalf("pushes = %+v", p)
	}
}

func testOnePushPerRecord(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	e.in.Hold = func(ctx context.Context, rec *tandem.Record) { time.Sleep(2 * time.Millisecond) }
	e.start(t)
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = mustCreate(t, e.st, &tandem.Customer{Name: "0"}).ID
	}
	const writers, edits = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range edits {
				if _, err := e.st.UpdateCustomer(ctx, ids[(w+i)%len(ids)], api, rename(fmt.Sprint(w, i))); err != nil {
					t.Errorf("update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		c, err := e.st.GetCustomer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		e.in.WaitVersion(t, wait, id, c.Version)
		e.waitLink(t, id, fmt.Sprintf("synced at %d", c.Version), func(l *tandem.Link) bool {
			return l.Status == tandem.LinkSynced && l.SyncedVersion == c.Version
		})
		p := e.in.PushesOf(id)
		if last := p[len(p)-1]; last.Name != c.Name {
			t.Errorf("%s: last push %+v, stored %q", id, last, c.Name)
		}
	}
	if n := e.in.Overlaps(); n != 0 {
		t.Fatalf("%d pushes overlapped another push of the same record", n)
	}
	if total, writes := len(e.in.Pushes()), len(ids)+writers*edits; total >= writes {
		t.Logf("no coalescing: %d pushes for %d writes", total, writes)
	}
}

func testRetryThenPark(t *testing.T, open Opener) {
	e := newEnv(t, open, false, func(o *sqlstore.Options) { o.MaxAttempts = 3 })
	ctx := context.Background()
	var (
		mu    sync.Mutex
		fails = map[string]int{}
	)
	flaky := errors.New("connection reset by provider")
	e.in.Fail = func(req *tandem.PushRequest) error {
		name := req.Record.Customer.Name
		mu.Lock()
		defer mu.Unlock()
		fails[name]++
		if name == "always" || fails[name] <= 2 {
			return flaky
		}
		return nil
	}
	e.start(t)
	heals := mustCreate(t, e.st, &tandem.Customer{Name: "heals"})
	broken := mustCreate(t, e.st, &tandem.Customer{Name: "always"})
	e.in.WaitVersion(t, wait, heals.ID, 1)
	l := e.waitLink(t, heals.ID, "synced", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if l.Attempts != 0 || l.LastError != "" {
		t.Fatalf("healed link = %+v", l)
	}
	l = e.waitLink(t, broken.ID, "parked", func(l *tandem.Link) bool { return l.Status == tandem.LinkFailed })
	if l.Attempts != 3 || l.LastError != flaky.Error() {
		t.Fatalf("parked link = %+v, want 3 attempts and the error", l)
	}
	failures, err := e.st.Failures(ctx)
	if err != nil || len(failures) != 1 || failures[0].Ref.ID != broken.ID {
		t.Fatalf("failures = %v, %v", failures, err)
	}
	// Parking ended the job, in the parking transaction: none is left live
	// to absorb the next write.
	waitJobs(t, e, "completed", 2)

	// A parked record does not block others, and a new write gets a new job.
	e.in.Fail = nil
	if _, err := e.st.UpdateCustomer(ctx, broken.ID, api, rename("fixed")); err != nil {
		t.Fatal(err)
	}
	e.in.WaitVersion(t, wait, broken.ID, 2)
	e.waitLink(t, broken.ID, "synced", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
}

func testPermanentParks(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	e.in.Fail = func(*tandem.PushRequest) error {
		return &tandem.ProviderError{Class: tandem.Permanent, Err: errors.New("invalid email for provider")}
	}
	e.start(t)
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Rejected"})
	l := e.waitLink(t, c.ID, "parked", func(l *tandem.Link) bool { return l.Status == tandem.LinkFailed })
	if l.Attempts != 1 || l.LastError != "invalid email for provider" {
		t.Fatalf("link = %+v", l)
	}
	waitJobs(t, e, "completed", 1)
	if n := len(e.in.Pushes()); n != 0 {
		t.Fatalf("%d pushes recorded", n)
	}
}

// testRetryLaterWaits: a provider asking to wait (rate limit) delays the push
// by at least that long without using up an attempt.
func testRetryLaterWaits(t *testing.T, open Opener) {
	e := newEnv(t, open, false, func(o *sqlstore.Options) { o.MaxAttempts = 1 })
	const delay = 300 * time.Millisecond
	var (
		mu       sync.Mutex
		failedAt time.Time
	)
	e.in.Fail = func(*tandem.PushRequest) error {
		mu.Lock()
		defer mu.Unlock()
		if failedAt.IsZero() {
			failedAt = time.Now()
			return &tandem.ProviderError{Class: tandem.RetryLater, Delay: delay, Err: errors.New("rate limited")}
		}
		return nil
	}
	e.start(t)
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Throttled"})
	e.in.WaitVersion(t, wait, c.ID, 1)
	mu.Lock()
	waited := time.Since(failedAt)
	mu.Unlock()
	if waited < delay {
		t.Fatalf("pushed again %v after the provider asked to wait %v", waited, delay)
	}
	l := e.waitLink(t, c.ID, "synced", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if l.Attempts != 0 || l.LastError != "" {
		t.Fatalf("link = %+v", l)
	}
}

// testIntentOutlivesFailure: what a push saved before calling its provider
// is handed to the next attempt, and cleared once a push succeeds.
func testIntentOutlivesFailure(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	seen := make(chan []byte, 4)
	e.in.Fail = func(req *tandem.PushRequest) error {
		seen <- req.Link.Intent
		if req.Link.Intent == nil {
			if err := req.SaveIntent(context.Background(), []byte("create:key-1")); err != nil {
				return err
			}
			return errors.New("timeout: outcome unknown")
		}
		return nil
	}
	e.start(t)
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Intended"})
	if got := <-seen; got != nil {
		t.Fatalf("first attempt saw intent %q", got)
	}
	if got := <-seen; string(got) != "create:key-1" {
		t.Fatalf("retry saw intent %q, want the saved one", got)
	}
	l := e.waitLink(t, c.ID, "synced", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if l.Intent != nil {
		t.Fatalf("intent %q kept after success", l.Intent)
	}
}

func waitJobs(t *testing.T, e *env, state string, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for e.jobs(t, state) != n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d %s jobs", n, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testQueueWorkers: an integration's QueueWorkers replaces MaxWorkers, so
// that many of its pushes run at once (an integration that batches them
// needs them all waiting on the same batch).
func testQueueWorkers(t *testing.T, open Opener) {
	const want = 12
	e := newEnv(t, open, false, func(o *sqlstore.Options) {
		o.MaxWorkers, o.QueueWorkers = 2, map[string]int{"test": want}
	})
	var running, most atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	e.in.Hold = func(ctx context.Context, _ *tandem.Record) {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n == want {
			once.Do(func() { close(all) })
		}
		select {
		case <-all:
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	e.start(t)
	for range want {
		mustCreate(t, e.st, &tandem.Customer{Name: "concurrent"})
	}
	select {
	case <-all:
	case <-time.After(wait):
		t.Fatalf("at most %d pushes ran at once, want %d", most.Load(), want)
	}
}
