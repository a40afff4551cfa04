package stripe

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
)

// InvoiceItem is a Stripe invoice item: a charge on a customer's invoice,
// or pending (Invoice empty) until an invoice pulls it in. On its invoice it
// shows as a line item with an id of its own (LineID).
type InvoiceItem struct {
	ID          string
	LineID      string
	Customer    string
	Invoice     string // "" while pending
	Created     int64  // unix seconds (Stripe's "date")
	Currency    string
	Description string
	Quantity    int64
	// UnitAmount is the price of one unit in minor units; Stripe allows up
	// to 12 decimals (unit_amount_decimal).
	UnitAmount float64
	// Amount is Quantity × UnitAmount, rounded to a whole minor unit.
	Amount   int64
	Metadata map[string]string
	// Deleted is set once the item is deleted (or its draft invoice is);
	// the API then answers 404 for it.
	Deleted bool
}

// InvoiceItemParams are the changes of an invoice item create or update: a
// nil field stays as it is. Amount and UnitAmountDecimal are exclusive.
type InvoiceItemParams struct {
	Customer string // create only
	Invoice  string // create only; "" makes a pending item
	Currency string // create only; default: the invoice's
	// Description "" removes it.
	Description *string
	Quantity    *int64
	// UnitAmountDecimal is the unit price, in minor units, as a decimal
	// string (unit_amount_decimal).
	UnitAmountDecimal *string
	// Amount sets the whole amount, with a quantity of 1.
	Amount *int64
	// Metadata is merged into the item's; a key set to "" is removed.
	Metadata map[string]string
	// ClearMetadata removes every key before Metadata is merged (metadata=).
	ClearMetadata bool
}

// apply returns it changed by p, or Stripe's error for the first parameter
// it refuses.
func (p InvoiceItemParams) apply(it InvoiceItem) (InvoiceItem, error) {
	next := it.clone()
	if p.Description != nil {
		if err := checkLength("description", *p.Description, 5000); err != nil {
			return InvoiceItem{}, err
		}
		next.Description = *p.Description
	}
	switch {
	case p.Amount != nil && p.UnitAmountDecimal != nil:
		return InvoiceItem{}, invalidParam("amount", "",
			"You may only specify one of these parameters: amount, unit_amount_decimal.")
	case p.Amount != nil && p.Quantity != nil:
		return InvoiceItem{}, invalidParam("amount", "", "You may only specify one of these parameters: amount, quantity.")
	case p.Amount != nil:
		next.Quantity, next.UnitAmount = 1, float64(*p.Amount)
	}
	if p.Quantity != nil {
		if *p.Quantity < 0 {
			return InvoiceItem{}, invalidParam("quantity", "", "This value must be greater than or equal to 0.")
		}
		next.Quantity = *p.Quantity
	}
	if p.UnitAmountDecimal != nil {
		u, err := strconv.ParseFloat(*p.UnitAmountDecimal, 64)
		if err != nil || math.IsNaN(u) || math.IsInf(u, 0) {
			return InvoiceItem{}, invalidParam("unit_amount_decimal", "", "Invalid decimal: %s", *p.UnitAmountDecimal)
		}
		next.UnitAmount = u
	}
	next.Amount = int64(math.Round(float64(next.Quantity) * next.UnitAmount))
	var err error
	if next.Metadata, err = applyMetadata(next.Metadata, p.Metadata, p.ClearMetadata); err != nil {
		return InvoiceItem{}, err
	}
	return next, nil
}

// clone returns a copy of it that shares nothing with it.
func (it InvoiceItem) clone() InvoiceItem {
	it.Metadata = maps.Clone(it.Metadata)
	if it.Metadata == nil {
		it.Metadata = map[string]string{}
	}
	return it
}

// period is an item's service period: its creation, as for a one-off item.
type period struct {
	End   int64 `json:"end"`
	Start int64 `json:"start"`
}

// pricing is how an item is priced: here always by unit amount.
type pricing struct {
	PriceDetails      any    `json:"price_details"`
	Type              string `json:"type"`
	UnitAmountDecimal string `json:"unit_amount_decimal"`
}

func (it InvoiceItem) pricing() pricing {
	return pricing{Type: "price_details", UnitAmountDecimal: strconv.FormatFloat(it.UnitAmount, 'f', -1, 64)}
}

func (it InvoiceItem) metadata() map[string]string {
	if it.Metadata == nil {
		return map[string]string{}
	}
	return it.Metadata
}

// MarshalJSON encodes the invoice item as Stripe's API answers it.
func (it InvoiceItem) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID              string            `json:"id"`
		Object          string            `json:"object"`
		Amount          int64             `json:"amount"`
		Currency        string            `json:"currency"`
		Customer        string            `json:"customer"`
		CustomerAccount any               `json:"customer_account"`
		Date            int64             `json:"date"`
		Deleted         bool              `json:"deleted,omitempty"`
		Description     *string           `json:"description"`
		Discountable    bool              `json:"discountable"`
		Discounts       []string          `json:"discounts"`
		Invoice         *string           `json:"invoice"`
		Livemode        bool              `json:"livemode"`
		Metadata        map[string]string `json:"metadata"`
		NetAmount       any               `json:"net_amount"` // null for a discountable item
		Parent          any               `json:"parent"`
		Period          period            `json:"period"`
		Pricing         pricing           `json:"pricing"`
		Proration       bool              `json:"proration"`
		Quantity        int64             `json:"quantity"`
		QuantityDecimal string            `json:"quantity_decimal"`
		TaxRates        []string          `json:"tax_rates"`
		TestClock       any               `json:"test_clock"`
	}{
		ID: it.ID, Object: "invoiceitem", Amount: it.Amount, Currency: it.Currency, Customer: it.Customer,
		Date: it.Created, Deleted: it.Deleted, Description: nullable(it.Description), Discountable: true,
		Discounts: []string{}, Invoice: nullable(it.Invoice), Metadata: it.metadata(),
		Period: period{it.Created, it.Created}, Pricing: it.pricing(), Quantity: it.Quantity,
		QuantityDecimal: strconv.FormatInt(it.Quantity, 10), TaxRates: []string{},
	})
}

// LineItem is an invoice item as a line of its invoice (object
// "line_item"), as lines.data and /v1/invoices/{id}/lines answer it.
type LineItem InvoiceItem

// MarshalJSON encodes the line as Stripe's API answers it.
func (l LineItem) MarshalJSON() ([]byte, error) {
	type itemDetails struct {
		InvoiceItem      string         `json:"invoice_item"`
		Proration        bool           `json:"proration"`
		ProrationDetails map[string]any `json:"proration_details"`
		Subscription     any            `json:"subscription"`
	}
	type parent struct {
		InvoiceItemDetails      itemDetails `json:"invoice_item_details"`
		SubscriptionItemDetails any         `json:"subscription_item_details"`
		Type                    string      `json:"type"`
	}
	it := InvoiceItem(l)
	return json.Marshal(struct {
		ID                  string            `json:"id"`
		Object              string            `json:"object"`
		Amount              int64             `json:"amount"`
		Currency            string            `json:"currency"`
		Description         *string           `json:"description"`
		DiscountAmounts     []any             `json:"discount_amounts"`
		Discountable        bool              `json:"discountable"`
		Discounts           []string          `json:"discounts"`
		Invoice             string            `json:"invoice"`
		Livemode            bool              `json:"livemode"`
		Metadata            map[string]string `json:"metadata"`
		Parent              parent            `json:"parent"`
		Period              period            `json:"period"`
		PretaxCreditAmounts []any             `json:"pretax_credit_amounts"`
		Pricing             pricing           `json:"pricing"`
		Quantity            int64             `json:"quantity"`
		QuantityDecimal     string            `json:"quantity_decimal"`
		Subscription        any               `json:"subscription"`
		Subtotal            int64             `json:"subtotal"`
		Taxes               []any             `json:"taxes"`
	}{
		ID: it.LineID, Object: "line_item", Amount: it.Amount, Currency: it.Currency,
		Description: nullable(it.Description), DiscountAmounts: []any{}, Discountable: true, Discounts: []string{},
		Invoice: it.Invoice, Metadata: it.metadata(),
		Parent: parent{
			InvoiceItemDetails: itemDetails{InvoiceItem: it.ID, ProrationDetails: map[string]any{"credited_items": nil}},
			Type:               "invoice_item_details",
		},
		Period: period{it.Created, it.Created}, PretaxCreditAmounts: []any{}, Pricing: it.pricing(),
		Quantity: it.Quantity, QuantityDecimal: strconv.FormatInt(it.Quantity, 10), Subtotal: it.Amount,
		Taxes: []any{},
	})
}

// addInvoiceItem creates an invoice item, on a draft invoice or pending.
// The caller holds e.mu.
func (e *Emulator) addInvoiceItem(p InvoiceItemParams, o origin) (InvoiceItem, error) {
	if err := e.billedCustomer(p.Customer); err != nil {
		return InvoiceItem{}, err
	}
	if p.Amount == nil && p.UnitAmountDecimal == nil {
		return InvoiceItem{}, invalidParam("amount", "parameter_missing",
			"Missing required param: amount (or unit_amount_decimal, price or pricing).")
	}
	var inv *Invoice
	if p.Invoice != "" {
		var err error
		if inv, err = e.editableInvoice(p.Invoice); err != nil {
			return InvoiceItem{}, err
		}
		if inv.Customer != p.Customer {
			return InvoiceItem{}, invalidParam("invoice", "",
				"The invoice %s belongs to customer %s, not to %s.", inv.ID, inv.Customer, p.Customer)
		}
		if p.Currency == "" {
			p.Currency = inv.Currency
		}
	}
	if p.Currency == "" {
		return InvoiceItem{}, invalidParam("currency", "parameter_missing", "Missing required param: currency.")
	}
	currency, err := checkCurrency(p.Currency)
	if err != nil {
		return InvoiceItem{}, err
	}
	if inv != nil && currency != inv.Currency {
		return InvoiceItem{}, invalidParam("currency", "",
			"The currency of an invoice item (%s) must match the currency of its invoice (%s).", currency, inv.Currency)
	}
	if p.Quantity == nil && p.Amount == nil {
		p.Quantity = ptr[int64](1)
	}
	it, err := p.apply(InvoiceItem{
		ID: newID("ii"), LineID: newID("il"), Customer: p.Customer, Invoice: p.Invoice,
		Created: e.now().Unix(), Currency: currency,
	})
	if err != nil {
		return InvoiceItem{}, err
	}
	e.invoiceItems.add(it.ID, &it)
	e.emit("invoiceitem.created", it, nil, o)
	if inv != nil {
		e.changeLines(inv, func(lines []InvoiceItem) []InvoiceItem { return append(lines, it.clone()) }, o)
	}
	return it.clone(), nil
}

// changeInvoiceItem updates an invoice item whose invoice, if any, is still
// a draft; a change that changes nothing makes no event. The caller holds
// e.mu.
func (e *Emulator) changeInvoiceItem(id string, p InvoiceItemParams, o origin) (InvoiceItem, error) {
	it, inv, err := e.editableInvoiceItem(id)
	if err != nil {
		return InvoiceItem{}, err
	}
	next, err := p.apply(*it)
	if err != nil {
		return InvoiceItem{}, err
	}
	prev := changedFields(*it, next, it.Metadata, next.Metadata)
	*it = next
	if len(prev) == 0 {
		return next.clone(), nil
	}
	e.emit("invoiceitem.updated", next, prev, o)
	if inv != nil {
		e.changeLines(inv, func(lines []InvoiceItem) []InvoiceItem {
			for i := range lines {
				if lines[i].ID == id {
					lines[i] = next.clone()
				}
			}
			return lines
		}, o)
	}
	return next.clone(), nil
}

// removeInvoiceItem deletes an invoice item whose invoice, if any, is still
// a draft. The caller holds e.mu.
func (e *Emulator) removeInvoiceItem(id string, o origin) (InvoiceItem, error) {
	it, inv, err := e.editableInvoiceItem(id)
	if err != nil {
		return InvoiceItem{}, err
	}
	it.Deleted = true
	e.emit("invoiceitem.deleted", *it, nil, o)
	if inv != nil {
		e.changeLines(inv, func(lines []InvoiceItem) []InvoiceItem {
			return slices.DeleteFunc(lines, func(l InvoiceItem) bool { return l.ID == id })
		}, o)
	}
	return it.clone(), nil
}

// changeLines changes the lines of a draft and emits invoice.updated when
// that changes its amounts. The caller holds e.mu.
func (e *Emulator) changeLines(inv *Invoice, change func([]InvoiceItem) []InvoiceItem, o origin) {
	old := inv.clone()
	inv.Lines = change(inv.Lines)
	if prev := invoicePreviousAttributes(old, *inv); len(prev) > 0 {
		e.emit("invoice.updated", *inv, prev, o)
	}
}

// editableInvoice is the invoice id if it is a draft, which alone takes
// changes to its lines.
func (e *Emulator) editableInvoice(id string) (*Invoice, error) {
	inv, err := e.liveInvoice(id, "invoice")
	if err != nil {
		return nil, err
	}
	if inv.Status != InvoiceDraft {
		return nil, notEditable("Invalid invoice: This invoice is no longer editable; its status is %s.", inv.Status)
	}
	return inv, nil
}

// editableInvoiceItem is the live invoice item id and its invoice (nil for
// a pending item), which must be a draft.
func (e *Emulator) editableInvoiceItem(id string) (*InvoiceItem, *Invoice, error) {
	it, ok := e.invoiceItems.get(id)
	if !ok || it.Deleted {
		return nil, nil, resourceMissing("invoiceitem", "id", id)
	}
	if it.Invoice == "" {
		return it, nil, nil
	}
	inv, err := e.editableInvoice(it.Invoice)
	return it, inv, err
}
