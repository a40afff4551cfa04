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
// /dashboard/..., where a person creates, edits and deletes customers as a
// Stripe dashboard user would. It needs no API key.

//go:embed dashboard.html
var dashboardHTML string

var dashboardTemplate = htmlpage.Parse("dashboard", dashboardHTML, template.FuncMap{
	"unix": func(t int64) string { return time.Unix(t, 0).UTC().Format(time.DateTime) },
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

// dashboardDone sends the browser back to the page, or shows the page with
// the error.
func (e *Emulator) dashboardDone(w http.ResponseWriter, r *http.Request, err error) {
	htmlpage.Done(w, r, err, func(w http.ResponseWriter, err error) {
		e.renderDashboard(w, http.StatusBadRequest, err.Error())
	})
}

// dashboardParams reads a customer form. It sends every field, so it
// replaces the customer's metadata with the text area's key=value lines.
func dashboardParams(r *http.Request) (CustomerParams, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return CustomerParams{}, invalidParam("", "", "Invalid form: %v", err)
	}
	f := newForm(r.PostForm)
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
