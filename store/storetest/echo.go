package storetest

import (
	"context"
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
