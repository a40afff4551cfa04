package salesforce

import (
	"context"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Config configures an Emulator. ClientID and, for the client credentials
// grant, ClientSecret are required.
type Config struct {
	// ClientID and ClientSecret are the External Client App's consumer key
	// and secret; the client credentials grant checks both.
	ClientID     string
	ClientSecret string
	// JWTPublicKey, when set, enables the JWT bearer grant: assertions must
	// be RS256-signed by its private key, with iss ClientID, sub Username and
	// an aud among Audiences.
	JWTPublicKey *rsa.PublicKey
	// Username is the integration user's username (the JWT's sub).
	Username string
	// Audiences are the accepted JWT audiences (default
	// https://login.salesforce.com, https://test.salesforce.com and the
	// emulator's own URL).
	Audiences []string
	// InstanceURL is answered as instance_url (default: the scheme and host
	// the token request came to).
	InstanceURL string
	// SessionTimeout ends a session after this long without a call
	// (default 2h, Salesforce's default).
	SessionTimeout time.Duration
	// Object is the sObject name the Contacts are served as (default Contact).
	Object string
	// ExternalIDField is the unique external id field (default Tandem_Id__c).
	ExternalIDField string
	// QueryPageSize is the number of records of one query page (default 2000).
	QueryPageSize int
	// DailyLimit is the API requests allowed in any 24 hours (default 100000).
	DailyLimit int
	// OrgID is the organization id (default a fixed 00D... id).
	OrgID string
	// IntegrationUserID is the user API calls are made as (default a 005 id).
	IntegrationUserID string
	// HumanUserID is the user Editor's changes are made as (default another 005 id).
	HumanUserID string
	// Outbound, when its URL is set, receives outbound messages.
	Outbound Outbound
	// Faults are active from the start; SetFaults changes them.
	Faults Faults
	// Seed seeds the random source of the faults' probabilities.
	Seed uint64
	// Now is the clock of sessions, limits and timestamps (default time.Now).
	Now func() time.Time
	// Logger receives failed outbound deliveries (default: discarded).
	Logger *slog.Logger
}

// Outbound is an outbound message's endpoint and delivery.
type Outbound struct {
	// URL receives the SOAP notifications; empty means none are sent.
	URL string
	// Backoff is the wait before the first retry of an unacknowledged
	// message; it doubles up to MaxBackoff (defaults 100ms and 1 minute;
	// Salesforce's start at 15 s and grow to 2 h).
	Backoff, MaxBackoff time.Duration
	// RetryFor is how long a message is retried before it is dropped
	// (default 24h).
	RetryFor time.Duration
	// Timeout bounds one delivery attempt (default 10s).
	Timeout time.Duration
}

func (c *Config) setDefaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Object, "Contact")
	def(&c.ExternalIDField, "Tandem_Id__c")
	def(&c.OrgID, orgPrefix+"5g0000000001"+idSuffix(orgPrefix+"5g0000000001"))
	def(&c.IntegrationUserID, newID(userPrefix, 1))
	def(&c.HumanUserID, newID(userPrefix, 2))
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 2 * time.Hour
	}
	if c.QueryPageSize == 0 {
		c.QueryPageSize = 2000
	}
	if c.DailyLimit == 0 {
		c.DailyLimit = 100000
	}
	o := &c.Outbound
	o.Backoff = cmpOr(o.Backoff, 100*time.Millisecond)
	o.MaxBackoff = cmpOr(o.MaxBackoff, time.Minute)
	o.RetryFor = cmpOr(o.RetryFor, 24*time.Hour)
	o.Timeout = cmpOr(o.Timeout, 10*time.Second)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, errors.New("salesforce emulator: ClientID is required"))
	}
	if c.ClientSecret == "" && c.JWTPublicKey == nil {
		errs = append(errs, errors.New("salesforce emulator: a ClientSecret or a JWTPublicKey is required"))
	}
	if c.JWTPublicKey != nil && c.Username == "" {
		errs = append(errs, errors.New("salesforce emulator: the JWT bearer grant needs a Username"))
	}
	if c.SessionTimeout < 0 || c.QueryPageSize < 0 || c.DailyLimit < 0 {
		errs = append(errs, errors.New("salesforce emulator: SessionTimeout, QueryPageSize and DailyLimit must not be negative"))
	}
	if c.QueryPageSize > 2000 {
		errs = append(errs, errors.New("salesforce emulator: QueryPageSize must be at most 2000"))
	}
	o := c.Outbound
	if o.Backoff < 0 || o.MaxBackoff < 0 || o.RetryFor < 0 || o.Timeout < 0 {
		errs = append(errs, errors.New("salesforce emulator: outbound durations must not be negative"))
	}
	if err := c.Faults.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Emulator is an in-process Salesforce org holding Contacts: an
// http.Handler serving the token endpoint and the REST API, with methods
// to read and change its state and to switch faults on and off. It is safe
// for concurrent use. Close it to stop its outbound messages.
type Emulator struct {
	cfg             Config
	object          string
	externalIDField string
	fields          []field
	now             func() time.Time
	faults          *faultState
	outbound        *messenger
	handler         http.Handler

	// mu guards the state below; API operations run whole under it.
	mu        sync.Mutex
	contacts  []*Contact          // in order of creation
	index     map[string]*Contact // by id
	seq       int64               // ids handed out
	lastStamp time.Time
	sessions  map[string]*session // by access token
	usage     []time.Time         // API calls counted in the last 24 hours
	cursors   []*cursor           // open query cursors, oldest first
	requests  []Request
	// dryRunning is set while an allOrNone composite call tries its
	// records on state it will roll back: no outbound messages then.
	dryRunning bool
}

// New returns an emulator with no Contacts.
func New(cfg Config) (*Emulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	e := &Emulator{
		cfg:             cfg,
		object:          cfg.Object,
		externalIDField: cfg.ExternalIDField,
		fields:          schema(cfg.ExternalIDField),
		now:             cfg.Now,
		faults:          newFaultState(cfg.Seed, cfg.Faults),
		index:           map[string]*Contact{},
		sessions:        map[string]*session{},
	}
	e.outbound = newMessenger(cfg)
	e.handler = e.routes()
	return e, nil
}

// routes lists everything the emulator serves.
func (e *Emulator) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/oauth2/token", e.token)
	api := func(pattern string, h endpoint) { mux.Handle(pattern, e.api(h)) }
	const data = "/services/data/{version}"
	const sobject = data + "/sobjects/{object}"
	for _, p := range []string{"/updated/{$}", "/updated"} {
		api("GET "+sobject+p, e.updated)
	}
	for _, p := range []string{"/deleted/{$}", "/deleted"} {
		api("GET "+sobject+p, e.deleted)
	}
	api("GET "+sobject+"/{id}", e.getContact)
	api("DELETE "+sobject+"/{id}", e.deleteContact)
	api("PATCH "+sobject+"/{id}", e.updateContact)
	api("GET "+sobject+"/{field}/{value}", e.getByExternalID)
	api("PATCH "+sobject+"/{field}/{value}", e.upsertContact)
	api("PATCH "+data+"/composite/sobjects/{object}/{field}", e.compositeUpsert)
	api("GET "+data+"/query", e.query)
	api("GET "+data+"/query/{locator}", e.queryMore)
	api("GET "+data+"/limits", e.limits)
	api(data+"/", func(*call) (int, any, error) { return 0, nil, notFound() })
	return mux
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.handler.ServeHTTP(w, r) }

// OrgID returns the organization id, as outbound messages carry it.
func (e *Emulator) OrgID() string { return e.cfg.OrgID }

// IntegrationUserID returns the user API calls are made as.
func (e *Emulator) IntegrationUserID() string { return e.cfg.IntegrationUserID }

// HumanUserID returns the user the Editor's changes are made as.
func (e *Emulator) HumanUserID() string { return e.cfg.HumanUserID }

// SetFaults replaces the active faults; their counts start afresh.
func (e *Emulator) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	e.faults.set(f)
	return nil
}

// ExpireSessions ends every session now: the next API call with any
// access token answers 401 INVALID_SESSION_ID.
func (e *Emulator) ExpireSessions() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.sessions)
}

// SetUsage sets the API calls counted against the daily limit to n, as if
// made now (0 resets the count).
func (e *Emulator) SetUsage(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.usage = make([]time.Time, n)
	for i := range e.usage {
		e.usage[i] = now
	}
}

// WaitOutbound waits until every outbound message has been acknowledged or
// given up on, or ctx is done.
func (e *Emulator) WaitOutbound(ctx context.Context) error { return e.outbound.wait(ctx) }

// Close stops outbound deliveries for good. The API keeps answering.
func (e *Emulator) Close() error {
	e.outbound.stop()
	return nil
}

// Contact returns the Contact id (15 or 18 characters), deleted or not.
func (e *Emulator) Contact(id string) (Contact, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.byID(id)
	if !ok {
		return Contact{}, false
	}
	return *c, true
}

// Contacts returns every Contact, deleted ones included, oldest first.
func (e *Emulator) Contacts() []Contact {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Contact, len(e.contacts))
	for i, c := range e.contacts {
		out[i] = *c
	}
	return out
}

// Requests returns the API requests answered so far, in order.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.requests)
}

// changed notes a create or update of c, for outbound messages. It runs
// with e.mu held.
func (e *Emulator) changed(c *Contact) {
	if e.dryRunning {
		return
	}
	e.outbound.notify(c.ID, e.faults.outboundPlan())
}
