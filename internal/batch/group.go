package batch

import (
	"context"
	"slices"
	"sync"
)

// Group is a group commit that never waits on a timer: at most inflight
// calls of send run at once, and the items handed in while they all run
// wait and leave together, up to size of them, in the next call as soon as
// one ends. A lone item thus leaves at once, and batches grow only with
// the load, to what arrived during one send. It is safe for concurrent
// use.
type Group[I, R any] struct {
	size, inflight int
	send           func(items []I) []R

	mu      sync.Mutex
	queue   []*waiter[I, R] // items not yet taken, oldest first
	running int             // goroutines draining the queue
}

// waiter is one Do call's item and the channel of its result.
type waiter[I, R any] struct {
	item I
	done chan R
}

// NewGroup returns a Group sending batches of up to size items with send,
// at most inflight at a time. send must return one result per item, in the
// items' order; it runs in a goroutine of its own, with no caller's
// context, so that a caller that gives up cannot cancel what the others
// wait for.
func NewGroup[I, R any](size, inflight int, send func(items []I) []R) *Group[I, R] {
	if size < 1 || inflight < 1 {
		panic("batch: size and inflight must be at least 1")
	}
	return &Group[I, R]{size: size, inflight: inflight, send: send}
}

// Do hands item in and returns its result once its batch is sent. When ctx
// ends before a batch took the item, it is dropped and Do returns ctx's
// error; once taken, Do waits for the result whatever ctx does, so that a
// caller never outlives its item's call without knowing its outcome.
func (g *Group[I, R]) Do(ctx context.Context, item I) (R, error) {
	w := &waiter[I, R]{item: item, done: make(chan R, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	if g.running < g.inflight {
		g.running++
		go g.drain()
	}
	g.mu.Unlock()

	select {
	case r := <-w.done:
		return r, nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	if i := slices.Index(g.queue, w); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
		g.mu.Unlock()
		var zero R
		return zero, ctx.Err()
	}
	g.mu.Unlock()
	return <-w.done, nil
}

// drain sends the waiting items, oldest first, until none is left.
func (g *Group[I, R]) drain() {
	for {
		g.mu.Lock()
		n := min(len(g.queue), g.size)
		if n == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		taken := slices.Clone(g.queue[:n])
		g.queue = slices.Delete(g.queue, 0, n)
		g.mu.Unlock()

		items := make([]I, n)
		for i, w := range taken {
			items[i] = w.item
		}
		for i, r := range g.send(items) {
			taken[i].done <- r
		}
	}
}
