package salesforce

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// signJWT makes an RS256 assertion of claims with key.
func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestClientCredentials(t *testing.T) {
	h := newHarness(t, Config{})
	status, body := h.tokenRequest(t, url.Values{"grant_type": {"client_credentials"},
		"client_id": {testClientID}, "client_secret": {testClientSecret}})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, body)
	}
	if body["instance_url"] != h.url || body["token_type"] != "Bearer" {
		t.Errorf("instance_url %q, token_type %q; want %q, Bearer", body["instance_url"], body["token_type"], h.url)
	}
	if _, ok := body["expires_in"]; ok {
		t.Error("Salesforce answers no expires_in")
	}
	if a := h.doWith(t, body["access_token"], http.MethodGet, testVersion+"/limits", nil); a.status != http.StatusOK {
		t.Errorf("API call with the new token: %d %s", a.status, a.body)
	}

	for _, tc := range []struct {
		desc string
		form url.Values
		want string
	}{
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {"x"}}, "invalid_client"},
		{"wrong client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {testClientSecret}}, "invalid_client"},
		{"password grant", url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, "unsupported_grant_type"},
		{"jwt without a key", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b.c"}}, "unsupported_grant_type"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			status, body := h.tokenRequest(t, tc.form)
			if status != http.StatusBadRequest || body["error"] != tc.want {
				t.Errorf("got %d %v, want 400 %s", status, body, tc.want)
			}
		})
	}
}

func TestJWTBearer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const user = "integration@example.com"
	h := newHarness(t, Config{ClientID: testClientID, JWTPublicKey: &key.PublicKey, Username: user})
	exp := h.clock.Now().Add(3 * time.Minute).Unix()
	valid := map[string]any{"iss": testClientID, "sub": user, "aud": "https://login.salesforce.com", "exp": exp}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for k, v := range valid {
			c[k] = v
		}
		c[k] = v
		return c
	}
	for _, tc := range []struct {
		desc   string
		key    *rsa.PrivateKey
		claims map[string]any
		want   string // the error; empty: a token
	}{
		{"valid", key, valid, ""},
		{"own URL as audience, in an array", key, with("aud", []string{h.url}), ""},
		{"signed by another key", other, valid, "invalid_grant"},
		{"other issuer", key, with("iss", "someone"), "invalid_client_id"},
		{"other user", key, with("sub", "someone@example.com"), "invalid_grant"},
		{"other audience", key, with("aud", "https://example.com"), "invalid_grant"},
		{"expired", key, with("exp", h.clock.Now().Add(-time.Second).Unix()), "invalid_grant"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			status, body := h.tokenRequest(t, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
				"assertion": {signJWT(t, tc.key, tc.claims)}})
			if tc.want == "" {
				if status != http.StatusOK || body["access_token"] == "" || body["instance_url"] != h.url {
					t.Errorf("got %d %v, want a token", status, body)
				}
				return
			}
			if status != http.StatusBadRequest || body["error"] != tc.want {
				t.Errorf("got %d %v, want 400 %s", status, body, tc.want)
			}
		})
	}
	status, body := h.tokenRequest(t, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {"not.a.jwt"}})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("garbage assertion: %d %v", status, body)
	}
}

func TestSessions(t *testing.T) {
	h := newHarness(t, Config{SessionTimeout: time.Hour})
	limits := testVersion + "/limits"
	wantInvalid := func(t *testing.T, a answer) {
		t.Helper()
		const want = `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`
		if a.status != http.StatusUnauthorized || string(a.body) != want {
			t.Errorf("got %d %s, want 401 %s", a.status, a.body, want)
		}
	}
	wantInvalid(t, h.doWith(t, "", http.MethodGet, limits, nil))
	wantInvalid(t, h.doWith(t, "00Dx!made-up", http.MethodGet, limits, nil))

	// Use keeps a session alive; an hour without use ends it.
	h.clock.Add(59 * time.Minute)
	if a := h.do(t, http.MethodGet, limits, nil); a.status != http.StatusOK {
		t.Fatalf("after 59 minutes: %d %s", a.status, a.body)
	}
	h.clock.Add(59 * time.Minute)
	if a := h.do(t, http.MethodGet, limits, nil); a.status != http.StatusOK {
		t.Fatalf("59 minutes after the last call: %d %s", a.status, a.body)
	}
	h.clock.Add(time.Hour)
	wantInvalid(t, h.do(t, http.MethodGet, limits, nil))

	// A new token works until ExpireSessions.
	h.token = h.login(t, url.Values{"grant_type": {"client_credentials"},
		"client_id": {testClientID}, "client_secret": {testClientSecret}})
	if a := h.do(t, http.MethodGet, limits, nil); a.status != http.StatusOK {
		t.Fatalf("new token: %d %s", a.status, a.body)
	}
	h.em.ExpireSessions()
	wantInvalid(t, h.do(t, http.MethodGet, limits, nil))
}
