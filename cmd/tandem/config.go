package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tandemsync/tandem/connector/salesforce"
)

// Config is the whole configuration of a Tandem process. Every field comes
// from an environment variable, then from a flag of the same name on top.
type Config struct {
	Addr            string
	DatabaseURL     string
	APIToken        string
	AutoMigrate     bool
	LogLevel        slog.Level
	PollInterval    time.Duration
	Workers         int
	ShutdownTimeout time.Duration
	ConflictPolicy  string

	// Stripe integration: on when StripeSecretKey is set.
	StripeSecretKey     string
	StripeWebhookSecret string // one or several, comma-separated
	StripeAPIURL        string
	StripeRateLimit     float64
	StripePollInterval  time.Duration
	StripeReconcile     time.Duration // interval of the periodic reconciliation
	StripeLinkMatch     string        // "email" or "off"

	// Salesforce integration: on when SalesforceClientID is set. Client
	// credentials (SalesforceClientSecret) or JWT bearer (SalesforceUsername
	// and the PEM key in SalesforcePrivateKeyFile).
	SalesforceClientID        string
	SalesforceClientSecret    string
	SalesforceUsername        string
	SalesforcePrivateKeyFile  string
	SalesforceLoginURL        string
	SalesforceAPIVersion      string
	SalesforceObject          string
	SalesforceExternalIDField string
	SalesforcePollInterval    time.Duration
	SalesforceDailyBudget     int           // 0: no budget of Tandem's own
	SalesforceReconcile       time.Duration // interval of the periodic reconciliation
	SalesforceLinkMatch       string        // "email" or "off"
	// Outbound messages, received at /webhooks/salesforce/{secret}: on
	// when both are set.
	SalesforceOrgID          string
	SalesforceOutboundSecret string
}

// setting is one configuration entry: its variable, its flag, and where it goes.
type setting struct {
	env, flag, usage string
	// secret settings may also be read from the file named by env+"_FILE"
	// and are never printed.
	secret bool
	value  flag.Value
}

// settings lists every setting of c with its default.
func (c *Config) settings() []setting {
	*c = Config{
		Addr:               "127.0.0.1:8080",
		DatabaseURL:        "sqlite:data/tandem.db",
		AutoMigrate:        true,
		LogLevel:           slog.LevelInfo,
		PollInterval:       50 * time.Millisecond,
		Workers:            10,
		ShutdownTimeout:    25 * time.Second,
		StripeRateLimit:    20,
		StripePollInterval: 5 * time.Second,
		StripeReconcile:    time.Hour,
		StripeLinkMatch:    "email",
		ConflictPolicy:     "newest",

		SalesforceLoginURL:        salesforce.DefaultLoginURL,
		SalesforceAPIVersion:      salesforce.DefaultAPIVersion,
		SalesforceObject:          salesforce.DefaultObject,
		SalesforceExternalIDField: salesforce.DefaultExternalIDField,
		SalesforcePollInterval:    10 * time.Second,
		SalesforceReconcile:       time.Hour,
		SalesforceLinkMatch:       "email",
	}
	return []setting{
		{env: "TANDEM_ADDR", flag: "addr", usage: "address the API listens on", value: (*stringValue)(&c.Addr)},
		{env: "TANDEM_DATABASE_URL", flag: "database-url", secret: true,
			usage: "sqlite:PATH or postgres://user:pass@host/db", value: (*stringValue)(&c.DatabaseURL)},
		{env: "TANDEM_API_TOKEN", flag: "api-token", secret: true,
			usage: "bearer token every API call must carry (required off loopback)", value: (*stringValue)(&c.APIToken)},
		{env: "TANDEM_AUTO_MIGRATE", flag: "auto-migrate", usage: "migrate the database on start",
			value: (*boolValue)(&c.AutoMigrate)},
		{env: "TANDEM_LOG_LEVEL", flag: "log-level", usage: "debug, info, warn or error", value: (*levelValue)(&c.LogLevel)},
		{env: "TANDEM_QUEUE_POLL_INTERVAL", flag: "queue-poll-interval", usage: "how often idle workers look for jobs",
			value: (*durationValue)(&c.PollInterval)},
		{env: "TANDEM_WORKERS", flag: "workers", usage: "sync jobs of each integration run at once by this process", value: (*intValue)(&c.Workers)},
		{env: "TANDEM_SHUTDOWN_TIMEOUT", flag: "shutdown-timeout",
			usage: "how long a stop waits for requests and jobs in flight", value: (*durationValue)(&c.ShutdownTimeout)},
		{env: "TANDEM_CONFLICT_POLICY", flag: "conflict-policy",
			usage: "who wins a field both sides changed: newest, local, or an integration (stripe, salesforce)",
			value: (*stringValue)(&c.ConflictPolicy)},
		{env: "STRIPE_WEBHOOK_SECRET", flag: "stripe-webhook-secret", secret: true,
			usage: "whsec_ secret(s) of the Stripe webhook endpoint, comma-separated while rotating",
			value: (*stringValue)(&c.StripeWebhookSecret)},
		{env: "STRIPE_SECRET_KEY", flag: "stripe-secret-key", secret: true,
			usage: "Stripe API key; turns the Stripe integration on", value: (*stringValue)(&c.StripeSecretKey)},
		{env: "STRIPE_API_URL", flag: "stripe-api-url", usage: "Stripe API address (an emulator, stripe-mock); default Stripe's",
			value: (*stringValue)(&c.StripeAPIURL)},
		{env: "STRIPE_RATE_LIMIT", flag: "stripe-rate-limit", usage: "most Stripe requests per second from this process",
			value: (*floatValue)(&c.StripeRateLimit)},
		{env: "STRIPE_POLL_INTERVAL", flag: "stripe-poll-interval", usage: "how often Stripe's events are read (0: never; webhooks only)",
			value: (*durationValue)(&c.StripePollInterval)},
		{env: "STRIPE_RECONCILE_INTERVAL", flag: "stripe-reconcile-interval",
			usage: "how often every Stripe customer is compared with the local catalog (0: never)",
			value: (*durationValue)(&c.StripeReconcile)},
		{env: "STRIPE_LINK_MATCH", flag: "stripe-link-match",
			usage: "how unlinked records are matched after their tandem_id: email, or off",
			value: (*stringValue)(&c.StripeLinkMatch)},
		{env: "SALESFORCE_CLIENT_ID", flag: "salesforce-client-id",
			usage: "consumer key of the Salesforce External Client App; turns the Salesforce integration on",
			value: (*stringValue)(&c.SalesforceClientID)},
		{env: "SALESFORCE_CLIENT_SECRET", flag: "salesforce-client-secret", secret: true,
			usage: "its consumer secret (client credentials grant)", value: (*stringValue)(&c.SalesforceClientSecret)},
		{env: "SALESFORCE_USERNAME", flag: "salesforce-username",
			usage: "the integration user (JWT bearer grant, with SALESFORCE_PRIVATE_KEY_FILE)",
			value: (*stringValue)(&c.SalesforceUsername)},
		{env: "SALESFORCE_PRIVATE_KEY_FILE", flag: "salesforce-private-key-file",
			usage: "PEM file of the RSA key that signs the JWT bearer grant", value: (*stringValue)(&c.SalesforcePrivateKeyFile)},
		{env: "SALESFORCE_LOGIN_URL", flag: "salesforce-login-url",
			usage: "serves the token endpoint (a My Domain URL in practice)", value: (*stringValue)(&c.SalesforceLoginURL)},
		{env: "SALESFORCE_API_VERSION", flag: "salesforce-api-version", usage: "Salesforce REST API version",
			value: (*stringValue)(&c.SalesforceAPIVersion)},
		{env: "SALESFORCE_OBJECT", flag: "salesforce-object", usage: "the sObject customers are written as",
			value: (*stringValue)(&c.SalesforceObject)},
		{env: "SALESFORCE_EXTERNAL_ID_FIELD", flag: "salesforce-external-id-field",
			usage: "the unique external id field holding Tandem's id", value: (*stringValue)(&c.SalesforceExternalIDField)},
		{env: "SALESFORCE_POLL_INTERVAL", flag: "salesforce-poll-interval",
			usage: "how often Salesforce is read for changes (0: never)", value: (*durationValue)(&c.SalesforcePollInterval)},
		{env: "SALESFORCE_DAILY_BUDGET", flag: "salesforce-daily-budget",
			usage: "most Salesforce API requests Tandem may make in 24 hours (0: no budget of its own)",
			value: (*intValue)(&c.SalesforceDailyBudget)},
		{env: "SALESFORCE_ORG_ID", flag: "salesforce-org-id",
			usage: "the organization id outbound messages must name (00D...)", value: (*stringValue)(&c.SalesforceOrgID)},
		{env: "SALESFORCE_OUTBOUND_SECRET", flag: "salesforce-outbound-secret", secret: true,
			usage: "last segment of the outbound message URL /webhooks/salesforce/{secret} (at least 16 characters)",
			value: (*stringValue)(&c.SalesforceOutboundSecret)},
		{env: "SALESFORCE_RECONCILE_INTERVAL", flag: "salesforce-reconcile-interval",
			usage: "how often every Salesforce record is compared with the local catalog (0: never)",
			value: (*durationValue)(&c.SalesforceReconcile)},
		{env: "SALESFORCE_LINK_MATCH", flag: "salesforce-link-match",
			usage: "how unlinked records are matched after their external id: email, or off",
			value: (*stringValue)(&c.SalesforceLinkMatch)},
	}
}

// LoadConfig reads the configuration from getenv and then args (flags).
func LoadConfig(name string, args []string, getenv func(string) string, output io.Writer) (*Config, error) {
	c := &Config{}
	settings := c.settings()
	fs := flag.NewFlagSet("tandem "+name, flag.ContinueOnError)
	fs.SetOutput(output)
	for _, s := range settings {
		v := getenv(s.env)
		if file := getenv(s.env + "_FILE"); s.secret && file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("%s_FILE: %w", s.env, err)
			}
			v = strings.TrimSpace(string(b))
		}
		if v != "" {
			if err := s.value.Set(v); err != nil {
				return nil, fmt.Errorf("%s: %w", s.env, err)
			}
		}
		usage := fmt.Sprintf("%s (env %s", s.usage, s.env)
		if s.secret {
			usage += ", or a file named by " + s.env + "_FILE"
		}
		value := s.value
		if s.secret {
			value = secretValue{value} // never print a secret as a flag's default
		}
		fs.Var(value, s.flag, usage+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return c, c.Validate()
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	if _, _, err := c.Database(); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("TANDEM_ADDR %q: want host:port", c.Addr)
	}
	if !isLoopback(host) && c.APIToken == "" {
		return fmt.Errorf("TANDEM_ADDR %q listens beyond loopback: set TANDEM_API_TOKEN so the API is authenticated", c.Addr)
	}
	switch {
	case c.PollInterval < time.Millisecond:
		return errors.New("TANDEM_QUEUE_POLL_INTERVAL must be at least 1ms")
	case c.Workers < 1:
		return errors.New("TANDEM_WORKERS must be at least 1")
	case c.ShutdownTimeout <= 0:
		return errors.New("TANDEM_SHUTDOWN_TIMEOUT must be positive")
	case c.StripeRateLimit <= 0:
		return errors.New("STRIPE_RATE_LIMIT must be positive")
	case c.StripePollInterval < 0 || (c.StripePollInterval > 0 && c.StripePollInterval < 100*time.Millisecond):
		return errors.New("STRIPE_POLL_INTERVAL must be 0 (off) or at least 100ms")
	}
	if err := checkReconcile("STRIPE", c.StripeReconcile, c.StripeLinkMatch); err != nil {
		return err
	}
	switch c.ConflictPolicy {
	case "newest", "local":
	case "stripe":
		if c.StripeSecretKey == "" {
			return errors.New("TANDEM_CONFLICT_POLICY=stripe needs the Stripe integration (STRIPE_SECRET_KEY)")
		}
	case "salesforce":
		if c.SalesforceClientID == "" {
			return errors.New("TANDEM_CONFLICT_POLICY=salesforce needs the Salesforce integration (SALESFORCE_CLIENT_ID)")
		}
	default:
		return fmt.Errorf("TANDEM_CONFLICT_POLICY %q: want newest, local, stripe or salesforce", c.ConflictPolicy)
	}
	if c.StripeAPIURL != "" {
		if err := checkHTTPURL("STRIPE_API_URL", c.StripeAPIURL); err != nil {
			return err
		}
	}
	return c.validateSalesforce()
}

// checkReconcile reports an integration's reconciliation interval or link
// matching (settings prefix_RECONCILE_INTERVAL and prefix_LINK_MATCH) that
// cannot work.
func checkReconcile(prefix string, interval time.Duration, match string) error {
	switch {
	case interval < 0 || (interval > 0 && interval < time.Minute):
		return fmt.Errorf("%s_RECONCILE_INTERVAL must be 0 (off) or at least 1m", prefix)
	case match != "email" && match != "off":
		return fmt.Errorf("%s_LINK_MATCH %q: want email or off", prefix, match)
	}
	return nil
}

// checkHTTPURL reports a setting whose value is not an http(s)://host URL.
func checkHTTPURL(env, value string) error {
	if u, err := url.Parse(value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q: want http(s)://host", env, value)
	}
	return nil
}

// validateSalesforce reports what cannot work in the Salesforce settings,
// when the integration is on. The private key file is read when the
// connector is built.
func (c *Config) validateSalesforce() error {
	if c.SalesforceClientID == "" {
		return nil
	}
	jwt := c.SalesforceUsername != "" || c.SalesforcePrivateKeyFile != ""
	switch {
	case c.SalesforceClientSecret != "" && jwt:
		return errors.New("set SALESFORCE_CLIENT_SECRET (client credentials) or SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE (JWT bearer), not both")
	case c.SalesforceClientSecret == "" && !jwt:
		return errors.New("SALESFORCE_CLIENT_ID needs SALESFORCE_CLIENT_SECRET, or SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE")
	case jwt && (c.SalesforceUsername == "" || c.SalesforcePrivateKeyFile == ""):
		return errors.New("the JWT bearer grant needs both SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE")
	case c.SalesforcePollInterval < 0 || (c.SalesforcePollInterval > 0 && c.SalesforcePollInterval < 100*time.Millisecond):
		return errors.New("SALESFORCE_POLL_INTERVAL must be 0 (off) or at least 100ms")
	case c.SalesforceDailyBudget < 0:
		return errors.New("SALESFORCE_DAILY_BUDGET must be 0 (no budget of its own) or positive")
	case (c.SalesforceOrgID == "") != (c.SalesforceOutboundSecret == ""):
		return errors.New("outbound messages need both SALESFORCE_ORG_ID and SALESFORCE_OUTBOUND_SECRET")
	}
	if err := checkReconcile("SALESFORCE", c.SalesforceReconcile, c.SalesforceLinkMatch); err != nil {
		return err
	}
	if err := checkHTTPURL("SALESFORCE_LOGIN_URL", c.SalesforceLoginURL); err != nil {
		return err
	}
	// The connector checks the version and the API names; the grant was
	// checked above, so it is validated as client credentials.
	probe := c.salesforceConfig(nil)
	probe.ClientSecret, probe.Username = "checked above", ""
	if err := probe.Validate(); err != nil {
		return fmt.Errorf("SALESFORCE_API_VERSION, SALESFORCE_OBJECT, SALESFORCE_EXTERNAL_ID_FIELD, SALESFORCE_ORG_ID or SALESFORCE_OUTBOUND_SECRET: %w", err)
	}
	return nil
}

// salesforceConfig is the connector's configuration, with privateKey the
// contents of the private key file (nil for client credentials).
func (c *Config) salesforceConfig(privateKey []byte) salesforce.Config {
	return salesforce.Config{LoginURL: c.SalesforceLoginURL, ClientID: c.SalesforceClientID,
		ClientSecret: c.SalesforceClientSecret, Username: c.SalesforceUsername, PrivateKey: privateKey,
		APIVersion: c.SalesforceAPIVersion, Object: c.SalesforceObject, ExternalIDField: c.SalesforceExternalIDField,
		DailyBudget: c.SalesforceDailyBudget, OrgID: c.SalesforceOrgID, OutboundSecret: c.SalesforceOutboundSecret}
}

// StripeWebhookSecrets returns the configured webhook secrets.
func (c *Config) StripeWebhookSecrets() []string {
	var out []string
	for _, s := range strings.Split(c.StripeWebhookSecret, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Database returns the engine ("sqlite" or "postgres") and its location.
func (c *Config) Database() (engine, location string, err error) {
	switch {
	case strings.HasPrefix(c.DatabaseURL, "sqlite:"):
		path := strings.TrimPrefix(c.DatabaseURL, "sqlite:")
		if path == "" {
			return "", "", errors.New("TANDEM_DATABASE_URL: sqlite: needs a file path")
		}
		return "sqlite", path, nil
	case strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		return "postgres", c.DatabaseURL, nil
	}
	return "", "", errors.New("TANDEM_DATABASE_URL: want sqlite:PATH or postgres://…")
}

// LogValue prints the configuration with secrets redacted.
func (c *Config) LogValue() slog.Value {
	db := c.DatabaseURL
	if u, err := url.Parse(db); err == nil && u.User != nil {
		db = u.Redacted()
	}
	redact := func(secret string) string {
		if secret == "" {
			return ""
		}
		return "(set)"
	}
	return slog.GroupValue(
		slog.String("addr", c.Addr), slog.String("database_url", db), slog.String("api_token", redact(c.APIToken)),
		slog.Bool("auto_migrate", c.AutoMigrate), slog.String("log_level", c.LogLevel.String()),
		slog.Duration("queue_poll_interval", c.PollInterval), slog.Int("workers", c.Workers),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout), slog.String("conflict_policy", c.ConflictPolicy),
		slog.String("stripe_secret_key", redact(c.StripeSecretKey)),
		slog.String("stripe_webhook_secret", redact(c.StripeWebhookSecret)), slog.String("stripe_api_url", c.StripeAPIURL),
		slog.Float64("stripe_rate_limit", c.StripeRateLimit), slog.Duration("stripe_poll_interval", c.StripePollInterval),
		slog.Duration("stripe_reconcile_interval", c.StripeReconcile), slog.String("stripe_link_match", c.StripeLinkMatch),
		slog.String("salesforce_client_id", c.SalesforceClientID),
		slog.String("salesforce_client_secret", redact(c.SalesforceClientSecret)),
		slog.String("salesforce_username", c.SalesforceUsername),
		slog.String("salesforce_private_key_file", c.SalesforcePrivateKeyFile),
		slog.String("salesforce_login_url", c.SalesforceLoginURL), slog.String("salesforce_api_version", c.SalesforceAPIVersion),
		slog.String("salesforce_object", c.SalesforceObject),
		slog.String("salesforce_external_id_field", c.SalesforceExternalIDField),
		slog.Duration("salesforce_poll_interval", c.SalesforcePollInterval),
		slog.Int("salesforce_daily_budget", c.SalesforceDailyBudget),
		slog.Duration("salesforce_reconcile_interval", c.SalesforceReconcile),
		slog.String("salesforce_link_match", c.SalesforceLinkMatch),
		slog.String("salesforce_org_id", c.SalesforceOrgID),
		slog.String("salesforce_outbound_secret", redact(c.SalesforceOutboundSecret)),
	)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// flag.Value implementations over the Config's fields.
type (
	stringValue   string
	boolValue     bool
	intValue      int
	durationValue time.Duration
	levelValue    slog.Level
	floatValue    float64
)

// secretValue hides a secret setting's value from flag usage output.
type secretValue struct{ flag.Value }

func (secretValue) String() string { return "" }

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	*v = boolValue(b)
	return err
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	*v = intValue(n)
	return err
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	*v = durationValue(d)
	return err
}
func (v *durationValue) String() string { return time.Duration(*v).String() }

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	*v = floatValue(f)
	return err
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }

func (v *levelValue) Set(s string) error { return (*slog.Level)(v).UnmarshalText([]byte(s)) }
func (v *levelValue) String() string     { return slog.Level(*v).String() }
