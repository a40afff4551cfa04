package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/syncer/syncertest"
)

// source makes the test integration a tandem.Lister: an event's payload is
// the JSON of the RemoteChange it reports, Fetch and List answer the remote
// state a test set, and a base is the JSON of the Fields it holds.
type source struct {
	*syncertest.Integration
	mu      sync.Mutex
	current map[tandem.Ref]*tandem.RemoteChange // by remote id
	events  int
	fetches int // calls of Fetch
}

func newSource(in *syncertest.Integration) *source {
	return &source{Integration: in, current: map[tandem.Ref]*tandem.RemoteChange{}}
}

// Verify implements tandem.Source; the suite stores events directly.
func (*source) Verify(*tandem.Delivery) ([]tandem.InboundEvent, error) { return nil, nil }

// Decode implements tandem.Source.
func (*source) Decode(ev *tandem.InboundEvent) (*tandem.RemoteChange, bool, error) {
	var ch tandem.RemoteChange
	return &ch, true, json.Unmarshal(ev.Payload, &ch)
}

// Fetch implements tandem.Source: the state set with setRemote.
func (s *source) Fetch(_ context.Context, kind tandem.Kind, remoteID string) (*tandem.RemoteChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	ch, ok := s.current[tandem.Ref{Kind: kind, ID: remoteID}]
	if !ok {
		return nil, tandem.Errorf(tandem.ENOTFOUND, "no remote %s %s", kind, remoteID)
	}
	return ch, nil
}

// Snapshot implements tandem.Source.
func (*source) Snapshot(_ tandem.Kind, base []byte) (tandem.Fields, error) {
	var f tandem.Fields
	return f, json.Unmarshal(base, &f)
}

// Kinds implements tandem.Selective: reconciliation walks both kinds.
func (*source) Kinds() []tandem.Kind { return []tandem.Kind{tandem.KindInvoice, tandem.KindCustomer} }

// List implements tandem.Lister: every record set with setRemote, in one
// page.
func (s *source) List(_ context.Context, kind tandem.Kind, _ string) ([]*tandem.RemoteChange, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var page []*tandem.RemoteChange
	for ref, ch := range s.current {
		if ref.Kind == kind && !ch.Deleted {
			page = append(page, ch)
		}
	}
	slices.SortFunc(page, func(a, b *tandem.RemoteChange) int { return strings.Compare(a.RemoteID, b.RemoteID) })
	return page, "", nil
}

// setRemote makes ch the current remote state of its record, with its base.
func (s *source) setRemote(ch *tandem.RemoteChange) *tandem.RemoteChange {
	ch.Base, _ = json.Marshal(ch.Fields)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current[tandem.Ref{Kind: ch.Kind, ID: ch.RemoteID}] = ch
	return ch
}

// deliver stores an event reporting ch (its base set), to be applied.
func (e *env) deliver(t *testing.T, ch *tandem.RemoteChange) {
	t.Helper()
	if !ch.Deleted {
		ch.Base, _ = json.Marshal(ch.Fields)
	}
	payload, err := json.Marshal(ch)
	if err != nil {
		t.Fatal(err)
	}
	e.src.mu.Lock()
	e.src.events++
	id := "ev_" + strconv.Itoa(e.src.events)
	e.src.mu.Unlock()
	if _, err := e.st.ReceiveEvents(context.Background(), "test", []tandem.InboundEvent{{ID: id, Type: "test", Payload: payload}}); err != nil {
		t.Fatalf("receive event: %v", err)
	}
}
