package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store/sqlstore"
)

// testPrune: pruning drops what is past its retention (events whose apply
// is over, idempotency keys, finished reconcile runs) and keeps the rest.
func testPrune(t *testing.T, open Opener) {
	var mu sync.Mutex
	clock := time.Now().Add(-40 * 24 * time.Hour)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	e := newEnv(t, open, false, func(o *sqlstore.Options) { o.Now = now })
	ctx := context.Background()
	ev := func(id string) tandem.InboundEvent {
		return tandem.InboundEvent{ID: id, Type: "customer.updated", Payload: []byte(`{}`)}
	}
	if _, err := e.st.ReceiveEvents(ctx, "test", []tandem.InboundEvent{ev("evt_applied"), ev("evt_waiting")}); err != nil {
		t.Fatal(err)
	}
	keyed := tandem.Write{Origin: tandem.OriginAPI, IdempotencyKey: "key-1", RequestHash: "h"}
	first, _, err := e.st.CreateCustomer(ctx, &tandem.Customer{Name: "Keyed"}, keyed)
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.st.StartReconcile(ctx, "test", false, false)
	if err != nil {
		t.Fatal(err)
	}
	run.Status = tandem.RunDone
	if err := e.st.SaveReconcileRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := e.raw.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = created_at
		WHERE kind = 'apply' AND `+`id = (SELECT MIN(id) FROM river_job WHERE kind = 'apply')`); err != nil {
		t.Fatal(err)
	}

	// Within every retention: nothing goes.
	if err := e.st.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"evt_applied", "evt_waiting"} {
		if _, err := e.st.LoadEvent(ctx, "test", id); err != nil {
			t.Fatalf("%s pruned too early: %v", id, err)
		}
	}

	mu.Lock()
	clock = clock.Add(40 * 24 * time.Hour)
	mu.Unlock()
	if err := e.st.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = e.st.LoadEvent(ctx, "test", "evt_applied")
	wantCode(t, err, tandem.ENOTFOUND)
	if _, err := e.st.LoadEvent(ctx, "test", "evt_waiting"); err != nil {
		t.Fatalf("an event whose apply job still waits was pruned: %v", err)
	}
	_, err = e.st.ReconcileRun(ctx, "test", run.ID)
	wantCode(t, err, tandem.ENOTFOUND)
	again, replayed, err := e.st.CreateCustomer(ctx, &tandem.Customer{Name: "Keyed"}, keyed)
	if err != nil || replayed || again.ID == first.ID {
		t.Fatalf("a key past its retention replayed: %+v, replayed %v, %v", again, replayed, err)
	}
}
