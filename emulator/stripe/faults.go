package stripe

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Faults are the misbehaviours the emulator injects. The zero value injects
// none. Change them at any time with Emulator.SetFaults.
type Faults struct {
	// RateLimit caps API requests per second; the excess is answered
	// 429 rate_limit before anything else happens. Zero means no limit.
	RateLimit float64
	// RateBurst is how many requests may arrive at once under RateLimit
	// (default: one second's worth, at least 1).
	RateBurst int
	// Latency is added to every API request before it is handled.
	Latency time.Duration
	// FailBeforeApply answers API requests (reads too) 500 api_error without
	// handling them, with Stripe-Should-Retry: true. Nothing is saved under
	// the idempotency key, so a retry with the same key runs anew: a failure
	// in front of Stripe's idempotency layer. A request whose key has an
	// answer already gets that answer instead.
	FailBeforeApply Chance
	// FailAfterApply lets a successful write (POST or DELETE) make its change
	// and its event, then answers 500 api_error and saves that 500 under the
	// idempotency key: retries with the key get the 500 again, as with Stripe.
	FailAfterApply Chance
	// RejectWrites answers writes (POST or DELETE) 400 invalid_request_error
	// without handling them, as Stripe answers a request it refuses: an error
	// no retry can fix. Nothing is saved under the idempotency key.
	RejectWrites Chance
	// DropWebhooks never delivers an event; it is still listed by /v1/events.
	DropWebhooks Chance
	// DuplicateWebhooks delivers an event twice.
	DuplicateWebhooks Chance
	// ReorderWebhooks holds an event's delivery back until the next event has
	// been queued, so the later one arrives first.
	ReorderWebhooks Chance
	// ReorderHold bounds how long a held delivery waits for a later event
	// (default 1s).
	ReorderHold time.Duration
}

// Chance says when a fault fires. Each fault counts its own occasions from
// the last SetFaults: the requests it could fail, or the events delivered to
// an endpoint for the webhook faults.
type Chance struct {
	// Every fires on every Nth occasion: 1 always, 3 on the third, sixth, ...
	Every int
	// Probability fires on each occasion with this probability (0 to 1),
	// drawn from the emulator's seeded random source.
	Probability float64
}

func (f Faults) validate() error {
	var errs []error
	for _, c := range []struct {
		name string
		Chance
	}{
		{"FailBeforeApply", f.FailBeforeApply}, {"FailAfterApply", f.FailAfterApply}, {"RejectWrites", f.RejectWrites},
		{"DropWebhooks", f.DropWebhooks},
		{"DuplicateWebhooks", f.DuplicateWebhooks}, {"ReorderWebhooks", f.ReorderWebhooks},
	} {
		if c.Every < 0 || c.Probability < 0 || c.Probability > 1 {
			errs = append(errs, fmt.Errorf("stripe emulator: %s: Every must be >= 0 and Probability within [0, 1]", c.name))
		}
	}
	if f.RateLimit < 0 || f.RateBurst < 0 || f.Latency < 0 || f.ReorderHold < 0 {
		errs = append(errs, errors.New("stripe emulator: RateLimit, RateBurst, Latency and ReorderHold must not be negative"))
	}
	return errors.Join(errs...)
}

// trigger is a Chance with its count of occasions.
type trigger struct {
	Chance
	seen int
}

func (t *trigger) fire(rng *rand.Rand) bool {
	t.seen++
	every := t.Every > 0 && t.seen%t.Every == 0
	return every || t.Probability > 0 && rng.Float64() < t.Probability
}

// faultState is the active Faults, safe for concurrent use.
type faultState struct {
	mu                       sync.Mutex
	rng                      *rand.Rand
	latency, reorderHold     time.Duration
	limiter                  *rate.Limiter // nil: no limit
	failBefore, failAfter    trigger
	reject                   trigger
	drop, duplicate, reorder trigger
}

func newFaultState(seed uint64, f Faults) *faultState {
	s := &faultState{rng: rand.New(rand.NewPCG(seed, seed))}
	s.set(f)
	return s
}

func (s *faultState) set(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = f.Latency
	s.reorderHold = f.ReorderHold
	if s.reorderHold == 0 {
		s.reorderHold = time.Second
	}
	s.limiter = nil
	if f.RateLimit > 0 {
		burst := f.RateBurst
		if burst == 0 {
			burst = max(1, int(f.RateLimit))
		}
		s.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), burst)
	}
	s.failBefore = trigger{Chance: f.FailBeforeApply}
	s.failAfter = trigger{Chance: f.FailAfterApply}
	s.reject = trigger{Chance: f.RejectWrites}
	s.drop = trigger{Chance: f.DropWebhooks}
	s.duplicate = trigger{Chance: f.DuplicateWebhooks}
	s.reorder = trigger{Chance: f.ReorderWebhooks}
}

// fire counts an occasion of t, one of s's triggers, and reports whether the
// fault fires.
func (s *faultState) fire(t *trigger) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.fire(s.rng)
}

// allow reports whether the rate limit lets a request through now.
func (s *faultState) allow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limiter == nil || s.limiter.Allow()
}

// delay waits out the added latency, or until ctx is done.
func (s *faultState) delay(ctx context.Context) {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// plan is what the webhook faults make of one event's delivery.
type plan struct {
	drop   bool
	copies int
	hold   time.Duration // zero: not held back
}

func (s *faultState) plan() plan {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := plan{drop: s.drop.fire(s.rng), copies: 1}
	if s.duplicate.fire(s.rng) {
		p.copies = 2
	}
	if s.reorder.fire(s.rng) {
		p.hold = s.reorderHold
	}
	return p
}
