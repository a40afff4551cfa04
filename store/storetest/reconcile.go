package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store/sqlstore"
)

// testReconcileReads: the lookups reconciliation makes find records by
// remote id, by id and page by page, with their links, tombstones included.
func testReconcileReads(t *testing.T, open Opener) {
	e := newEnv(t, open, true, nil)
	ctx := context.Background()
	a := mustCreate(t, e.st, &tandem.Customer{Name: "A"})
	b := mustCreate(t, e.st, &tandem.Customer{Name: "B"})
	e.waitLink(t, a.ID, "A synced", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	e.waitLink(t, b.ID, "B synced", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if err := e.st.DeleteCustomer(ctx, b.ID, api); err != nil {
		t.Fatal(err)
	}

	byRemote, err := e.st.RecordsByRemoteID(ctx, "test", tandem.KindCustomer, []string{"remote_" + a.ID, "remote_none"})
	if err != nil || len(byRemote) != 1 || byRemote[0].Record.Ref.ID != a.ID || byRemote[0].Link.RemoteID != "remote_"+a.ID {
		t.Fatalf("RecordsByRemoteID = %+v, %v", byRemote, err)
	}
	byID, err := e.st.RecordsByID(ctx, "test", tandem.KindCustomer, []string{b.ID})
	if err != nil || len(byID) != 1 || !byID[0].Record.Deleted || byID[0].Link == nil {
		t.Fatalf("RecordsByID of a tombstone = %+v, %v", byID, err)
	}
	var seen []string
	after := ""
	for {
		page, err := e.st.ScanRecords(ctx, "test", tandem.KindCustomer, after, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		seen = append(seen, page[0].Record.Ref.ID)
		after = page[0].Record.Ref.ID
	}
	if len(seen) != 2 || seen[0] >= seen[1] {
		t.Fatalf("ScanRecords walked %v, want both ids in order", seen)
	}
	none, err := e.st.ScanRecords(ctx, "other", tandem.KindCustomer, "", 10)
	if err != nil || len(none) != 2 || none[0].Link != nil {
		t.Fatalf("ScanRecords for an integration without links = %+v, %v", none, err)
	}
}

// testResync: a resync pushes again a version the link took as synced,
// starting from the base it is given.
func testResync(t *testing.T, open Opener) {
	e := newEnv(t, open, true, nil)
	ctx := context.Background()
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Again"})
	e.in.WaitVersion(t, wait, c.ID, 1)
	e.waitLink(t, c.ID, "synced", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	before := len(e.in.PushesOf(c.ID))
	if err := e.st.Resync(ctx, "test", tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID}, []byte(`{"drift":true}`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(wait); len(e.in.PushesOf(c.ID)) == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the resync's push")
		}
	}
	l := e.waitLink(t, c.ID, "synced again", func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if l.SyncedVersion != 1 {
		t.Fatalf("link after resync = %+v", l)
	}
}

// testReconcileRuns: runs are recorded with their job, updated, and read
// back per integration.
func testReconcileRuns(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	run, err := e.st.StartReconcile(ctx, "test", true, true)
	if err != nil {
		t.Fatal(err)
	}
	var jobs int
	if err := e.raw.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'reconcile'`).Scan(&jobs); err != nil || jobs != 1 {
		t.Fatalf("reconcile jobs = %d, %v; want 1", jobs, err)
	}
	run.Status, run.Progress.RemoteScanned = tandem.RunDone, 7
	run.Progress.Repairs[tandem.RepairCreateLocal] = 2
	run.Actions = []tandem.ReconcileAction{{Action: tandem.RepairCreateLocal, RemoteID: "r1"}}
	run.FinishedAt = run.StartedAt.Add(1)
	if err := e.st.SaveReconcileRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.ReconcileRun(ctx, "test", run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tandem.RunDone || !got.DryRun || got.Progress.RemoteScanned != 7 ||
		got.Progress.Repairs[tandem.RepairCreateLocal] != 2 || len(got.Actions) != 1 || got.FinishedAt.IsZero() {
		t.Fatalf("run read back = %+v", got)
	}
	_, err = e.st.ReconcileRun(ctx, "other", run.ID)
	wantCode(t, err, tandem.ENOTFOUND)
}

// testOneLiveRun: a second run of an integration is refused while one is
// alive, and a run abandoned by a stopped process is closed as failed.
func testOneLiveRun(t *testing.T, open Opener) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	e := newEnv(t, open, false, func(o *sqlstore.Options) { o.Now = now })
	ctx := context.Background()
	first, err := e.st.StartReconcile(ctx, "test", false, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.st.StartReconcile(ctx, "test", true, true)
	wantCode(t, err, tandem.ECONFLICT)
	if _, err := e.st.StartReconcile(ctx, "other", false, false); err != nil {
		t.Fatalf("a run of another integration: %v", err)
	}

	mu.Lock()
	clock = clock.Add(sqlstore.AbandonedAfter + time.Second)
	mu.Unlock()
	second, err := e.st.StartReconcile(ctx, "test", false, false)
	if err != nil {
		t.Fatalf("after the first run was abandoned: %v", err)
	}
	got, err := e.st.ReconcileRun(ctx, "test", first.ID)
	if err != nil || got.Status != tandem.RunFailed || got.Error == "" || got.FinishedAt.IsZero() {
		t.Fatalf("abandoned run = %+v, %v; want failed with a reason", got, err)
	}
	second.Status, second.FinishedAt = tandem.RunDone, now()
	if err := e.st.SaveReconcileRun(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.StartReconcile(ctx, "test", false, false); err != nil {
		t.Fatalf("after the second run finished: %v", err)
	}
}
