package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
)

// testRecordedEcho: a change our own push caused (Ours, naming the version
// it pushed), arriving once that push is recorded, is a step of it: the
// engine neither applies its snapshot nor fetches the record (here, the
// remote state differs from both, so either would show).
func testRecordedEcho(t *testing.T, open Opener) {
	e := newEnv(t, open, true, nil)
	ctx := context.Background()
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Pushed"})
	ref := tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID}
	link := e.waitLink(t, c.ID, "the create pushed", func(l *tandem.Link) bool { return l.SyncedVersion == 1 && l.RemoteID != "" })
	e.src.setRemote(&tandem.RemoteChange{Kind: tandem.KindCustomer, RemoteID: link.RemoteID, LocalID: c.ID,
		Watermark: link.Watermark, Fields: tandem.Fields{Customer: &tandem.Customer{Name: "Fetched"}}})

	e.deliver(t, &tandem.RemoteChange{Kind: tandem.KindCustomer, RemoteID: link.RemoteID, LocalID: c.ID,
		Watermark: link.Watermark, Ours: true, OursVersion: 1,
		Fields: tandem.Fields{Customer: &tandem.Customer{Name: "A step"}}})
	eventually(t, "the echo applied", func() bool {
		var n int
		err := e.raw.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'apply' AND state = 'completed'`).Scan(&n)
		return err == nil && n == 1
	})
	time.Sleep(50 * time.Millisecond)
	got, err := e.st.GetCustomer(ctx, c.ID)
	if err != nil || got.Name != "Pushed" || got.Version != 1 {
		t.Fatalf("customer after the echo = %+v, %v; want it as pushed", got, err)
	}
	if l := e.linkOf(t, ref); l.Status != tandem.LinkSynced {
		t.Fatalf("link after the echo = %+v", l)
	}
	e.src.mu.Lock()
	defer e.src.mu.Unlock()
	if e.src.fetches != 0 {
		t.Fatalf("the echo was fetched %d times", e.src.fetches)
	}
}

// testInboundWaitsForPush: an inbound change of a record whose push is in
// flight is applied only once the push is recorded, so that it is decided
// from what the push left (here the push's own echo, arriving before the
// push returned). A change decided from a link that has moved on since is
// refused with EPRECONDITION: its caller reads again.
func testInboundWaitsForPush(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	holding, release := make(chan struct{}, 1), make(chan struct{})
	e.in.Hold = func(ctx context.Context, rec *tandem.Record) {
		if rec.Customer != nil && rec.Customer.Name == "Edited" {
			holding <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Pushed"})
	ref := tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID}
	e.start(t)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before the store stops
	link := e.waitLink(t, c.ID, "the create pushed", func(l *tandem.Link) bool { return l.SyncedVersion == 1 && l.RemoteID != "" })

	if _, err := e.st.UpdateCustomer(ctx, c.ID, api, func(c *tandem.Customer) error { c.Name = "Edited"; return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-holding:
	case <-time.After(10 * time.Second):
		t.Fatal("the edit's push did not start")
	}
	e.deliver(t, &tandem.RemoteChange{Kind: tandem.KindCustomer, RemoteID: link.RemoteID, LocalID: c.ID,
		Watermark: link.Watermark + 10, Ours: true, OursVersion: 2,
		Fields: tandem.Fields{Customer: &tandem.Customer{Name: "Edited"}}})
	time.Sleep(300 * time.Millisecond) // the apply job runs within milliseconds
	if l := e.linkOf(t, ref); l.Watermark != link.Watermark || l.SyncedVersion != 1 {
		t.Fatalf("link while the push is in flight = %+v; the echo was applied before it", l)
	}
	free()
	eventually(t, "the echo applied after the push", func() bool { return e.linkOf(t, ref).Watermark == link.Watermark+10 })
	if got, err := e.st.GetCustomer(ctx, c.ID); err != nil || got.Name != "Edited" || got.Version != 2 {
		t.Fatalf("customer after its echo = %+v, %v; want it as pushed", got, err)
	}
	if l := e.linkOf(t, ref); l.SyncedVersion != 2 || l.Status != tandem.LinkSynced {
		t.Fatalf("link after the echo = %+v, want synced at version 2", l)
	}

	stale := e.st.ConfirmLink(ctx, ref, 0, tandem.Write{Origin: "test",
		Link: &tandem.LinkUpdate{RemoteID: link.RemoteID, Watermark: link.Watermark + 20, Revision: link.Revision}})
	wantCode(t, stale, tandem.EPRECONDITION)
	if l := e.linkOf(t, ref); l.Watermark != link.Watermark+10 {
		t.Fatalf("a change decided from an old link was recorded: %+v", l)
	}
}
