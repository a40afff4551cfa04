package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tandemsync/tandem"
)

// linkBody is the sync state of one record with one integration.
type linkBody struct {
	Integration   string     `json:"integration"`
	Kind          string     `json:"kind"`
	ID            string     `json:"id" doc:"The local record's id"`
	Status        string     `json:"status" enum:"pending,synced,failed,conflict,discarded"`
	RemoteID      string     `json:"remote_id,omitempty"`
	SyncedVersion int64      `json:"synced_version" doc:"Highest local version the integration confirmed"`
	LastError     string     `json:"last_error,omitempty"`
	Attempts      int        `json:"attempts" doc:"Failed attempts since the last success"`
	SyncedAt      *time.Time `json:"synced_at,omitempty" doc:"Time of the last successful sync"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

type linksOutput struct {
	SyncPending string `header:"Tandem-Sync-Pending" doc:"With ?wait: the integrations that did not confirm the version in time, comma-separated"`
	Body        struct {
		Data []linkBody `json:"data"`
	}
}

// failureBody is a parked push, as GET /sync/failures lists it.
type failureBody struct {
	ID          string    `json:"id" doc:"The failure's id, <integration>:<kind>:<local id>, for retry and discard" example:"stripe:customer:tdmc_06h16nmf8y7mjs47evpptejw60"`
	Integration string    `json:"integration"`
	Kind        string    `json:"kind"`
	LocalID     string    `json:"local_id" doc:"The local record's id"`
	RemoteID    string    `json:"remote_id,omitempty"`
	LastError   string    `json:"last_error"`
	Attempts    int       `json:"attempts" doc:"Failed attempts since the last success"`
	UpdatedAt   time.Time `json:"updated_at" doc:"When the push was parked"`
}

type failuresOutput struct {
	Body struct {
		Data []failureBody `json:"data"`
	}
}

type syncInput struct {
	ID   string `path:"id" maxLength:"64"`
	Wait string `query:"wait" doc:"Wait up to this long (such as 5s; at most 30s) until every integration holds the record's current version"`
}

type failureIDInput struct {
	ID string `path:"id" maxLength:"200" doc:"A failure's id as GET /sync/failures lists it"`
}

func (s *Server) customerSync(ctx context.Context, in *syncInput) (*linksOutput, error) {
	return s.recordSync(ctx, in, tandem.KindCustomer, func(ctx context.Context) (int64, error) {
		c, err := s.catalog.GetCustomer(ctx, in.ID)
		if err != nil {
			return 0, err
		}
		return c.Version, nil
	})
}

// recordSync answers GET /{kind}s/{id}/sync: the record's links, after
// waiting (with ?wait) for every integration to hold the version current
// reads.
func (s *Server) recordSync(ctx context.Context, in *syncInput, kind tandem.Kind, current func(context.Context) (int64, error)) (*linksOutput, error) {
	wait, err := parseWait(in.Wait)
	if err != nil {
		return nil, err
	}
	version, err := current(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	ref := tandem.Ref{Kind: kind, ID: in.ID}
	pending, err := s.awaitSync(ctx, ref, wait, confirms(version))
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	links, err := s.catalog.Links(ctx, ref)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &linksOutput{SyncPending: pending}
	out.Body.Data = make([]linkBody, 0, len(links))
	for _, l := range links {
		b := linkBody{Integration: l.Integration, Kind: string(l.Ref.Kind), ID: l.Ref.ID, Status: string(l.Status),
			RemoteID: l.RemoteID, SyncedVersion: l.SyncedVersion, LastError: l.LastError, Attempts: l.Attempts,
			UpdatedAt: l.UpdatedAt}
		if !l.SyncedAt.IsZero() {
			b.SyncedAt = &l.SyncedAt
		}
		out.Body.Data = append(out.Body.Data, b)
	}
	return out, nil
}

func (s *Server) syncFailures(ctx context.Context, _ *struct{}) (*failuresOutput, error) {
	links, err := s.catalog.Failures(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &failuresOutput{}
	out.Body.Data = make([]failureBody, 0, len(links))
	for _, l := range links {
		out.Body.Data = append(out.Body.Data, failureBody{ID: tandem.FailureID(l.Integration, l.Ref),
			Integration: l.Integration, Kind: string(l.Ref.Kind), LocalID: l.Ref.ID, RemoteID: l.RemoteID,
			LastError: l.LastError, Attempts: l.Attempts, UpdatedAt: l.UpdatedAt})
	}
	return out, nil
}

func (s *Server) retryFailure(ctx context.Context, in *failureIDInput) (*struct{}, error) {
	return s.onFailure(ctx, in.ID, s.store.RetryFailure)
}

func (s *Server) discardFailure(ctx context.Context, in *failureIDInput) (*struct{}, error) {
	return s.onFailure(ctx, in.ID, s.store.DiscardFailure)
}

// onFailure applies do to the parked link a failure id names.
func (s *Server) onFailure(ctx context.Context, id string, do func(context.Context, string, tandem.Ref) error) (*struct{}, error) {
	integration, ref, err := tandem.ParseFailureID(id)
	if err != nil {
		return nil, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{
			Location: "path.id", Message: tandem.ErrorMessage(err), Value: id})
	}
	if !slices.Contains(s.cfg.Integrations, integration) {
		return nil, huma.Error404NotFound("no parked failure " + id + ": integration " + integration + " is not configured")
	}
	if err := do(ctx, integration, ref); err != nil {
		return nil, s.problem(ctx, err)
	}
	return nil, nil
}

// maxWait bounds ?wait, so that a request never holds a connection long.
const maxWait = 30 * time.Second

// parseWait reads the ?wait parameter: empty (0: do not wait), or a
// duration such as 5s or 500ms, up to maxWait.
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxWait {
		return 0, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{
			Location: "query.wait", Message: "must be a duration such as 5s or 500ms, at most 30s", Value: v})
	}
	return d, nil
}

// confirms says that a link holds version (or a later one).
func confirms(version int64) func(*tandem.Link) bool {
	return func(l *tandem.Link) bool { return l.SyncedVersion >= version }
}

// syncPoll is how often a waiting request reads the links again.
const syncPoll = 20 * time.Millisecond

// awaitSync waits up to wait until the link of ref to every configured
// integration that syncs its kind satisfies done, and returns the
// integrations whose link does not (comma-separated; "" when all do, or
// when wait is 0). A parked link
// keeps its status until the next push ends, so even then the wait goes on:
// a new write may well be pushed.
func (s *Server) awaitSync(ctx context.Context, ref tandem.Ref, wait time.Duration, done func(*tandem.Link) bool) (string, error) {
	if wait <= 0 || len(s.cfg.Integrations) == 0 {
		return "", nil
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		links, err := s.catalog.Links(ctx, ref)
		if err != nil {
			return "", err
		}
		var pending []string
		for _, name := range s.cfg.Integrations {
			// Links has one for every configured integration syncing the kind.
			i := slices.IndexFunc(links, func(l *tandem.Link) bool { return l.Integration == name })
			if i >= 0 && !done(links[i]) {
				pending = append(pending, name)
			}
		}
		if len(pending) == 0 {
			return "", nil
		}
		select {
		case <-deadline.C:
			return strings.Join(pending, ","), nil
		case <-ctx.Done():
			return strings.Join(pending, ","), nil
		case <-time.After(syncPoll):
		}
	}
}

// integrationBody is one configured integration and its state.
type integrationBody struct {
	Name   string `json:"name" example:"stripe"`
	Paused bool   `json:"paused" doc:"Paused: its changes wait in the queue, nothing reaches the provider"`
}

type integrationsOutput struct {
	Body struct {
		Data []integrationBody `json:"data"`
	}
}

type integrationOutput struct {
	Body integrationBody
}

type integrationInput struct {
	Name string `path:"name" maxLength:"64"`
}

func (s *Server) listIntegrations(ctx context.Context, _ *struct{}) (*integrationsOutput, error) {
	out := &integrationsOutput{}
	out.Body.Data = make([]integrationBody, 0, len(s.cfg.Integrations))
	for _, name := range s.cfg.Integrations {
		paused, err := s.store.IntegrationPaused(ctx, name)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out.Body.Data = append(out.Body.Data, integrationBody{Name: name, Paused: paused})
	}
	return out, nil
}

func (s *Server) pauseIntegration(ctx context.Context, in *integrationInput) (*integrationOutput, error) {
	return s.setPaused(ctx, in.Name, s.store.PauseIntegration)
}

func (s *Server) resumeIntegration(ctx context.Context, in *integrationInput) (*integrationOutput, error) {
	return s.setPaused(ctx, in.Name, s.store.ResumeIntegration)
}

func (s *Server) setPaused(ctx context.Context, name string, do func(context.Context, string) error) (*integrationOutput, error) {
	if !slices.Contains(s.cfg.Integrations, name) {
		return nil, huma.NewError(http.StatusNotFound, "no integration "+name+" is configured")
	}
	if err := do(ctx, name); err != nil {
		return nil, s.problem(ctx, err)
	}
	paused, err := s.store.IntegrationPaused(ctx, name)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &integrationOutput{Body: integrationBody{Name: name, Paused: paused}}, nil
}
