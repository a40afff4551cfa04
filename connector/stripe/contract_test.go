package stripe

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v86"

	"github.com/tandemsync/tandem"
)

// TestContract sends every kind of request the connector makes to
// stripe-mock, which checks each against Stripe's OpenAPI description of the
// SDK's API version: any unknown or malformed parameter fails the request.
// stripe-mock keeps no state, so this checks shapes, not behaviour.
func TestContract(t *testing.T) {
	c := newTestConnector(t, startStripeMock(t))
	ctx := context.Background()
	ref := tandem.Ref{Kind: tandem.KindCustomer, ID: "tdmc_contract"}
	full := &tandem.Customer{ID: ref.ID, Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0000",
		Address:  tandem.Address{Line1: "12 St James's Square", Line2: "Flat 1", City: "London", State: "London", PostalCode: "SW1Y 4JH", Country: "GB"},
		Metadata: map[string]string{"plan": "pro", "seats": "3"}}
	base, err := json.Marshal(fieldsOf(full))
	if err != nil {
		t.Fatal(err)
	}
	cleared := &tandem.Customer{ID: ref.ID, Name: "Ada", Metadata: map[string]string{"plan": "pro"}}
	saveIntent := func(context.Context, []byte) error { return nil }
	for _, tc := range []struct {
		name string
		req  *tandem.PushRequest
	}{
		{"create", &tandem.PushRequest{Record: &tandem.Record{Ref: ref, Version: 1, Fields: tandem.Fields{Customer: full}},
			Link: &tandem.Link{}, SaveIntent: saveIntent}},
		{"update every field", &tandem.PushRequest{Record: &tandem.Record{Ref: ref, Version: 2, Fields: tandem.Fields{Customer: full}},
			Link: &tandem.Link{RemoteID: "cus_contract"}, SaveIntent: saveIntent}},
		{"update clearing fields", &tandem.PushRequest{Record: &tandem.Record{Ref: ref, Version: 3, Fields: tandem.Fields{Customer: cleared}},
			Link: &tandem.Link{RemoteID: "cus_contract", Base: base}, SaveIntent: saveIntent}},
		{"delete", &tandem.PushRequest{Record: &tandem.Record{Ref: ref, Version: 4, Deleted: true, Fields: tandem.Fields{Customer: cleared}},
			Link: &tandem.Link{RemoteID: "cus_contract", Base: base}, SaveIntent: saveIntent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.Push(ctx, tc.req); err != nil {
				t.Fatalf("stripe-mock refused: %v", err)
			}
		})
	}
	t.Run("list created since", func(t *testing.T) {
		if _, err := c.findByTandemID(ctx, ref.ID, time.Now().Add(-time.Hour).Unix()); err != nil {
			t.Fatalf("stripe-mock refused: %v", err)
		}
	})
	t.Run("retrieve", func(t *testing.T) {
		if err := c.call(ctx, "retrieve", func() error {
			_, err := c.api.V1Customers.Retrieve(ctx, "cus_contract", nil)
			return err
		}); err != nil {
			t.Fatalf("stripe-mock refused: %v", err)
		}
	})
}

// TestContractInvoice sends every invoice request the connector makes to
// stripe-mock: each push step on its own, since stripe-mock's answers are
// fixtures, not the invoice the steps before made.
func TestContractInvoice(t *testing.T) {
	c := newTestConnector(t, startStripeMock(t))
	ctx := context.Background()
	ref := tandem.Ref{Kind: tandem.KindInvoice, ID: "tdmi_contract"}
	due := time.Now().AddDate(0, 1, 0).UTC().Truncate(24 * time.Hour)
	inv := &tandem.Invoice{ID: ref.ID, CustomerID: "tdmc_contract", Currency: "eur", Description: "October",
		DueDate: due, Metadata: map[string]string{"po": "4711"},
		Lines: []tandem.InvoiceLine{{Description: "Consulting", Quantity: 3, UnitAmount: 12_500}}}
	// step is a push in the middle of its work: Stripe holds state.
	step := func(state *invoiceState) *invoicePush {
		req := &tandem.PushRequest{Record: &tandem.Record{Ref: ref, Version: 2, Fields: tandem.Fields{Invoice: inv}},
			Link: &tandem.Link{}, SaveIntent: func(context.Context, []byte) error { return nil }}
		return &invoicePush{c: c, req: req, customer: "cus_contract", remoteID: "in_contract", state: state}
	}
	draft := func() *invoiceState {
		return &invoiceState{Currency: "eur", Description: "September", Metadata: map[string]string{"old": "x"},
			Status: tandem.InvoiceDraft, Lines: []lineState{{ItemID: "ii_contract", InvoiceLine: tandem.InvoiceLine{
				Description: "Travel", Quantity: 1, UnitAmount: 4_250}}}}
	}
	withDue := draft()
	withDue.DueDate = due.Unix()
	noDue := *inv
	noDue.DueDate = time.Time{}
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"create with a due date", func() error {
			p := step(nil)
			p.remoteID, p.intent = "", invoiceIntent{Key: p.key("create"), Customer: p.customer, Create: createArgs(inv)}
			return p.finishCreate(ctx)
		}},
		{"create without a due date", func() error {
			p := step(nil)
			p.remoteID, p.intent = "", invoiceIntent{Key: p.key("create"), Customer: p.customer, Create: createArgs(&noDue)}
			return p.finishCreate(ctx)
		}},
		{"update details with a due date", func() error { return step(draft()).updateDetails(ctx, inv) }},
		{"update details without a due date", func() error { return step(withDue).updateDetails(ctx, &noDue) }},
		{"add an item", func() error { return step(draft()).addLine(ctx, 1, inv.Lines[0]) }},
		{"update an item", func() error { return step(draft()).changeLine(ctx, 0, inv.Lines[0]) }},
		{"delete an item", func() error { return step(draft()).removeLine(ctx, 0) }},
		{"delete the draft", func() error { return step(draft()).deleteInvoice(ctx, "in_contract", "delete") }},
		{"list invoices created since", func() error {
			_, err := c.findInvoice(ctx, "cus_contract", ref.ID, time.Now().Add(-time.Hour).Unix(), "")
			return err
		}},
		{"list invoices", func() error { _, _, err := c.List(ctx, tandem.KindInvoice, "in_contract"); return err }},
		{"retrieve", func() error { _, _, err := c.retrieveInvoice(ctx, "in_contract"); return err }},
		{"list lines", func() error {
			_, err := c.allLines(ctx, &stripego.Invoice{ID: "in_contract", Lines: &stripego.InvoiceLineItemList{
				ListMeta: stripego.ListMeta{HasMore: true}}})
			return err
		}},
		{"read why a payment failed", func() error {
			return c.readFailure(ctx, "in_contract", &invoiceState{Status: tandem.InvoiceOpen, attempts: 1})
		}},
		{"retrieve a payment intent", func() error {
			return c.call(ctx, "retrieve_payment_intent", func() error {
				_, err := c.api.V1PaymentIntents.Retrieve(ctx, "pi_contract", nil)
				return err
			})
		}},
		{"poll events", func() error { _, _, err := c.Poll(ctx, strconv.FormatInt(time.Now().Unix(), 10)); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err != nil {
				t.Fatalf("stripe-mock refused: %v", err)
			}
		})
	}
	for _, action := range []tandem.InvoiceAction{tandem.ActionFinalize, tandem.ActionPay, tandem.ActionVoid, tandem.ActionMarkUncollectible} {
		t.Run(string(action), func(t *testing.T) {
			p := step(draft())
			if err := c.call(ctx, string(action), func() error {
				_, err := p.lifecycle(ctx, action, p.key(string(action)))
				return err
			}); err != nil {
				t.Fatalf("stripe-mock refused: %v", err)
			}
		})
	}
}

// startStripeMock runs stripe-mock on free loopback ports for the test and
// returns its HTTP address. Without the binary the test is skipped, unless
// TANDEM_REQUIRE_STRIPE_MOCK=1 (as in CI), which fails it.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		bin = filepath.Join(strings.TrimSpace(string(gopath)), "bin", "stripe-mock")
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("TANDEM_REQUIRE_STRIPE_MOCK") == "1" {
				t.Fatal("stripe-mock required but not installed: go install github.com/stripe/stripe-mock@v0.203.0")
			}
			t.Skip("stripe-mock not installed (go install github.com/stripe/stripe-mock@v0.203.0)")
		}
	}
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", httpAddr, time.Second)
		if err == nil {
			_ = conn.Close()
			return "http://" + httpAddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not listen on %s: %v", httpAddr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
