package salesforce

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID     = "3MVG9test.client"
	testClientSecret = "test-secret"
	testVersion      = "/services/data/v62.0"
)

// clock is a settable clock for the emulator's Now: an offset from a
// fixed start.
type clock struct{ offset atomic.Int64 }

var clockStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func newClock() *clock { return &clock{} }

func (c *clock) Now() time.Time { return clockStart.Add(time.Duration(c.offset.Load())) }

func (c *clock) Add(d time.Duration) { c.offset.Add(int64(d)) }

// harness is an emulator behind an HTTP server, with a session.
type harness struct {
	em    *Emulator
	url   string
	token string
	clock *clock
}

// newHarness starts an emulator with cfg (client credentials and a clock
// filled in) and logs in.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID, cfg.ClientSecret = testClientID, testClientSecret
	}
	h := &harness{clock: newClock()}
	if cfg.Now == nil {
		cfg.Now = h.clock.Now
	}
	em, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(em)
	t.Cleanup(func() {
		srv.Close()
		_ = em.Close()
	})
	h.em, h.url = em, srv.URL
	if cfg.ClientSecret != "" {
		h.token = h.login(t, url.Values{"grant_type": {"client_credentials"},
			"client_id": {testClientID}, "client_secret": {testClientSecret}})
	}
	return h
}

// tokenRequest posts form to the token endpoint.
func (h *harness) tokenRequest(t *testing.T, form url.Values) (int, map[string]string) {
	t.Helper()
	resp, err := http.PostForm(h.url+"/services/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token answer: %v", err)
	}
	return resp.StatusCode, body
}

// login gets an access token with form, or fails.
func (h *harness) login(t *testing.T, form url.Values) string {
	t.Helper()
	status, body := h.tokenRequest(t, form)
	if status != http.StatusOK || body["access_token"] == "" {
		t.Fatalf("token: %d %v", status, body)
	}
	return body["access_token"]
}

// answer is an API answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the answer's body into v, or fails.
func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decoding %s: %v", a.body, err)
	}
}

// errorCode returns the errorCode of a REST error answer.
func (a answer) errorCode(t *testing.T) string {
	t.Helper()
	var errs []Error
	a.decode(t, &errs)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %s", a.body)
	}
	return errs[0].ErrorCode
}

// do makes an API call with the harness's session; body, unless nil, is
// sent as JSON; path is relative to the emulator's URL.
func (h *harness) do(t *testing.T, method, path string, body any) answer {
	t.Helper()
	return h.doWith(t, h.token, method, path, body)
}

func (h *harness) doWith(t *testing.T, token, method, path string, body any) answer {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(t.Context(), method, h.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sforce-Call-Options", "client=tandem")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// upsert upserts fs under the external id value and returns the answer.
func (h *harness) upsert(t *testing.T, value string, fs map[string]any) answer {
	t.Helper()
	return h.do(t, http.MethodPatch, testVersion+"/sobjects/Contact/Tandem_Id__c/"+value, fs)
}

// mustCreate upserts a new Contact and returns its id.
func (h *harness) mustCreate(t *testing.T, value string, fs map[string]any) string {
	t.Helper()
	a := h.upsert(t, value, fs)
	if a.status != http.StatusCreated {
		t.Fatalf("upsert %s: %d %s", value, a.status, a.body)
	}
	var res upsertResult
	a.decode(t, &res)
	return res.ID
}
