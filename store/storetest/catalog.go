package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tandemsync/tandem"
)

func testCreateGet(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	in := &tandem.Customer{
		Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+44 20 7946 0000",
		Address:  tandem.Address{Line1: "12 St James's Square", City: "London", PostalCode: "SW1Y 4JH", Country: "GB"},
		Metadata: map[string]string{"plan": "pro", "ünï": "cødé"},
	}
	c := mustCreate(t, e.st, in)
	if c.Version != 1 || c.ID == "" || c.CreatedAt.IsZero() || !c.CreatedAt.Equal(c.UpdatedAt) {
		t.Fatalf("created = %+v, want version 1, an id and equal timestamps", c)
	}
	got, err := e.st.GetCustomer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Fatalf("get differs from create (-create +get):\n%s", diff)
	}
	if diff := cmp.Diff(in, got, cmpopts.IgnoreFields(tandem.Customer{}, "ID", "Version", "CreatedAt", "UpdatedAt")); diff != "" {
		t.Fatalf("stored fields differ (-in +stored):\n%s", diff)
	}
	_, err = e.st.GetCustomer(ctx, "tdmc_unknown")
	wantCode(t, err, tandem.ENOTFOUND)
}

func testCreateInvalid(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	bad := map[string]*tandem.Customer{
		"email":         {Email: "not an email"},
		"metadata.a[b]": {Metadata: map[string]string{"a[b]": "x"}},
		"name":          {Name: string(make([]rune, tandem.MaxNameLen+1))},
	}
	for field, c := range bad {
		_, _, err := e.st.CreateCustomer(context.Background(), c, api)
		var te *tandem.Error
		if tandem.ErrorCode(err) != tandem.EINVALID || !errors.As(err, &te) || te.Field != field {
			t.Errorf("create with bad %s: err = %v, want EINVALID naming %s", field, err, field)
		}
	}
	page, err := e.st.ListCustomers(context.Background(), tandem.CustomerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Customers) != 0 {
		t.Fatalf("invalid creates stored %d customers", len(page.Customers))
	}
}

func testIdempotentCreate(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	w := tandem.Write{Origin: tandem.OriginAPI, IdempotencyKey: "key-1", RequestHash: "h1"}

	// Concurrent retries of one create: one customer, every caller sees it.
	const n = 8
	var (
		wg  sync.WaitGroup
		ids = make([]string, n)
	)
	for i := range n {
		wg.Go(func() {
			c, _, err := e.st.CreateCustomer(ctx, &tandem.Customer{Name: "Once"}, w)
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			ids[i] = c.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("idempotent creates returned different ids: %v", ids)
		}
	}
	c, replayed, err := e.st.CreateCustomer(ctx, &tandem.Customer{Name: "Once"}, w)
	if err != nil || !replayed || c.ID != ids[0] {
		t.Fatalf("retry = %v, replayed %v, %v; want replay of %s", c, replayed, err, ids[0])
	}
	_, _, err = e.st.CreateCustomer(ctx, &tandem.Customer{Name: "Other"}, tandem.Write{Origin: tandem.OriginAPI, IdempotencyKey: "key-1", RequestHash: "h2"})
	wantCode(t, err, tandem.EINVALID)
	page, _ := e.st.ListCustomers(ctx, tandem.CustomerFilter{})
	if len(page.Customers) != 1 {
		t.Fatalf("%d customers stored, want 1", len(page.Customers))
	}
	if got := e.jobs(t, "available"); got != 1 {
		t.Fatalf("%d push jobs, want 1", got)
	}
}

// testConcurrentCreates: creates made at once share transactions (a group
// commit), and each still has its own outcome: every valid create is
// stored once with its own push job, and a create that fails (an invoice of
// no customer) fails alone, taking none of the others with it.
func testConcurrentCreates(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	ada := mustCreate(t, e.st, &tandem.Customer{Name: "Ada"})
	const n = 20 // of each kind of create
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		customers = map[string]string{} // id → name
		invoices  = map[string]bool{}
	)
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("Customer %d", i)
			c, _, err := e.st.CreateCustomer(ctx, &tandem.Customer{Name: name}, api)
			if err != nil {
				t.Errorf("create %s: %v", name, err)
				return
			}
			mu.Lock()
			customers[c.ID] = name
			mu.Unlock()
		})
		wg.Go(func() {
			inv, _, err := e.st.CreateInvoice(ctx, draft(ada.ID), api)
			if err != nil {
				t.Errorf("create invoice %d: %v", i, err)
				return
			}
			mu.Lock()
			invoices[inv.ID] = true
			mu.Unlock()
		})
		wg.Go(func() {
			_, _, err := e.st.CreateInvoice(ctx, draft(fmt.Sprintf("tdmc_missing%d", i)), api)
			var te *tandem.Error
			if !errors.As(err, &te) || te.Code != tandem.EINVALID || te.Field != "customer_id" {
				t.Errorf("invoice of no customer: err = %v, want EINVALID naming customer_id", err)
			}
		})
	}
	wg.Wait()
	if len(customers) != n || len(invoices) != n {
		t.Fatalf("%d customers and %d invoices created, want %d of each", len(customers), len(invoices), n)
	}
	for id, name := range customers {
		if c, err := e.st.GetCustomer(ctx, id); err != nil || c.Name != name {
			t.Errorf("customer %s = %+v, %v; want %q", id, c, err, name)
		}
	}
	page, err := e.st.ListCustomers(ctx, tandem.CustomerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Customers) != n+1 {
		t.Errorf("%d customers stored, want %d", len(page.Customers), n+1)
	}
	if got := e.jobs(t, "available"); got != 2*n+1 {
		t.Errorf("%d push jobs, want %d: one per record created", got, 2*n+1)
	}
}

func testListPages(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		email := fmt.Sprintf("c%d@example.com", i%3)
		want = append(want, mustCreate(t, e.st, &tandem.Customer{Name: fmt.Sprint(i), Email: email}).ID)
	}
	if err := e.st.DeleteCustomer(ctx, want[6], api); err != nil {
		t.Fatal(err)
	}
	want = want[:6]
	var got []string
	f := tandem.CustomerFilter{Limit: 4}
	for pages := 0; ; pages++ {
		page, err := e.st.ListCustomers(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Customers {
			got = append(got, c.ID)
		}
		if page.Next == "" {
			if pages != 1 {
				t.Fatalf("took %d pages, want 2", pages+1)
			}
			break
		}
		f.After = page.Next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("pages (-want +got):\n%s", diff)
	}
	page, err := e.st.ListCustomers(ctx, tandem.CustomerFilter{Email: "c1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Customers) != 2 || page.Customers[0].ID != want[1] || page.Customers[1].ID != want[4] {
		t.Fatalf("email filter returned %v", page.Customers)
	}
	for _, f := range []tandem.CustomerFilter{{Email: "C1@Example.COM"}, {Email: "C1@Example.COM", AnyCase: true}} {
		page, err := e.st.ListCustomers(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if n, wantN := len(page.Customers), map[bool]int{false: 0, true: 2}[f.AnyCase]; n != wantN {
			t.Fatalf("filter %+v returned %d customers, want %d", f, n, wantN)
		}
	}
}

func testUpdateVersions(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	c := mustCreate(t, e.st, &tandem.Customer{Name: "A"})
	u, err := e.st.UpdateCustomer(ctx, c.ID, tandem.Write{Origin: tandem.OriginAPI, IfVersion: 1}, rename("B"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Version != 2 || u.Name != "B" || !u.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("updated = %+v", u)
	}
	_, err = e.st.UpdateCustomer(ctx, c.ID, tandem.Write{Origin: tandem.OriginAPI, IfVersion: 1}, rename("C"))
	wantCode(t, err, tandem.EPRECONDITION)
	_, err = e.st.UpdateCustomer(ctx, c.ID, api, func(c *tandem.Customer) error { c.Email = "bad"; return nil })
	wantCode(t, err, tandem.EINVALID)
	got, _ := e.st.GetCustomer(ctx, c.ID)
	if got.Name != "B" || got.Version != 2 || got.Email != "" {
		t.Fatalf("failed updates changed the customer: %+v", got)
	}
	_, err = e.st.UpdateCustomer(ctx, "tdmc_nope", api, rename("X"))
	wantCode(t, err, tandem.ENOTFOUND)
}

func testDeleteTombstone(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	c := mustCreate(t, e.st, &tandem.Customer{Name: "Gone"})
	err := e.st.DeleteCustomer(ctx, c.ID, tandem.Write{Origin: tandem.OriginAPI, IfVersion: 7})
	wantCode(t, err, tandem.EPRECONDITION)
	if err := e.st.DeleteCustomer(ctx, c.ID, api); err != nil {
		t.Fatal(err)
	}
	_, err = e.st.GetCustomer(ctx, c.ID)
	wantCode(t, err, tandem.ENOTFOUND)
	wantCode(t, e.st.DeleteCustomer(ctx, c.ID, api), tandem.ENOTFOUND)
	_, err = e.st.UpdateCustomer(ctx, c.ID, api, rename("Back"))
	wantCode(t, err, tandem.ENOTFOUND)
	rec, link, err := e.st.PushState(ctx, "test", tandem.Ref{Kind: tandem.KindCustomer, ID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Deleted || rec.Version != 2 || rec.Customer.Name != "Gone" {
		t.Fatalf("tombstone = %+v", rec)
	}
	if link.Status != tandem.LinkPending || link.SyncedVersion != 0 || link.RemoteID != "" {
		t.Fatalf("link of a record never pushed = %+v", link)
	}
}

func testSchema(t *testing.T, open Opener) {
	e := newEnv(t, open, false, nil)
	ctx := context.Background()
	if err := e.st.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := e.st.CheckSchema(ctx); err != nil {
		t.Fatalf("check schema: %v", err)
	}
	if err := e.raw.Exec(ctx, `INSERT INTO tandem_schema (version, name, applied_at) VALUES (999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.st.CheckSchema(ctx), tandem.ECONFLICT)
	wantCode(t, e.st.Migrate(ctx), tandem.ECONFLICT)
}
