package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupLoneItemGoesAtOnce: with nothing in flight, an item is sent
// alone and answered without waiting for company.
func TestGroupLoneItemGoesAtOnce(t *testing.T) {
	rec := &recorder{}
	g := NewGroup(100, 1, rec.send)
	for i := range 3 {
		r, err := g.Do(t.Context(), i)
		if err != nil || r != i*10 {
			t.Fatalf("Do(%d) = %d, %v; want %d", i, r, err, i*10)
		}
	}
	if batches := rec.sent(); !slices.EqualFunc(batches, [][]int{{0}, {1}, {2}}, slices.Equal) {
		t.Errorf("batches %v, want three of one item", batches)
	}
}

// TestGroupGathersWhileInFlight: items handed in while a send runs leave
// together in the next one, up to size.
func TestGroupGathersWhileInFlight(t *testing.T) {
	rec := &recorder{hold: make(chan struct{})}
	g := NewGroup(3, 1, rec.send)
	first := make(chan int, 1)
	go func() {
		r, _ := g.Do(t.Context(), 1)
		first <- r
	}()
	for len(rec.sent()) == 0 { // item 1 is in flight
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	for _, it := range []int{2, 3, 4, 5} {
		wg.Go(func() {
			if r, err := g.Do(t.Context(), it); err != nil || r != it*10 {
				t.Errorf("Do(%d) = %d, %v", it, r, err)
			}
		})
	}
	waitQueued(g, 4)
	close(rec.hold)
	wg.Wait()
	if r := <-first; r != 10 {
		t.Errorf("first item got %d, want 10", r)
	}
	batches := rec.sent()
	sizes := make([]int, len(batches))
	for i, b := range batches {
		sizes[i] = len(b)
	}
	if !slices.Equal(sizes, []int{1, 3, 1}) {
		t.Errorf("batch sizes %v (%v), want [1 3 1]: the waiting items leave together, three at most", sizes, batches)
	}
}

// TestGroupBoundsInflight: no more than inflight sends run at once, however
// many callers there are.
func TestGroupBoundsInflight(t *testing.T) {
	const inflight = 3
	var running, most atomic.Int32
	g := NewGroup(5, inflight, func(items []int) []int {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
		out := make([]int, len(items))
		for i, it := range items {
			out[i] = it + 1
		}
		return out
	})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if r, err := g.Do(t.Context(), i); err != nil || r != i+1 {
				t.Errorf("Do(%d) = %d, %v", i, r, err)
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m > inflight || m < 2 {
		t.Errorf("at most %d sends ran at once, want 2..%d", m, inflight)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running != 0 || len(g.queue) != 0 {
		t.Errorf("after the last answer: %d draining, %d queued; want none", g.running, len(g.queue))
	}
}

// TestGroupCancelledCallerLeaves: an item whose caller gives up before a
// send took it is never sent.
func TestGroupCancelledCallerLeaves(t *testing.T) {
	rec := &recorder{hold: make(chan struct{})}
	g := NewGroup(10, 1, rec.send)
	go func() { _, _ = g.Do(t.Context(), 1) }()
	for len(rec.sent()) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := g.Do(ctx, 2)
		gaveUp <- err
	}()
	waitQueued(g, 1)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
	close(rec.hold)
	if r, err := g.Do(t.Context(), 3); err != nil || r != 30 {
		t.Fatalf("Do(3) = %d, %v", r, err)
	}
	for _, b := range rec.sent() {
		if slices.Contains(b, 2) {
			t.Errorf("batches %v: the abandoned item 2 was sent", rec.sent())
		}
	}
}

// TestGroupTakenItemOutlivesCaller: once its send runs, a caller waits for
// its result even when its context ends.
func TestGroupTakenItemOutlivesCaller(t *testing.T) {
	rec := &recorder{hold: make(chan struct{})}
	g := NewGroup(10, 1, rec.send)
	checkOutlivesCaller(t, g.Do, rec)
}

// waitQueued waits until n items wait in g's queue.
func waitQueued[I, R any](g *Group[I, R], n int) {
	for {
		g.mu.Lock()
		queued := len(g.queue)
		g.mu.Unlock()
		if queued == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
