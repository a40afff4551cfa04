package salesforce

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Faults are the misbehaviours the emulator injects. The zero value injects
// none. Change them at any time with Emulator.SetFaults; end every session
// with Emulator.ExpireSessions and exhaust the daily limit with SetUsage.
type Faults struct {
	// Latency is added to every request (token requests too).
	Latency time.Duration
	// ServerError answers API calls 500 UNKNOWN_EXCEPTION without handling
	// them (they still count against the daily limit).
	ServerError Chance
	// Unavailable answers API calls 503 SERVER_UNAVAILABLE without
	// handling them.
	Unavailable Chance
	// ConcurrentLimit answers API calls 403 REQUEST_LIMIT_EXCEEDED
	// (ConcurrentPerOrgLongTxn) without handling them: Salesforce's
	// transient refusal, where other APIs answer 429.
	ConcurrentLimit Chance
	// DropOutbound never delivers an outbound notification.
	DropOutbound Chance
	// DuplicateOutbound delivers a notification twice, with the same
	// notification id.
	DuplicateOutbound Chance
}

// Chance says when a fault fires. Each fault counts its own occasions from
// the last SetFaults: the API calls it could fail, or the notifications.
type Chance struct {
	// Every fires on every Nth occasion: 1 always, 3 on the third, sixth, ...
	Every int
	// Probability fires on each occasion with this probability (0 to 1),
	// drawn from the emulator's seeded random source.
	Probability float64
}

func (f Faults) validate() error {
	var errs []error
	chances := map[string]Chance{"ServerError": f.ServerError, "Unavailable": f.Unavailable,
		"ConcurrentLimit": f.ConcurrentLimit, "DropOutbound": f.DropOutbound, "DuplicateOutbound": f.DuplicateOutbound}
	for name, c := range chances {
		if c.Every < 0 || c.Probability < 0 || c.Probability > 1 {
			errs = append(errs, fmt.Errorf("salesforce emulator: %s: Every must be >= 0 and Probability within [0, 1]", name))
		}
	}
	if f.Latency < 0 {
		errs = append(errs, errors.New("salesforce emulator: Latency must not be negative"))
	}
	return errors.Join(errs...)
}

// faultState is the active Faults with their counts of occasions, safe for
// concurrent use.
type faultState struct {
	mu     sync.Mutex
	rng    *rand.Rand
	faults Faults
	seen   map[*Chance]int
}

func newFaultState(seed uint64, f Faults) *faultState {
	s := &faultState{rng: rand.New(rand.NewPCG(seed, seed^0x5f))}
	s.set(f)
	return s
}

func (s *faultState) set(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.seen = map[*Chance]int{}
}

// fires counts an occasion of c, one of s.faults' chances, and reports
// whether it fires. It runs with s.mu held.
func (s *faultState) fires(c *Chance) bool {
	s.seen[c]++
	return c.Every > 0 && s.seen[c]%c.Every == 0 || c.Probability > 0 && s.rng.Float64() < c.Probability
}

// before returns the error an API call fails with before it is handled, if any.
func (s *faultState) before() *Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.fires(&s.faults.ServerError):
		return serverError()
	case s.fires(&s.faults.Unavailable):
		return unavailable()
	case s.fires(&s.faults.ConcurrentLimit):
		return requestLimitExceeded("ConcurrentPerOrgLongTxn")
	}
	return nil
}

// outboundPlan says how many copies of a notification to deliver: 0, 1 or 2.
func (s *faultState) outboundPlan() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fires(&s.faults.DropOutbound) {
		return 0
	}
	if s.fires(&s.faults.DuplicateOutbound) {
		return 2
	}
	return 1
}

// latency returns the latency to add to a request.
func (s *faultState) latency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.Latency
}

// sleep waits for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	if d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
}
