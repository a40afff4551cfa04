// Command tandem runs the Tandem sync engine: its API, its sync workers and
// its database maintenance. Run `tandem help` for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/tandemsync/tandem"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	p := &program{getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr}
	if err := p.run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tandem:", err)
		}
		os.Exit(2)
	}
}

// program is one run of the command, with its environment made explicit so
// tests can run it in-process.
type program struct {
	getenv         func(string) string
	stdout, stderr io.Writer
	// integrations are added to the ones the configuration turns on.
	integrations []tandem.Integration
	// now, when set, is the clock Salesforce's API budget counts by.
	now func() time.Time
	// listening, when set, is told the API's address once it accepts
	// connections.
	listening func(addr string)
}

const usage = `Tandem keeps your customer catalog in two-way sync with external catalogs.

Usage: tandem <command> [flags]

Commands:
  dev       try Tandem: a fresh SQLite database in sync with a Stripe and a
            Salesforce emulator
  serve     run the API and the sync workers
  migrate   bring the database schema up to date and exit
  reconcile compare every record of an integration with the catalog and repair
            the differences: tandem reconcile stripe [--dry-run]
  link      connect an account that already has records (match by tandem_id,
            then email; create what is missing): tandem link stripe [--dry-run]
  failures  list the records whose sync is parked; "failures retry <id>"
            pushes one again, "failures discard <id>" gives up on it
  pause     pause an integration: tandem pause stripe (changes wait, none is lost)
  resume    resume a paused integration: tandem resume stripe
  emulate   run a provider emulator on its own: tandem emulate stripe|salesforce
  version   print the version
  help      print this help

Every flag can also be set by an environment variable: see "tandem serve -h".
failures, pause and resume open the database directly (on SQLite, only while
"tandem serve" is not running; use the API then) and take its flags after
their arguments.
`

func (p *program) run(ctx context.Context, args []string) error {
	cmd := "help"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return p.serve(ctx, args)
	case "migrate":
		return p.migrate(ctx, args)
	case "failures":
		return p.failures(ctx, args)
	case "pause", "resume":
		return p.pauseResume(ctx, cmd, args)
	case "dev":
		return p.dev(ctx, args)
	case "reconcile":
		return p.reconcile(ctx, args)
	case "link":
		return p.link(ctx, args)
	case "emulate":
		return p.emulate(ctx, args)
	case "version":
		fmt.Fprintln(p.stdout, "tandem", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(p.stdout, usage)
		return nil
	}
	fmt.Fprint(p.stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// setup loads the configuration of a subcommand and makes its logger.
func (p *program) setup(name string, args []string) (*Config, *slog.Logger, error) {
	cfg, err := LoadConfig(name, args, p.getenv, p.stderr)
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(p.stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return cfg, logger, nil
}

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
