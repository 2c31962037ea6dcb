package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"
)

// APIPollConfig is what every vendor API source shares: when to poll, how
// far back to look, how to page through time, and how to talk HTTP.
type APIPollConfig struct {
	// PollInterval is the pause between the end of one poll and the start of
	// the next.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// InitialLookback is how far back the first poll of a stream reaches
	// when no checkpoint exists yet.
	InitialLookback time.Duration `mapstructure:"initial_lookback"`
	// StartTime, an RFC 3339 time (a YAML timestamp, or a string in that
	// form), replaces InitialLookback: the first poll of a stream starts
	// there (a backfill of the retention a new deployment chooses). Either
	// is clamped to what the API keeps.
	StartTime time.Time `mapstructure:"start_time"`
	// Overlap is how far behind its checkpoint each poll starts again, so
	// that records the vendor makes available late are still found. Records
	// already delivered are recognised by id and not passed on twice.
	Overlap time.Duration `mapstructure:"overlap"`
	// MaxWindow is the longest time range asked for in one listing. The
	// checkpoint advances at window ends, so shorter windows mean less to
	// re-read and fewer ids to remember during a catch-up.
	MaxWindow time.Duration `mapstructure:"max_window"`
	// BatchSize is the most records handed to the next consumer at once.
	BatchSize int `mapstructure:"batch_size"`
	// MaxBatchBytes cuts a batch once its records' raw bytes reach it, as
	// files.max_batch_bytes does: a batch holds less than MaxBatchBytes
	// plus one record.
	MaxBatchBytes ByteSize `mapstructure:"max_batch_bytes"`
	// MaxSeenIDs bounds, per stream, the ids remembered to recognise records
	// read again within the overlap. Past it the oldest are forgotten, which
	// can only cause duplicates, never losses.
	MaxSeenIDs int         `mapstructure:"max_seen_ids"`
	Retry      RetryConfig `mapstructure:"retry"`
	// HTTP holds TLS, proxy and timeout settings for every request of the
	// source, the token requests included.
	HTTP confighttp.ClientConfig `mapstructure:"http"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// RetryConfig bounds the retries of one request within a poll. When they are
// used up the poll ends without advancing the checkpoint and the next poll
// starts from the same place.
type RetryConfig struct {
	MaxAttempts     int           `mapstructure:"max_attempts"`
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	MaxInterval     time.Duration `mapstructure:"max_interval"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// MicrosoftAuthConfig is an Entra ID app registration that signs in with the
// OAuth2 client credentials grant, by client secret or by certificate.
type MicrosoftAuthConfig struct {
	TenantID     string              `mapstructure:"tenant_id"`
	ClientID     string              `mapstructure:"client_id"`
	ClientSecret configopaque.String `mapstructure:"client_secret"`
	// CertificateFile is a PEM file with the app's certificate and, unless
	// CertificateKeyFile is set, its unencrypted RSA private key.
	CertificateFile    string `mapstructure:"certificate_file"`
	CertificateKeyFile string `mapstructure:"certificate_key_file"`
	// Cloud picks the national cloud's login and API hosts.
	Cloud string `mapstructure:"cloud"`
	// TokenURL replaces the token endpoint derived from Cloud and TenantID.
	TokenURL string `mapstructure:"token_url"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// O365Config reads the Office 365 Management Activity API.
type O365Config struct {
	MicrosoftAuthConfig `mapstructure:",squash"`
	// ContentTypes are the feeds to subscribe to and read, each with its own
	// checkpoint.
	ContentTypes []string `mapstructure:"content_types"`
	// PublisherIdentifier is the tenant GUID of whoever runs the collector;
	// with it the API gives the requests their own throttling quota.
	PublisherIdentifier string `mapstructure:"publisher_identifier"`
	// BaseURL replaces the API host derived from Cloud.
	BaseURL string `mapstructure:"base_url"`
	// StartSubscriptions lets the receiver start a content type's
	// subscription when the API says it has none (AF20022): a new
	// deployment's, and one someone stopped. False leaves starting them to
	// an administrator; the content types without one are reported.
	StartSubscriptions bool `mapstructure:"start_subscriptions"`
	APIPollConfig      `mapstructure:",squash"`
}

// GraphConfig reads Entra ID sign-ins from Microsoft Graph.
type GraphConfig struct {
	MicrosoftAuthConfig `mapstructure:",squash"`
	// APIVersion is v1.0 (interactive sign-ins only) or beta (which can also
	// list non-interactive, service principal and managed identity sign-ins).
	APIVersion string `mapstructure:"api_version"`
	// SignInEventTypes filters on signInEventTypes (beta only); empty means
	// the API's default, interactive user sign-ins.
	SignInEventTypes []string `mapstructure:"sign_in_event_types"`
	// PageSize is $top.
	PageSize      int    `mapstructure:"page_size"`
	BaseURL       string `mapstructure:"base_url"`
	APIPollConfig `mapstructure:",squash"`
}

// GraphRiskConfig reads Entra ID Protection's risk detections from
// Microsoft Graph (/identityProtection/riskDetections).
type GraphRiskConfig struct {
	MicrosoftAuthConfig `mapstructure:",squash"`
	// APIVersion is v1.0 or beta.
	APIVersion string `mapstructure:"api_version"`
	// PageSize is $top.
	PageSize      int    `mapstructure:"page_size"`
	BaseURL       string `mapstructure:"base_url"`
	APIPollConfig `mapstructure:",squash"`
}

// GoogleConfig reads Google Workspace activities from the Admin SDK Reports
// API with a service account that has domain-wide delegation.
type GoogleConfig struct {
	// CredentialsFile is the service account's JSON key file.
	CredentialsFile string `mapstructure:"credentials_file"`
	// Subject is the administrator the service account acts as.
	Subject string `mapstructure:"subject"`
	// CustomerID limits the report to one customer (optional).
	CustomerID string `mapstructure:"customer_id"`
	// Applications are the activity reports to read, each with its own
	// checkpoint.
	Applications []string `mapstructure:"applications"`
	// PageSize is maxResults.
	PageSize      int    `mapstructure:"page_size"`
	BaseURL       string `mapstructure:"base_url"`
	TokenURL      string `mapstructure:"token_url"`
	APIPollConfig `mapstructure:",squash"`
}

var (
	googleAppName = regexp.MustCompile(`^[a-z][a-z_]*$`)
	guid          = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

func (c *APIPollConfig) validate(key string) []error {
	var errs []error
	if c.PollInterval < time.Second {
		errs = append(errs, fmt.Errorf("%s.poll_interval: must be at least 1s, got %s; e.g. 1m", key, c.PollInterval))
	}
	if c.InitialLookback <= 0 {
		errs = append(errs, fmt.Errorf("%s.initial_lookback: must be positive, got %s; e.g. 24h", key, c.InitialLookback))
	}
	if c.StartTime.After(time.Now()) {
		errs = append(errs, fmt.Errorf("%s.start_time: %s is in the future; give the time the first poll should read from, in the past (or remove it to use initial_lookback)",
			key, c.StartTime.Format(time.RFC3339)))
	}
	if c.Overlap < 0 {
		errs = append(errs, fmt.Errorf("%s.overlap: must not be negative, got %s; e.g. 1h", key, c.Overlap))
	}
	if c.MaxWindow < time.Minute {
		errs = append(errs, fmt.Errorf("%s.max_window: must be at least 1m, got %s; e.g. 1h", key, c.MaxWindow))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("%s.batch_size: must be at least 1, got %d; e.g. 500", key, c.BatchSize))
	}
	if c.MaxBatchBytes < minMaxBatchBytes || c.MaxBatchBytes > maxMaxRecordBytes {
		errs = append(errs, fmt.Errorf("%s.max_batch_bytes: must be between 64KiB and 1GiB, got %d bytes; e.g. 2MiB (below what the exporter accepts in one request, see the README)", key, int64(c.MaxBatchBytes)))
	}
	if c.MaxSeenIDs < 1000 {
		errs = append(errs, fmt.Errorf("%s.max_seen_ids: must be at least 1000, got %d; e.g. 100000", key, c.MaxSeenIDs))
	}
	if c.Retry.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("%s.retry.max_attempts: must be at least 1, got %d; e.g. 5", key, c.Retry.MaxAttempts))
	}
	if c.Retry.InitialInterval <= 0 || c.Retry.MaxInterval < c.Retry.InitialInterval {
		errs = append(errs, fmt.Errorf("%s.retry: initial_interval must be positive and max_interval at least as long, got %s and %s; e.g. 1s and 1m",
			key, c.Retry.InitialInterval, c.Retry.MaxInterval))
	}
	if c.HTTP.Endpoint != "" {
		errs = append(errs, fmt.Errorf("%s.http.endpoint: not used by this source; set %s.base_url instead", key, key))
	}
	if c.HTTP.Auth.HasValue() {
		errs = append(errs, fmt.Errorf("%s.http.auth: the source signs its requests itself; remove http.auth and set the credentials of %s", key, key))
	}
	return errs
}

func (c *MicrosoftAuthConfig) validate(key string) []error {
	var errs []error
	if strings.TrimSpace(c.TenantID) == "" {
		errs = append(errs, fmt.Errorf("%s.tenant_id: required, the directory (tenant) id of the organisation, a GUID such as 0d2f5e1c-7b3a-4c8e-9f21-5a6b7c8d9e0f", key))
	}
	if strings.TrimSpace(c.ClientID) == "" {
		errs = append(errs, fmt.Errorf("%s.client_id: required, the application (client) id of the app registration", key))
	}
	switch hasSecret, hasCert := c.ClientSecret != "", c.CertificateFile != ""; {
	case hasSecret && hasCert:
		errs = append(errs, fmt.Errorf("%s: set either client_secret or certificate_file, not both", key))
	case !hasSecret && !hasCert:
		errs = append(errs, fmt.Errorf("%s: set client_secret, or certificate_file (PEM certificate and RSA key) for certificate credentials", key))
	case c.CertificateKeyFile != "" && !hasCert:
		errs = append(errs, fmt.Errorf("%s.certificate_key_file: only used with certificate_file", key))
	}
	if !slices.Contains(vendorapi.Clouds(), c.Cloud) {
		errs = append(errs, fmt.Errorf("%s.cloud: %q is not one of %s", key, c.Cloud, strings.Join(vendorapi.Clouds(), ", ")))
	}
	errs = appendURLError(errs, key+".token_url", c.TokenURL)
	return errs
}

func (c *O365Config) validate(key string) []error {
	errs := c.MicrosoftAuthConfig.validate(key)
	// The API's root URL takes the tenant's GUID ("The tenant ID is a
	// GUID"); a domain passes the token endpoint and then fails every
	// request with AF20013. Graph takes either.
	if id := strings.TrimSpace(c.TenantID); id != "" && !guid.MatchString(id) {
		errs = append(errs, fmt.Errorf("%s.tenant_id: %q is not a GUID: the Management Activity API takes the directory (tenant) id, not a domain (it answers AF20013); "+
			"find it in the Microsoft Entra admin center, Overview, Tenant ID (e.g. 0d2f5e1c-7c4a-4b8e-9f1d-3a6b2c8e4f70)", key, c.TenantID))
	}
	if c.PublisherIdentifier != "" && !guid.MatchString(c.PublisherIdentifier) {
		errs = append(errs, fmt.Errorf("%s.publisher_identifier: %q is not a GUID: give the tenant id of whoever runs the collector (Microsoft Entra admin center, Overview, Tenant ID), or remove it", key, c.PublisherIdentifier))
	}
	errs = append(errs, c.APIPollConfig.validate(key)...)
	if len(c.ContentTypes) == 0 {
		errs = append(errs, fmt.Errorf("%s.content_types: at least one is required, from %s", key, strings.Join(vendorapi.O365ContentTypes, ", ")))
	}
	for i, ct := range c.ContentTypes {
		if !slices.Contains(vendorapi.O365ContentTypes, ct) {
			errs = append(errs, fmt.Errorf("%s.content_types[%d]: %q is not one of %s (spelled as Microsoft does)", key, i, ct, strings.Join(vendorapi.O365ContentTypes, ", ")))
		} else if slices.Index(c.ContentTypes, ct) != i {
			errs = append(errs, fmt.Errorf("%s.content_types[%d]: %q is listed twice", key, i, ct))
		}
	}
	if c.InitialLookback > vendorapi.O365MaxLookback {
		errs = append(errs, fmt.Errorf("%s.initial_lookback: at most %s, got %s: the API lists no content older than 7 days", key, vendorapi.O365MaxLookback, c.InitialLookback))
	}
	if c.MaxWindow > vendorapi.O365MaxWindow {
		errs = append(errs, fmt.Errorf("%s.max_window: at most 24h, got %s: the API refuses longer listing windows", key, c.MaxWindow))
	}
	return appendURLError(errs, key+".base_url", c.BaseURL)
}

func (c *GraphConfig) validate(key string) []error {
	errs := c.MicrosoftAuthConfig.validate(key)
	errs = append(errs, c.APIPollConfig.validate(key)...)
	errs = appendGraphVersionError(errs, key, c.APIVersion)
	if len(c.SignInEventTypes) > 0 && c.APIVersion != "beta" {
		errs = append(errs, fmt.Errorf("%s.sign_in_event_types: only the beta API filters on signInEventTypes; set api_version: beta or remove the list", key))
	}
	for i, et := range c.SignInEventTypes {
		if !slices.Contains(vendorapi.GraphEventTypes, et) {
			errs = append(errs, fmt.Errorf("%s.sign_in_event_types[%d]: %q is not one of %s", key, i, et, strings.Join(vendorapi.GraphEventTypes, ", ")))
		}
	}
	errs = appendPageSizeError(errs, key, c.PageSize, vendorapi.MaxGraphPageSize)
	return appendURLError(errs, key+".base_url", c.BaseURL)
}

func (c *GraphRiskConfig) validate(key string) []error {
	errs := c.MicrosoftAuthConfig.validate(key)
	errs = append(errs, c.APIPollConfig.validate(key)...)
	errs = appendGraphVersionError(errs, key, c.APIVersion)
	errs = appendPageSizeError(errs, key, c.PageSize, vendorapi.MaxGraphRiskPageSize)
	return appendURLError(errs, key+".base_url", c.BaseURL)
}

func appendGraphVersionError(errs []error, key, version string) []error {
	if version != "v1.0" && version != "beta" {
		return append(errs, fmt.Errorf("%s.api_version: %q is not v1.0 or beta", key, version))
	}
	return errs
}

func appendPageSizeError(errs []error, key string, size, most int) []error {
	if size < 1 || size > most {
		return append(errs, fmt.Errorf("%s.page_size: must be between 1 and %d, got %d", key, most, size))
	}
	return errs
}

func (c *GoogleConfig) validate(key string) []error {
	errs := c.APIPollConfig.validate(key)
	if strings.TrimSpace(c.CredentialsFile) == "" {
		errs = append(errs, fmt.Errorf("%s.credentials_file: required, the service account's JSON key file", key))
	}
	if !strings.Contains(c.Subject, "@") {
		errs = append(errs, fmt.Errorf("%s.subject: required, the email address of an administrator the service account acts as (domain-wide delegation), got %q", key, c.Subject))
	}
	if len(c.Applications) == 0 {
		errs = append(errs, fmt.Errorf("%s.applications: at least one is required, e.g. [login, user_accounts, admin]", key))
	}
	for i, app := range c.Applications {
		if !googleAppName.MatchString(app) {
			errs = append(errs, fmt.Errorf("%s.applications[%d]: %q is not a Reports API application name such as login, user_accounts, admin, gmail", key, i, app))
		} else if slices.Index(c.Applications, app) != i {
			errs = append(errs, fmt.Errorf("%s.applications[%d]: %q is listed twice", key, i, app))
		}
	}
	errs = appendPageSizeError(errs, key, c.PageSize, vendorapi.MaxGooglePageSize)
	errs = appendURLError(errs, key+".base_url", c.BaseURL)
	return appendURLError(errs, key+".token_url", c.TokenURL)
}

// appendURLError checks an optional URL override: it must be absolute http(s).
func appendURLError(errs []error, key, raw string) []error {
	if raw == "" {
		return errs
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return append(errs, fmt.Errorf("%s: %q is not an absolute http(s) URL", key, raw))
	}
	return errs
}

var errNoSource = errors.New(`files.include: at least one glob is required, e.g. ["/var/log/o365/*.json"], unless an API source (o365_management_api, graph_signins, graph_risk_detections, google_workspace_reports) or tenants is configured`)

// settings map a block's keys onto the settings of its vendor API source.

func (c *APIPollConfig) settings() vendorapi.PollSettings {
	return vendorapi.PollSettings{
		PollInterval:    c.PollInterval,
		InitialLookback: c.InitialLookback,
		StartTime:       c.StartTime,
		Overlap:         c.Overlap,
		MaxWindow:       c.MaxWindow,
		BatchSize:       c.BatchSize,
		MaxBatchBytes:   int(c.MaxBatchBytes),
		MaxSeenIDs:      c.MaxSeenIDs,
		Retry: vendorapi.RetrySettings{
			MaxAttempts:     c.Retry.MaxAttempts,
			InitialInterval: c.Retry.InitialInterval,
			MaxInterval:     c.Retry.MaxInterval,
		},
	}
}

func (c *MicrosoftAuthConfig) settings() vendorapi.MicrosoftAuth {
	return vendorapi.MicrosoftAuth{
		TenantID:           c.TenantID,
		ClientID:           c.ClientID,
		ClientSecret:       c.ClientSecret,
		CertificateFile:    c.CertificateFile,
		CertificateKeyFile: c.CertificateKeyFile,
		Cloud:              c.Cloud,
		TokenURL:           c.TokenURL,
	}
}

func (c *O365Config) settings() vendorapi.O365Settings {
	return vendorapi.O365Settings{
		Auth:                c.MicrosoftAuthConfig.settings(),
		ContentTypes:        c.ContentTypes,
		PublisherIdentifier: c.PublisherIdentifier,
		BaseURL:             c.BaseURL,
		StartSubscriptions:  c.StartSubscriptions,
		Poll:                c.APIPollConfig.settings(),
	}
}

func (c *GraphConfig) settings() vendorapi.GraphSettings {
	return vendorapi.GraphSettings{
		Auth:             c.MicrosoftAuthConfig.settings(),
		APIVersion:       c.APIVersion,
		SignInEventTypes: c.SignInEventTypes,
		PageSize:         c.PageSize,
		BaseURL:          c.BaseURL,
		Poll:             c.APIPollConfig.settings(),
	}
}

func (c *GraphRiskConfig) settings() vendorapi.GraphRiskSettings {
	return vendorapi.GraphRiskSettings{
		Auth:       c.MicrosoftAuthConfig.settings(),
		APIVersion: c.APIVersion,
		PageSize:   c.PageSize,
		BaseURL:    c.BaseURL,
		Poll:       c.APIPollConfig.settings(),
	}
}

func (c *GoogleConfig) settings() vendorapi.GoogleSettings {
	return vendorapi.GoogleSettings{
		CredentialsFile: c.CredentialsFile,
		Subject:         c.Subject,
		CustomerID:      c.CustomerID,
		Applications:    c.Applications,
		PageSize:        c.PageSize,
		BaseURL:         c.BaseURL,
		TokenURL:        c.TokenURL,
		Poll:            c.APIPollConfig.settings(),
	}
}
