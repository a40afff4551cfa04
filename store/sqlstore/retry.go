package sqlstore

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// backoff is the default retry policy of sync jobs: exponential from one
// second, doubling, capped at five minutes, with ±20% jitter so that jobs
// failed together do not retry together. River's own default (attempt⁴
// seconds) waits 81 s after a third failure, too slow for a provider's
// passing hiccup; 25 attempts here span about an hour and a half.
type backoff struct{}

const (
	backoffBase = time.Second
	backoffMax  = 5 * time.Minute
)

// NextRetry implements river.ClientRetryPolicy.
func (backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := backoffMax
	if n := job.Attempt - 1; n < 9 { // 2^9 s is past the cap
		d = min(backoffBase<<max(n, 0), backoffMax)
	}
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(d))
	return time.Now().Add(d + jitter)
}
