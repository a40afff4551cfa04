package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tandemsync/tandem"
)

// dateLayout is how the API writes a day (due dates).
const dateLayout = time.DateOnly

// lineFields are the writable fields of an invoice line.
type lineFields struct {
	Description string `json:"description" minLength:"1" maxLength:"500"`
	Quantity    int64  `json:"quantity" minimum:"1" maximum:"1000000"`
	UnitAmount  int64  `json:"unit_amount" minimum:"0" maximum:"99999999" doc:"Price of one unit, in minor units of the currency (cents for eur or usd)"`
}

// lineBody is an invoice line as the API shows it.
type lineBody struct {
	lineFields
	Amount int64 `json:"amount" doc:"quantity × unit_amount, in minor units"`
}

// invoiceBody is an invoice as the API shows it. Amounts are integer minor
// units of the currency.
type invoiceBody struct {
	ID               string            `json:"id" doc:"Tandem's id of the invoice, never a provider's" example:"tdmi_06h16nmf8y7mjs47evpptejw60"`
	CustomerID       string            `json:"customer_id"`
	Currency         string            `json:"currency" example:"eur"`
	Description      string            `json:"description"`
	DueDate          string            `json:"due_date,omitempty" format:"date"`
	Metadata         map[string]string `json:"metadata"`
	Lines            []lineBody        `json:"lines"`
	Status           string            `json:"status" enum:"draft,open,paid,uncollectible,void"`
	Number           string            `json:"number,omitempty" doc:"Given when the invoice is finalized in Stripe"`
	Subtotal         int64             `json:"subtotal"`
	Total            int64             `json:"total"`
	AmountDue        int64             `json:"amount_due"`
	AmountPaid       int64             `json:"amount_paid"`
	AmountRemaining  int64             `json:"amount_remaining"`
	HostedInvoiceURL string            `json:"hosted_invoice_url,omitempty" doc:"Where the customer sees and pays it (Stripe's page)"`
	PaymentFailure   string            `json:"payment_failure,omitempty" doc:"Why the last payment attempt failed"`
	Version          int64             `json:"version" doc:"Increments on every change; also the ETag"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

// invoiceFields are the fields of a new invoice.
type invoiceFields struct {
	CustomerID  string            `json:"customer_id" maxLength:"64" doc:"The customer's id in Tandem"`
	Currency    string            `json:"currency" minLength:"3" maxLength:"3" doc:"ISO 4217 code" example:"eur"`
	Description string            `json:"description,omitempty" maxLength:"500"`
	DueDate     string            `json:"due_date,omitempty" format:"date" doc:"The day payment is due"`
	Metadata    map[string]string `json:"metadata,omitempty" maxProperties:"50" doc:"At most 50 keys of at most 40 characters without [ or ], values of at most 500 characters"`
	Lines       []lineFields      `json:"lines,omitempty" maxItems:"250"`
}

// invoicePatch is a partial update of a draft: absent fields stay.
type invoicePatch struct {
	Currency    *string           `json:"currency,omitempty" minLength:"3" maxLength:"3"`
	Description *string           `json:"description,omitempty" maxLength:"500" doc:"Empty clears the description"`
	DueDate     *string           `json:"due_date,omitempty" doc:"A day (2026-12-31), or empty to clear it"`
	Metadata    map[string]string `json:"metadata,omitempty" maxProperties:"50" doc:"Merged into the metadata; an empty value removes its key"`
	Lines       *[]lineFields     `json:"lines,omitempty" maxItems:"250" doc:"Replaces every line"`
}

type invoiceOutput = recordOutput[invoiceBody]

type createInvoiceInput struct {
	WaitParam
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retried create return the first result instead of creating a second invoice"`
	Body           invoiceFields
}

type patchInvoiceInput struct {
	WaitParam
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match" doc:"The ETag (version) the change applies to; 412 when the invoice changed since"`
	Body    invoicePatch
}

type listInvoicesInput struct {
	Limit      int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Cursor     string `query:"cursor" doc:"next_cursor of the previous page"`
	CustomerID string `query:"customer_id" maxLength:"64" doc:"Only this customer's invoices"`
	Status     string `query:"status" enum:"draft,open,paid,uncollectible,void" doc:"Only invoices in this status"`
}

type customerInvoicesInput struct {
	ID     string `path:"id" maxLength:"64"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
	Status string `query:"status" enum:"draft,open,paid,uncollectible,void" doc:"Only invoices in this status"`
}

type listInvoicesOutput struct {
	Body struct {
		Data       []invoiceBody `json:"data"`
		NextCursor string        `json:"next_cursor,omitempty" doc:"Cursor of the next page; absent on the last page"`
	}
}

// registerInvoices adds the invoice operations.
func (s *Server) registerInvoices() {
	tags := []string{"Invoices"}
	huma.Register(s.api, huma.Operation{OperationID: "create-invoice", Method: http.MethodPost, Path: "/invoices",
		Summary: "Create a draft invoice for a customer", Tags: tags, DefaultStatus: http.StatusCreated,
		Errors: []int{400, 413, 422, 503}}, s.createInvoice)
	huma.Register(s.api, huma.Operation{OperationID: "list-invoices", Method: http.MethodGet, Path: "/invoices",
		Summary: "List invoices", Tags: tags, Errors: []int{400, 422, 503}}, s.listInvoices)
	huma.Register(s.api, huma.Operation{OperationID: "list-customer-invoices", Method: http.MethodGet,
		Path: "/customers/{id}/invoices", Summary: "List a customer's invoices", Tags: tags,
		Errors: []int{400, 404, 422, 503}}, s.customerInvoices)
	huma.Register(s.api, huma.Operation{OperationID: "get-invoice", Method: http.MethodGet, Path: "/invoices/{id}",
		Summary: "Get an invoice", Tags: tags, Errors: []int{404, 503}}, s.getInvoice)
	huma.Register(s.api, huma.Operation{OperationID: "patch-invoice", Method: http.MethodPatch, Path: "/invoices/{id}",
		Summary: "Update a draft invoice", Description: "Only a draft can change: 409 otherwise.", Tags: tags,
		Errors: []int{400, 404, 409, 412, 413, 422, 503}}, s.patchInvoice)
	huma.Register(s.api, huma.Operation{OperationID: "delete-invoice", Method: http.MethodDelete, Path: "/invoices/{id}",
		Summary: "Delete a draft invoice", Description: "Only a draft can be deleted: 409 otherwise.", Tags: tags,
		DefaultStatus: http.StatusNoContent, Errors: []int{400, 404, 409, 412, 422, 503}}, s.deleteInvoice)
	for _, a := range []struct {
		action  tandem.InvoiceAction
		summary string
	}{
		{tandem.ActionFinalize, "Finalize a draft: it becomes open, and immutable"},
		{tandem.ActionPay, "Mark an open or uncollectible invoice paid (paid outside Stripe)"},
		{tandem.ActionVoid, "Void an open or uncollectible invoice"},
		{tandem.ActionMarkUncollectible, "Mark an open invoice uncollectible"},
	} {
		huma.Register(s.api, huma.Operation{OperationID: string(a.action) + "-invoice", Method: http.MethodPost,
			Path: "/invoices/{id}/" + string(a.action), Summary: a.summary,
			Description: "Only the transitions Stripe allows: 409 naming the current status otherwise.", Tags: tags,
			Errors: []int{400, 404, 409, 412, 422, 503}}, s.invoiceAction(a.action))
	}
	huma.Register(s.api, huma.Operation{OperationID: "get-invoice-sync", Method: http.MethodGet, Path: "/invoices/{id}/sync",
		Summary: "Sync state of an invoice, per integration", Tags: []string{"Sync"}, Errors: []int{404, 422, 503}}, s.invoiceSync)
}

func (s *Server) createInvoice(ctx context.Context, in *createInvoiceInput) (*invoiceOutput, error) {
	wait, err := parseWait(in.Wait)
	if err != nil {
		return nil, err
	}
	inv, err := in.Body.invoice()
	if err != nil {
		return nil, err
	}
	created, replayed, err := s.invoices.CreateInvoice(ctx, inv, createWrite("invoices", in.IdempotencyKey, in.Body))
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := newInvoiceOutput(created)
	out.Location = "/invoices/" + created.ID
	if replayed {
		out.Replayed = "true"
	}
	return s.awaitInvoice(ctx, out, wait)
}

func (s *Server) getInvoice(ctx context.Context, in *idInput) (*invoiceOutput, error) {
	inv, err := s.invoices.GetInvoice(ctx, in.ID)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return newInvoiceOutput(inv), nil
}

func (s *Server) listInvoices(ctx context.Context, in *listInvoicesInput) (*listInvoicesOutput, error) {
	return s.invoicePage(ctx, in.Cursor, tandem.InvoiceFilter{CustomerID: in.CustomerID,
		Status: tandem.InvoiceStatus(in.Status), Limit: in.Limit})
}

func (s *Server) customerInvoices(ctx context.Context, in *customerInvoicesInput) (*listInvoicesOutput, error) {
	if _, err := s.catalog.GetCustomer(ctx, in.ID); err != nil {
		return nil, s.problem(ctx, err)
	}
	return s.invoicePage(ctx, in.Cursor, tandem.InvoiceFilter{CustomerID: in.ID,
		Status: tandem.InvoiceStatus(in.Status), Limit: in.Limit})
}

// invoicePage answers one page of the invoices f selects after cursor.
func (s *Server) invoicePage(ctx context.Context, cursor string, f tandem.InvoiceFilter) (*listInvoicesOutput, error) {
	after, err := decodeCursor(cursor, tandem.InvoiceIDPrefix)
	if err != nil {
		return nil, err
	}
	f.After = after
	page, err := s.invoices.ListInvoices(ctx, f)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &listInvoicesOutput{}
	out.Body.Data = make([]invoiceBody, 0, len(page.Invoices))
	for _, inv := range page.Invoices {
		out.Body.Data = append(out.Body.Data, newInvoiceBody(inv))
	}
	if page.Next != "" {
		out.Body.NextCursor = encodeCursor(page.Next)
	}
	return out, nil
}

func (s *Server) patchInvoice(ctx context.Context, in *patchInvoiceInput) (*invoiceOutput, error) {
	p := in.Body
	var due *time.Time
	if p.DueDate != nil {
		d, err := parseDate("body.due_date", *p.DueDate)
		if err != nil {
			return nil, err
		}
		due = &d
	}
	write := &writeInput{WaitParam: in.WaitParam, ID: in.ID, IfMatch: in.IfMatch}
	return s.updateInvoice(ctx, write, func(inv *tandem.Invoice) error {
		if !inv.Status.Editable() {
			return tandem.Errorf(tandem.ECONFLICT, "invoice %s is %s: only a draft can change", inv.ID, inv.Status)
		}
		if p.Currency != nil {
			inv.Currency = *p.Currency
		}
		if p.Description != nil {
			inv.Description = *p.Description
		}
		if due != nil {
			inv.DueDate = *due
		}
		for k, v := range p.Metadata {
			if v == "" {
				delete(inv.Metadata, k)
			} else {
				inv.Metadata[k] = v
			}
		}
		if p.Lines != nil {
			inv.Lines = invoiceLines(*p.Lines)
		}
		return nil
	})
}

// invoiceAction answers POST /invoices/{id}/{action}: the move action
// makes, when the invoice's status allows it.
func (s *Server) invoiceAction(action tandem.InvoiceAction) func(context.Context, *writeInput) (*invoiceOutput, error) {
	return func(ctx context.Context, in *writeInput) (*invoiceOutput, error) {
		return s.updateInvoice(ctx, in, func(inv *tandem.Invoice) error {
			next, err := inv.Status.Next(action)
			if err != nil {
				return tandem.Errorf(tandem.ECONFLICT, "invoice %s: %s", inv.ID, tandem.ErrorMessage(err))
			}
			inv.Status = next
			return nil
		})
	}
}

// updateInvoice applies change to the invoice in, as of its If-Match, and
// waits as its ?wait asks.
func (s *Server) updateInvoice(ctx context.Context, in *writeInput, change func(*tandem.Invoice) error) (*invoiceOutput, error) {
	w, wait, err := apiWrite(in.IfMatch, in.Wait)
	if err != nil {
		return nil, err
	}
	inv, err := s.invoices.UpdateInvoice(ctx, in.ID, w, change)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return s.awaitInvoice(ctx, newInvoiceOutput(inv), wait)
}

func (s *Server) deleteInvoice(ctx context.Context, in *writeInput) (*deleteOutput, error) {
	w, wait, err := apiWrite(in.IfMatch, in.Wait)
	if err != nil {
		return nil, err
	}
	if err := s.invoices.DeleteInvoice(ctx, in.ID, w); err != nil {
		return nil, s.problem(ctx, err)
	}
	return s.awaitDelete(ctx, tandem.Ref{Kind: tandem.KindInvoice, ID: in.ID}, wait)
}

func (s *Server) invoiceSync(ctx context.Context, in *syncInput) (*linksOutput, error) {
	return s.recordSync(ctx, in, tandem.KindInvoice, func(ctx context.Context) (int64, error) {
		inv, err := s.invoices.GetInvoice(ctx, in.ID)
		if err != nil {
			return 0, err
		}
		return inv.Version, nil
	})
}

// awaitInvoice waits for the integrations to confirm the written invoice's
// version, up to wait, and names those that did not.
func (s *Server) awaitInvoice(ctx context.Context, out *invoiceOutput, wait time.Duration) (*invoiceOutput, error) {
	return awaitVersion(ctx, s, out, tandem.Ref{Kind: tandem.KindInvoice, ID: out.Body.ID}, out.Body.Version, wait)
}

// parseDate reads a day such as 2026-12-31; "" is no day.
func parseDate(location, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(dateLayout, v)
	if err != nil {
		return time.Time{}, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{
			Location: location, Message: "must be a day such as 2026-12-31", Value: v})
	}
	return d, nil
}

func (f *invoiceFields) invoice() (*tandem.Invoice, error) {
	due, err := parseDate("body.due_date", f.DueDate)
	if err != nil {
		return nil, err
	}
	return &tandem.Invoice{CustomerID: f.CustomerID, Currency: f.Currency, Description: f.Description,
		DueDate: due, Metadata: f.Metadata, Lines: invoiceLines(f.Lines)}, nil
}

func invoiceLines(in []lineFields) []tandem.InvoiceLine {
	out := make([]tandem.InvoiceLine, len(in))
	for i, l := range in {
		out[i] = tandem.InvoiceLine{Description: l.Description, Quantity: l.Quantity, UnitAmount: l.UnitAmount}
	}
	return out
}

func newInvoiceBody(inv *tandem.Invoice) invoiceBody {
	md := inv.Metadata
	if md == nil {
		md = map[string]string{}
	}
	b := invoiceBody{ID: inv.ID, CustomerID: inv.CustomerID, Currency: inv.Currency, Description: inv.Description,
		Metadata: md, Lines: make([]lineBody, len(inv.Lines)), Status: string(inv.Status), Number: inv.Number,
		Subtotal: inv.Subtotal, Total: inv.Total, AmountDue: inv.AmountDue, AmountPaid: inv.AmountPaid,
		AmountRemaining: inv.AmountRemaining, HostedInvoiceURL: inv.HostedInvoiceURL, PaymentFailure: inv.PaymentFailure,
		Version: inv.Version, CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt}
	if !inv.DueDate.IsZero() {
		b.DueDate = inv.DueDate.Format(dateLayout)
	}
	for i, l := range inv.Lines {
		b.Lines[i] = lineBody{lineFields: lineFields{Description: l.Description, Quantity: l.Quantity,
			UnitAmount: l.UnitAmount}, Amount: l.Amount}
	}
	return b
}

func newInvoiceOutput(inv *tandem.Invoice) *invoiceOutput {
	return &invoiceOutput{ETag: etag(inv.Version), Body: newInvoiceBody(inv)}
}
