package auditlogreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// fastPoll is test timing: polls and retries in milliseconds, windows and
// overlap as in production.
func fastPoll(c *APIPollConfig) {
	c.PollInterval = 20 * time.Millisecond
	c.InitialLookback = 2 * time.Hour
	c.Retry = RetryConfig{MaxAttempts: 4, InitialInterval: 2 * time.Millisecond, MaxInterval: 20 * time.Millisecond}
	c.HTTP.Timeout = 5 * time.Second
}

// o365Env is a tenant's token endpoint and Management Activity API, and a
// receiver config pointed at them.
type o365Env struct {
	entra *apitest.Entra
	api   *apitest.O365
	cfg   *Config
}

func newO365Env(t testing.TB, contentTypes ...string) *o365Env {
	return newO365EnvServed(t, nil, contentTypes...)
}

// newO365EnvServed is newO365Env with its servers started with opts.
func newO365EnvServed(t testing.TB, opts []apitest.ServerOption, contentTypes ...string) *o365Env {
	entra := apitest.NewEntra(t, apitest.TenantID, apitest.ClientID, apitest.ClientSecret, opts...)
	api := apitest.NewO365(t, entra, apitest.PublisherID, opts...)
	cfg := createDefaultConfig().(*Config)
	o := cfg.O365.GetOrInsertDefault()
	o.TenantID, o.ClientID, o.ClientSecret = apitest.TenantID, apitest.ClientID, apitest.ClientSecret
	o.BaseURL, o.TokenURL, o.PublisherIdentifier = api.URL, entra.TokenURL(), apitest.PublisherID
	o.ContentTypes = contentTypes
	fastPoll(&o.APIPollConfig)
	return &o365Env{entra: entra, api: api, cfg: cfg}
}

type graphEnv struct {
	entra *apitest.Entra
	api   *apitest.Graph
	cfg   *Config
}

func newGraphEnv(t testing.TB, opts ...apitest.ServerOption) *graphEnv {
	entra := apitest.NewEntra(t, apitest.TenantID, apitest.ClientID, apitest.ClientSecret, opts...)
	api := apitest.NewGraph(t, entra, opts...)
	cfg := createDefaultConfig().(*Config)
	g := cfg.Graph.GetOrInsertDefault()
	g.TenantID, g.ClientID, g.ClientSecret = apitest.TenantID, apitest.ClientID, apitest.ClientSecret
	g.BaseURL, g.TokenURL = api.URL, entra.TokenURL()
	g.PageSize = 3
	fastPoll(&g.APIPollConfig)
	return &graphEnv{entra: entra, api: api, cfg: cfg}
}

// newGraphRiskEnv is newGraphEnv reading the risk detections instead of
// the sign-ins, with the same app, 3 to a page.
func newGraphRiskEnv(t testing.TB) *graphEnv {
	env := newGraphEnv(t)
	signIns := *env.cfg.Graph.Get()
	env.cfg.Graph = configoptional.None[GraphConfig]()
	risk := env.cfg.GraphRisk.GetOrInsertDefault()
	risk.MicrosoftAuthConfig, risk.BaseURL, risk.PageSize = signIns.MicrosoftAuthConfig, signIns.BaseURL, 3
	fastPoll(&risk.APIPollConfig)
	return env
}

type googleEnv struct {
	auth *apitest.GoogleAuth
	api  *apitest.Reports
	cfg  *Config
}

func newGoogleEnv(t testing.TB, apps ...string) *googleEnv {
	return newGoogleEnvServed(t, nil, apps...)
}

// newGoogleEnvServed is newGoogleEnv with its servers started with opts.
func newGoogleEnvServed(t testing.TB, opts []apitest.ServerOption, apps ...string) *googleEnv {
	auth := apitest.NewGoogleAuth(t, apitest.Admin, opts...)
	api := apitest.NewReports(t, auth, opts...)
	cfg := createDefaultConfig().(*Config)
	g := cfg.Google.GetOrInsertDefault()
	g.CredentialsFile, g.Subject = auth.CredentialsFile(t), apitest.Admin
	g.BaseURL, g.TokenURL = api.URL, auth.TokenURL()
	g.Applications = apps
	g.PageSize = 2
	fastPoll(&g.APIPollConfig)
	return &googleEnv{auth: auth, api: api, cfg: cfg}
}

// idSink keeps the records it accepts; decide can refuse or hold a batch.
type idSink struct {
	mu     sync.Mutex
	calls  int
	logs   []plog.Logs
	decide func(call int, logs plog.Logs) error
}

func (s *idSink) consumer(t testing.TB) consumer.Logs {
	c, err := consumer.NewLogs(func(_ context.Context, logs plog.Logs) error {
		s.mu.Lock()
		s.calls++
		call, decide := s.calls, s.decide
		s.mu.Unlock()
		if decide != nil {
			if err := decide(call, logs); err != nil {
				return err
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.logs = append(s.logs, logs)
		return nil
	})
	require.NoError(t, err)
	return c
}

func (s *idSink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return recordtest.IDs(recordtest.Records(s.logs...))
}

func (s *idSink) records() []plog.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return recordtest.Records(s.logs...)
}

// waitIDs waits until the sink holds at least n records, then a few more
// polls, so that duplicates would have arrived.
func (s *idSink) waitIDs(t testing.TB, n int) []string {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.ids()) >= n }, 15*time.Second, 5*time.Millisecond, "records: %d of %d", len(s.ids()), n)
	time.Sleep(150 * time.Millisecond)
	return s.ids()
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// duplicates counts the ids that occur more than once.
func duplicates(ids []string) map[string]int {
	seen := make(map[string]int)
	for _, id := range ids {
		seen[id]++
	}
	for id, n := range seen {
		if n == 1 {
			delete(seen, id)
		}
	}
	return seen
}

// startReceiver starts a receiver on host with its telemetry in tt (when
// given) and stops it at the end of the test unless stopped before.
func startReceiver(t *testing.T, cfg *Config, next consumer.Logs, host component.Host, tt *componenttest.Telemetry, opts ...func(*auditLogReceiver)) *auditLogReceiver {
	t.Helper()
	r := newTestReceiver(t, cfg, next, tt)
	for _, o := range opts {
		o(r)
	}
	require.NoError(t, r.Start(context.Background(), host))
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return r
}

// logTo sends the receiver's logs, at every level, through enc into buf.
func logTo(buf *syncBuffer) func(*auditLogReceiver) {
	return func(r *auditLogReceiver) {
		core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(buf), zapcore.DebugLevel)
		r.settings.Logger = zap.New(core)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// storedStream is an API stream's checkpoint as the receiver keeps it in
// storage, under api/<source>/<tenant, API version or subject>/<stream>. The
// tests write and read it as stored, so that a change of the format, which
// would make every saved checkpoint unreadable, shows here.
type storedStream struct {
	Version     int       `json:"version"`
	Cursor      time.Time `json:"cursor"`
	Origin      time.Time `json:"origin"`
	NewestEvent time.Time `json:"newest_event"`
	// Records and Contents are 16 bytes per id: its hash and the horizon
	// by which the API lists it, big-endian.
	Records  []byte `json:"records"`
	Contents []byte `json:"contents"`
}

// storageClient opens the receiver's client of the storage extension.
func storageClient(t testing.TB, host component.Host, storageID component.ID) storage.Client {
	t.Helper()
	ext := host.GetExtensions()[storageID].(storage.Extension)
	client, err := ext.GetClient(context.Background(), component.KindReceiver, component.NewID(metadata.Type), "")
	require.NoError(t, err)
	return client
}

// seedCursor saves a stream state with the given cursor, as a receiver
// stopped at that time would have left it.
func seedCursor(t testing.TB, host component.Host, storageID component.ID, prefix, stream string, cursor time.Time) {
	t.Helper()
	client := storageClient(t, host, storageID)
	data, err := json.Marshal(storedStream{Version: 1, Cursor: cursor})
	require.NoError(t, err)
	require.NoError(t, client.Set(context.Background(), "api/"+prefix+"/"+stream, data))
	require.NoError(t, client.Close(context.Background()))
}
