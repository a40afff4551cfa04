package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tandemsync/tandem"
)

// SyncStats returns, for every configured integration and any other one with
// unfinished jobs or parked links, how many of its jobs are not finished
// (available, scheduled, retryable, pending or running), since when the
// oldest of them waits, and how many of its links are parked; by name.
func (s *Store[TTx]) SyncStats(ctx context.Context) ([]tandem.SyncStats, error) {
	byName := map[string]*tandem.SyncStats{}
	stat := func(name string) *tandem.SyncStats {
		if byName[name] == nil {
			byName[name] = &tandem.SyncStats{Integration: name}
		}
		return byName[name]
	}
	for _, name := range s.opts.Integrations {
		stat(name)
	}
	rows, err := s.e.DB.Query(ctx, `SELECT `+s.e.JobArg("integration")+`, COUNT(*), `+s.e.UnixSeconds("MIN(created_at)")+`
		FROM river_job WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled')
		GROUP BY 1`)
	if err != nil {
		return nil, s.e.Translate(fmt.Errorf("count jobs: %w", err))
	}
	err = scanAll(rows, func(r Rows) error {
		var (
			name   *string
			n      int
			oldest float64
		)
		if err := r.Scan(&name, &n, &oldest); err != nil || name == nil {
			return err
		}
		sec, frac := math.Modf(oldest)
		st := stat(*name)
		st.Queued, st.OldestQueued = n, time.Unix(int64(sec), int64(frac*1e9)).UTC()
		return nil
	})
	if err != nil {
		return nil, s.e.Translate(fmt.Errorf("count jobs: %w", err))
	}
	rows, err = s.e.DB.Query(ctx, `SELECT integration, COUNT(*) FROM links WHERE status = 'failed' GROUP BY integration`)
	if err != nil {
		return nil, s.e.Translate(fmt.Errorf("count parked links: %w", err))
	}
	err = scanAll(rows, func(r Rows) error {
		var name string
		var n int
		if err := r.Scan(&name, &n); err != nil {
			return err
		}
		stat(name).Parked = n
		return nil
	})
	if err != nil {
		return nil, s.e.Translate(fmt.Errorf("count parked links: %w", err))
	}
	out := make([]tandem.SyncStats, 0, len(byName))
	for _, st := range byName {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b tandem.SyncStats) int { return cmp.Compare(a.Integration, b.Integration) })
	return out, nil
}

// scanAll calls scan for every row of rows, then closes them.
func scanAll(rows Rows, scan func(Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
