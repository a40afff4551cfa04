// Package htmlpage answers the server-rendered pages of the emulators,
// where a person changes records as a provider's user would.
package htmlpage

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed head.html
var head string

// Parse parses a page's template text, with funcs. The text can call
// {{template "head"}} in its <head>: the charset and the style all the
// pages share.
func Parse(name, text string, funcs template.FuncMap) *template.Template {
	return template.Must(template.Must(template.New(name).Funcs(funcs).Parse(text)).Parse(head))
}

// Write answers t executed with data, as HTML with status. The page is
// rendered first, so that a template error answers a 500 instead of half
// a page.
func Write(w http.ResponseWriter, status int, t *template.Template, data any) {
	var page bytes.Buffer
	if err := t.Execute(&page, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = page.WriteTo(w)
}

// Done answers a form's post: back to the page at / when err is nil, as a
// browser expects after a change (303 See Other), or else the page itself,
// rendered by show with the error.
func Done(w http.ResponseWriter, r *http.Request, err error, show func(w http.ResponseWriter, err error)) {
	if err != nil {
		show(w, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
