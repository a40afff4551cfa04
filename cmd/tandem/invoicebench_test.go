package main

// The invoice benchmark: 1,000 invoices of three lines each, created
// through the API, until every one is in the Stripe emulator with each line
// exactly once. Run it with
//
//	go test ./cmd/tandem -run '^$' -bench BenchmarkStripeInvoices -benchtime 1x

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

// The workload of BenchmarkStripeInvoices. Each invoice is at least four
// Stripe calls (the draft and its three items), so the floor is
// 4 × invoices / rate.
const (
	invoiceBenchCount = 1000
	invoiceBenchRate  = 100 // STRIPE_RATE_LIMIT and the emulator's limit (live mode's)
)

// BenchmarkStripeInvoices creates TANDEM_BENCH_INVOICES (default 1,000)
// invoices of three lines for 20 linked customers through the API, with
// STRIPE_RATE_LIMIT and the emulator's rate limit at 100 calls/s, and
// waits until each is in the emulator once with its three lines once. It
// reports the time from the first create against the floor of the calls
// at that rate.
func BenchmarkStripeInvoices(b *testing.B) {
	type result struct {
		elapsed, floor time.Duration
		invoices       int
		calls          int
		breakdown      string
	}
	r := measureOnce(b, func() result {
		n := invoiceBenchCount
		if v := os.Getenv("TANDEM_BENCH_INVOICES"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 1 {
				b.Fatalf("TANDEM_BENCH_INVOICES=%q: want a positive number", v)
			}
		}
		env := map[string]string{"STRIPE_RATE_LIMIT": strconv.Itoa(invoiceBenchRate)}
		e := newStripeBenchEnv(b, emulator.Faults{RateLimit: invoiceBenchRate}, env)
		customers := make([]string, 20)
		for i := range customers {
			customers[i] = e.api.mustCreate(fmt.Sprintf("Invoiced %d", i)).ID
		}
		e.waitLinked(customers, 30*time.Second)
		callsBefore := len(e.em.Requests())

		first := time.Now()
		ids := e.createAll(n, "/invoices", func(k int) map[string]any { return threeLines(customers[k%len(customers)]) })
		floor := time.Duration(float64(4*n) / invoiceBenchRate * float64(time.Second))
		waitFor(b, 3*floor+60*time.Second, "every invoice in Stripe with its three lines", func() bool {
			done := 0
			for _, inv := range e.em.Invoices() {
				if ids[inv.Metadata["tandem_id"]] && !inv.Deleted && len(inv.Lines) == 3 {
					done++
				}
			}
			return done == len(ids)
		})
		elapsed := time.Since(first)
		e.waitQuiet(2*time.Second, 60*time.Second)
		perInvoice, items := map[string]int{}, map[string]int{}
		for _, inv := range e.em.Invoices() {
			if !inv.Deleted {
				perInvoice[inv.Metadata["tandem_id"]]++
			}
		}
		for _, it := range e.em.InvoiceItems() {
			if !it.Deleted {
				items[it.Invoice]++
			}
		}
		for id := range ids {
			if perInvoice[id] != 1 {
				b.Errorf("invoice %s is %d times in Stripe", id, perInvoice[id])
			}
		}
		for inv, k := range items {
			if k != 3 {
				b.Errorf("Stripe invoice %s has %d items", inv, k)
			}
		}
		reqs := e.em.Requests()[callsBefore:]
		return result{elapsed: elapsed, floor: floor, invoices: len(ids), calls: len(reqs), breakdown: countCalls(reqs)}
	})
	ratio := r.elapsed.Seconds() / r.floor.Seconds()
	fmt.Printf("\n%s: %d invoices × 3 lines through the API, STRIPE_RATE_LIMIT=%d and the emulator limited to it\n",
		b.Name(), r.invoices, invoiceBenchRate)
	fmt.Printf("every invoice once in Stripe with each line once after %v = %.3f× the floor of %v (%d calls at %d/s); %d Stripe calls in all: %s\n",
		r.elapsed.Round(time.Millisecond), ratio, r.floor, 4*r.invoices, invoiceBenchRate, r.calls, r.breakdown)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(r.elapsed.Seconds(), "s")
	b.ReportMetric(ratio, "x-floor")
}
