package httpapi

import (
	"context"
	"time"

	"github.com/tandemsync/tandem"
)

// linkBody is the sync state of one record with one integration.
type linkBody struct {
	Integration   string     `json:"integration"`
	Kind          string     `json:"kind"`
	ID            string     `json:"id" doc:"The local record's id"`
	Status        string     `json:"status" enum:"pending,synced,failed,conflict"`
	RemoteID      string     `json:"remote_id,omitempty"`
	SyncedVersion int64      `json:"synced_version" doc:"Highest local version the integration confirmed"`
	LastError     string     `json:"last_error,omitempty"`
	Attempts      int        `json:"attempts" doc:"Failed attempts since the last success"`
	SyncedAt      *time.Time `json:"synced_at,omitempty" doc:"Time of the last successful sync"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

type linksOutput struct {
	Body struct {
		Data []linkBody `json:"data"`
	}
}

func (s *Server) customerSync(ctx context.Context, in *customerIDInput) (*linksOutput, error) {
	if _, err := s.catalog.GetCustomer(ctx, in.ID); err != nil {
		return nil, s.problem(ctx, err)
	}
	links, err := s.catalog.Links(ctx, tandem.Ref{Kind: tandem.KindCustomer, ID: in.ID})
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return newLinksOutput(links), nil
}

func (s *Server) syncFailures(ctx context.Context, _ *struct{}) (*linksOutput, error) {
	links, err := s.catalog.Failures(ctx)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return newLinksOutput(links), nil
}

func newLinksOutput(links []*tandem.Link) *linksOutput {
	out := &linksOutput{}
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
	return out
}
