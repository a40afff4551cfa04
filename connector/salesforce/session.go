package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/jwt"

	"github.com/tandemsync/tandem"
)

// jwtLifetime is how long a JWT bearer assertion is valid: Salesforce
// wants a short one.
const jwtLifetime = 3 * time.Minute

// session is the connector's Salesforce session, shared by all its
// goroutines. Salesforce's token answer has no expires_in, so a token is
// used until Salesforce refuses it; then the first caller to notice drops it
// and the next call signs in again, once for everyone.
type session struct {
	fetch func(ctx context.Context) (*oauth2.Token, error)

	mu       sync.Mutex
	token    string
	instance string
	user     string // the integration user's id, from the identity URL
	gen      uint64 // counts sign-ins: which token a caller was refused with
}

// credentials is a session's current token, its API base, its user and
// generation.
type credentials struct {
	token, instance, user string
	gen                   uint64
}

func newSession(cfg Config, hc *http.Client) *session {
	tokenURL := cfg.LoginURL + "/services/oauth2/token"
	withClient := func(ctx context.Context) context.Context {
		return context.WithValue(ctx, oauth2.HTTPClient, hc)
	}
	if cfg.ClientSecret != "" {
		cc := &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: tokenURL,
			AuthStyle: oauth2.AuthStyleInParams}
		return &session{fetch: func(ctx context.Context) (*oauth2.Token, error) { return cc.Token(withClient(ctx)) }}
	}
	jc := &jwt.Config{Email: cfg.ClientID, Subject: cfg.Username, PrivateKey: cfg.PrivateKey, TokenURL: tokenURL,
		Audience: cfg.LoginURL, Expires: jwtLifetime}
	return &session{fetch: func(ctx context.Context) (*oauth2.Token, error) {
		// A fresh token source each time: the cached one would never expire.
		return jc.TokenSource(withClient(ctx)).Token()
	}}
}

// get returns the current credentials, signing in first if there are none.
// Concurrent callers wait for one sign-in.
func (s *session) get(ctx context.Context) (credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" {
		tok, err := s.fetch(ctx)
		if err != nil {
			return credentials{}, classifyLogin(err)
		}
		instance, _ := tok.Extra("instance_url").(string)
		if tok.AccessToken == "" || !strings.HasPrefix(instance, "http") {
			return credentials{}, &tandem.ProviderError{Class: tandem.Retry,
				Err: errors.New("salesforce: sign-in: the token answer holds no access token or instance_url")}
		}
		s.token, s.instance = tok.AccessToken, strings.TrimSuffix(instance, "/")
		// The identity URL ends in /id/{org id}/{user id}.
		identity, _ := tok.Extra("id").(string)
		s.user = identity[strings.LastIndex(identity, "/")+1:]
		s.gen++
	}
	return credentials{token: s.token, instance: s.instance, user: s.user, gen: s.gen}, nil
}

// expired drops the token of generation gen, which Salesforce refused; a
// token fetched since by another caller is kept.
func (s *session) expired(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.token = ""
	}
}

// classifyLogin classifies a failed sign-in: a refusal of the credentials
// (400, 401) is permanent until someone fixes the configuration; anything
// else may pass.
func classifyLogin(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		status := re.Response.StatusCode
		msg := fmt.Errorf("salesforce: sign-in: %d %s: %s", status, re.ErrorCode, re.ErrorDescription)
		if status == http.StatusBadRequest || status == http.StatusUnauthorized {
			return &tandem.ProviderError{Class: tandem.Permanent, Err: msg}
		}
		return &tandem.ProviderError{Class: tandem.Retry, Err: msg}
	}
	return &tandem.ProviderError{Class: tandem.Retry, Err: fmt.Errorf("salesforce: sign-in: %w", err)}
}
