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

// openStore opens the store cfg names, for integrations. workers nil makes
// it insert-only.
func openStore(ctx context.Context, cfg *Config, logger *slog.Logger, integrations []tandem.Integration, workers *river.Workers, periodic []*river.PeriodicJob) (store.Store, error) {
	names, kinds := make([]string, len(integrations)), map[string][]tandem.Kind{}
	for i, in := range integrations {
		names[i] = in.Name()
		if sel, ok := in.(tandem.Selective); ok {
			kinds[in.Name()] = sel.Kinds()
		}
	}
	opts := sqlstore.Options{
		Integrations:      names,
		Kinds:             kinds,
		Workers:           workers,
		MaxWorkers:        cfg.Workers,
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
