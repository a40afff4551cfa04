package stripe

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// budget keeps one process's calls to Stripe inside its rate: every call
// waits for a token. When Stripe answers 429 anyway (other clients share the
// account's limit), every call pauses for the time Stripe asked and the rate
// is halved for a while, then restored.
type budget struct {
	full    rate.Limit
	limiter *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time
	restoreAt   time.Time
}

// slowdown is how long the rate stays halved after a 429.
const slowdown = 10 * time.Second

func newBudget(perSecond float64) *budget {
	return &budget{full: rate.Limit(perSecond), limiter: rate.NewLimiter(rate.Limit(perSecond), 1)}
}

// wait blocks until a call may be made, or ctx ends.
func (b *budget) wait(ctx context.Context) error {
	b.mu.Lock()
	now := time.Now()
	pause := b.pausedUntil.Sub(now)
	if !b.restoreAt.IsZero() && now.After(b.restoreAt) {
		b.limiter.SetLimit(b.full)
		b.restoreAt = time.Time{}
	}
	b.mu.Unlock()
	if pause > 0 {
		t := time.NewTimer(pause)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return b.limiter.Wait(ctx)
}

// throttled slows every caller down after a 429: no call for retryAfter,
// then half the rate for a while.
func (b *budget) throttled(retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if until := now.Add(retryAfter); until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
	b.limiter.SetLimit(b.full / 2)
	b.restoreAt = now.Add(retryAfter + slowdown)
}
