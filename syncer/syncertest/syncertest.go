// Package syncertest provides a recording test integration: a fake provider
// that remembers every push, can fail or hold pushes on demand, and checks
// that no two pushes of one record overlap. Tests of the engine, the stores
// and the binary use it until real connectors exist.
package syncertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
)

// Push is one push the integration received.
type Push struct {
	Ref     tandem.Ref `json:"ref"`
	Version int64      `json:"version"`
	Deleted bool       `json:"deleted"`
	Name    string     `json:"name"`
	PID     int        `json:"pid"`
	// CustomerRemoteID is, for a record that belongs to a customer, that
	// customer's remote id as the push request gave it.
	CustomerRemoteID string `json:"customer_remote_id,omitempty"`
}

// Integration is a recording tandem.Integration.
type Integration struct {
	name string

	mu       sync.Mutex
	pushes   []Push
	inflight map[tandem.Ref]int
	overlaps int
	changed  chan struct{} // closed and replaced on every push
	file     *os.File

	// Fail, when set, is called before a push is recorded; a non-nil error
	// fails the push.
	Fail func(req *tandem.PushRequest) error
	// Hold, when set, is called at the start of a push and may block.
	Hold func(ctx context.Context, rec *tandem.Record)
}

// New returns an integration called name.
func New(name string) *Integration {
	return &Integration{name: name, inflight: map[tandem.Ref]int{}, changed: make(chan struct{})}
}

// NewFile returns an integration that also appends every push to the file at
// path as a JSON line, for tests that watch another process.
func NewFile(name, path string) (*Integration, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	in := New(name)
	in.file = f
	return in, nil
}

// Name implements tandem.Integration.
func (in *Integration) Name() string { return in.name }

// Push implements tandem.Integration: it records rec and answers the link's
// remote id, or for a first push one derived from the local id.
func (in *Integration) Push(ctx context.Context, req *tandem.PushRequest) (*tandem.PushResult, error) {
	rec := req.Record
	in.mu.Lock()
	in.inflight[rec.Ref]++
	if in.inflight[rec.Ref] > 1 {
		in.overlaps++
	}
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		in.inflight[rec.Ref]--
		in.mu.Unlock()
	}()

	if in.Hold != nil {
		in.Hold(ctx, rec)
	}
	if in.Fail != nil {
		if err := in.Fail(req); err != nil {
			return nil, err
		}
	}
	p := Push{Ref: rec.Ref, Version: rec.Version, Deleted: rec.Deleted, PID: os.Getpid()}
	if rec.Customer != nil {
		p.Name = rec.Customer.Name
	}
	if req.CustomerLink != nil {
		p.CustomerRemoteID = req.CustomerLink.RemoteID
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.file != nil {
		line, _ := json.Marshal(p)
		if _, err := in.file.Write(append(line, '\n')); err != nil {
			return nil, err
		}
		if err := in.file.Sync(); err != nil {
			return nil, err
		}
	}
	in.pushes = append(in.pushes, p)
	close(in.changed)
	in.changed = make(chan struct{})
	remoteID := req.Link.RemoteID
	if remoteID == "" {
		remoteID = "remote_" + rec.Ref.ID
	}
	return &tandem.PushResult{RemoteID: remoteID}, nil
}

// Pushes returns the pushes so far, in order.
func (in *Integration) Pushes() []Push {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Push(nil), in.pushes...)
}

// PushesOf returns the pushes of one record, in order.
func (in *Integration) PushesOf(id string) []Push {
	var out []Push
	for _, p := range in.Pushes() {
		if p.Ref.ID == id {
			out = append(out, p)
		}
	}
	return out
}

// Overlaps counts pushes that started while another push of the same record
// was still running.
func (in *Integration) Overlaps() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.overlaps
}

// WaitFor waits until cond holds for the pushes so far, failing the test
// after timeout.
func (in *Integration) WaitFor(t testing.TB, timeout time.Duration, what string, cond func([]Push) bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		in.mu.Lock()
		pushes, changed := append([]Push(nil), in.pushes...), in.changed
		in.mu.Unlock()
		if cond(pushes) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s; %d pushes: %v", timeout, what, len(pushes), summarize(pushes))
		}
	}
}

// WaitVersion waits until the record id has been pushed at version v.
func (in *Integration) WaitVersion(t testing.TB, timeout time.Duration, id string, v int64) {
	t.Helper()
	in.WaitFor(t, timeout, fmt.Sprintf("%s at version %d", id, v), func(ps []Push) bool {
		for _, p := range ps {
			if p.Ref.ID == id && p.Version == v {
				return true
			}
		}
		return false
	})
}

func summarize(ps []Push) string {
	if len(ps) > 10 {
		ps = ps[len(ps)-10:]
	}
	return fmt.Sprint(ps)
}
