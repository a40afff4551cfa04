package sqlstore

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {4, 8 * time.Second}, {9, 256 * time.Second}, {10, 5 * time.Minute}, {25, 5 * time.Minute}} {
		for range 20 {
			got := time.Until(backoff{}.NextRetry(&rivertype.JobRow{Attempt: tc.attempt}))
			lo, hi := time.Duration(0.79*float64(tc.want)), time.Duration(1.21*float64(tc.want))
			if got < lo || got > hi {
				t.Fatalf("attempt %d: retry in %v, want %v ±20%%", tc.attempt, got, tc.want)
			}
		}
	}
}
