package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/store"
	"github.com/tandemsync/tandem/store/postgres"
	"github.com/tandemsync/tandem/store/sqlite"
	"github.com/tandemsync/tandem/store/sqlstore"
)

// openStore opens the store cfg names, enqueueing pushes to integrations of
// the kinds each syncs (tandem.Selective). workers nil makes it
// insert-only. An integration that batches its pushes (tandem.Concurrent)
// runs as many of its jobs at once as it asks for, and never fewer than
// cfg.Workers.
func openStore(ctx context.Context, cfg *Config, logger *slog.Logger, integrations []tandem.Integration, workers *river.Workers, periodic []*river.PeriodicJob) (store.Store, error) {
	names, kinds, queueWorkers := make([]string, len(integrations)), map[string][]tandem.Kind{}, map[string]int{}
	for i, in := range integrations {
		names[i] = in.Name()
		if sel, ok := in.(tandem.Selective); ok {
			kinds[in.Name()] = sel.Kinds()
		}
		if c, ok := in.(tandem.Concurrent); ok {
			queueWorkers[in.Name()] = max(c.Workers(), cfg.Workers)
		}
	}
	opts := sqlstore.Options{
		Integrations:      names,
		Kinds:             kinds,
		Workers:           workers,
		MaxWorkers:        cfg.Workers,
		QueueWorkers:      queueWorkers,
		FetchPollInterval: cfg.PollInterval,
		PeriodicJobs:      periodic,
		Logger:            logger,
	}
	engine, location, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	switch engine {
	case "sqlite":
		return sqlite.Open(location, opts)
	case "postgres":
		return postgres.Open(ctx, location, opts)
	}
	return nil, fmt.Errorf("unknown database engine %q", engine)
}
