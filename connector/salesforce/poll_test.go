package salesforce

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

// decodeAll decodes events, or fails.
func decodeAll(t *testing.T, c *Connector, events []tandem.InboundEvent) []*tandem.RemoteChange {
	t.Helper()
	var out []*tandem.RemoteChange
	for _, ev := range events {
		ch, ok, err := c.Decode(&ev)
		if err != nil || !ok {
			t.Fatalf("decode %s: %v, %v", ev.ID, ok, err)
		}
		out = append(out, ch)
	}
	return out
}

func TestPoll(t *testing.T) {
	clk := &clock{}
	h := newHarness(t, salesforce.Config{Now: clk.Now})
	c := h.connector(t, nil)
	c.now = clk.Now
	ui := h.em.UI()
	cursor := mustPoll(t, c, "", 0)
	clk.Add(time.Second)

	typed, err := ui.CreateContact(salesforce.Fields{"FirstName": "Ludwig", "LastName": "van Beethoven",
		"Email": "lvb@example.com", "MailingStreet": "Bonngasse 20\nHinterhaus"})
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := c.Push(t.Context(), customerPush("tdmc_ada", 1, tandem.Customer{Name: "Ada Lovelace"}))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := ui.CreateContact(salesforce.Fields{"LastName": "Gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ui.DeleteContact(gone.ID); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute) // deletes are listed by the minute, once it is over

	events, next, err := c.Poll(t.Context(), cursor)
	if err != nil {
		t.Fatal(err)
	}
	changes := decodeAll(t, c, events)
	byID := map[string]*tandem.RemoteChange{}
	for _, ch := range changes {
		byID[ch.RemoteID] = ch
	}
	if len(changes) != 3 || len(byID) != 3 {
		t.Fatalf("changes %+v, want three", changes)
	}
	want := &tandem.Customer{Name: "Ludwig van Beethoven", Email: "lvb@example.com",
		Address: tandem.Address{Line1: "Bonngasse 20", Line2: "Hinterhaus"}}
	if ch := byID[typed.ID]; ch.Ours || ch.Deleted || ch.LocalID != "" || !cmp.Equal(ch.Customer, want) ||
		ch.Watermark != typed.SystemModstamp.UnixMilli() {
		t.Errorf("typed contact: %+v, customer %+v", ch, ch.Customer)
	}
	if ch := byID[pushed.RemoteID]; !ch.Ours || ch.LocalID != "tdmc_ada" || string(ch.Base) != string(pushed.Base) {
		t.Errorf("pushed contact: %+v, base %s, want %s", ch, ch.Base, pushed.Base)
	}
	if ch := byID[gone.ID]; !ch.Deleted || ch.Customer != nil {
		t.Errorf("deleted contact: %+v", ch)
	}
	for i := 1; i < len(changes); i++ {
		if changes[i].Watermark < changes[i-1].Watermark {
			t.Errorf("changes out of order: %+v", changes)
		}
	}

	// The next poll reads the overlap again: the same events, no others.
	events2, _, err := c.Poll(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range events {
		seen[ev.ID] = true
	}
	for _, ev := range events2 {
		if !seen[ev.ID] {
			t.Errorf("new event %s without a change", ev.ID)
		}
	}
	clk.Add(time.Second)
	if _, err := ui.UpdateContact(typed.ID, salesforce.Fields{"Email": "ludwig@example.com"}); err != nil {
		t.Fatal(err)
	}
	events3, _, err := c.Poll(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ch := range decodeAll(t, c, events3) {
		found = found || ch.RemoteID == typed.ID && ch.Customer.Email == "ludwig@example.com"
	}
	if !found {
		t.Errorf("the update is not polled: %+v", events3)
	}
}

// mustPoll polls from cursor, checks the number of events (unless
// negative) and returns the next cursor.
func mustPoll(t *testing.T, c *Connector, cursor string, events int) string {
	t.Helper()
	evs, next, err := c.Poll(t.Context(), cursor)
	if err != nil {
		t.Fatal(err)
	}
	if events >= 0 && len(evs) != events {
		t.Errorf("%d events, want %d", len(evs), events)
	}
	return next
}

func TestPollPages(t *testing.T) {
	h := newHarness(t, salesforce.Config{QueryPageSize: 5})
	c := h.connector(t, nil)
	cursor := mustPoll(t, c, "", 0)
	for i := range 12 {
		if _, err := h.em.UI().CreateContact(salesforce.Fields{"LastName": fmt.Sprintf("N%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := h.requests()
	events, _, err := c.Poll(t.Context(), cursor)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ch := range decodeAll(t, c, events) {
		names = append(names, ch.Customer.Name)
	}
	if want := "N00 N01 N02 N03 N04 N05 N06 N07 N08 N09 N10 N11"; strings.Join(names, " ") != want {
		t.Errorf("names %v, want %s", names, want)
	}
	queries := 0
	for _, r := range h.em.Requests()[before:] {
		if strings.Contains(r.Path, "/query") {
			queries++
		}
	}
	if queries != 3 {
		t.Errorf("%d query requests for 12 rows in pages of 5, want 3", queries)
	}
}

func TestPollGap(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	old := time.Now().Add(-20 * 24 * time.Hour)
	cursor := encodeCursor(pollCursor{Modstamp: old, Deleted: old})
	_, next, err := c.Poll(t.Context(), cursor)
	if !errors.Is(err, tandem.ErrEventGap) || next == "" {
		t.Errorf("err %v, next %q; want ErrEventGap and a cursor", err, next)
	}
	if _, _, err := c.Poll(t.Context(), next); err != nil {
		t.Errorf("from the new cursor: %v", err)
	}
	if _, _, err := c.Poll(t.Context(), "nonsense"); err == nil {
		t.Error("a bad cursor is accepted")
	}
}

func TestFetchAndSnapshot(t *testing.T) {
	h := newHarness(t, salesforce.Config{})
	c := h.connector(t, nil)
	cust := tandem.Customer{Name: "Grace Hopper", Phone: "+1 555 0100", Address: tandem.Address{City: "Arlington", Country: "US"}}
	res, err := c.Push(t.Context(), customerPush("tdmc_grace", 1, cust))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(tandem.KindCustomer, res.Base)
	if err != nil || !cmp.Equal(snap.Customer, &cust) {
		t.Errorf("snapshot %+v, %v; want %+v", snap, err, cust)
	}
	ch, err := c.Fetch(t.Context(), tandem.KindCustomer, res.RemoteID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Deleted || !ch.Ours || ch.LocalID != "tdmc_grace" || !cmp.Equal(ch.Customer, &cust) || string(ch.Base) != string(res.Base) {
		t.Errorf("fetched %+v, customer %+v", ch, ch.Customer)
	}
	if err := h.em.UI().DeleteContact(res.RemoteID); err != nil {
		t.Fatal(err)
	}
	if ch, err := c.Fetch(t.Context(), tandem.KindCustomer, res.RemoteID); err != nil || !ch.Deleted {
		t.Errorf("fetched after delete: %+v, %v", ch, err)
	}
}
