package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tandemsync/tandem"
)

// Budget tuning. Salesforce counts API requests over a rolling 24 hours.
const (
	window = 24 * time.Hour
	// nearShare: the wall is near when less than this share of an
	// allocation (the org's, or Tandem's DailyBudget) remains.
	nearShare = 0.1
	// paceShare: near the wall, calls are spaced so that Tandem would use
	// at most this share of what remains over the next 24 hours.
	paceShare = 0.5
	// orgReserve: Tandem leaves this share of the org's allocation to the
	// org's other clients and refuses to call past it.
	orgReserve = 0.01
	// maxPause is the longest a call waits for its turn; a longer wait is
	// answered RetryLater so that no worker sits idle.
	maxPause = 2 * time.Second
	// probeWait: at the org's wall, while one call asks again, the others
	// wait this long for its answer.
	probeWait = 5 * time.Second
)

// budget keeps the connector's calls inside the daily allocation. It reads
// the org's usage from Sforce-Limit-Info on every answer and counts
// Tandem's own calls against DailyBudget; near either wall it spaces calls
// out, and at the wall it refuses them with RetryLater. The org's usage
// falls as its oldest requests leave the rolling 24 hours, which only an
// answer tells: at the org's wall, one call goes exhaustedDelay after the
// last answer to ask again, while the others wait for its answer.
type budget struct {
	daily int // Tandem's own allocation; 0 for none
	now   func() time.Time

	mu          sync.Mutex
	calls       []time.Time // Tandem's calls in the window, oldest first (only with a daily budget)
	used, limit int         // the org's usage as last answered; max 0 until known
	seen        time.Time   // when the org's usage was last answered
	probe       time.Time   // when a call last went to ask again at the org's wall
	next        time.Time   // when the next call may go, while calls are spaced
}

func newBudget(daily int, now func() time.Time) *budget { return &budget{daily: daily, now: now} }

// take waits for a call's turn, or refuses the call with a RetryLater
// *tandem.ProviderError.
func (b *budget) take(ctx context.Context) error {
	b.mu.Lock()
	now := b.now()
	cutoff := now.Add(-window)
	i := 0
	for i < len(b.calls) && !b.calls[i].After(cutoff) {
		i++
	}
	b.calls = b.calls[i:]
	if delay, why := b.refusal(now); delay > 0 {
		b.mu.Unlock()
		return &tandem.ProviderError{Class: tandem.RetryLater, Delay: delay, Err: fmt.Errorf("salesforce: %s", why)}
	}
	var pause time.Duration
	if interval := b.interval(); interval > 0 {
		at := now
		if b.next.After(now) {
			at = b.next
		}
		if pause = at.Sub(now); pause > maxPause {
			b.mu.Unlock()
			return &tandem.ProviderError{Class: tandem.RetryLater, Delay: pause,
				Err: fmt.Errorf("salesforce: near the daily API limit, calls are spaced %s apart", interval)}
		}
		b.next = at.Add(interval)
	}
	if b.daily > 0 {
		b.calls = append(b.calls, now.Add(pause))
	}
	if b.limit > 0 {
		b.used++ // until the answer says better
	}
	b.mu.Unlock()
	if pause > 0 {
		t := time.NewTimer(pause)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return &tandem.ProviderError{Class: tandem.Retry, Err: fmt.Errorf("salesforce: waiting for the API budget: %w", ctx.Err())}
		case <-t.C:
		}
	}
	return nil
}

// refusal returns how long to wait before any call and why, or 0 when a
// call may go. At the org's wall, the first call exhaustedDelay after the
// last answer goes, to learn the usage again, and the others wait
// probeWait for its answer. It runs with b.mu held.
func (b *budget) refusal(now time.Time) (time.Duration, string) {
	if b.daily > 0 && len(b.calls) >= b.daily {
		return b.calls[0].Add(window).Sub(now), fmt.Sprintf("Tandem's daily budget of %d API requests is spent", b.daily)
	}
	if b.limit > 0 && b.limit-b.used <= int(float64(b.limit)*orgReserve) {
		why := fmt.Sprintf("the org's daily API allocation is (nearly) spent: %d/%d", b.used, b.limit)
		if wait := b.seen.Add(exhaustedDelay).Sub(now); wait > 0 {
			return wait, why
		}
		if wait := b.probe.Add(probeWait).Sub(now); wait > 0 {
			return wait, why + "; asking again"
		}
		b.probe = now
	}
	return 0, ""
}

// interval returns how far apart calls must be, 0 when the wall is far.
// It runs with b.mu held.
func (b *budget) interval() time.Duration {
	remaining, near := -1, false
	if b.daily > 0 {
		remaining = b.daily - len(b.calls)
		near = float64(remaining) < nearShare*float64(b.daily)
	}
	if b.limit > 0 {
		left := b.limit - b.used - int(float64(b.limit)*orgReserve)
		if remaining < 0 || left < remaining {
			remaining = left
		}
		near = near || float64(b.limit-b.used) < nearShare*float64(b.limit)
	}
	if !near || remaining <= 0 {
		return 0
	}
	return time.Duration(float64(window) / (paceShare * float64(remaining)))
}

// observe reads the org's usage from an answer's Sforce-Limit-Info header
// ("api-usage=25/100000").
func (b *budget) observe(h http.Header) {
	used, limit, ok := parseUsage(h.Get("Sforce-Limit-Info"))
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used, b.limit, b.seen = used, limit, b.now()
}

func parseUsage(info string) (used, limit int, ok bool) {
	for part := range strings.SplitSeq(info, ",") {
		v, found := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !found {
			continue
		}
		u, m, found := strings.Cut(v, "/")
		used, err1 := strconv.Atoi(u)
		limit, err2 := strconv.Atoi(m)
		if found && err1 == nil && err2 == nil && limit > 0 && used >= 0 {
			return used, limit, true
		}
	}
	return 0, 0, false
}
