package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	emulator "github.com/tandemsync/tandem/emulator/stripe"
)

// localInvoice is an invoice as Tandem's API shows it.
type localInvoice struct {
	ID               string `json:"id"`
	CustomerID       string `json:"customer_id"`
	Status           string `json:"status"`
	Number           string `json:"number"`
	Total            int64  `json:"total"`
	AmountPaid       int64  `json:"amount_paid"`
	AmountRemaining  int64  `json:"amount_remaining"`
	HostedInvoiceURL string `json:"hosted_invoice_url"`
	PaymentFailure   string `json:"payment_failure"`
	Version          int64  `json:"version"`
	Lines            []struct {
		Description string `json:"description"`
		Quantity    int64  `json:"quantity"`
		UnitAmount  int64  `json:"unit_amount"`
	} `json:"lines"`
}

// threeLines is the body of a draft of customer with three lines (total
// 3 × 1250 + 1 × 99 + 2 × 500 = 4849).
func threeLines(customer string) map[string]any {
	return map[string]any{"customer_id": customer, "currency": "eur", "description": "November",
		"lines": []map[string]any{
			{"description": "Seats", "quantity": 3, "unit_amount": 1250},
			{"description": "Setup", "quantity": 1, "unit_amount": 99},
			{"description": "Support", "quantity": 2, "unit_amount": 500},
		}}
}

func (c *client) mustCreateInvoice(body map[string]any) localInvoice {
	c.t.Helper()
	var inv localInvoice
	if resp := c.do("POST", "/invoices", body, &inv); resp.StatusCode != http.StatusCreated {
		c.t.Fatalf("create invoice: %s", resp.Status)
	}
	return inv
}

func (c *client) invoice(id string) localInvoice {
	c.t.Helper()
	var inv localInvoice
	if resp := c.do("GET", "/invoices/"+id, nil, &inv); resp.StatusCode != http.StatusOK {
		c.t.Fatalf("get invoice %s: %s", id, resp.Status)
	}
	return inv
}

// stripeInvoicesOf returns the emulator's live invoices whose tandem_id is id.
func stripeInvoicesOf(em *emulator.Emulator, id string) []emulator.Invoice {
	var out []emulator.Invoice
	for _, inv := range em.Invoices() {
		if inv.Metadata["tandem_id"] == id && !inv.Deleted {
			out = append(out, inv)
		}
	}
	return out
}

// TestInvoiceToStripe: a draft with three lines created through the API
// becomes one Stripe draft with its three items, for the customer's Stripe
// customer; finalized here, it is finalized there and the number and
// hosted page come back; paid here (outside Stripe), it is paid there.
func TestInvoiceToStripe(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, nil)
	c := e.api.mustCreate("Ada Lovelace")
	e.settle(c.ID)
	inv := e.api.mustCreateInvoice(threeLines(c.ID))
	var remote emulator.Invoice
	waitFor(t, 20*time.Second, "the draft in Stripe with its three lines", func() bool {
		got := stripeInvoicesOf(e.em, inv.ID)
		if len(got) != 1 || len(got[0].Lines) != 3 {
			return false
		}
		remote = got[0]
		return true
	})
	if remote.Status != "draft" || remote.Total() != 4849 || remote.Currency != "eur" || remote.Customer != e.stripeOf(c.ID)[0].ID {
		t.Fatalf("Stripe invoice %+v", remote)
	}

	e.api.do("POST", "/invoices/"+inv.ID+"/finalize", nil, nil)
	waitFor(t, 20*time.Second, "finalized in Stripe, number and page back here", func() bool {
		got, _ := e.em.Invoice(remote.ID)
		local := e.api.invoice(inv.ID)
		return got.Status == "open" && local.Number != "" && local.Number == got.Number &&
			local.HostedInvoiceURL == got.HostedInvoiceURL
	})
	e.api.do("POST", "/invoices/"+inv.ID+"/pay", nil, nil)
	waitFor(t, 20*time.Second, "paid in Stripe", func() bool {
		got, _ := e.em.Invoice(remote.ID)
		local := e.api.invoice(inv.ID)
		return got.Status == "paid" && got.PaidOutOfBand && local.Status == "paid" && local.AmountPaid == 4849
	})
	if n := len(stripeInvoicesOf(e.em, inv.ID)); n != 1 {
		t.Errorf("%d Stripe invoices hold %s", n, inv.ID)
	}
	items := 0
	for _, it := range e.em.InvoiceItems() {
		if it.Invoice == remote.ID && !it.Deleted {
			items++
		}
	}
	if items != 3 {
		t.Errorf("%d invoice items in Stripe, want 3", items)
	}
}

// TestInvoiceFromStripe: an invoice made in Stripe's dashboard for a
// linked customer appears under the local customer; its finalization, a
// failed payment, and its payment there reach the local invoice; another
// one voided there is void here.
func TestInvoiceFromStripe(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, nil)
	c := e.api.mustCreate("Grace Hopper")
	e.settle(c.ID)
	stripeCustomer := e.stripeOf(c.ID)[0].ID
	desc, qty, unit := "Consulting", int64(2), "7500"
	made, err := e.em.Dashboard().CreateInvoice(emulator.InvoiceParams{Customer: stripeCustomer, Currency: "usd"},
		emulator.InvoiceItemParams{Description: &desc, Quantity: &qty, UnitAmountDecimal: &unit})
	if err != nil {
		t.Fatal(err)
	}
	var local localInvoice
	waitFor(t, 20*time.Second, "the Stripe invoice under the local customer", func() bool {
		var page struct{ Data []localInvoice }
		e.api.do("GET", "/customers/"+c.ID+"/invoices", nil, &page)
		if len(page.Data) != 1 {
			return false
		}
		local = page.Data[0]
		return local.Total == 15000 && len(local.Lines) == 1 && local.Status == "draft"
	})

	if _, err := e.em.Dashboard().FinalizeInvoice(made.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "open here", func() bool { return e.api.invoice(local.ID).Status == "open" })
	if _, err := e.em.Dashboard().FailInvoicePayment(made.ID, emulator.PaymentError{Type: "card_error",
		Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the failed payment here", func() bool {
		inv := e.api.invoice(local.ID)
		return inv.Status == "open" && inv.PaymentFailure != ""
	})
	if _, err := e.em.Dashboard().PayInvoice(made.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "paid here", func() bool {
		inv := e.api.invoice(local.ID)
		return inv.Status == "paid" && inv.AmountPaid == 15000 && inv.AmountRemaining == 0
	})

	other, err := e.em.Dashboard().CreateInvoice(emulator.InvoiceParams{Customer: stripeCustomer, Currency: "usd"},
		emulator.InvoiceItemParams{Description: &desc, Quantity: &qty, UnitAmountDecimal: &unit})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func(string) (emulator.Invoice, error){e.em.Dashboard().FinalizeInvoice, e.em.Dashboard().VoidInvoice} {
		if _, err := step(other.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "the voided invoice void here", func() bool {
		var page struct{ Data []localInvoice }
		e.api.do("GET", "/invoices?status=void", nil, &page)
		return len(page.Data) == 1
	})
	// No echo: Tandem wrote the customer, and to each invoice born in Stripe
	// at most its own id (metadata), never a lifecycle call Stripe made.
	updates := map[string]int{}
	for _, w := range e.writes() {
		switch {
		case strings.HasPrefix(w.IdempotencyKey, "tandem:customer:") && strings.Contains(w.IdempotencyKey, ":create:"):
		case strings.HasPrefix(w.IdempotencyKey, "tandem:invoice:") && strings.Contains(w.IdempotencyKey, ":update:"):
			updates[w.Path]++
		default:
			t.Errorf("Tandem's write to Stripe %+v is an echo", w)
		}
	}
	for path, n := range updates {
		if n > 1 {
			t.Errorf("%d writes to %s, want at most one (Tandem's id)", n, path)
		}
	}
}

// TestInvoiceWaitsForCustomer: an invoice written while its customer has
// not reached Stripe waits, pending and not failed, and then goes, for the
// right Stripe customer.
func TestInvoiceWaitsForCustomer(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, nil)
	if resp := e.api.do("POST", "/integrations/stripe/pause", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("pause: %s", resp.Status)
	}
	c := e.api.mustCreate("Late Customer")
	inv := e.api.mustCreateInvoice(threeLines(c.ID))
	if resp := e.api.do("POST", "/integrations/stripe/resume", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("resume: %s", resp.Status)
	}
	waitFor(t, 30*time.Second, "the invoice in Stripe for the customer", func() bool {
		got, cs := stripeInvoicesOf(e.em, inv.ID), e.stripeOf(c.ID)
		return len(got) == 1 && len(cs) == 1 && got[0].Customer == cs[0].ID && len(got[0].Lines) == 3
	})
	var failures struct{ Data []any }
	e.api.do("GET", "/sync/failures", nil, &failures)
	if len(failures.Data) != 0 {
		t.Errorf("failures: %+v", failures.Data)
	}
}

// TestInvoiceEventsDuplicatedAndReordered: invoice events delivered twice,
// and an older one after a newer one, leave the local invoice as Stripe
// last had it.
func TestInvoiceEventsDuplicatedAndReordered(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, nil)
	c := e.api.mustCreate("Ada")
	e.settle(c.ID)
	stripeCustomer := e.stripeOf(c.ID)[0].ID
	desc, qty, unit := "Seats", int64(1), "1000"
	made, err := e.em.Dashboard().CreateInvoice(emulator.InvoiceParams{Customer: stripeCustomer, Currency: "eur"},
		emulator.InvoiceItemParams{Description: &desc, Quantity: &qty, UnitAmountDecimal: &unit})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func(string) (emulator.Invoice, error){e.em.Dashboard().FinalizeInvoice, e.em.Dashboard().PayInvoice} {
		if _, err := step(made.ID); err != nil {
			t.Fatal(err)
		}
	}
	var local localInvoice
	waitFor(t, 20*time.Second, "paid here", func() bool {
		var page struct{ Data []localInvoice }
		e.api.do("GET", "/customers/"+c.ID+"/invoices", nil, &page)
		if len(page.Data) != 1 {
			return false
		}
		local = page.Data[0]
		return local.Status == "paid"
	})
	e.settle(c.ID)
	// Every event applied: the invoice is here as it is there, and synced.
	remote, _ := e.em.Invoice(made.ID)
	waitFor(t, 20*time.Second, "the invoice here as it is in Stripe", func() bool {
		inv := e.api.invoice(local.ID)
		var sync struct{ Data []struct{ Status string } }
		e.api.do("GET", "/invoices/"+local.ID+"/sync", nil, &sync)
		return inv.Status == "paid" && len(inv.Lines) == 1 && inv.Number == remote.Number && inv.Total == remote.Total() &&
			len(sync.Data) == 1 && sync.Data[0].Status == "synced"
	})
	version := e.api.invoice(local.ID).Version
	// Every invoice event again, oldest last: duplicates, and out of order.
	events := e.em.Events()
	for i := len(events) - 1; i >= 0; i-- {
		if ev := events[i]; len(ev.Type) > 8 && ev.Type[:8] == "invoice." {
			e.deliver(ev)
		}
	}
	time.Sleep(time.Second) // the apply jobs run within milliseconds
	got := e.api.invoice(local.ID)
	if got.Status != "paid" || got.Version != version {
		t.Fatalf("after duplicated and reordered events: %+v (version was %d)", got, version)
	}
}

// TestInvoiceKilledMidBurst: Tandem is killed (SIGKILL) during a burst of
// invoice creates; after a restart every stored invoice is in Stripe
// exactly once, with each of its lines exactly once.
func TestInvoiceKilledMidBurst(t *testing.T) {
	t.Parallel()
	em, start := killableStripeEnv(t)
	p := start()
	api := &client{t: t, base: p.URL}
	c := api.mustCreate("Burst Customer")
	waitFor(t, 20*time.Second, "the customer in Stripe", func() bool {
		for _, sc := range em.Customers() {
			if sc.Metadata["tandem_id"] == c.ID {
				return true
			}
		}
		return false
	})

	var mu sync.Mutex
	answered := 0
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				body, _ := json.Marshal(threeLines(c.ID))
				resp, err := http.Post(p.URL+"/invoices", "application/json", bytes.NewReader(body))
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					return
				}
				mu.Lock()
				answered++
				if answered == 40 {
					close(killed)
				}
				mu.Unlock()
			}
		})
	}
	<-killed
	p.Kill(t)
	wg.Wait()

	p = start()
	api.base = p.URL
	var ids []string
	waitFor(t, 90*time.Second, "every stored invoice in Stripe once with three lines", func() bool {
		var page struct{ Data []localInvoice }
		api.do("GET", "/invoices?limit=100", nil, &page)
		ids = ids[:0]
		for _, inv := range page.Data {
			ids = append(ids, inv.ID)
			got := stripeInvoicesOf(em, inv.ID)
			if len(got) != 1 || len(got[0].Lines) != 3 {
				return false
			}
		}
		return len(ids) >= answered
	})
	items := map[string]int{}
	for _, it := range em.InvoiceItems() {
		if !it.Deleted {
			items[it.Invoice]++
		}
	}
	for _, inv := range em.Invoices() {
		if !inv.Deleted && items[inv.ID] != 3 {
			t.Errorf("Stripe invoice %s has %d items, want 3", inv.ID, items[inv.ID])
		}
	}
	if n := len(em.Invoices()); n != len(ids) {
		t.Errorf("%d Stripe invoices for %d local ones", n, len(ids))
	}
	t.Logf("%d creates answered before the kill, %d invoices stored, each once in Stripe", answered, len(ids))
}

// TestInvoiceVoidToStripe: an invoice finalized, marked uncollectible and
// then voided here, before its first push went through, is created,
// finalized and voided in Stripe (a push carries the latest state, so a
// status Stripe can skip on the way is skipped), and Stripe's number comes
// back.
func TestInvoiceVoidToStripe(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, nil)
	c := e.api.mustCreate("Void Customer")
	e.settle(c.ID)
	if resp := e.api.do("POST", "/integrations/stripe/pause", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("pause: %s", resp.Status)
	}
	inv := e.api.mustCreateInvoice(threeLines(c.ID))
	for _, action := range []string{"finalize", "mark-uncollectible", "void"} {
		if resp := e.api.do("POST", "/invoices/"+inv.ID+"/"+action, nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", action, resp.Status)
		}
	}
	if resp := e.api.do("POST", "/integrations/stripe/resume", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("resume: %s", resp.Status)
	}
	waitFor(t, 20*time.Second, "void in Stripe, synced, and the number back here", func() bool {
		got := stripeInvoicesOf(e.em, inv.ID)
		var sync struct{ Data []struct{ Status string } }
		e.api.do("GET", "/invoices/"+inv.ID+"/sync", nil, &sync)
		return len(got) == 1 && got[0].Status == "void" && got[0].Transitions.FinalizedAt != 0 &&
			len(sync.Data) == 1 && sync.Data[0].Status == "synced" && e.api.invoice(inv.ID).Number == got[0].Number
	})
	if local := e.api.invoice(inv.ID); local.Status != "void" || local.Number == "" {
		t.Errorf("local invoice after the sync: %+v", local)
	}
}

// TestInvoiceReconcile: with webhooks and polling off, an invoice made in
// Stripe is missed until a reconciliation, which brings it in under the
// local customer; a second run finds nothing to repair.
func TestInvoiceReconcile(t *testing.T) {
	t.Parallel()
	e := newStripeEnv(t, emulator.Config{}, map[string]string{"STRIPE_POLL_INTERVAL": "0"})
	c := e.api.mustCreate("Reconciled Customer")
	e.settle(c.ID)
	if err := e.em.SetWebhook(emulator.Webhook{}); err != nil {
		t.Fatal(err)
	}
	desc, qty, unit := "Audit", int64(1), "25000"
	made, err := e.em.Dashboard().CreateInvoice(emulator.InvoiceParams{Customer: e.stripeOf(c.ID)[0].ID, Currency: "eur"},
		emulator.InvoiceItemParams{Description: &desc, Quantity: &qty, UnitAmountDecimal: &unit})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.em.Dashboard().FinalizeInvoice(made.ID); err != nil {
		t.Fatal(err)
	}
	run := e.reconcile("stripe", false)
	if run.Progress.Repairs[tandem.RepairCreateLocal] != 1 {
		t.Fatalf("repairs %v, want one invoice created here; actions %+v", run.Progress.Repairs, run.Actions)
	}
	var page struct{ Data []localInvoice }
	waitFor(t, 20*time.Second, "the invoice under the customer", func() bool {
		e.api.do("GET", "/customers/"+c.ID+"/invoices", nil, &page)
		return len(page.Data) == 1 && page.Data[0].Status == "open" && page.Data[0].Total == 25000 && page.Data[0].Number != ""
	})
	waitFor(t, 20*time.Second, "the invoice synced", func() bool {
		var sync struct{ Data []struct{ Status string } }
		e.api.do("GET", "/invoices/"+page.Data[0].ID+"/sync", nil, &sync)
		return len(sync.Data) == 1 && sync.Data[0].Status == "synced"
	})
	if again := e.reconcile("stripe", false); len(again.Progress.Repairs) != 0 {
		t.Errorf("a second run repaired %v; actions %+v", again.Progress.Repairs, again.Actions)
	}
}
