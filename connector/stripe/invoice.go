package stripe

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	stripego "github.com/stripe/stripe-go/v86"

	"github.com/tandemsync/tandem"
)

// invoiceState is an invoice as Stripe holds it, in the terms Tandem
// shares with Stripe; a link's base is its JSON. Lines hold the Stripe
// invoice item of each line, so that an edit changes the right one.
type invoiceState struct {
	Currency    string `json:"currency"`
	Description string `json:"description"`
	// DueDate is unix seconds, 0 for none.
	DueDate  int64             `json:"due_date"`
	Metadata map[string]string `json:"metadata"` // without tandem_id
	// TandemID is the tandem_id metadata the Stripe invoice holds.
	TandemID         string               `json:"tandem_id"`
	Status           tandem.InvoiceStatus `json:"status"`
	Number           string               `json:"number"`
	HostedInvoiceURL string               `json:"hosted_invoice_url"`
	Subtotal         int64                `json:"subtotal"`
	Total            int64                `json:"total"`
	AmountDue        int64                `json:"amount_due"`
	AmountPaid       int64                `json:"amount_paid"`
	AmountRemaining  int64                `json:"amount_remaining"`
	PaymentFailure   string               `json:"payment_failure"`
	Lines            []lineState          `json:"lines"`
	// attempts counts the payment attempts (not in the base).
	attempts int64
}

// failed reports whether the invoice's last payment attempt failed: an
// invoice still open or uncollectible after one was not paid by it.
func (s *invoiceState) failed() bool {
	unpaid := s.Status == tandem.InvoiceOpen || s.Status == tandem.InvoiceUncollectible
	return unpaid && s.attempts > 0
}

// lineState is one line of an invoice and the invoice item behind it.
type lineState struct {
	ItemID string `json:"item_id"`
	tandem.InvoiceLine
}

// sameLine reports whether a line Stripe holds has the values of a local
// line (the amount follows from them).
func (l lineState) sameLine(want tandem.InvoiceLine) bool {
	return l.Description == want.Description && l.Quantity == want.Quantity && l.UnitAmount == want.UnitAmount
}

// invoice returns the local fields s holds; CustomerID is left empty.
func (s *invoiceState) invoice() *tandem.Invoice {
	inv := &tandem.Invoice{Currency: s.Currency, Description: s.Description, Metadata: maps.Clone(s.Metadata),
		Status: s.Status, Number: s.Number, Subtotal: s.Subtotal, Total: s.Total, AmountDue: s.AmountDue,
		AmountPaid: s.AmountPaid, AmountRemaining: s.AmountRemaining, HostedInvoiceURL: s.HostedInvoiceURL,
		PaymentFailure: s.PaymentFailure}
	if s.DueDate != 0 {
		inv.DueDate = time.Unix(s.DueDate, 0).UTC()
	}
	if s.Lines != nil {
		inv.Lines = make([]tandem.InvoiceLine, len(s.Lines))
		for i, l := range s.Lines {
			inv.Lines[i] = l.InvoiceLine
		}
	}
	return inv
}

// sameDetails reports whether s has the invoice-level fields Tandem writes
// as inv has them.
func (s *invoiceState) sameDetails(inv *tandem.Invoice) bool {
	return s.Currency == inv.Currency && s.Description == inv.Description && s.DueDate == dueDate(inv) &&
		maps.Equal(s.Metadata, inv.Metadata) && s.TandemID == inv.ID
}

// dueDate is an invoice's due date as Stripe's unix seconds, 0 for none.
func dueDate(inv *tandem.Invoice) int64 {
	if inv.DueDate.IsZero() {
		return 0
	}
	return inv.DueDate.Unix()
}

// stateOfStripe reads an invoice as Stripe answers it, with all its lines
// (lines: the invoice's embedded list is only the first page). Why a
// payment failed is not on the invoice: see readFailure.
func stateOfStripe(inv *stripego.Invoice, lines []*stripego.InvoiceLineItem) *invoiceState {
	s := &invoiceState{Currency: string(inv.Currency), Description: inv.Description, DueDate: inv.DueDate,
		Metadata: map[string]string{}, TandemID: inv.Metadata[MetadataKey], Status: tandem.InvoiceStatus(inv.Status),
		Number: inv.Number, HostedInvoiceURL: inv.HostedInvoiceURL, Subtotal: inv.Subtotal, Total: inv.Total,
		AmountDue: inv.AmountDue, AmountPaid: inv.AmountPaid, AmountRemaining: inv.AmountRemaining,
		Lines: []lineState{}, attempts: inv.AttemptCount}
	for k, v := range inv.Metadata {
		if k != MetadataKey {
			s.Metadata[k] = v
		}
	}
	for _, l := range lines {
		line := lineState{InvoiceLine: tandem.InvoiceLine{Description: l.Description, Quantity: l.Quantity,
			Amount: l.Amount}}
		if l.Pricing != nil {
			line.UnitAmount = int64(math.Round(l.Pricing.UnitAmountDecimal))
		}
		if l.Parent != nil && l.Parent.InvoiceItemDetails != nil {
			line.ItemID = l.Parent.InvoiceItemDetails.InvoiceItem
		}
		s.Lines = append(s.Lines, line)
	}
	return s
}

// readFailure sets s.PaymentFailure, when the invoice's last payment
// attempt failed, to why: at this API version the invoice does not name
// the attempt's PaymentIntent; its newest invoice payment does, and the
// PaymentIntent's last_payment_error says why.
func (c *Connector) readFailure(ctx context.Context, invoiceID string, s *invoiceState) error {
	if !s.failed() || s.PaymentFailure != "" {
		return nil
	}
	s.PaymentFailure = fmt.Sprintf("payment attempt %d failed", s.attempts) // when Stripe tells no more
	params := &stripego.InvoicePaymentListParams{Invoice: stripego.String(invoiceID)}
	params.Limit = stripego.Int64(1) // newest first
	var payments *stripego.V1List[*stripego.InvoicePayment]
	if err := c.call(ctx, "list_invoice_payments", func() error {
		payments = c.api.V1InvoicePayments.List(ctx, params)
		return payments.Err()
	}); err != nil {
		return err
	}
	if len(payments.Data()) == 0 {
		return nil
	}
	pay := payments.Data()[0].Payment
	if pay == nil || pay.PaymentIntent == nil || pay.PaymentIntent.ID == "" {
		return nil
	}
	var pi *stripego.PaymentIntent
	if err := c.call(ctx, "retrieve_payment_intent", func() (err error) {
		pi, err = c.api.V1PaymentIntents.Retrieve(ctx, pay.PaymentIntent.ID, nil)
		return err
	}); err != nil {
		return err
	}
	if e := pi.LastPaymentError; e != nil && e.Msg != "" {
		code := string(e.Code)
		if e.DeclineCode != "" {
			code += "/" + string(e.DeclineCode)
		}
		s.PaymentFailure = fmt.Sprintf("%s (%s)", e.Msg, code)
	}
	return nil
}

// invoiceIntent is what an invoice push saves before its first write: the
// create's key and parameters, since when to look for the invoice it may
// have made, and, once known, the invoice's Stripe id. A retry then finishes
// that create instead of making a second invoice, and reads what Stripe
// holds before it adds, changes or removes any line.
type invoiceIntent struct {
	Key      string            `json:"key"`
	Customer string            `json:"customer"`
	Create   invoiceCreateArgs `json:"create"`
	Since    int64             `json:"since"` // unix seconds
	RemoteID string            `json:"remote_id,omitempty"`
	// Replaces is the draft the create replaces (Stripe cannot change an
	// invoice's currency), deleted once the new one exists.
	Replaces string `json:"replaces,omitempty"`
}

// invoiceCreateArgs are the parameters of an invoice create.
type invoiceCreateArgs struct {
	Currency    string            `json:"currency"`
	Description string            `json:"description"`
	DueDate     int64             `json:"due_date"`
	Metadata    map[string]string `json:"metadata"`
}

// pushInvoice makes the Stripe invoice match the local one: create it as
// a draft, bring its details and lines (invoice items) in line while it is
// a draft, move it through the lifecycle up to the local status, or
// delete the draft.
func (c *Connector) pushInvoice(ctx context.Context, req *tandem.PushRequest) (*tandem.PushResult, error) {
	rec, link := req.Record, req.Link
	want := rec.Invoice
	if req.CustomerLink == nil || req.CustomerLink.RemoteID == "" {
		return nil, &tandem.ProviderError{Class: tandem.Retry, Err: fmt.Errorf("stripe: the invoice's customer is not in Stripe yet")}
	}
	p := &invoicePush{c: c, req: req, customer: req.CustomerLink.RemoteID, remoteID: link.RemoteID}
	if err := p.load(ctx); err != nil {
		return nil, err
	}
	switch {
	case rec.Deleted && p.remoteID == "":
		return &tandem.PushResult{}, nil // it never reached Stripe
	case rec.Deleted:
		if err := p.deleteInvoice(ctx, p.remoteID, "delete"); err != nil {
			return nil, err
		}
		return &tandem.PushResult{RemoteID: p.remoteID}, nil
	case p.deleted:
		return nil, &tandem.ProviderError{Class: tandem.Permanent,
			Err: fmt.Errorf("stripe: invoice %s was deleted in Stripe", p.remoteID)}
	}
	var err error
	switch {
	case p.remoteID == "":
		err = p.create(ctx, "")
	case p.state.Status == tandem.InvoiceDraft && p.state.Currency != want.Currency:
		// Stripe cannot change an invoice's currency: a new draft
		// replaces the one it holds.
		err = p.create(ctx, p.remoteID)
	default:
		err = p.save(ctx) // edits follow: a retry must read Stripe first
	}
	if err != nil {
		return nil, err
	}
	if err := p.updateDetails(ctx, want); err != nil {
		return nil, err
	}
	if err := p.updateLines(ctx, want.Lines); err != nil {
		return nil, err
	}
	if err := p.advance(ctx, want.Status); err != nil {
		return nil, err
	}
	if p.stale {
		if err := p.reload(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.readFailure(ctx, p.remoteID, p.state); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p.state)
	if err != nil {
		return nil, err
	}
	return &tandem.PushResult{RemoteID: p.remoteID, Base: b}, nil
}

// load finds out what Stripe holds before the push writes: the link's
// base, or, after a push that did not finish (its intent is on the link),
// the invoice as Stripe has it now, once that push's create is finished.
func (p *invoicePush) load(ctx context.Context) error {
	link := p.req.Link
	switch {
	case len(link.Intent) > 0:
		if err := json.Unmarshal(link.Intent, &p.intent); err != nil {
			return &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("stripe: decode intent: %w", err)}
		}
		if p.intent.Replaces != "" {
			p.remoteID = "" // the invoice is the replacement the intent names, if made
		}
		if err := p.finishCreate(ctx); err != nil {
			return err
		}
		if err := p.dropReplaced(ctx); err != nil {
			return err
		}
		if p.remoteID == "" {
			return nil
		}
	case len(link.Base) > 0:
		p.state = new(invoiceState)
		if err := json.Unmarshal(link.Base, p.state); err != nil {
			return &tandem.ProviderError{Class: tandem.Permanent, Err: fmt.Errorf("stripe: decode base: %w", err)}
		}
		return nil
	case p.remoteID == "":
		return nil
	}
	return p.reload(ctx)
}

// frozen is the failure of an edit to what finalization froze in Stripe
// (all but metadata), found before asking Stripe.
func (p *invoicePush) frozen() error {
	return &tandem.ProviderError{Class: tandem.Permanent,
		Err: fmt.Errorf("stripe: invoice %s is %s in Stripe and can no longer be edited", p.remoteID, p.state.Status)}
}

func createArgs(inv *tandem.Invoice) invoiceCreateArgs {
	return invoiceCreateArgs{Currency: inv.Currency, Description: inv.Description, DueDate: dueDate(inv),
		Metadata: maps.Clone(inv.Metadata)}
}

// invoicePush is one push of an invoice: what Stripe holds as it goes.
type invoicePush struct {
	c        *Connector
	req      *tandem.PushRequest
	customer string
	intent   invoiceIntent
	remoteID string
	// state is the invoice as Stripe holds it; stale once a write changed
	// it in ways only a read shows (amounts after a line change).
	state   *invoiceState
	stale   bool
	deleted bool
}

func (p *invoicePush) key(op string) string {
	return idempotencyKey(p.req.Record.Ref, op, p.req.Record.Version)
}

// save records the intent on the link, with the invoice's id once known.
func (p *invoicePush) save(ctx context.Context) error {
	p.intent.RemoteID = p.remoteID
	b, err := json.Marshal(p.intent)
	if err != nil {
		return err
	}
	if err := p.req.SaveIntent(ctx, b); err != nil {
		return fmt.Errorf("stripe: save intent: %w", err)
	}
	return nil
}

// create makes a new draft of the record, which replaces the draft
// replaces unless that is "".
func (p *invoicePush) create(ctx context.Context, replaces string) error {
	p.intent = invoiceIntent{Key: p.key("create"), Customer: p.customer, Create: createArgs(p.req.Record.Invoice),
		Since: time.Now().Add(-time.Minute).Unix(), Replaces: replaces}
	p.remoteID = ""
	if err := p.finishCreate(ctx); err != nil {
		return err
	}
	return p.dropReplaced(ctx)
}

// dropReplaced deletes the draft the intent's create replaced, if any.
func (p *invoicePush) dropReplaced(ctx context.Context) error {
	if p.intent.Replaces == "" || p.remoteID == "" {
		return nil
	}
	return p.deleteInvoice(ctx, p.intent.Replaces, "replace")
}

// finishCreate makes the draft the intent describes, unless the intent
// already names it, saving the intent before and the id after. When
// Stripe's answer leaves the outcome unknown, it looks for the invoice by
// its tandem_id; if there is none, it tries again under a fresh key.
func (p *invoicePush) finishCreate(ctx context.Context) error {
	if p.remoteID == "" {
		p.remoteID = p.intent.RemoteID
	}
	if p.remoteID != "" || p.intent.Key == "" {
		return nil
	}
	for attempt := 0; ; attempt++ {
		if err := p.save(ctx); err != nil {
			return err
		}
		params := createParams(p.intent, p.req.Record.Ref.ID)
		params.SetIdempotencyKey(p.intent.Key)
		var inv *stripego.Invoice
		err := p.c.call(ctx, "create_invoice", func() (err error) {
			inv, err = p.c.api.V1Invoices.Create(ctx, params)
			return err
		})
		if err == nil {
			p.remoteID, p.state = inv.ID, stateOfStripe(inv, nil)
			return p.save(ctx)
		}
		if class(err) != tandem.Ambiguous || attempt > 0 {
			return err
		}
		id, ferr := p.c.findInvoice(ctx, p.customer, p.req.Record.Ref.ID, p.intent.Since, p.intent.Replaces)
		switch {
		case ferr != nil:
			return err
		case id != "":
			p.remoteID = id
			if err := p.save(ctx); err != nil {
				return err
			}
			return p.reload(ctx)
		}
		p.intent.Key = freshKey(p.intent.Key)
	}
}

// createParams are the parameters of a draft that Stripe never advances on
// its own and that takes none of the customer's pending items: Tandem adds
// the lines itself. A due date needs collection by sent invoice.
func createParams(in invoiceIntent, localID string) *stripego.InvoiceCreateParams {
	params := &stripego.InvoiceCreateParams{Customer: stripego.String(in.Customer),
		Currency: stripego.String(in.Create.Currency), Description: optional(in.Create.Description),
		AutoAdvance: stripego.Bool(false), PendingInvoiceItemsBehavior: stripego.String("exclude")}
	if in.Create.DueDate != 0 {
		params.CollectionMethod = stripego.String(string(stripego.InvoiceCollectionMethodSendInvoice))
		params.DueDate = stripego.Int64(in.Create.DueDate)
	}
	for k, v := range in.Create.Metadata {
		params.AddMetadata(k, v)
	}
	params.AddMetadata(MetadataKey, localID)
	return params
}

// reload reads the invoice and all its lines as Stripe holds them now.
func (p *invoicePush) reload(ctx context.Context) error {
	inv, lines, err := p.c.retrieveInvoice(ctx, p.remoteID)
	if err != nil {
		return err
	}
	p.deleted = inv.Deleted
	p.state, p.stale = stateOfStripe(inv, lines), false
	return nil
}

// updateDetails sends the invoice-level fields that differ from what Stripe
// holds. A due date switches collection to sent invoices; no due date
// switches back to automatic collection, where Stripe has none.
func (p *invoicePush) updateDetails(ctx context.Context, want *tandem.Invoice) error {
	s := p.state
	if s.sameDetails(want) {
		return nil
	}
	if s.Status != tandem.InvoiceDraft &&
		(want.Currency != s.Currency || want.Description != s.Description || dueDate(want) != s.DueDate) {
		return p.frozen()
	}
	params := &stripego.InvoiceUpdateParams{}
	if want.Description != s.Description {
		params.Description = stripego.String(want.Description)
	}
	if due := dueDate(want); due != s.DueDate {
		if due == 0 {
			params.CollectionMethod = stripego.String(string(stripego.InvoiceCollectionMethodChargeAutomatically))
		} else {
			params.CollectionMethod = stripego.String(string(stripego.InvoiceCollectionMethodSendInvoice))
			params.DueDate = stripego.Int64(due)
		}
	}
	for k, v := range metadataChanges(s.Metadata, want.Metadata) {
		params.AddMetadata(k, v)
	}
	if s.TandemID != want.ID {
		params.AddMetadata(MetadataKey, want.ID)
	}
	return p.write(ctx, "update_invoice", p.key("update"), func(key string) error {
		params.SetIdempotencyKey(key)
		inv, err := p.c.api.V1Invoices.Update(ctx, p.remoteID, params)
		if err == nil {
			p.keepLines(inv)
		}
		return err
	}, func() bool { return p.state.sameDetails(want) })
}

// keepLines takes the invoice-level state of inv, whose amounts count
// every line written so far, keeping the lines known (inv may embed only
// the first ones).
func (p *invoicePush) keepLines(inv *stripego.Invoice) {
	lines := p.state.Lines
	p.state, p.stale = stateOfStripe(inv, nil), false
	p.state.Lines = lines
}

// updateLines makes the invoice items of the draft match the local lines,
// line by line: it changes the items whose line changed, adds items for new
// lines at the end and deletes those of lines that are gone, so Stripe's
// order stays the local one.
func (p *invoicePush) updateLines(ctx context.Context, want []tandem.InvoiceLine) error {
	if slices.EqualFunc(p.state.Lines, want, lineState.sameLine) {
		return nil
	}
	if p.state.Status != tandem.InvoiceDraft {
		return p.frozen()
	}
	for i, line := range want {
		// p.state.Lines is what Stripe holds, read again after an
		// unknown outcome.
		switch {
		case i >= len(p.state.Lines):
			if err := p.addLine(ctx, i, line); err != nil {
				return err
			}
		case !p.state.Lines[i].sameLine(line):
			if err := p.changeLine(ctx, i, line); err != nil {
				return err
			}
		}
	}
	for i := len(p.state.Lines) - 1; i >= len(want); i-- {
		if err := p.removeLine(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// lineKey is the key of an operation on line i.
func (p *invoicePush) lineKey(op string, i int) string {
	return fmt.Sprintf("%s:line%d", p.key(op), i)
}

func (p *invoicePush) addLine(ctx context.Context, i int, line tandem.InvoiceLine) error {
	params := &stripego.InvoiceItemCreateParams{Customer: stripego.String(p.customer),
		Invoice: stripego.String(p.remoteID), Currency: stripego.String(p.state.Currency),
		Description: stripego.String(line.Description), Quantity: stripego.Int64(line.Quantity),
		UnitAmountDecimal: stripego.Float64(float64(line.UnitAmount))}
	params.AddMetadata(MetadataKey, p.req.Record.Ref.ID)
	return p.write(ctx, "create_invoice_item", p.lineKey("add", i), func(key string) error {
		params.SetIdempotencyKey(key)
		it, err := p.c.api.V1InvoiceItems.Create(ctx, params)
		if err == nil {
			p.state.Lines = append(p.state.Lines, lineState{ItemID: it.ID, InvoiceLine: lineOf(it)})
			p.stale = true
		}
		return err
	}, func() bool { return i < len(p.state.Lines) && p.state.Lines[i].sameLine(line) })
}

func (p *invoicePush) changeLine(ctx context.Context, i int, line tandem.InvoiceLine) error {
	params := &stripego.InvoiceItemUpdateParams{Description: stripego.String(line.Description),
		Quantity: stripego.Int64(line.Quantity), UnitAmountDecimal: stripego.Float64(float64(line.UnitAmount))}
	return p.write(ctx, "update_invoice_item", p.lineKey("update", i), func(key string) error {
		params.SetIdempotencyKey(key)
		it, err := p.c.api.V1InvoiceItems.Update(ctx, p.state.Lines[i].ItemID, params)
		if err == nil {
			p.state.Lines[i].InvoiceLine = lineOf(it)
			p.stale = true
		}
		return err
	}, func() bool { return p.state.Lines[i].sameLine(line) })
}

func (p *invoicePush) removeLine(ctx context.Context, i int) error {
	err := p.c.remove(ctx, "delete_invoice_item", p.lineKey("delete", i), func(key string) error {
		params := &stripego.InvoiceItemDeleteParams{}
		params.SetIdempotencyKey(key)
		_, err := p.c.api.V1InvoiceItems.Delete(ctx, p.state.Lines[i].ItemID, params)
		return err
	})
	if err != nil {
		return err
	}
	p.state.Lines, p.stale = p.state.Lines[:i], true
	return nil
}

// lineOf is the line an invoice item makes.
func lineOf(it *stripego.InvoiceItem) tandem.InvoiceLine {
	l := tandem.InvoiceLine{Description: it.Description, Quantity: it.Quantity, Amount: it.Amount}
	if it.Pricing != nil {
		l.UnitAmount = int64(math.Round(it.Pricing.UnitAmountDecimal))
	}
	return l
}

// nextAction is the lifecycle call that moves an invoice from status have
// towards want, "" when there is none: want is reached, or is a draft
// (Stripe's status never goes back; the inbound change brings it here).
func nextAction(have, want tandem.InvoiceStatus) tandem.InvoiceAction {
	switch {
	case have == want || want == tandem.InvoiceDraft:
		return ""
	case have == tandem.InvoiceDraft:
		return tandem.ActionFinalize
	case want == tandem.InvoiceUncollectible:
		return tandem.ActionMarkUncollectible
	case want == tandem.InvoicePaid:
		return tandem.ActionPay
	case want == tandem.InvoiceVoid:
		return tandem.ActionVoid
	}
	return ""
}

// advance makes the lifecycle calls that bring the invoice to status want,
// one at a time, each from the status Stripe answered (finalizing an
// invoice with nothing due also pays it).
func (p *invoicePush) advance(ctx context.Context, want tandem.InvoiceStatus) error {
	for {
		action := nextAction(p.state.Status, want)
		if action == "" {
			return nil
		}
		if _, err := p.state.Status.Next(action); err != nil {
			return nil // Stripe is ahead on another branch; the inbound change settles it
		}
		from := p.state.Status
		err := p.write(ctx, string(action)+"_invoice", p.key(string(action)), func(key string) error {
			inv, err := p.lifecycle(ctx, action, key)
			if err == nil {
				p.keepLines(inv)
			}
			return err
		}, func() bool { return p.state.Status != from })
		if err != nil && class(err) == tandem.Permanent {
			// Refused: if Stripe moved the invoice meanwhile (the base was
			// older news), go on from where it is.
			if rerr := p.reload(ctx); rerr == nil && p.state.Status != from {
				continue
			}
		}
		if err != nil {
			return err
		}
	}
}

// lifecycle makes one lifecycle call under key. A payment is recorded as
// made outside Stripe: Tandem's pay says so.
func (p *invoicePush) lifecycle(ctx context.Context, action tandem.InvoiceAction, key string) (*stripego.Invoice, error) {
	api := p.c.api.V1Invoices
	switch action {
	case tandem.ActionFinalize:
		params := &stripego.InvoiceFinalizeInvoiceParams{AutoAdvance: stripego.Bool(false)}
		params.SetIdempotencyKey(key)
		return api.FinalizeInvoice(ctx, p.remoteID, params)
	case tandem.ActionPay:
		params := &stripego.InvoicePayParams{PaidOutOfBand: stripego.Bool(true)}
		params.SetIdempotencyKey(key)
		return api.Pay(ctx, p.remoteID, params)
	case tandem.ActionVoid:
		params := &stripego.InvoiceVoidInvoiceParams{}
		params.SetIdempotencyKey(key)
		return api.VoidInvoice(ctx, p.remoteID, params)
	default:
		params := &stripego.InvoiceMarkUncollectibleParams{}
		params.SetIdempotencyKey(key)
		return api.MarkUncollectible(ctx, p.remoteID, params)
	}
}

// write makes one write under key, named op for the observer. When the
// outcome is unknown, it reads the invoice: if done says the write is
// there, fine; if not, it writes again under a fresh key, since Stripe
// replays the failure for the first one.
func (p *invoicePush) write(ctx context.Context, op, key string, send func(key string) error, done func() bool) error {
	err := p.c.call(ctx, op, func() error { return send(key) })
	if class(err) != tandem.Ambiguous {
		return err
	}
	if rerr := p.reload(ctx); rerr != nil {
		return err
	}
	if done() {
		return nil
	}
	key = freshKey(key)
	return p.c.call(ctx, op, func() error { return send(key) })
}

// deleteInvoice deletes the draft id, as operation op of the push; one
// already gone is fine. Stripe refuses to delete a finalized invoice, with
// its message.
func (p *invoicePush) deleteInvoice(ctx context.Context, id, op string) error {
	return p.c.remove(ctx, "delete_invoice", p.key(op), func(key string) error {
		params := &stripego.InvoiceDeleteParams{}
		params.SetIdempotencyKey(key)
		_, err := p.c.api.V1Invoices.Delete(ctx, id, params)
		return err
	})
}

// findInvoice returns the customer's Stripe invoice created since the
// given time whose metadata names localID, other than the draft it
// replaces, "" if there is none.
func (c *Connector) findInvoice(ctx context.Context, customer, localID string, since int64, replaces string) (string, error) {
	params := &stripego.InvoiceListParams{Customer: stripego.String(customer),
		CreatedRange: &stripego.RangeQueryParams{GreaterThanOrEqual: since}}
	params.Limit = stripego.Int64(pageSize)
	return findTagged(ctx, c, "list_invoices", c.api.V1Invoices.List(ctx, params).All(ctx), localID,
		func(inv *stripego.Invoice) (string, string) {
			if inv.ID == replaces {
				return inv.ID, ""
			}
			return inv.ID, inv.Metadata[MetadataKey]
		})
}

// retrieveInvoice reads an invoice and all its lines; a deleted one comes
// back with Deleted set.
func (c *Connector) retrieveInvoice(ctx context.Context, id string) (*stripego.Invoice, []*stripego.InvoiceLineItem, error) {
	var inv *stripego.Invoice
	var raw error
	err := c.call(ctx, "retrieve_invoice", func() error {
		inv, raw = c.api.V1Invoices.Retrieve(ctx, id, nil)
		return raw
	})
	switch {
	case err != nil && isMissing(raw):
		return &stripego.Invoice{ID: id, Deleted: true}, nil, nil
	case err != nil:
		return nil, nil, err
	}
	lines, err := c.allLines(ctx, inv)
	return inv, lines, err
}

// allLines returns the lines of inv: its embedded list, or when that is
// only the first page, all of them read from /v1/invoices/{id}/lines.
func (c *Connector) allLines(ctx context.Context, inv *stripego.Invoice) ([]*stripego.InvoiceLineItem, error) {
	if inv.Lines == nil {
		return nil, nil
	}
	if !inv.Lines.HasMore {
		return inv.Lines.Data, nil
	}
	params := &stripego.InvoiceListLinesParams{Invoice: stripego.String(inv.ID)}
	params.Limit = stripego.Int64(pageSize)
	var lines []*stripego.InvoiceLineItem
	err := list(ctx, c, "list_invoice_lines", c.api.V1Invoices.ListLines(ctx, params).All(ctx),
		func(l *stripego.InvoiceLineItem) bool {
			lines = append(lines, l)
			return true
		})
	return lines, err
}
