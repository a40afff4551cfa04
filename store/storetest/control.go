package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
)

// testRetryDiscard: a parked push can be retried (pending again, then
// pushed) or discarded (no longer a failure, not pushed until the next
// write); neither applies to a link that is not parked.
func testRetryDiscard(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	var broken atomic.Bool
	broken.Store(true)
	e.in.Fail = func(*tandem.PushRequest) error {
		if broken.Load() {
			return &tandem.ProviderError{Class: tandem.Permanent, Err: errors.New("rejected by provider")}
		}
		return nil
	}
	e.start(t)
	retried := mustCreate(t, e.st, &tandem.Customer{Name: "retried"})
	discarded := mustCreate(t, e.st, &tandem.Customer{Name: "discarded"})
	ref := func(c *tandem.Customer) tandem.Ref { return tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID} }
	for _, c := range []*tandem.Customer{retried, discarded} {
		e.waitLink(t, c.ID, "parked", func(l *tandem.Link) bool { return l.Status == tandem.LinkFailed })
	}
	if f, err := e.st.Failures(ctx); err != nil || len(f) != 2 {
		t.Fatalf("failures = %v, %v; want 2", f, err)
	}

	for _, bad := range []struct {
		integration string
		ref         tandem.Ref
	}{
		{"other", ref(retried)},
		{"test", tandem.Ref{Kind: tandem.KindCustomer, ID: "tdmc_none"}},
		{"test", tandem.Ref{Kind: "invoice", ID: retried.ID}},
	} {
		wantCode(t, e.st.RetryFailure(ctx, bad.integration, bad.ref), tandem.ENOTFOUND)
		wantCode(t, e.st.DiscardFailure(ctx, bad.integration, bad.ref), tandem.ENOTFOUND)
	}

	broken.Store(false)
	if err := e.st.RetryFailure(ctx, "test", ref(retried)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	e.in.WaitVersion(t, wait, retried.ID, 1)
	l := e.waitLink(t, retried.ID, "synced", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if l.Attempts != 0 || l.LastError != "" || l.SyncedVersion != 1 {
		t.Fatalf("retried link = %+v", l)
	}
	wantCode(t, e.st.RetryFailure(ctx, "test", ref(retried)), tandem.ENOTFOUND)

	if err := e.st.DiscardFailure(ctx, "test", ref(discarded)); err != nil {
		t.Fatalf("discard: %v", err)
	}
	l = e.waitLink(t, discarded.ID, "discarded", func(l *tandem.Link) bool { return true })
	if l.Status != tandem.LinkDiscarded || l.LastError != "rejected by provider" {
		t.Fatalf("discarded link = %+v, want status discarded with its error", l)
	}
	if f, err := e.st.Failures(ctx); err != nil || len(f) != 0 {
		t.Fatalf("failures after retry and discard = %v, %v; want none", f, err)
	}
	wantCode(t, e.st.RetryFailure(ctx, "test", ref(discarded)), tandem.ENOTFOUND)
	wantCode(t, e.st.DiscardFailure(ctx, "test", ref(discarded)), tandem.ENOTFOUND)
	if p := e.in.PushesOf(discarded.ID); len(p) != 0 {
		t.Fatalf("discarded version pushed: %+v", p)
	}

	// The next write is pushed.
	if _, err := e.st.UpdateCustomer(ctx, discarded.ID, api, rename("changed")); err != nil {
		t.Fatal(err)
	}
	e.in.WaitVersion(t, wait, discarded.ID, 2)
	e.waitLink(t, discarded.ID, "synced at 2", func(l *tandem.Link) bool {
		return l.Status == tandem.LinkSynced && l.SyncedVersion == 2
	})
}

// testDiscardHoldsWaitingJob: a discarded version's job that is still
// waiting (a write landed after the failure) does not push it.
func testDiscardHoldsWaitingJob(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	e.in.Fail = func(req *tandem.PushRequest) error {
		return &tandem.ProviderError{Class: tandem.Permanent, Err: errors.New("rejected")}
	}
	e.start(t)
	c := mustCreate(t, e.st, &tandem.Customer{Name: "v1"})
	e.waitLink(t, c.ID, "parked", func(l *tandem.Link) bool { return l.Status == tandem.LinkFailed })
	if err := e.st.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpdateCustomer(ctx, c.ID, api, rename("v2")); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DiscardFailure(ctx, "test", tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID}); err != nil {
		t.Fatal(err)
	}
	e.in.Fail = nil
	if err := e.st.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitJobs(t, e, "completed", 2) // the parked one, then the one held back
	if p := e.in.PushesOf(c.ID); len(p) != 0 {
		t.Fatalf("discarded version pushed: %+v", p)
	}
	l := e.waitLink(t, c.ID, "discarded", func(l *tandem.Link) bool { return true })
	if l.Status != tandem.LinkDiscarded || l.DiscardedVersion != 2 {
		t.Fatalf("link = %+v, want discarded at version 2", l)
	}
}

// testPauseResume: a paused integration's jobs wait, in every process
// sharing the database, from before its first start or while it runs;
// resuming runs them, none lost.
func testPauseResume(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	wantPaused := func(want bool) {
		t.Helper()
		if got, err := e.st.IntegrationPaused(ctx, "test"); err != nil || got != want {
			t.Fatalf("paused = %v, %v; want %v", got, err, want)
		}
	}
	wantPaused(false)
	if err := e.st.ResumeIntegration(ctx, "test"); err != nil {
		t.Fatalf("resume of a running integration: %v", err)
	}
	if err := e.st.PauseIntegration(ctx, "test"); err != nil {
		t.Fatalf("pause before the first start: %v", err)
	}
	if err := e.st.PauseIntegration(ctx, "test"); err != nil {
		t.Fatalf("pause twice: %v", err)
	}
	wantPaused(true)
	e.start(t)
	first := mustCreate(t, e.st, &tandem.Customer{Name: "while paused"})
	e.stillWaiting(t, 1)
	if err := e.st.ResumeIntegration(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	wantPaused(false)
	e.in.WaitVersion(t, wait, first.ID, 1)

	// Pausing a running integration.
	if err := e.st.PauseIntegration(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	wantPaused(true)
	second := mustCreate(t, e.st, &tandem.Customer{Name: "second"})
	if _, err := e.st.UpdateCustomer(ctx, first.ID, api, rename("edited while paused")); err != nil {
		t.Fatal(err)
	}
	e.stillWaiting(t, 2)
	if err := e.st.ResumeIntegration(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	e.in.WaitVersion(t, wait, second.ID, 1)
	e.in.WaitVersion(t, wait, first.ID, 2)
	if n := len(e.in.Pushes()); n != 3 {
		t.Fatalf("%d pushes, want 3: %+v", n, e.in.Pushes())
	}
}

// stillWaiting checks that n push jobs wait and nothing is pushed for a
// while (longer than many fetch intervals).
func (e *env) stillWaiting(t *testing.T, n int) {
	t.Helper()
	before := len(e.in.Pushes())
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if got := len(e.in.Pushes()); got != before {
			t.Fatalf("pushed while paused: %+v", e.in.Pushes()[before:])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.jobs(t, "available"); got != n {
		t.Fatalf("%d push jobs waiting, want %d", got, n)
	}
}

// testSharedQueueMoved: jobs an earlier version left waiting in its one
// shared queue ("sync") are moved to their integration's queue on start,
// and run there.
func testSharedQueueMoved(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	c := mustCreate(t, e.st, &tandem.Customer{Name: "left behind"})
	if err := e.raw.Exec(ctx, `UPDATE river_job SET queue = 'sync' WHERE kind = 'push'`); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	e.in.WaitVersion(t, wait, c.ID, 1)
	var n int
	if err := e.raw.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE queue = 'test'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d jobs in the integration's queue (%v), want 1", n, err)
	}
}
