// Package httpapi serves Tandem's REST API: the customer and invoice
// catalogs and the sync state of their records, described by an OpenAPI 3.1 document generated from
// the Go types (huma), with RFC 9457 problem+json errors that name the
// offending field.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/tandemsync/tandem"
)

// Store is what the API needs of a store.
type Store interface {
	tandem.Catalog
	tandem.InvoiceCatalog
	// Ping and CheckSchema are what the readiness probe checks.
	Ping(ctx context.Context) error
	CheckSchema(ctx context.Context) error
	// ReceiveEvents durably stores verified inbound events, once each.
	ReceiveEvents(ctx context.Context, integration string, events []tandem.InboundEvent) (int, error)
	// StartReconcile records a reconciliation run and enqueues its job.
	StartReconcile(ctx context.Context, integration string, dryRun, enqueue bool) (*tandem.ReconcileRun, error)
	// ReconcileRun returns a run of an integration's reconciliation.
	ReconcileRun(ctx context.Context, integration, id string) (*tandem.ReconcileRun, error)
	// RetryFailure and DiscardFailure act on a parked push (ENOTFOUND when
	// the link is not parked).
	RetryFailure(ctx context.Context, integration string, ref tandem.Ref) error
	DiscardFailure(ctx context.Context, integration string, ref tandem.Ref) error
	// PauseIntegration, ResumeIntegration and IntegrationPaused control an
	// integration's jobs.
	PauseIntegration(ctx context.Context, integration string) error
	ResumeIntegration(ctx context.Context, integration string) error
	IntegrationPaused(ctx context.Context, integration string) (bool, error)
}

// Config configures the API.
type Config struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on every
	// call except the health probes and the API's own documentation.
	Token string
	// Version is the program's version, shown in the OpenAPI document.
	Version string
	Logger  *slog.Logger
	// Sources are the integrations whose webhooks are received at
	// POST /webhooks/{name}, or POST /webhooks/{name}/{secret} for those
	// authenticated by a secret URL.
	Sources []tandem.Source
	// Integrations are the names of the configured integrations: the ones
	// ?wait waits for, and the ones /integrations and /sync/failures act on.
	Integrations []string
	// Metrics, when set, is served at GET /metrics (behind the token, when
	// one is set).
	Metrics http.Handler
	// Observer, when set, is told about refused webhook deliveries.
	Observer Observer
}

// Observer is told what the API sees that the metrics count.
type Observer interface {
	// WebhookSignatureFailure reports a webhook delivery of integration
	// refused because its signature did not verify.
	WebhookSignatureFailure(integration string)
}

// Server is the API's http.Handler.
type Server struct {
	catalog  tandem.Catalog
	invoices tandem.InvoiceCatalog
	store    Store
	sources  map[string]tandem.Source
	cfg      Config
	api      huma.API
	handler  http.Handler
}

// New returns the API over st.
func New(st Store, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{catalog: st, invoices: st, store: st, sources: map[string]tandem.Source{}, cfg: cfg}
	for _, src := range cfg.Sources {
		s.sources[src.Name()] = src
	}
	mux := http.NewServeMux()
	hc := huma.DefaultConfig("Tandem", cfg.Version)
	hc.Info.Description = "Two-way sync of your customer catalog with external catalogs."
	hc.OpenAPIPath = "/openapi"
	hc.CreateHooks = nil // no $schema links in bodies
	if cfg.Token != "" {
		hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
			"bearer": {Type: "http", Scheme: "bearer"},
		}
		hc.Security = []map[string][]string{{"bearer": {}}}
	}
	s.api = humago.New(mux, hc)
	s.routes()
	// Webhooks need the raw body for their signatures, and Prometheus reads
	// its own format: plain net/http.
	mux.HandleFunc("POST /webhooks/{integration}", s.webhook)
	mux.HandleFunc("POST /webhooks/{integration}/{secret}", s.webhook)
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
	s.handler = s.recoverer(s.logRequests(s.authenticate(mux)))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes lists every operation of the API.
func (s *Server) routes() {
	open := []map[string][]string{} // no authentication
	huma.Register(s.api, huma.Operation{OperationID: "healthz", Method: http.MethodGet, Path: "/healthz",
		Summary: "Liveness: the process is up", Tags: []string{"Health"}, Security: open}, s.healthz)
	huma.Register(s.api, huma.Operation{OperationID: "readyz", Method: http.MethodGet, Path: "/readyz",
		Summary: "Readiness: the database answers and its schema is current", Tags: []string{"Health"},
		Security: open, Errors: []int{503}}, s.readyz)

	huma.Register(s.api, huma.Operation{OperationID: "create-customer", Method: http.MethodPost, Path: "/customers",
		Summary: "Create a customer", Tags: []string{"Customers"}, DefaultStatus: http.StatusCreated,
		Errors: []int{400, 413, 422, 503}}, s.createCustomer)
	huma.Register(s.api, huma.Operation{OperationID: "list-customers", Method: http.MethodGet, Path: "/customers",
		Summary: "List customers", Tags: []string{"Customers"}, Errors: []int{400, 422, 503}}, s.listCustomers)
	huma.Register(s.api, huma.Operation{OperationID: "get-customer", Method: http.MethodGet, Path: "/customers/{id}",
		Summary: "Get a customer", Tags: []string{"Customers"}, Errors: []int{404, 503}}, s.getCustomer)
	huma.Register(s.api, huma.Operation{OperationID: "patch-customer", Method: http.MethodPatch, Path: "/customers/{id}",
		Summary: "Update some fields of a customer", Tags: []string{"Customers"},
		Errors: []int{400, 404, 412, 413, 422, 503}}, s.patchCustomer)
	huma.Register(s.api, huma.Operation{OperationID: "replace-customer", Method: http.MethodPut, Path: "/customers/{id}",
		Summary: "Replace a customer", Tags: []string{"Customers"},
		Errors: []int{400, 404, 412, 413, 422, 503}}, s.replaceCustomer)
	huma.Register(s.api, huma.Operation{OperationID: "delete-customer", Method: http.MethodDelete, Path: "/customers/{id}",
		Summary: "Delete a customer", Tags: []string{"Customers"}, DefaultStatus: http.StatusNoContent,
		Errors: []int{400, 404, 412, 422, 503}}, s.deleteCustomer)
	huma.Register(s.api, huma.Operation{OperationID: "get-customer-sync", Method: http.MethodGet, Path: "/customers/{id}/sync",
		Summary: "Sync state of a customer, per integration", Tags: []string{"Sync"}, Errors: []int{404, 422, 503}}, s.customerSync)
	huma.Register(s.api, huma.Operation{OperationID: "list-sync-failures", Method: http.MethodGet, Path: "/sync/failures",
		Summary: "Records whose sync is parked with an error", Tags: []string{"Sync"}, Errors: []int{503}}, s.syncFailures)

	s.registerInvoices()

	huma.Register(s.api, huma.Operation{OperationID: "start-reconcile", Method: http.MethodPost,
		Path: "/integrations/{name}/reconcile", Summary: "Start a reconciliation run",
		Description: "Compares every remote record with the local catalog and repairs the differences " +
			"(or, with dry_run, only lists them). Answers at once with the run; read its progress and report by id.",
		Tags: []string{"Integrations"}, DefaultStatus: http.StatusAccepted, Errors: []int{404, 409, 503}}, s.startReconcile)
	huma.Register(s.api, huma.Operation{OperationID: "get-reconcile", Method: http.MethodGet,
		Path: "/integrations/{name}/reconcile/{id}", Summary: "Progress and report of a reconciliation run",
		Tags: []string{"Integrations"}, Errors: []int{404, 503}}, s.getReconcile)

	huma.Register(s.api, huma.Operation{OperationID: "retry-sync-failure", Method: http.MethodPost, Path: "/sync/failures/{id}/retry",
		Summary: "Push a parked record again", Tags: []string{"Sync"}, DefaultStatus: http.StatusNoContent,
		Errors: []int{404, 422, 503}}, s.retryFailure)
	huma.Register(s.api, huma.Operation{OperationID: "discard-sync-failure", Method: http.MethodDelete, Path: "/sync/failures/{id}",
		Summary: "Give up on a parked record's current version", Tags: []string{"Sync"}, DefaultStatus: http.StatusNoContent,
		Errors: []int{404, 422, 503}}, s.discardFailure)

	huma.Register(s.api, huma.Operation{OperationID: "list-integrations", Method: http.MethodGet, Path: "/integrations",
		Summary: "Configured integrations and whether they are paused", Tags: []string{"Integrations"},
		Errors: []int{503}}, s.listIntegrations)
	huma.Register(s.api, huma.Operation{OperationID: "pause-integration", Method: http.MethodPost, Path: "/integrations/{name}/pause",
		Summary: "Pause an integration: its changes wait in the queue", Tags: []string{"Integrations"},
		Errors: []int{404, 503}}, s.pauseIntegration)
	huma.Register(s.api, huma.Operation{OperationID: "resume-integration", Method: http.MethodPost, Path: "/integrations/{name}/resume",
		Summary: "Resume a paused integration: what waited is pushed", Tags: []string{"Integrations"},
		Errors: []int{404, 503}}, s.resumeIntegration)
}

// problem turns an application error into the API's problem+json answer.
// Internal errors are logged and answered without detail.
func (s *Server) problem(ctx context.Context, err error) error {
	var te *tandem.Error
	errors.As(err, &te)
	switch tandem.ErrorCode(err) {
	case tandem.EINVALID:
		detail := &huma.ErrorDetail{Message: te.Message}
		if te.Field != "" {
			detail.Location = "body." + te.Field
			if strings.EqualFold(te.Field, "Idempotency-Key") {
				detail.Location = "header.Idempotency-Key"
			}
		}
		return huma.Error422UnprocessableEntity("validation failed", detail)
	case tandem.ENOTFOUND:
		return huma.Error404NotFound(te.Message)
	case tandem.ECONFLICT:
		return huma.Error409Conflict(te.Message)
	case tandem.EPRECONDITION:
		return huma.Error412PreconditionFailed(te.Message)
	case tandem.EUNAVAILABLE:
		s.cfg.Logger.WarnContext(ctx, "database unavailable", "error", err)
		return huma.Error503ServiceUnavailable("the database is unavailable; retry later")
	default:
		s.cfg.Logger.ErrorContext(ctx, "internal error", "error", err)
		return huma.Error500InternalServerError("internal error")
	}
}

// authenticate requires the bearer token, when one is configured, on every
// path but the health probes, the documentation and the webhooks.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz", r.URL.Path == "/readyz", r.URL.Path == "/docs",
			strings.HasPrefix(r.URL.Path, "/openapi"),
			strings.HasPrefix(r.URL.Path, "/webhooks/"): // authenticated by their signatures
			next.ServeHTTP(w, r)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tandem"`)
			writeProblem(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer answers a panic with a bare 500 problem and logs it; the client
// never sees a stack trace.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.cfg.Logger.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", loggedPath(r), "panic", v)
				writeProblem(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// logRequests logs every request at debug level and failures at warn.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		s.cfg.Logger.Log(r.Context(), level, "request", "method", r.Method, "path", loggedPath(r),
			"status", sw.status, "duration", time.Since(start))
	})
}

// loggedPath is the request's path as logs may show it: the secret of a
// webhook's secret URL (/webhooks/{integration}/{secret}) is redacted.
func loggedPath(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.Path, "/webhooks/")
	if name, _, secret := strings.Cut(rest, "/"); ok && secret {
		return "/webhooks/" + name + "/REDACTED"
	}
	return r.URL.Path
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeProblem answers a problem+json error from outside huma's handlers.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(&huma.ErrorModel{Title: http.StatusText(status), Status: status, Detail: detail})
}
