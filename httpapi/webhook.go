package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/tandemsync/tandem"
)

// maxWebhookBytes bounds a webhook delivery's body.
const maxWebhookBytes = 4 << 20

// webhook receives a provider's delivery: it checks the signature on the
// raw body (400 and nothing stored when it fails), stores the events once
// each, and answers 200 only after they are committed; on any failure to
// store, the provider retries. It never calls the provider.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("integration")
	src, ok := s.sources[name]
	if !ok {
		writeProblem(w, http.StatusNotFound, "no integration "+name+" receives webhooks here")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "the delivery is too large")
			return
		}
		writeProblem(w, http.StatusBadRequest, "the delivery could not be read")
		return
	}
	events, err := src.Verify(&tandem.Delivery{Header: r.Header, Body: body, PathSecret: r.PathValue("secret")})
	if err != nil {
		s.cfg.Logger.WarnContext(r.Context(), "webhook refused", "integration", name, "error", err)
		if s.cfg.Observer != nil {
			s.cfg.Observer.WebhookSignatureFailure(name)
		}
		writeProblem(w, http.StatusBadRequest, tandem.ErrorMessage(err))
		return
	}
	n, err := s.store.ReceiveEvents(r.Context(), name, events)
	if err != nil {
		status, detail := http.StatusInternalServerError, "internal error"
		if tandem.ErrorCode(err) == tandem.EUNAVAILABLE {
			status, detail = http.StatusServiceUnavailable, "the database is unavailable; retry later"
		}
		s.cfg.Logger.ErrorContext(r.Context(), "webhook not stored", "integration", name, "error", err)
		writeProblem(w, status, detail)
		return
	}
	if a, ok := src.(tandem.Acknowledger); ok {
		contentType, ack := a.Ack()
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(ack)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"received": len(events), "new": n})
}
