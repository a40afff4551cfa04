package main

// The three-way benchmark: how long a change made in Salesforce takes to
// reach Stripe through Tandem. Run it with
//
//	go test ./cmd/tandem -run '^$' -bench BenchmarkSalesforceToStripe -benchtime 1x

import (
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	sfemulator "github.com/tandemsync/tandem/emulator/salesforce"
	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

// The workload and target of BenchmarkSalesforceToStripe.
const (
	threeWayRate         = 10 // Contact edits per second
	threeWayContacts     = 20
	threeWayPollInterval = 10 * time.Second // SALESFORCE_POLL_INTERVAL's default
	threeWayMargin       = 2 * time.Second  // target p99: the poll interval + this
	threeWayOutbound     = "bench-outbound-secret"
)

// BenchmarkSalesforceToStripe edits 20 linked Contacts in the Salesforce
// emulator, as a Salesforce user would, at 10 edits per second for
// TANDEM_BENCH_DURATION (default 30s), with Tandem on SQLite in this
// process and SALESFORCE_POLL_INTERVAL at its default (10s). Per edit: from
// the edit to the Stripe emulator's customer holding it (read every 10 ms).
// Target p99 ≤ the poll interval + 2s.
//
//   - polls: no outbound message, every change comes through the poller.
//   - outbound-messages: the emulator also sends outbound messages, each
//     a nudge that Tandem fetches at once.
func BenchmarkSalesforceToStripe(b *testing.B) {
	window := propagationWindow
	if os.Getenv("TANDEM_BENCH_DURATION") != "" {
		window = benchDuration(b)
	}
	for _, outbound := range []bool{false, true} {
		name := "polls"
		if outbound {
			name = "outbound-messages"
		}
		b.Run(name, func(b *testing.B) {
			r := measureOnce(b, func() *propagationResult { return measureSalesforceToStripe(b, window, outbound) })
			r.report(b)
		})
	}
}

func measureSalesforceToStripe(b *testing.B, window time.Duration, outbound bool) *propagationResult {
	sf, env := salesforceForTandem(b)
	maps.Copy(env, propagationEnv)
	env["SALESFORCE_POLL_INTERVAL"] = threeWayPollInterval.String()
	if outbound {
		env["SALESFORCE_OUTBOUND_SECRET"] = threeWayOutbound
		env["SALESFORCE_ORG_ID"] = sf.OrgID()
	}
	e := newStripeBenchEnv(b, emulator.Faults{}, env)
	if outbound {
		if err := sf.SetOutbound(e.api.base + "/webhooks/salesforce/" + threeWayOutbound); err != nil {
			b.Fatal(err)
		}
	}

	ids := make([]string, threeWayContacts)
	for k := range ids {
		ids[k] = e.api.mustCreate(fmt.Sprintf("Contact %d", k)).ID
	}
	stripeIDs := e.waitLinked(ids, 30*time.Second)
	e.waitPolling("salesforce")
	contacts := make([]string, len(ids))
	waitFor(b, 30*time.Second, "every customer as a Contact", func() bool {
		byExternalID := map[string]string{}
		for _, c := range sf.Contacts() {
			if !c.IsDeleted {
				byExternalID[c.ExternalID] = c.ID
			}
		}
		for k, id := range ids {
			if contacts[k] = byExternalID[id]; contacts[k] == "" {
				return false
			}
		}
		return true
	})

	index := map[string]int{}
	for k, id := range stripeIDs {
		index[id] = k
	}
	load := measureEdits(b, len(ids), threeWayRate, window, func(k, seq int) error {
		_, err := sf.UI().UpdateContact(contacts[k], sfemulator.Fields{"FirstName": fmt.Sprintf("Contact %d", k),
			"LastName": fmt.Sprintf("s%d", seq)})
		return err
	}, func(saw func(k, seq int)) error {
		// The Stripe emulator's customers: a name ending in "s<seq>".
		for _, c := range e.em.Customers() {
			k, ok := index[c.ID]
			_, tail, _ := strings.Cut(c.Name, " s")
			if seq, err := strconv.Atoi(tail); ok && err == nil {
				saw(k, seq)
			}
		}
		return nil
	})
	r := load.latencies
	target := threeWayPollInterval + threeWayMargin
	mode := "polls only"
	if outbound {
		mode = "polls and outbound messages"
	}
	sfCalls := len(sf.Requests())
	w := os.Stdout
	fmt.Fprintf(w, "\n%s: %d Contact edits/s for %v over %d Contacts, %s, SALESFORCE_POLL_INTERVAL=%v; Tandem on SQLite in this process, %s\n",
		b.Name(), threeWayRate, window, len(ids), mode, threeWayPollInterval, tandemKnobs(env))
	fmt.Fprintf(w, "per edit: from the edit in the Salesforce emulator to the Stripe emulator's customer holding it (read every 10 ms)\n")
	row := func(cells ...any) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-22s %8s %10s %10s %10s", cells...), " "))
	}
	row("", "changes", "p50", "p99", "max")
	row("Salesforce → Stripe", strconv.Itoa(len(r.latencies)), fmtMS(r.percentile(50)), fmtMS(r.percentile(99)),
		fmtMS(r.latencies[len(r.latencies)-1]))
	row("target", "", "", "≤ "+fmtMS(target), "")
	row("", "", "", verdict(r.percentile(99) <= target), "")
	fmt.Fprintf(w, "all edits in Stripe %v after the last one; Salesforce API calls %d; Stripe calls: %s\n",
		time.Since(load.loadEnd).Round(time.Millisecond), sfCalls, countCalls(e.em.Requests()))
	if len(load.errs) > 0 {
		b.Errorf("Salesforce→Stripe: %d edits failed, first: %s", len(load.errs), load.errs[0])
	}
	return r
}
