package htmlpage

import (
	"errors"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	ok := template.Must(template.New("").Parse(`<p>{{.}}</p>`))
	rec := httptest.NewRecorder()
	Write(rec, http.StatusBadRequest, ok, "<b>")
	if rec.Code != http.StatusBadRequest || rec.Body.String() != "<p>&lt;b&gt;</p>" ||
		rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("Write: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}

	broken := template.Must(template.New("").Parse(`<p>{{.Missing}}</p>`))
	rec = httptest.NewRecorder()
	Write(rec, http.StatusOK, broken, 1)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("a failing template answered %d, want 500", rec.Code)
	}
}

func TestDone(t *testing.T) {
	show := func(w http.ResponseWriter, err error) { http.Error(w, err.Error(), http.StatusBadRequest) }
	r := httptest.NewRequest(http.MethodPost, "/forms/x", nil)
	rec := httptest.NewRecorder()
	Done(rec, r, nil, show)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Errorf("success: %d to %q, want 303 to /", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	Done(rec, r, errors.New("no"), show)
	if rec.Code != http.StatusBadRequest || rec.Body.String() != "no\n" {
		t.Errorf("failure: %d %q, want the page with the error", rec.Code, rec.Body)
	}
}

func TestParse(t *testing.T) {
	page := Parse("p", `<head>{{template "head"}}<title>{{up .}}</title></head>`, template.FuncMap{"up": strings.ToUpper})
	rec := httptest.NewRecorder()
	Write(rec, http.StatusOK, page, "emulator")
	if body := rec.Body.String(); !strings.Contains(body, `<meta charset="utf-8">`) || !strings.Contains(body, "<style>\nbody {") ||
		!strings.HasSuffix(body, "<title>EMULATOR</title></head>") {
		t.Errorf("page:\n%s", body)
	}
}
