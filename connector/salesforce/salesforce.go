package salesforce

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tandemsync/tandem"
	"github.com/tandemsync/tandem/internal/batch"
)

var (
	_ tandem.Integration  = (*Connector)(nil)
	_ tandem.Source       = (*Connector)(nil)
	_ tandem.Poller       = (*Connector)(nil)
	_ tandem.Acknowledger = (*Connector)(nil)
	_ tandem.Concurrent   = (*Connector)(nil)
	_ tandem.Selective    = (*Connector)(nil)
)

// Name is the integration's name: the origin of changes from Salesforce and
// the name of its links.
const Name = "salesforce"

// Defaults of Config.
const (
	DefaultLoginURL   = "https://login.salesforce.com"
	DefaultAPIVersion = "62.0"
	DefaultObject     = "Contact"
)

// minAPIVersion is the oldest REST API version the connector speaks: the
// first with the composite upsert (sObject Collections by external id).
const minAPIVersion = 46

// Config configures the connector. Set ClientSecret for the client
// credentials grant, or Username and PrivateKey for the JWT bearer grant.
type Config struct {
	// LoginURL serves the token endpoint /services/oauth2/token (default
	// DefaultLoginURL; a My Domain URL in practice). It is also the JWT's
	// audience.
	LoginURL string
	// ClientID is the External Client App's consumer key.
	ClientID string
	// ClientSecret is its consumer secret (client credentials grant).
	ClientSecret string
	// Username is the integration user (JWT bearer grant).
	Username string
	// PrivateKey is the PEM-encoded RSA key (PKCS #1 or #8) whose
	// certificate the app holds (JWT bearer grant).
	PrivateKey []byte
	// APIVersion is the REST API version, "62.0" by default.
	APIVersion string
	// Object is the sObject customers are written as (default Contact).
	Object string
	// ExternalIDField is the unique external id field holding Tandem's id
	// (default DefaultExternalIDField).
	ExternalIDField string
	// DailyBudget, when positive, is the most API requests Tandem may make in
	// any 24 hours; the connector refuses calls beyond it and slows down
	// before it.
	DailyBudget int
	// OrgID is the organization's id, which outbound messages must name.
	OrgID string
	// OutboundSecret is the last segment of the URL outbound messages are
	// sent to (/webhooks/salesforce/{secret}); without it and OrgID, every
	// outbound message is refused.
	OutboundSecret string
	// HTTPClient, when set, replaces the default client (30 s timeout); it
	// serves the token requests too.
	HTTPClient *http.Client
	// Observer, when set, is told the outcome of every API call.
	Observer tandem.CallObserver
	// Now, when set, is the clock the budget counts by (default time.Now).
	Now func() time.Time
}

var (
	versionPattern = regexp.MustCompile(`^[1-9][0-9]?\.0$`)
	namePattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	orgPattern     = regexp.MustCompile(`^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$`)
)

// withDefaults returns cfg with its defaults filled in.
func (cfg Config) withDefaults() Config {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&cfg.LoginURL, DefaultLoginURL)
	def(&cfg.APIVersion, DefaultAPIVersion)
	def(&cfg.Object, DefaultObject)
	def(&cfg.ExternalIDField, DefaultExternalIDField)
	cfg.LoginURL = strings.TrimSuffix(cfg.LoginURL, "/")
	return cfg
}

// Validate reports what is wrong with cfg once its defaults are filled in.
func (cfg Config) Validate() error {
	cfg = cfg.withDefaults()
	var errs []error
	if u, err := url.Parse(cfg.LoginURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("salesforce: login URL %q is not an http(s) URL", cfg.LoginURL))
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("salesforce: no client id"))
	}
	jwt := cfg.Username != "" || len(cfg.PrivateKey) > 0
	switch {
	case cfg.ClientSecret != "" && jwt:
		errs = append(errs, errors.New("salesforce: set a client secret or a username and private key, not both"))
	case cfg.ClientSecret == "" && !jwt:
		errs = append(errs, errors.New("salesforce: no client secret, nor username and private key"))
	case jwt && (cfg.Username == "" || len(cfg.PrivateKey) == 0):
		errs = append(errs, errors.New("salesforce: the JWT bearer grant needs both a username and a private key"))
	case jwt:
		if err := checkKey(cfg.PrivateKey); err != nil {
			errs = append(errs, err)
		}
	}
	if !versionPattern.MatchString(cfg.APIVersion) {
		errs = append(errs, fmt.Errorf("salesforce: API version %q is not like 62.0", cfg.APIVersion))
	} else if major, _ := strconv.Atoi(strings.TrimSuffix(cfg.APIVersion, ".0")); major < minAPIVersion {
		errs = append(errs, fmt.Errorf("salesforce: API version %s is too old: upserts are composite calls, which need %d.0", cfg.APIVersion, minAPIVersion))
	}
	for _, name := range []string{cfg.Object, cfg.ExternalIDField} {
		if !namePattern.MatchString(name) {
			errs = append(errs, fmt.Errorf("salesforce: %q is not an API name", name))
		}
	}
	if cfg.OrgID != "" && !orgPattern.MatchString(cfg.OrgID) {
		errs = append(errs, fmt.Errorf("salesforce: organization id %q is not 15 or 18 letters and digits starting 00D", cfg.OrgID))
	}
	if cfg.OutboundSecret != "" && len(cfg.OutboundSecret) < 16 {
		errs = append(errs, errors.New("salesforce: the outbound secret must be at least 16 characters"))
	}
	if cfg.DailyBudget < 0 {
		errs = append(errs, fmt.Errorf("salesforce: daily budget must not be negative, not %d", cfg.DailyBudget))
	}
	return errors.Join(errs...)
}

// checkKey checks that pemBytes holds an RSA private key, as the JWT bearer
// grant signs with RS256.
func checkKey(pemBytes []byte) error {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return errors.New("salesforce: the private key is not PEM")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("salesforce: the private key: %w", err)
	}
	if _, ok := key.(*rsa.PrivateKey); !ok {
		return errors.New("salesforce: the private key is not an RSA key")
	}
	return nil
}

// Connector is the Salesforce integration.
type Connector struct {
	cfg      Config
	http     *http.Client
	session  *session
	budget   *budget
	upserts  *batch.Batcher[Contact, upserted]
	observer tandem.CallObserver
	now      func() time.Time // the clock of polls
}

// New returns a connector for cfg. It makes no call: it signs in at the
// first one.
func New(cfg Config) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	c := &Connector{cfg: cfg, http: hc, session: newSession(cfg, hc), budget: newBudget(cfg.DailyBudget, now),
		observer: cfg.Observer, now: time.Now}
	c.upserts = batch.New(maxBatch, idle, linger, c.composite)
	return c, nil
}

// Name implements tandem.Integration.
func (c *Connector) Name() string { return Name }

// Kinds implements tandem.Selective: customers only. Salesforce has no
// standard invoice object, so invoices stay out of its mapping.
func (c *Connector) Kinds() []tandem.Kind { return []tandem.Kind{tandem.KindCustomer} }

// Push implements tandem.Integration.
func (c *Connector) Push(ctx context.Context, req *tandem.PushRequest) (*tandem.PushResult, error) {
	switch req.Record.Ref.Kind {
	case tandem.KindCustomer:
		return c.pushCustomer(ctx, req)
	}
	return nil, &tandem.ProviderError{Class: tandem.Permanent,
		Err: fmt.Errorf("salesforce: %s records are not synced", req.Record.Ref.Kind)}
}
