package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/tandemsync/tandem"
)

// customerBody is a customer as the API shows it.
type customerBody struct {
	ID        string            `json:"id" doc:"Tandem's id of the customer, never a provider's" example:"tdmc_06h16nmf8y7mjs47evpptejw60"`
	Name      string            `json:"name"`
	Email     string            `json:"email"`
	Phone     string            `json:"phone"`
	Address   addressBody       `json:"address"`
	Metadata  map[string]string `json:"metadata"`
	Version   int64             `json:"version" doc:"Increments on every change; also the ETag"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

type addressBody struct {
	Line1      string `json:"line1,omitempty" maxLength:"200"`
	Line2      string `json:"line2,omitempty" maxLength:"200"`
	City       string `json:"city,omitempty" maxLength:"200"`
	State      string `json:"state,omitempty" maxLength:"200"`
	PostalCode string `json:"postal_code,omitempty" maxLength:"200"`
	Country    string `json:"country,omitempty" maxLength:"200"`
}

// customerFields are the writable fields of a customer (create, replace).
type customerFields struct {
	Name     string            `json:"name,omitempty" maxLength:"256"`
	Email    string            `json:"email,omitempty" maxLength:"512" doc:"An email address (addr-spec), or empty"`
	Phone    string            `json:"phone,omitempty" maxLength:"20"`
	Address  addressBody       `json:"address,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty" maxProperties:"50" doc:"At most 50 keys of at most 40 characters without [ or ], values of at most 500 characters"`
}

// customerPatch is a partial update: absent fields stay as they are.
type customerPatch struct {
	Name     *string           `json:"name,omitempty" maxLength:"256" doc:"Empty clears the name"`
	Email    *string           `json:"email,omitempty" maxLength:"512" doc:"Empty clears the email"`
	Phone    *string           `json:"phone,omitempty" maxLength:"20" doc:"Empty clears the phone"`
	Address  *addressBody      `json:"address,omitempty" doc:"Replaces the whole address"`
	Metadata map[string]string `json:"metadata,omitempty" maxProperties:"50" doc:"Merged into the metadata; an empty value removes its key"`
}

// recordOutput is the answer of a read or write of one record.
type recordOutput[B any] struct {
	ETag        string `header:"ETag"`
	Location    string `header:"Location"`
	Replayed    string `header:"Idempotent-Replayed" doc:"\"true\" when an Idempotency-Key replayed the first result"`
	SyncPending string `header:"Tandem-Sync-Pending" doc:"With ?wait: the integrations that did not confirm the write in time, comma-separated"`
	Body        B
}

type customerOutput = recordOutput[customerBody]

// WaitParam is the ?wait parameter of writes: read-your-writes across
// integrations.
type WaitParam struct {
	Wait string `query:"wait" doc:"Answer once every integration confirmed the write, or after this long (such as 5s; at most 30s); Tandem-Sync-Pending then names those that did not"`
}

type createCustomerInput struct {
	WaitParam
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes a retried create return the first result instead of creating a second customer"`
	Body           customerFields
}

// idInput names one record.
type idInput struct {
	ID string `path:"id" maxLength:"64"`
}

// writeInput is a write to one record with no body: a delete, or an
// invoice's lifecycle action.
type writeInput struct {
	WaitParam
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match" doc:"The ETag (version) the change applies to; 412 when the record changed since"`
}

type replaceCustomerInput struct {
	WaitParam
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match" doc:"The ETag (version) the change applies to; 412 when the customer changed since"`
	Body    customerFields
}

type patchCustomerInput struct {
	WaitParam
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match" doc:"The ETag (version) the change applies to; 412 when the customer changed since"`
	Body    customerPatch
}

type listCustomersInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page"`
	Email  string `query:"email" doc:"Only customers with exactly this email"`
}

type listCustomersOutput struct {
	Body struct {
		Data       []customerBody `json:"data"`
		NextCursor string         `json:"next_cursor,omitempty" doc:"Cursor of the next page; absent on the last page"`
	}
}

func (s *Server) createCustomer(ctx context.Context, in *createCustomerInput) (*customerOutput, error) {
	wait, err := parseWait(in.Wait)
	if err != nil {
		return nil, err
	}
	c, replayed, err := s.catalog.CreateCustomer(ctx, in.Body.customer(), createWrite("customers", in.IdempotencyKey, in.Body))
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := newCustomerOutput(c)
	out.Location = "/customers/" + c.ID
	if replayed {
		out.Replayed = "true"
	}
	return s.awaitWrite(ctx, out, wait)
}

func (s *Server) getCustomer(ctx context.Context, in *idInput) (*customerOutput, error) {
	c, err := s.catalog.GetCustomer(ctx, in.ID)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return newCustomerOutput(c), nil
}

func (s *Server) listCustomers(ctx context.Context, in *listCustomersInput) (*listCustomersOutput, error) {
	after, err := decodeCursor(in.Cursor, tandem.CustomerIDPrefix)
	if err != nil {
		return nil, err
	}
	page, err := s.catalog.ListCustomers(ctx, tandem.CustomerFilter{Email: in.Email, After: after, Limit: in.Limit})
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &listCustomersOutput{}
	out.Body.Data = make([]customerBody, 0, len(page.Customers))
	for _, c := range page.Customers {
		out.Body.Data = append(out.Body.Data, newCustomerBody(c))
	}
	if page.Next != "" {
		out.Body.NextCursor = encodeCursor(page.Next)
	}
	return out, nil
}

func (s *Server) patchCustomer(ctx context.Context, in *patchCustomerInput) (*customerOutput, error) {
	p := in.Body
	return s.update(ctx, in.ID, in.IfMatch, in.Wait, func(c *tandem.Customer) error {
		for _, f := range []struct {
			dst *string
			src *string
		}{{&c.Name, p.Name}, {&c.Email, p.Email}, {&c.Phone, p.Phone}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if p.Address != nil {
			c.Address = tandem.Address(*p.Address)
		}
		for k, v := range p.Metadata {
			if v == "" {
				delete(c.Metadata, k)
			} else {
				c.Metadata[k] = v
			}
		}
		return nil
	})
}

func (s *Server) replaceCustomer(ctx context.Context, in *replaceCustomerInput) (*customerOutput, error) {
	return s.update(ctx, in.ID, in.IfMatch, in.Wait, func(c *tandem.Customer) error {
		next := in.Body.customer()
		c.Name, c.Email, c.Phone, c.Address, c.Metadata = next.Name, next.Email, next.Phone, next.Address, next.Metadata
		return nil
	})
}

func (s *Server) update(ctx context.Context, id, ifMatch, waitFor string, change func(*tandem.Customer) error) (*customerOutput, error) {
	w, wait, err := apiWrite(ifMatch, waitFor)
	if err != nil {
		return nil, err
	}
	c, err := s.catalog.UpdateCustomer(ctx, id, w, change)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return s.awaitWrite(ctx, newCustomerOutput(c), wait)
}

// createWrite is the write of a create in collection, with its
// Idempotency-Key (if any) scoped to the collection and a fingerprint of
// its body, so that the key reused for another request is refused.
func createWrite(collection, key string, body any) tandem.Write {
	w := tandem.Write{Origin: tandem.OriginAPI}
	if key != "" {
		raw, _ := json.Marshal(body)
		sum := sha256.Sum256(raw)
		w.IdempotencyKey, w.RequestHash = collection+":"+key, hex.EncodeToString(sum[:])
	}
	return w
}

// apiWrite is the write a request makes, as of its If-Match, and how long
// its ?wait asks to wait.
func apiWrite(ifMatch, waitFor string) (tandem.Write, time.Duration, error) {
	version, err := parseIfMatch(ifMatch)
	if err != nil {
		return tandem.Write{}, 0, err
	}
	wait, err := parseWait(waitFor)
	if err != nil {
		return tandem.Write{}, 0, err
	}
	return tandem.Write{Origin: tandem.OriginAPI, IfVersion: version}, wait, nil
}

// awaitWrite waits for the integrations to confirm the written customer's
// version, up to wait, and names those that did not.
func (s *Server) awaitWrite(ctx context.Context, out *customerOutput, wait time.Duration) (*customerOutput, error) {
	return awaitVersion(ctx, s, out, tandem.Ref{Kind: tandem.KindCustomer, ID: out.Body.ID}, out.Body.Version, wait)
}

// awaitVersion waits for the integrations to confirm version of ref, up to
// wait, and names those that did not in out.
func awaitVersion[B any](ctx context.Context, s *Server, out *recordOutput[B], ref tandem.Ref, version int64, wait time.Duration) (*recordOutput[B], error) {
	pending, err := s.awaitSync(ctx, ref, wait, confirms(version))
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out.SyncPending = pending
	return out, nil
}

// awaitDelete waits for the integrations to confirm the delete of ref, up
// to wait: the tombstone is the record's last version, so the delete is
// confirmed when a link is synced.
func (s *Server) awaitDelete(ctx context.Context, ref tandem.Ref, wait time.Duration) (*deleteOutput, error) {
	pending, err := s.awaitSync(ctx, ref, wait, func(l *tandem.Link) bool { return l.Status == tandem.LinkSynced })
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return &deleteOutput{SyncPending: pending}, nil
}

type deleteOutput struct {
	SyncPending string `header:"Tandem-Sync-Pending" doc:"With ?wait: the integrations that did not confirm the delete in time, comma-separated"`
}

func (s *Server) deleteCustomer(ctx context.Context, in *writeInput) (*deleteOutput, error) {
	w, wait, err := apiWrite(in.IfMatch, in.Wait)
	if err != nil {
		return nil, err
	}
	if err := s.catalog.DeleteCustomer(ctx, in.ID, w); err != nil {
		return nil, s.problem(ctx, err)
	}
	return s.awaitDelete(ctx, tandem.Ref{Kind: tandem.KindCustomer, ID: in.ID}, wait)
}

func (f *customerFields) customer() *tandem.Customer {
	return &tandem.Customer{Name: f.Name, Email: f.Email, Phone: f.Phone,
		Address: tandem.Address(f.Address), Metadata: f.Metadata}
}

func newCustomerBody(c *tandem.Customer) customerBody {
	md := c.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return customerBody{ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Address: addressBody(c.Address),
		Metadata: md, Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func newCustomerOutput(c *tandem.Customer) *customerOutput {
	return &customerOutput{ETag: etag(c.Version), Body: newCustomerBody(c)}
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// parseIfMatch reads an If-Match header: empty or * (0: any version), or one
// ETag as this API sends them, weak or strong.
func parseIfMatch(h string) (int64, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	tag := strings.TrimPrefix(h, "W/")
	if len(tag) >= 2 && tag[0] == '"' && tag[len(tag)-1] == '"' {
		if v, err := strconv.ParseInt(tag[1:len(tag)-1], 10, 64); err == nil && v > 0 {
			return v, nil
		}
	}
	return 0, huma.Error400BadRequest("invalid If-Match", &huma.ErrorDetail{
		Location: "header.If-Match", Message: `must be * or one ETag such as "3"`, Value: h})
}

// Cursors are opaque to clients; they carry the last id of the page.
const cursorPrefix = "c1:"

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

// decodeCursor returns the id a cursor of a list of ids starting with
// idPrefix carries ("" for no cursor), or a 400 naming the cursor when this
// API did not make it for such a list.
func decodeCursor(c, idPrefix string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix+idPrefix) {
		return "", huma.Error400BadRequest("invalid cursor", &huma.ErrorDetail{
			Location: "query.cursor", Message: "not a cursor returned by this list", Value: c})
	}
	return strings.TrimPrefix(string(b), cursorPrefix), nil
}

// healthOutput is the body of the health probes.
type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

func (s *Server) healthz(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	out := &healthOutput{}
	out.Body.Status = "ok"
	return out, nil
}

func (s *Server) readyz(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.cfg.Logger.WarnContext(ctx, "not ready: database", "error", err)
		return nil, huma.NewError(http.StatusServiceUnavailable, "the database is unreachable")
	}
	if err := s.store.CheckSchema(ctx); err != nil {
		return nil, huma.NewError(http.StatusServiceUnavailable, "the database schema is not current: "+tandem.ErrorMessage(err))
	}
	out := &healthOutput{}
	out.Body.Status = "ok"
	return out, nil
}
