package auditlogreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// withFiles is the default config with files and storage as given; the API
// blocks stay at their (disabled) defaults.
func withFiles(files FilesConfig, storageID *component.ID) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Files, cfg.StorageID = files, storageID
	return cfg
}

func TestLoadConfig(t *testing.T) {
	storageID := component.MustNewIDWithName("file_storage", "audit")
	tests := []struct {
		name string
		want *Config
	}{
		{"", withFiles(FilesConfig{
			Include:                 []string{"/var/log/o365/*.json"},
			PollInterval:            time.Second,
			MaxRecordBytes:          16 << 20,
			BatchSize:               500,
			MaxBatchBytes:           2 << 20,
			IncompleteRecordTimeout: time.Minute,
		}, nil)},
		{"full", withFiles(FilesConfig{
			Include:                 []string{"/var/log/o365/*.json", "/var/log/entra/*.json.gz"},
			Exclude:                 []string{"/var/log/o365/*.tmp.json"},
			PollInterval:            30 * time.Second,
			MaxRecordBytes:          4 << 20,
			BatchSize:               100,
			MaxBatchBytes:           1 << 20,
			IncompleteRecordTimeout: 5 * time.Minute,
		}, &storageID)},
		{"int_size", withFiles(FilesConfig{
			Include:                 []string{"/exports/*.csv"},
			PollInterval:            time.Second,
			MaxRecordBytes:          1 << 20,
			BatchSize:               500,
			MaxBatchBytes:           2 << 20,
			IncompleteRecordTimeout: time.Minute,
		}, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(t, tt.name)
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
			assert.NoError(t, confmap.Validate(cfg))
		})
	}
}

func TestValidateNamesKeyAndFix(t *testing.T) {
	cfg, err := loadConfig(t, "no_include")
	require.NoError(t, err)
	assert.EqualError(t, confmap.Validate(cfg), `files.include: at least one glob is required, e.g. ["/var/log/o365/*.json"], unless an API source (o365_management_api, graph_signins, graph_risk_detections, google_workspace_reports) or tenants is configured`)

	cfg, err = loadConfig(t, "invalid")
	require.NoError(t, err)
	err = cfg.Validate()
	for _, msg := range []string{
		`files.include[0]: "/var/log/[o365/*.json" is not a valid glob (syntax error in pattern); check its brackets and escapes`,
		`files.include[1]: glob is empty; remove it or give a pattern such as /var/log/o365/*.json`,
		`files.exclude[0]: "[bad" is not a valid glob (syntax error in pattern); check its brackets and escapes`,
		`files.poll_interval: must be at least 10ms, got 0s; e.g. 1s`,
		`files.max_record_bytes: must be between 64KiB and 1GiB, got 1024 bytes; e.g. 16MiB`,
		`files.batch_size: must be at least 1, got 0; e.g. 500`,
		`files.max_batch_bytes: must be between 64KiB and 1GiB, got 2147483648 bytes; e.g. 2MiB (below what the exporter accepts in one request, see the README)`,
		`files.incomplete_record_timeout: must be positive, got 0s; e.g. 1m (longer than your slowest writer pauses inside a record)`,
	} {
		assert.ErrorContains(t, err, msg)
	}
}

func TestUnmarshalRejectsBadSizeAndUnknownKeys(t *testing.T) {
	_, err := loadConfig(t, "bad_size")
	assert.ErrorContains(t, err, `"16 megabytes" is not a size`)
	_, err = loadConfig(t, "unknown_key")
	assert.ErrorContains(t, err, "format")
	_, err = loadConfig(t, "tenants_unknown_key")
	assert.ErrorContains(t, err, "graph_sign_ins", "a tenant's misspelt block is an error, not a tenant without it")
}

func TestStartTimeIsRFC3339(t *testing.T) {
	cfg, err := loadConfig(t, "start_time_quoted")
	require.NoError(t, err)
	assert.True(t, time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC).Equal(cfg.Google.Get().StartTime), "a quoted RFC 3339 string as a YAML timestamp")
	_, err = loadConfig(t, "start_time_bad")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start_time")
	assert.Contains(t, err.Error(), `parsing time "last monday" as "2006-01-02T15:04:05Z07:00"`, "names the key and the layout it takes")
}

func TestByteSizeUnits(t *testing.T) {
	for text, want := range map[string]ByteSize{
		"0": 0, "512": 512, "2B": 2, "64KiB": 64 << 10, "16MiB": 16 << 20, "1GiB": 1 << 30,
		"10KB": 10_000, "5MB": 5_000_000, "1GB": 1_000_000_000, " 3 mib ": 3 << 20,
	} {
		var got ByteSize
		require.NoError(t, got.UnmarshalText([]byte(text)), text)
		assert.Equal(t, want, got, text)
	}
	for _, text := range []string{"", "MiB", "-1", "1.5MiB", "10TB", "99999999999GiB"} {
		var got ByteSize
		assert.Error(t, got.UnmarshalText([]byte(text)), text)
	}
}

func TestLoadAPIConfig(t *testing.T) {
	cfg, err := loadConfig(t, "o365")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg), "an API source alone is enough")
	o := cfg.O365.Get()
	require.NotNil(t, o)
	assert.Equal(t, configopaque.String("not-a-real-secret"), o.ClientSecret)
	assert.Equal(t, []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.General"}, o.ContentTypes)
	assert.Equal(t, "commercial", o.Cloud)
	assert.Equal(t, time.Minute, o.PollInterval)
	assert.Equal(t, time.Hour, o.Overlap)
	assert.Equal(t, 24*time.Hour, o.InitialLookback)
	assert.True(t, o.StartSubscriptions, "a new deployment's subscriptions are started")

	cfg, err = loadConfig(t, "o365_subscriptions_by_admin")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))
	assert.False(t, cfg.O365.Get().settings().StartSubscriptions)
	assert.Equal(t, []string{"login", "user_accounts", "admin", "token"}, createDefaultConfig().(*Config).Google.GetOrInsertDefault().Applications,
		"the default reads OAuth grants (token), which the persistence detections need")
	assert.False(t, cfg.Graph.HasValue())
	assert.False(t, cfg.Google.HasValue())

	cfg, err = loadConfig(t, "graph_beta")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))
	g := cfg.Graph.Get()
	assert.Equal(t, "gcc_high", g.Cloud)
	assert.Equal(t, "beta", g.APIVersion)
	assert.Equal(t, []string{"interactiveUser", "nonInteractiveUser"}, g.SignInEventTypes)
	assert.Equal(t, 30*time.Second, g.PollInterval)
	assert.True(t, time.Date(2025, 5, 31, 22, 0, 0, 0, time.UTC).Equal(g.settings().Poll.StartTime), g.StartTime)
	assert.Equal(t, 2*time.Hour, g.Overlap)
	assert.Equal(t, 30*time.Second, g.HTTP.Timeout)
	assert.Equal(t, "http://proxy.internal:3128", g.HTTP.ProxyURL)
	assert.Equal(t, "/etc/ssl/corp-ca.pem", g.HTTP.TLS.CAFile)

	cfg, err = loadConfig(t, "graph_risk")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))
	risk := cfg.GraphRisk.Get()
	assert.Equal(t, "v1.0", risk.APIVersion)
	assert.Equal(t, 500, risk.PageSize)
	assert.Equal(t, 5*time.Minute, risk.PollInterval)
	assert.Equal(t, 7*24*time.Hour, risk.Overlap, "updates of the week after detection are listed again")
	assert.Equal(t, 24*time.Hour, risk.MaxWindow)

	cfg, err = loadConfig(t, "google")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg))
	assert.Equal(t, []string{"login", "admin", "user_accounts", "gmail"}, cfg.Google.Get().Applications)
	assert.Equal(t, 3*time.Hour, cfg.Google.Get().Overlap)
	assert.Equal(t, []string{"/var/log/o365/*.json"}, cfg.Files.Include, "files and APIs together")
}

func TestValidateAPIKeysNameTheKeyAndFix(t *testing.T) {
	cfg, err := loadConfig(t, "api_invalid")
	require.NoError(t, err)
	err = cfg.Validate()
	for _, msg := range []string{
		`o365_management_api.tenant_id: required`,
		`o365_management_api.client_id: required`,
		`o365_management_api: set either client_secret or certificate_file, not both`,
		`o365_management_api.cloud: "moon" is not one of commercial, gcc, gcc_high, dod`,
		`o365_management_api.content_types[1]: "Audit.Email" is not one of Audit.AzureActiveDirectory, Audit.Exchange, Audit.General, Audit.SharePoint, DLP.All`,
		`o365_management_api.content_types[2]: "Audit.Exchange" is listed twice`,
		`o365_management_api.initial_lookback: at most 167h0m0s, got 200h0m0s`,
		`o365_management_api.max_window: at most 24h, got 48h0m0s`,
		`o365_management_api.base_url: "manage.office.com" is not an absolute http(s) URL`,
		`o365_management_api.http.endpoint: not used by this source; set o365_management_api.base_url instead`,
		`graph_signins.start_time: 2999-01-01T00:00:00Z is in the future; give the time the first poll should read from, in the past (or remove it to use initial_lookback)`,
		`graph_signins.sign_in_event_types: only the beta API filters on signInEventTypes`,
		`graph_signins.page_size: must be between 1 and 1000, got 5000`,
		`graph_signins.retry.max_attempts: must be at least 1, got 0`,
		`graph_signins.max_batch_bytes: must be between 64KiB and 1GiB, got 1024 bytes; e.g. 2MiB (below what the exporter accepts in one request, see the README)`,
		`graph_risk_detections.api_version: "v2" is not v1.0 or beta`,
		`graph_risk_detections.page_size: must be between 1 and 500, got 1000`,
		`google_workspace_reports.credentials_file: required`,
		`google_workspace_reports.subject: required, the email address of an administrator`,
		`google_workspace_reports.applications[0]: "Login" is not a Reports API application name`,
		`google_workspace_reports.poll_interval: must be at least 1s, got 10ms`,
	} {
		assert.ErrorContains(t, err, msg)
	}
}

func TestO365TenantIDMustBeTheDirectoryGUID(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	o365 := cfg.O365.GetOrInsertDefault()
	o365.TenantID, o365.ClientID, o365.ClientSecret = "contoso.onmicrosoft.com", "c", "s"
	o365.PublisherIdentifier = "contoso"
	err := cfg.Validate()
	assert.ErrorContains(t, err, `o365_management_api.tenant_id: "contoso.onmicrosoft.com" is not a GUID`)
	assert.ErrorContains(t, err, "Tenant ID")
	assert.ErrorContains(t, err, `o365_management_api.publisher_identifier: "contoso" is not a GUID`)

	o365.TenantID, o365.PublisherIdentifier = "0d2f5e1c-7c4a-4b8e-9f1d-3a6b2c8e4f70", ""
	assert.NoError(t, cfg.Validate())
}

func TestLoadTenantsConfig(t *testing.T) {
	cfg, err := loadConfig(t, "tenants")
	require.NoError(t, err)
	require.NoError(t, confmap.Validate(cfg), "tenants alone are enough")
	require.Len(t, cfg.Tenants, 2)
	assert.False(t, cfg.configured(), "the top level reads nothing")

	contoso := cfg.Tenants[0]
	assert.Equal(t, "contoso", contoso.Name)
	o := contoso.O365.Get()
	require.NotNil(t, o)
	assert.Equal(t, []string{"Audit.Exchange"}, o.ContentTypes)
	g := contoso.Graph.Get()
	require.NotNil(t, g)
	defaults := createDefaultConfig().(*Config)
	assert.Equal(t, *defaults.Graph.GetOrInsertDefault(), func() GraphConfig {
		c := *g
		c.MicrosoftAuthConfig = defaults.Graph.GetOrInsertDefault().MicrosoftAuthConfig
		return c
	}(), "a tenant's block takes the defaults of the top-level block")
	assert.Equal(t, "commercial", g.Cloud)
	assert.False(t, contoso.Google.HasValue())

	fabrikam := cfg.Tenants[1]
	assert.Equal(t, "fabrikam", fabrikam.Name)
	google := fabrikam.Google.Get()
	require.NotNil(t, google)
	assert.Equal(t, 10*time.Minute, google.PollInterval)
	assert.Equal(t, 3*time.Hour, google.Overlap)
	assert.Equal(t, []string{"login", "user_accounts", "admin", "token"}, google.Applications)
	assert.False(t, fabrikam.O365.HasValue())
}

func TestValidateTenantsNamesTheTenantsKey(t *testing.T) {
	cfg, err := loadConfig(t, "tenants_invalid")
	require.NoError(t, err)
	err = cfg.Validate()
	for _, msg := range []string{
		`tenants[0].name: "Contoso Ltd" is not a tenant name: use 1 to 63 lowercase letters, digits, _ and -, starting with a letter or digit, e.g. contoso`,
		`tenants[0].graph_signins.client_id: required`,
		`tenants[1]: no API block; give the tenant at least one of o365_management_api, graph_signins, graph_risk_detections, google_workspace_reports`,
		`tenants[2].name: "fabrikam" is already the name of tenants[1]; each tenant needs its own`,
		`tenants[2].google_workspace_reports.credentials_file: required`,
		`tenants[2].google_workspace_reports.subject: required`,
		`tenants[3].name: required, the name written on the tenant's records as tenant.name, e.g. contoso`,
		`tenants[3].o365_management_api.tenant_id: "contoso.onmicrosoft.com" is not a GUID`,
	} {
		assert.ErrorContains(t, err, msg)
	}
	assert.NotContains(t, err.Error(), "files.include", "tenants are a source")
}
