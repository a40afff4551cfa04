package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store/sqlstore"
)

// testSyncStats: every configured integration is listed, idle ones too;
// unfinished jobs are counted per integration with the time of the oldest
// one, finished ones are not; parked links are counted.
func testSyncStats(t *testing.T, open Opener) {
	e := newEnv(t, open, false, func(o *sqlstore.Options) { o.Integrations = []string{"test", "idle"} })
	ctx := context.Background()
	stats := func() map[string]tandem.SyncStats {
		t.Helper()
		list, err := e.st.SyncStats(ctx)
		if err != nil {
			t.Fatalf("sync stats: %v", err)
		}
		out := map[string]tandem.SyncStats{}
		for _, s := range list {
			out[s.Integration] = s
		}
		return out
	}
	ignoreTime := cmpopts.IgnoreFields(tandem.SyncStats{}, "OldestQueued")
	want := map[string]tandem.SyncStats{"test": {Integration: "test"}, "idle": {Integration: "idle"}}
	if diff := cmp.Diff(want, stats()); diff != "" {
		t.Fatalf("stats of an empty store (-want +got):\n%s", diff)
	}

	// Two writes, far enough apart for the engines' clocks (SQLite keeps
	// milliseconds) to tell their jobs apart: one push job each for both
	// integrations, and an event received for an integration not configured.
	const tick = 5 * time.Millisecond
	before := time.Now()
	a := mustCreate(t, e.st, &tandem.Customer{Name: "A"})
	afterA := time.Now()
	for time.Since(afterA) < 4*tick {
		time.Sleep(tick)
	}
	beforeB := time.Now()
	mustCreate(t, e.st, &tandem.Customer{Name: "B"})
	if _, err := e.st.ReceiveEvents(ctx, "other", []tandem.InboundEvent{{ID: "evt_1", Type: "t", Payload: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	got := stats()
	want = map[string]tandem.SyncStats{
		"test":  {Integration: "test", Queued: 2},
		"idle":  {Integration: "idle", Queued: 2},
		"other": {Integration: "other", Queued: 1},
	}
	if diff := cmp.Diff(want, got, ignoreTime); diff != "" {
		t.Fatalf("stats after two writes (-want +got):\n%s", diff)
	}
	if o := got["test"].OldestQueued; o.Before(before.Add(-tick)) || o.After(afterA.Add(tick)) {
		t.Fatalf("oldest job of test enqueued at %v, want the first write's time, between %v and %v", o, before, afterA)
	}

	// A finished job no longer counts: the oldest is now B's; a running one
	// still does. A parked link counts, a push that will be retried does not.
	if err := e.raw.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = created_at
		WHERE id = (SELECT MIN(id) FROM river_job WHERE kind = 'push')`); err != nil {
		t.Fatal(err)
	}
	if err := e.raw.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = created_at
		WHERE id = (SELECT MAX(id) FROM river_job WHERE kind = 'push')`); err != nil {
		t.Fatal(err)
	}
	refA := tandem.Ref{Kind: tandem.KindCustomer, ID: a.ID}
	if err := e.st.RecordPushError(ctx, "test", refA, "refused", true); err != nil {
		t.Fatal(err)
	}
	if err := e.st.RecordPushError(ctx, "idle", refA, "timeout", false); err != nil {
		t.Fatal(err)
	}
	got = stats()
	want["test"] = tandem.SyncStats{Integration: "test", Queued: 1, Parked: 1}
	if diff := cmp.Diff(want, got, ignoreTime); diff != "" {
		t.Fatalf("stats after a finished job and a parked link (-want +got):\n%s", diff)
	}
	if o := got["test"].OldestQueued; o.Before(beforeB.Add(-tick)) {
		t.Fatalf("oldest job of test enqueued at %v, want the second write's (after %v)", o, beforeB)
	}
}
