package stripe

import (
	_ "embed"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tandemsync/tandem/emulator/htmlpage"
)

// The dashboard: one server-rendered page at / whose forms post to
// /dashboard/..., where a person creates, edits and deletes customers, and
// creates invoices and moves them through their lifecycle, as a Stripe
// dashboard user would. It needs no API key.

//go:embed dashboard.html
var dashboardHTML string

var dashboardTemplate = htmlpage.Parse("dashboard", dashboardHTML, template.FuncMap{
	"unix":    func(t int64) string { return time.Unix(t, 0).UTC().Format(time.DateTime) },
	"actions": invoiceActions,
	"metadata": func(m map[string]string) string {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(m)) {
			b.WriteString(k + "=" + m[k] + "\n")
		}
		return b.String()
	},
})

// recentEvents is how many events the page shows.
const recentEvents = 25

type dashboardView struct {
	Error     string
	Webhook   string
	New       Customer // the create form's (empty) values
	Customers []Customer
	Invoices  []Invoice
	Events    []Event
}

func (e *Emulator) dashboardPage(w http.ResponseWriter, _ *http.Request) {
	e.renderDashboard(w, http.StatusOK, "")
}

func (e *Emulator) renderDashboard(w http.ResponseWriter, status int, message string) {
	view := dashboardView{Error: message}
	if wh, ok := e.webhooks.target(); ok {
		view.Webhook = wh.URL
	}
	for _, c := range slices.Backward(e.Customers()) {
		if !c.Deleted {
			view.Customers = append(view.Customers, c)
		}
	}
	for _, inv := range slices.Backward(e.Invoices()) {
		if !inv.Deleted {
			view.Invoices = append(view.Invoices, inv)
		}
	}
	events := e.Events()
	for _, ev := range slices.Backward(events[max(0, len(events)-recentEvents):]) {
		view.Events = append(view.Events, ev)
	}
	htmlpage.Write(w, status, dashboardTemplate, view)
}

func (e *Emulator) dashboardCreate(w http.ResponseWriter, r *http.Request) {
	p, err := dashboardParams(r)
	if err == nil {
		_, err = e.Dashboard().CreateCustomer(p)
	}
	e.dashboardDone(w, r, err)
}

func (e *Emulator) dashboardUpdate(w http.ResponseWriter, r *http.Request) {
	p, err := dashboardParams(r)
	if err == nil {
		_, err = e.Dashboard().UpdateCustomer(r.PathValue("id"), p)
	}
	e.dashboardDone(w, r, err)
}

func (e *Emulator) dashboardDelete(w http.ResponseWriter, r *http.Request) {
	_, err := e.Dashboard().DeleteCustomer(r.PathValue("id"))
	e.dashboardDone(w, r, err)
}

// dashboardCreateInvoice creates an invoice with one line: send_invoice when
// days_until_due is given, charge_automatically otherwise.
func (e *Emulator) dashboardCreateInvoice(w http.ResponseWriter, r *http.Request) {
	p, item, err := dashboardInvoiceParams(r)
	if err == nil {
		_, err = e.Dashboard().CreateInvoice(p, item)
	}
	e.dashboardDone(w, r, err)
}

// dashboardFailure is the reason of the payment failures made on the page.
var dashboardFailure = PaymentError{
	Type: "card_error", Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined.",
}

// dashboardInvoiceActions are the buttons of an invoice on the page, named
// by the last segment of the path they post to; an invoice shows those its
// status allows.
var dashboardInvoiceActions = []invoiceAction{
	{"finalize", finalization},
	{"pay", outOfBandPayment},
	{"charge", charge},
	{"fail_payment", failedPayment(dashboardFailure)},
	{"mark_uncollectible", markingUncollectible},
	{"void", voiding},
}

// invoiceAction is a button of an invoice on the page.
type invoiceAction struct {
	name string
	lc   lifecycle
}

// invoiceActions names the buttons of an invoice in status.
func invoiceActions(status InvoiceStatus) []string {
	var names []string
	for _, a := range dashboardInvoiceActions {
		if slices.Contains(a.lc.from, status) {
			names = append(names, a.name)
		}
	}
	return names
}

func (e *Emulator) dashboardInvoiceAction(w http.ResponseWriter, r *http.Request) {
	i := slices.IndexFunc(dashboardInvoiceActions, func(a invoiceAction) bool { return a.name == r.PathValue("action") })
	if i < 0 {
		http.NotFound(w, r)
		return
	}
	_, err := e.Dashboard().advance(r.PathValue("id"), dashboardInvoiceActions[i].lc)
	e.dashboardDone(w, r, err)
}

// dashboardDone sends the browser back to the page, or shows the page with
// the error.
func (e *Emulator) dashboardDone(w http.ResponseWriter, r *http.Request, err error) {
	htmlpage.Done(w, r, err, func(w http.ResponseWriter, err error) {
		e.renderDashboard(w, http.StatusBadRequest, err.Error())
	})
}

// dashboardInvoiceParams reads the new invoice form: the invoice and its
// one line.
func dashboardInvoiceParams(r *http.Request) (InvoiceParams, InvoiceItemParams, error) {
	f, err := dashboardForm(r)
	if err != nil {
		return InvoiceParams{}, InvoiceItemParams{}, err
	}
	p := InvoiceParams{CollectionMethod: ptr(chargeAutomatically)}
	p.Customer, _ = f.string("customer")
	p.Currency, _ = f.string("currency")
	if v, _ := f.string("description"); v != "" {
		p.Description = &v
	}
	if v, _ := f.string("days_until_due"); v != "" {
		days, err := parseInt("days_until_due", v)
		if err != nil {
			return p, InvoiceItemParams{}, err
		}
		p.CollectionMethod, p.DaysUntilDue = ptr(sendInvoice), &days
	}
	var item InvoiceItemParams
	if v, _ := f.string("line_description"); v != "" {
		item.Description = &v
	}
	quantity, _ := f.string("quantity")
	q, err := parseInt("quantity", quantity)
	if err != nil {
		return p, item, err
	}
	unit, _ := f.string("unit_amount")
	item.Quantity, item.UnitAmountDecimal = &q, &unit
	return p, item, f.unknown()
}

// dashboardForm reads a dashboard form.
func dashboardForm(r *http.Request) (*form, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, invalidParam("", "", "Invalid form: %v", err)
	}
	return newForm(r.PostForm), nil
}

// dashboardParams reads a customer form. It sends every field, so it
// replaces the customer's metadata with the text area's key=value lines.
func dashboardParams(r *http.Request) (CustomerParams, error) {
	f, err := dashboardForm(r)
	if err != nil {
		return CustomerParams{}, err
	}
	p, err := readCustomerParams(f)
	if err != nil {
		return p, err
	}
	text, _ := f.string("metadata_text")
	p.Metadata, p.ClearMetadata = map[string]string{}, true
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return p, invalidParam("metadata", "", "Write metadata as key=value, one a line: %q", line)
		}
		p.Metadata[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return p, f.unknown()
}
