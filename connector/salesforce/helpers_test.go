package salesforce

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/emulator/salesforce"
)

const (
	testClientID     = "3MVG9test.client"
	testClientSecret = "test-secret"
	testUsername     = "integration@example.com"
)

// testKey is one RSA key for every JWT test of the run, generated here.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// pemKey is testKey as PKCS #8 PEM.
func pemKey(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// clock is a settable clock, safe for concurrent use.
type clock struct{ offset atomic.Int64 }

var clockStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func (c *clock) Now() time.Time      { return clockStart.Add(time.Duration(c.offset.Load())) }
func (c *clock) Add(d time.Duration) { c.offset.Add(int64(d)) }

// harness is a Salesforce emulator behind a real HTTP server, counting the
// token requests it serves.
type harness struct {
	em     *salesforce.Emulator
	url    string
	logins atomic.Int64
	srv    *httptest.Server
}

// newHarness starts an emulator accepting both grants with the test
// credentials; cfg may set more.
func newHarness(t testing.TB, cfg salesforce.Config) *harness {
	t.Helper()
	cfg.ClientID, cfg.ClientSecret = testClientID, testClientSecret
	cfg.JWTPublicKey, cfg.Username = &testKey().PublicKey, testUsername
	em, err := salesforce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{em: em}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/oauth2/token" {
			h.logins.Add(1)
		}
		em.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		h.srv.Close()
		_ = em.Close()
	})
	h.url = h.srv.URL
	return h
}

// connector returns a connector to h signing in with client credentials;
// edit, unless nil, changes its configuration first.
func (h *harness) connector(t testing.TB, edit func(*Config)) *Connector {
	t.Helper()
	return newConnector(t, func(cfg *Config) {
		cfg.LoginURL = h.url
		if edit != nil {
			edit(cfg)
		}
	})
}

// newConnector returns a connector signing in with client credentials at
// the default login URL; edit, unless nil, changes its configuration first.
func newConnector(t testing.TB, edit func(*Config)) *Connector {
	t.Helper()
	cfg := Config{ClientID: testClientID, ClientSecret: testClientSecret}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requests returns how many API requests the emulator answered.
func (h *harness) requests() int { return len(h.em.Requests()) }

// customerPush returns a push of a live customer with a pending link.
func customerPush(id string, version int64, cust tandem.Customer) *tandem.PushRequest {
	return &tandem.PushRequest{
		Record: &tandem.Record{Ref: tandem.Ref{Kind: tandem.KindCustomer, ID: id}, Version: version,
			UpdatedAt: time.Now(), Fields: tandem.Fields{Customer: &cust}},
		Link:       &tandem.Link{Integration: Name, Ref: tandem.Ref{Kind: tandem.KindCustomer, ID: id}},
		SaveIntent: func(context.Context, []byte) error { return nil },
	}
}

// providerError returns err as a *tandem.ProviderError, or fails.
func providerError(t testing.TB, err error) *tandem.ProviderError {
	t.Helper()
	var pe *tandem.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *tandem.ProviderError", err, err)
	}
	return pe
}
