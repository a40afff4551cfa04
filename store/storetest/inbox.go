package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tandemsync/tandem"
)

// testInbox: events are stored once each, whether they come by webhook or
// by poll, each new one with its apply job; the poll cursor is kept.
func testInbox(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	ev := func(id string) tandem.InboundEvent {
		return tandem.InboundEvent{ID: id, Type: "customer.updated", Payload: []byte(`{"id":"` + id + `"}`)}
	}
	if n, err := e.st.ReceiveEvents(ctx, "test", []tandem.InboundEvent{ev("evt_1"), ev("evt_2")}); err != nil || n != 2 {
		t.Fatalf("first delivery: %d new, %v", n, err)
	}
	if n, err := e.st.ReceiveEvents(ctx, "test", []tandem.InboundEvent{ev("evt_2")}); err != nil || n != 0 {
		t.Fatalf("duplicate delivery: %d new, %v", n, err)
	}
	if c, err := e.st.Cursor(ctx, "test"); err != nil || c != "" {
		t.Fatalf("cursor before any poll = %q, %v", c, err)
	}
	if n, err := e.st.ReceivePolled(ctx, "test", []tandem.InboundEvent{ev("evt_2"), ev("evt_3")}, "cursor-1"); err != nil || n != 1 {
		t.Fatalf("poll: %d new, %v", n, err)
	}
	if c, err := e.st.Cursor(ctx, "test"); err != nil || c != "cursor-1" {
		t.Fatalf("cursor after a poll = %q, %v", c, err)
	}
	got, err := e.st.LoadEvent(ctx, "test", "evt_3")
	if err != nil || string(got.Payload) != `{"id":"evt_3"}` || got.Type != "customer.updated" {
		t.Fatalf("stored event = %+v, %v", got, err)
	}
	_, err = e.st.LoadEvent(ctx, "test", "evt_9")
	wantCode(t, err, tandem.ENOTFOUND)
	var jobs int
	if err := e.raw.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'apply'`).Scan(&jobs); err != nil || jobs != 3 {
		t.Fatalf("%d apply jobs (%v), want one per new event: 3", jobs, err)
	}
}

// testConcurrentDeliveries: deliveries received at once share transactions
// (a group commit), and each event is still stored once with one apply
// job, however many deliveries carry it.
func testConcurrentDeliveries(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	const events, copies = 30, 3 // every event delivered three times
	var (
		wg    sync.WaitGroup
		fresh atomic.Int64
	)
	for i := range events * copies {
		wg.Go(func() {
			id := fmt.Sprintf("evt_%d", i%events)
			n, err := e.st.ReceiveEvents(ctx, "test", []tandem.InboundEvent{
				{ID: id, Type: "customer.updated", Payload: []byte(`{"id":"` + id + `"}`)}})
			if err != nil {
				t.Errorf("deliver %s: %v", id, err)
			}
			fresh.Add(int64(n))
		})
	}
	wg.Wait()
	if n := fresh.Load(); n != events {
		t.Errorf("deliveries reported %d new events, want %d", n, events)
	}
	var stored, jobs int
	if err := e.raw.QueryRow(ctx, `SELECT COUNT(*) FROM inbox`).Scan(&stored); err != nil || stored != events {
		t.Errorf("%d events stored (%v), want %d", stored, err, events)
	}
	if err := e.raw.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'apply'`).Scan(&jobs); err != nil || jobs != events {
		t.Errorf("%d apply jobs (%v), want one per event: %d", jobs, err, events)
	}
}
