package stripe

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
