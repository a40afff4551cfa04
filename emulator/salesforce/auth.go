package salesforce

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// session is one access token's session.
type session struct {
	user     string
	lastUsed time.Time
}

// tokenError is an OAuth error answer.
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// token serves POST /services/oauth2/token: the client credentials and the
// JWT bearer grants. Token requests do not count against the API limit.
func (e *Emulator) token(w http.ResponseWriter, r *http.Request) {
	sleep(r.Context(), e.faults.latency())
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", "invalid request body"})
		return
	}
	var terr *tokenError
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "client_credentials":
		terr = e.checkClientCredentials(r)
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		terr = e.checkAssertion(r, r.PostForm.Get("assertion"))
	default:
		terr = &tokenError{"unsupported_grant_type", "grant type not supported"}
	}
	if terr != nil {
		writeJSON(w, http.StatusBadRequest, terr)
		return
	}
	instance := e.cfg.InstanceURL
	if instance == "" {
		instance = baseURL(r)
	}
	token := e.cfg.OrgID[:15] + "!" + randomString(96)
	now := e.now()
	e.mu.Lock()
	for t, s := range e.sessions { // forget the expired ones
		if e.expired(s, now) {
			delete(e.sessions, t)
		}
	}
	e.sessions[token] = &session{user: e.cfg.IntegrationUserID, lastUsed: now}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": token,
		"instance_url": instance,
		"id":           instance + "/id/" + e.cfg.OrgID + "/" + e.cfg.IntegrationUserID,
		"token_type":   "Bearer",
		"issued_at":    strconv.FormatInt(now.UnixMilli(), 10),
		"signature":    randomString(43) + "=",
		"scope":        "api",
	})
}

func (e *Emulator) checkClientCredentials(r *http.Request) *tokenError {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if e.cfg.ClientSecret == "" || !constantEqual(id, e.cfg.ClientID) || !constantEqual(secret, e.cfg.ClientSecret) {
		return &tokenError{"invalid_client", "invalid client credentials"}
	}
	return nil
}

// checkAssertion verifies a JWT bearer assertion: RS256 by the configured
// key, iss the client id, sub the integration user, aud accepted, not
// expired.
func (e *Emulator) checkAssertion(r *http.Request, assertion string) *tokenError {
	invalid := &tokenError{"invalid_grant", "invalid assertion"}
	if e.cfg.JWTPublicKey == nil {
		return &tokenError{"unsupported_grant_type", "grant type not supported"}
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return invalid
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
	}
	if decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &claims) != nil || header.Alg != "RS256" {
		return invalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return invalid
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(e.cfg.JWTPublicKey, crypto.SHA256, digest[:], sig) != nil {
		return invalid
	}
	if claims.Iss != e.cfg.ClientID {
		return &tokenError{"invalid_client_id", "client identifier invalid"}
	}
	if claims.Sub != e.cfg.Username {
		return &tokenError{"invalid_grant", "user hasn't approved this consumer"}
	}
	if !e.audienceOK(r, claims.Aud) {
		return &tokenError{"invalid_grant", "audience is invalid"}
	}
	if claims.Exp == 0 || !e.now().Before(time.Unix(claims.Exp, 0)) {
		return &tokenError{"invalid_grant", "expired authorization code"}
	}
	return nil
}

// audienceOK accepts an aud claim, a string or an array of strings, that
// names an accepted audience.
func (e *Emulator) audienceOK(r *http.Request, raw json.RawMessage) bool {
	var auds []string
	var one string
	if json.Unmarshal(raw, &one) == nil {
		auds = []string{one}
	} else if json.Unmarshal(raw, &auds) != nil {
		return false
	}
	accepted := e.cfg.Audiences
	if len(accepted) == 0 {
		accepted = []string{"https://login.salesforce.com", "https://test.salesforce.com", baseURL(r)}
	}
	for _, a := range auds {
		if slices.Contains(accepted, strings.TrimSuffix(a, "/")) {
			return true
		}
	}
	return false
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// authenticate returns the user of the request's live session and marks it
// used. It runs with e.mu held.
func (e *Emulator) authenticate(r *http.Request) (user string, ok bool) {
	h := r.Header.Get("Authorization")
	token, found := strings.CutPrefix(h, "Bearer ")
	if !found {
		token, found = strings.CutPrefix(h, "OAuth ")
	}
	s, ok := e.sessions[token]
	if !found || !ok {
		return "", false
	}
	now := e.now()
	if e.expired(s, now) {
		delete(e.sessions, token)
		return "", false
	}
	s.lastUsed = now
	return s.user, true
}

// expired reports whether s has gone unused for the session timeout.
func (e *Emulator) expired(s *session, now time.Time) bool {
	return now.Sub(s.lastUsed) >= e.cfg.SessionTimeout
}

// baseURL is the scheme and host r came to.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// randomString returns n random characters of a URL-safe alphabet.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = base62[int(b[i])%len(base62)]
	}
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(v))
}
