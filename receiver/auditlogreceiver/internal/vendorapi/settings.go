package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// Source names: each is the config key of the source's block, the value of
// the source attribute of its metrics, and the first part of its checkpoint
// keys in storage (so they never change).
const (
	SourceO365      = "o365_management_api"
	SourceGraph     = "graph_signins"
	SourceGraphRisk = "graph_risk_detections"
	SourceGoogle    = "google_workspace_reports"
)

// PollSettings are what every API source shares: when to poll, how far back
// to look, how to page through time, how to batch and how to retry.
type PollSettings struct {
	// PollInterval is the pause between the end of one poll and the next.
	PollInterval time.Duration
	// InitialLookback is how far back the first poll of a stream reaches,
	// unless StartTime is set.
	InitialLookback time.Duration
	// StartTime, when set, is where the first poll of a stream starts.
	// Either is clamped to what the API keeps.
	StartTime time.Time
	// Overlap is how far behind its checkpoint each poll starts again.
	Overlap time.Duration
	// MaxWindow is the longest time range of one listing request.
	MaxWindow time.Duration
	// BatchSize and MaxBatchBytes cut batches, as the file source does.
	BatchSize     int
	MaxBatchBytes int
	// MaxSeenIDs bounds, per stream, the ids remembered to recognise records
	// listed again within the overlap.
	MaxSeenIDs int
	// Retry bounds the retries of one request.
	Retry RetrySettings
}

// RetrySettings bound the retries of one request within a poll.
type RetrySettings struct {
	// MaxAttempts is the most responses tried per request.
	MaxAttempts int
	// InitialInterval and MaxInterval bound the exponential backoff.
	InitialInterval time.Duration
	MaxInterval     time.Duration
}

// MicrosoftAuth is an Entra ID app registration that signs in with the OAuth2
// client credentials grant, by client secret or by certificate.
type MicrosoftAuth struct {
	// TenantID is the directory (tenant) id.
	TenantID string
	// ClientID is the app registration's application (client) id.
	ClientID string
	// ClientSecret is the app's secret, when it signs in by secret.
	ClientSecret configopaque.String
	// CertificateFile is a PEM file with the certificate and, unless
	// CertificateKeyFile is set, its unencrypted RSA key.
	CertificateFile    string
	CertificateKeyFile string
	// Cloud names the national cloud (see Clouds); it picks the token
	// endpoint, the API hosts and the tokens' audience.
	Cloud string
	// TokenURL replaces the token endpoint Cloud and TenantID give.
	TokenURL string
}

// O365Settings read the Office 365 Management Activity API.
type O365Settings struct {
	Auth MicrosoftAuth
	// ContentTypes are the feeds to read, each a stream with its own
	// checkpoint.
	ContentTypes []string
	// PublisherIdentifier is sent on every request for its own throttling
	// quota (optional).
	PublisherIdentifier string
	// BaseURL replaces the API host Auth.Cloud gives.
	BaseURL string
	// StartSubscriptions starts a content type's subscription when the API
	// says there is none (AF20022), also after someone stopped it; without
	// it only subscriptions started elsewhere are read.
	StartSubscriptions bool
	// Poll is how the source polls.
	Poll PollSettings
}

// GraphSettings read Entra ID sign-ins from Microsoft Graph.
type GraphSettings struct {
	Auth MicrosoftAuth
	// APIVersion is v1.0 or beta.
	APIVersion string
	// SignInEventTypes filter on signInEventTypes (beta only).
	SignInEventTypes []string
	// PageSize is $top.
	PageSize int
	// BaseURL replaces the Graph host Auth.Cloud gives.
	BaseURL string
	// Poll is how the source polls.
	Poll PollSettings
}

// GraphRiskSettings read Entra ID Protection's risk detections from
// Microsoft Graph.
type GraphRiskSettings struct {
	Auth MicrosoftAuth
	// APIVersion is v1.0 or beta.
	APIVersion string
	// PageSize is $top.
	PageSize int
	// BaseURL replaces the Graph host Auth.Cloud gives.
	BaseURL string
	// Poll is how the source polls.
	Poll PollSettings
}

// GoogleSettings read Google Workspace activities from the Admin SDK Reports
// API with a service account that has domain-wide delegation.
type GoogleSettings struct {
	// CredentialsFile is the service account's JSON key file.
	CredentialsFile string
	// Subject is the administrator the service account acts as.
	Subject string
	// CustomerID limits the report to one customer (optional).
	CustomerID string
	// Applications are the reports to read, each a stream with its own
	// checkpoint.
	Applications []string
	// PageSize is maxResults.
	PageSize int
	// BaseURL and TokenURL replace the Admin SDK host and the key file's
	// token_uri.
	BaseURL, TokenURL string
	// Poll is how the source polls.
	Poll PollSettings
}

// Metrics is what an API source counts. The receiver implements it with its
// own telemetry; the sources know no metric names.
type Metrics interface {
	// RecordsBuilt adds what the record builder counted since the last
	// batch: records read, parse errors, unrecognised records.
	RecordsBuilt(ctx context.Context, counts logrecord.Counts)
	// ReadError counts a poll of a stream that gave up.
	ReadError(ctx context.Context)
	// Page counts a response read successfully.
	Page(ctx context.Context)
	// Retry counts a request sent again.
	Retry(ctx context.Context)
	// Throttle counts a 429 or 503.
	Throttle(ctx context.Context)
	// DuplicateRecords counts records listed again and not passed on.
	DuplicateRecords(ctx context.Context, n int64)
	// ExpiredContent counts an O365 blob that can no longer be fetched.
	ExpiredContent(ctx context.Context)
	// SeenIDsEvicted counts record ids forgotten because a stream held
	// max_seen_ids ids still inside the overlap: possible duplicates.
	SeenIDsEvicted(ctx context.Context, n int64)
	// AuthFailing says whether the source's credentials are refused; it is
	// called when that changes, and once when it is first known.
	AuthFailing(ctx context.Context, failing bool)
	// Lag is the seconds from a stream's newest delivered event to now.
	Lag(ctx context.Context, stream string, seconds float64)
}

// Env is what a source runs with besides its settings.
type Env struct {
	// Logger is the receiver's; the source adds its name to every line.
	Logger *zap.Logger
	// Metrics receives what the source counts.
	Metrics Metrics
	// HTTP is the client of the source's http settings (TLS, proxy,
	// timeout); the token requests go through it too.
	HTTP *http.Client
	// Storage keeps each stream's checkpoint.
	Storage storage.Client
	// ScopeName and ScopeVersion name the instrumentation scope of the
	// records.
	ScopeName, ScopeVersion string
	// ConfigKey is the source's block in the configuration, for messages
	// that name a key to check; the source's name when empty.
	ConfigKey string
	// Tenant is the configured name of the tenant whose block the source
	// reads, empty for the top-level blocks. Its streams' checkpoints are
	// kept under api/tenants/<Tenant>/, apart from another tenant's
	// reading the same API, while the top-level keys stay as they always
	// were.
	Tenant string
}

// checkpointPrefix is where the checkpoints of the source's streams are
// kept, given the prefix that names the source and what makes them valid.
func (e Env) checkpointPrefix(prefix string) string {
	if e.Tenant == "" {
		return prefix
	}
	return "tenants/" + e.Tenant + "/" + prefix
}

// configKey is where the source's keys are in the configuration.
func (e Env) configKey(source string) string {
	if e.ConfigKey != "" {
		return e.ConfigKey
	}
	return source
}

// Deliver hands a batch to the next consumer. It returns nil once the batch
// is done with (accepted, or refused for good and counted), and an error
// only when ctx ended first. The pipeline may change logs in place; asRead
// builds the batch again as it was read, and may be called only before
// Deliver returns.
type Deliver = func(ctx context.Context, logs plog.Logs, asRead func() plog.Logs) error
