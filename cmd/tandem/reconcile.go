package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/syncer"
)

// reconcile compares every remote record of an integration with the local
// catalog and repairs the differences (or, with --dry-run, lists them),
// showing its progress.
func (p *program) reconcile(ctx context.Context, args []string) error {
	run, err := p.runReconcile(ctx, "reconcile", args)
	if run == nil {
		return err
	}
	p.printRun(run)
	return err
}

// link connects an integration whose account already holds records to the
// local catalog: records are matched by Tandem id, then by email, linked, and
// what is missing on either side is created. --dry-run prints the plan.
func (p *program) link(ctx context.Context, args []string) error {
	run, err := p.runReconcile(ctx, "link", args)
	if run == nil {
		return err
	}
	verb := map[bool]string{true: "would be", false: "were"}[run.DryRun]
	r := run.Progress.Repairs
	fmt.Fprintf(p.stdout, "link-up of %s (%d records there, %d here):\n", run.Integration,
		run.Progress.RemoteScanned, run.Progress.LocalScanned)
	fmt.Fprintf(p.stdout, "  %6d matched and linked (%s)\n", r[tandem.RepairLink], verb)
	fmt.Fprintf(p.stdout, "  %6d to create here (only in %s)\n", r[tandem.RepairCreateLocal], run.Integration)
	fmt.Fprintf(p.stdout, "  %6d to create there (only here)\n", r[tandem.RepairCreateRemote])
	fmt.Fprintf(p.stdout, "  %6d ambiguous, left unlinked\n", r[tandem.RepairAmbiguous])
	others := 0
	for action, n := range r {
		switch action {
		case tandem.RepairLink, tandem.RepairCreateLocal, tandem.RepairCreateRemote, tandem.RepairAmbiguous:
		default:
			others += n
		}
	}
	fmt.Fprintf(p.stdout, "  %6d other repairs of linked records\n", others)
	for _, a := range run.Actions {
		if a.Action == tandem.RepairAmbiguous {
			fmt.Fprintf(p.stdout, "  ambiguous: %s\n", describeAction(a))
		}
	}
	return err
}

// runReconcile parses "<integration> [--dry-run] [flags]", runs one
// reconciliation in this process and records it as a run.
func (p *program) runReconcile(ctx context.Context, name string, args []string) (*tandem.ReconcileRun, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return nil, fmt.Errorf("usage: tandem %s <integration> [--dry-run] [flags]", name)
	}
	integration, args := args[0], args[1:]
	dryRun := slices.ContainsFunc(args, isDryRunFlag)
	args = slices.DeleteFunc(args, isDryRunFlag)
	cfg, logger, err := p.setup(name, args)
	if err != nil {
		return nil, err
	}
	integrations, err := p.configuredIntegrations(cfg, nil)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(integrations, func(in tandem.Integration) bool { return in.Name() == integration }) {
		return nil, fmt.Errorf("integration %q is not configured", integration)
	}
	st, err := openStore(ctx, cfg, logger, integrations, nil, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.CheckSchema(ctx); err != nil {
		return nil, fmt.Errorf("database schema: %w (run tandem migrate)", err)
	}
	run, err := st.StartReconcile(ctx, integration, dryRun, false)
	if err != nil {
		return nil, err
	}
	bar := newRunBar(p.stderr)
	err = newSyncer(st, integrations, cfg, logger, nil).Reconcile(ctx, run, syncer.ReconcileOptions{DryRun: dryRun,
		Progress: bar.update})
	bar.finish()
	return run, err
}

func isDryRunFlag(arg string) bool { return arg == "--dry-run" || arg == "-dry-run" }

// printRun prints a run's report.
func (p *program) printRun(run *tandem.ReconcileRun) {
	mode := ""
	if run.DryRun {
		mode = " (dry run: nothing changed)"
	}
	fmt.Fprintf(p.stdout, "reconciliation %s of %s: %s%s\n", run.ID, run.Integration, run.Status, mode)
	fmt.Fprintf(p.stdout, "scanned %d records there, %d here, in %d pages\n", run.Progress.RemoteScanned,
		run.Progress.LocalScanned, run.Progress.Pages)
	actions := make([]string, 0, len(run.Progress.Repairs))
	for a := range run.Progress.Repairs {
		actions = append(actions, a)
	}
	slices.Sort(actions)
	if len(actions) == 0 {
		fmt.Fprintln(p.stdout, "no differences")
	}
	for _, a := range actions {
		fmt.Fprintf(p.stdout, "  %-16s %d\n", a, run.Progress.Repairs[a])
	}
	for _, a := range run.Actions {
		fmt.Fprintf(p.stdout, "  %s\n", describeAction(a))
	}
	if len(run.Actions) == tandem.MaxReportedActions {
		fmt.Fprintf(p.stdout, "  (only the first %d repairs are listed)\n", tandem.MaxReportedActions)
	}
	if run.Error != "" {
		fmt.Fprintf(p.stdout, "stopped: %s\n", run.Error)
	}
}

func describeAction(a tandem.ReconcileAction) string {
	parts := []string{a.Action}
	if a.LocalID != "" {
		parts = append(parts, "local "+a.LocalID)
	}
	if a.RemoteID != "" {
		parts = append(parts, "remote "+a.RemoteID)
	}
	if a.Detail != "" {
		parts = append(parts, a.Detail)
	}
	return strings.Join(parts, " · ")
}

// runBar shows a run's progress: records scanned on each side, repairs and
// the rate.
type runBar struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	start time.Time
}

func newRunBar(w io.Writer) *runBar {
	return &runBar{w: w, start: time.Now(), bar: progressbar.NewOptions64(-1, progressbar.OptionSetWriter(w),
		// No spinner ticker: its goroutine reads the bar's state unlocked
		// (a data race); the spinner moves on each update instead.
		progressbar.OptionSpinnerType(14), progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetElapsedTime(true))}
}

func (b *runBar) update(run *tandem.ReconcileRun) {
	repairs := 0
	for action, n := range run.Progress.Repairs {
		if action != tandem.RepairAmbiguous {
			repairs += n
		}
	}
	scanned := run.Progress.RemoteScanned + run.Progress.LocalScanned
	rate := float64(scanned) / max(time.Since(b.start).Seconds(), 0.001)
	b.bar.Describe(fmt.Sprintf("scanned %d there, %d here · %d repairs · %.0f records/s",
		run.Progress.RemoteScanned, run.Progress.LocalScanned, repairs, rate))
	_ = b.bar.Set64(int64(scanned))
}

func (b *runBar) finish() {
	_ = b.bar.Finish()
	fmt.Fprintln(b.w)
}
