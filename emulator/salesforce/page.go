package salesforce

import (
	_ "embed"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tandemsync/tandem/emulator/htmlpage"
)

// The page: one server-rendered page at / whose forms post to /ui/..., where
// a person creates, edits and deletes Contacts as a Salesforce user would,
// through the Editor. It needs no session and counts against no limit.

//go:embed page.html
var pageHTML string

var pageTemplate = htmlpage.Parse("page", pageHTML, template.FuncMap{
	"stamp": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000") },
})

type pageView struct {
	Error           string
	Outbound        string
	OrgID           string
	ExternalIDField string
	New             []input // the create form's (empty) fields
	Contacts        []pageContact
}

// pageContact is a Contact as the page lists it, with its edit form.
type pageContact struct {
	Contact
	ModifiedBy string // who LastModifiedByID is
	Inputs     []input
}

// input is one field of a Contact's form, named by its API name.
type input struct{ Name, Value string }

func (e *Emulator) page(w http.ResponseWriter, _ *http.Request) {
	e.renderPage(w, http.StatusOK, "")
}

func (e *Emulator) renderPage(w http.ResponseWriter, status int, message string) {
	view := pageView{Error: message, Outbound: e.OutboundURL(), OrgID: e.cfg.OrgID,
		ExternalIDField: e.externalIDField, New: e.inputs(&Contact{})}
	users := map[string]string{e.cfg.HumanUserID: "you", e.cfg.IntegrationUserID: "integration user"}
	for _, c := range slices.Backward(e.Contacts()) {
		if !c.IsDeleted {
			view.Contacts = append(view.Contacts, pageContact{Contact: c, ModifiedBy: users[c.LastModifiedByID], Inputs: e.inputs(&c)})
		}
	}
	htmlpage.Write(w, status, pageTemplate, view)
}

// inputs are the writable fields of c, in the order records show them.
func (e *Emulator) inputs(c *Contact) []input {
	var out []input
	for _, f := range e.fields {
		if f.writable {
			out = append(out, input{Name: f.name, Value: *f.value(c)})
		}
	}
	return out
}

func (e *Emulator) pageCreate(w http.ResponseWriter, r *http.Request) {
	fs, err := pageFields(r)
	if err == nil {
		_, err = e.UI().CreateContact(fs)
	}
	e.pageDone(w, r, err)
}

func (e *Emulator) pageUpdate(w http.ResponseWriter, r *http.Request) {
	fs, err := pageFields(r)
	if err == nil {
		_, err = e.UI().UpdateContact(r.PathValue("id"), fs)
	}
	e.pageDone(w, r, err)
}

func (e *Emulator) pageDelete(w http.ResponseWriter, r *http.Request) {
	e.pageDone(w, r, e.UI().DeleteContact(r.PathValue("id")))
}

// pageDone sends the browser back to the page, or shows the page with the
// error and its status.
func (e *Emulator) pageDone(w http.ResponseWriter, r *http.Request, err error) {
	htmlpage.Done(w, r, err, func(w http.ResponseWriter, err error) {
		status := http.StatusBadRequest
		if sfErr, ok := errors.AsType[*Error](err); ok {
			status = sfErr.Status
		}
		e.renderPage(w, status, err.Error())
	})
}

// pageFields reads a Contact form: its fields by API name, trimmed as
// Salesforce's pages trim them. The Editor refuses the unknown ones.
func pageFields(r *http.Request) (Fields, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("MALFORMED_REQUEST", "Invalid form: %v", err)
	}
	fs := Fields{}
	for name, vs := range r.PostForm {
		fs[name] = strings.TrimSpace(vs[0])
	}
	return fs, nil
}
