// Package batch is a group commit: items that concurrent callers hand in
// at about the same time leave together, in one call of a send function,
// and each caller gets its own item's result back.
package batch

import (
	"context"
	"sync"
	"time"
)

// Batcher collects the items of concurrent Do calls into batches of at most
// size items and sends each batch with one call of send: as soon as it is
// full, or when no item came for idle, or linger after its first item came,
// whichever is first. A lone item thus waits idle; items that keep coming
// (a backlog drained by workers that free up one by one) fill a batch for
// up to linger. It is safe for concurrent use.
type Batcher[I, R any] struct {
	size         int
	idle, linger time.Duration
	send         func(items []I) []R

	mu   sync.Mutex
	open *group[I, R] // the batch taking items; nil when none
}

// group is one batch: its items, and their callers' result channels in
// the same order.
type group[I, R any] struct {
	items    []I
	waiters  []chan R
	deadline time.Time // linger after the first item
	timer    *time.Timer
	sent     bool
}

// New returns a Batcher sending batches of up to size items, after idle
// without a new item or at most linger after their first one, with send,
// which must return one result per item, in the items' order. send runs
// in a goroutine of its own, with no caller's context: a caller that gives
// up cannot cancel what the others are waiting for.
func New[I, R any](size int, idle, linger time.Duration, send func(items []I) []R) *Batcher[I, R] {
	if size < 1 {
		panic("batch: size must be at least 1")
	}
	return &Batcher[I, R]{size: size, idle: min(idle, linger), linger: linger, send: send}
}

// Do adds item to the batch taking items and returns item's result once
// the batch is sent. When ctx ends before that, the item is taken out of
// the batch and Do returns ctx's error; once the batch is sent, Do waits
// for the result whatever ctx does, so that a caller never outlives its
// item's call without knowing its outcome.
func (b *Batcher[I, R]) Do(ctx context.Context, item I) (R, error) {
	done := make(chan R, 1)
	b.mu.Lock()
	g := b.open
	if g == nil {
		g = &group[I, R]{deadline: time.Now().Add(b.linger)}
		b.open = g
		g.timer = time.AfterFunc(b.idle, func() { b.flush(g) })
	} else {
		g.timer.Reset(min(b.idle, time.Until(g.deadline)))
	}
	g.items = append(g.items, item)
	g.waiters = append(g.waiters, done)
	full := len(g.items) == b.size
	if full {
		b.open = nil // the next item starts the next batch
	}
	b.mu.Unlock()
	if full {
		b.flush(g)
	}

	select {
	case r := <-done:
		return r, nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	if !g.sent {
		for i, w := range g.waiters {
			if w == done {
				g.items = append(g.items[:i], g.items[i+1:]...)
				g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
				break
			}
		}
		b.mu.Unlock()
		var zero R
		return zero, ctx.Err()
	}
	b.mu.Unlock()
	return <-done, nil
}

// flush sends g unless it was sent already (its timer and its last item
// may both flush it), and hands each waiter its result.
func (b *Batcher[I, R]) flush(g *group[I, R]) {
	b.mu.Lock()
	if g.sent {
		b.mu.Unlock()
		return
	}
	g.sent = true
	g.timer.Stop()
	if b.open == g {
		b.open = nil
	}
	items, waiters := g.items, g.waiters
	b.mu.Unlock()
	if len(items) == 0 { // every caller gave up
		return
	}
	go func() {
		for i, r := range b.send(items) {
			waiters[i] <- r
		}
	}()
}
