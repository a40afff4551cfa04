package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/connector/salesforce"
	"github.com/tandemsync/tandem/connector/stripe"
	"github.com/tandemsync/tandem/store"
)

// failures lists the parked failures, or retries or discards one:
//
//	tandem failures [flags]
//	tandem failures retry <id> [flags]
//	tandem failures discard <id> [flags]
func (p *program) failures(ctx context.Context, args []string) error {
	action, id := "list", ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
		if action != "retry" && action != "discard" {
			return fmt.Errorf("unknown action %q: tandem failures [retry|discard <id>]", action)
		}
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("tandem failures %s needs a failure id, as `tandem failures` lists them", action)
		}
		id, args = args[0], args[1:]
	}
	return p.withStore(ctx, "failures", args, func(st store.Store, _ []string) error {
		if action == "list" {
			return p.listFailures(ctx, st)
		}
		integration, ref, err := tandem.ParseFailureID(id)
		if err != nil {
			return err
		}
		if action == "retry" {
			err = st.RetryFailure(ctx, integration, ref)
		} else {
			err = st.DiscardFailure(ctx, integration, ref)
		}
		if err != nil {
			return err
		}
		if action == "retry" {
			fmt.Fprintf(p.stdout, "%s: pushing again\n", id)
		} else {
			fmt.Fprintf(p.stdout, "%s: discarded; the record is pushed again after its next change\n", id)
		}
		return nil
	})
}

func (p *program) listFailures(ctx context.Context, st store.Store) error {
	links, err := st.Failures(ctx)
	if err != nil {
		return err
	}
	if len(links) == 0 {
		fmt.Fprintln(p.stdout, "no parked failures")
		return nil
	}
	w := tabwriter.NewWriter(p.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tATTEMPTS\tPARKED AT\tERROR")
	for _, l := range links {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", tandem.FailureID(l.Integration, l.Ref), l.Attempts,
			l.UpdatedAt.Format("2006-01-02 15:04:05Z07:00"), l.LastError)
	}
	return w.Flush()
}

// pauseResume pauses or resumes an integration: tandem pause <integration>.
func (p *program) pauseResume(ctx context.Context, cmd string, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("tandem %s needs an integration name (such as %s)", cmd, stripe.Name)
	}
	name, args := args[0], args[1:]
	return p.withStore(ctx, cmd, args, func(st store.Store, known []string) error {
		if !slices.Contains(known, name) {
			return fmt.Errorf("unknown integration %q (known: %s)", name, strings.Join(known, ", "))
		}
		var err error
		if cmd == "pause" {
			err = st.PauseIntegration(ctx, name)
		} else {
			err = st.ResumeIntegration(ctx, name)
		}
		if err != nil {
			return err
		}
		if cmd == "pause" {
			fmt.Fprintf(p.stdout, "%s paused: its changes wait in the queue until `tandem resume %s`\n", name, name)
		} else {
			fmt.Fprintf(p.stdout, "%s resumed\n", name)
		}
		return nil
	})
}

// withStore opens the database cfg names without working any job, checks
// its schema and runs fn with it and the names of the known integrations
// (the configured ones, and every built-in one, configured here or not).
func (p *program) withStore(ctx context.Context, name string, args []string, fn func(st store.Store, known []string) error) error {
	cfg, logger, err := p.setup(name, args)
	if err != nil {
		return err
	}
	integrations, err := p.configuredIntegrations(cfg, nil)
	if err != nil {
		return err
	}
	known := []string{stripe.Name, salesforce.Name}
	for _, in := range integrations {
		if !slices.Contains(known, in.Name()) {
			known = append(known, in.Name())
		}
	}
	st, err := openStore(ctx, cfg, logger, nil, nil, nil)
	if err != nil {
		if engine, _, _ := cfg.Database(); engine == "sqlite" {
			// SQLite serves one process: while `tandem serve` runs, use its API.
			return fmt.Errorf("%w; while `tandem serve` runs on it, use the API instead (see README)", err)
		}
		return err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return fmt.Errorf("database schema: %w", err)
	}
	if err := fn(st, known); err != nil {
		if msg := tandem.ErrorMessage(err); !errors.Is(err, context.Canceled) && msg != "internal error" {
			return errors.New(msg)
		}
		return err
	}
	return nil
}
