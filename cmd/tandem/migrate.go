package main

import (
	"context"
	"fmt"
)

// migrate brings the database schema up to date.
func (p *program) migrate(ctx context.Context, args []string) error {
	cfg, logger, err := p.setup("migrate", args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, logger, nil, nil, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintln(p.stdout, "database schema is up to date")
	return nil
}
