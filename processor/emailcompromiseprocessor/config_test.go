package emailcompromiseprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	storageID := component.MustNewIDWithName("file_storage", "state")

	tests := []struct {
		id       component.ID
		expected *Config
		wantErr  string
	}{
		{id: component.NewID(metadata.Type), expected: createDefaultConfig().(*Config)},
		{
			id: component.NewIDWithName(metadata.Type, "full"),
			expected: func() *Config {
				c := createDefaultConfig().(*Config)
				c.OrganizationDomains = []string{"contoso.com", "contoso.co.uk"}
				c.TrustedNetworks = []string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7"}
				c.Admins = []string{"it-admin@contoso.com"}
				c.ChangeWindows = []ChangeWindowConfig{{
					Actors:  []string{"it-admin@contoso.com", "5b0a6d52-1c8e-4b4a-9f0e-3f1f2d0c0a11"},
					Targets: []string{"*@contoso.com"},
					Start:   time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC),
					End:     time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC),
				}}
				c.AuthorizedSenders = []string{"newsletter@contoso.com", "3c1a6f0e-2222-4d4d-8888-000000000001"}
				c.AutomationApps = []string{"5b0a6d52-1c8e-4b4a-9f0e-3f1f2d0c0a11"}
				c.ServiceAccounts = []string{"scanner@contoso.com"}
				c.SharedMailboxes = []string{"info@contoso.com"}
				c.Output = OutputDetectionsOnly
				c.Storage = &storageID
				c.State = StateConfig{MaxUsers: 50000, TTL: 240 * time.Hour, SnapshotInterval: 30 * time.Second}
				c.Detectors.InboxRule = InboxRuleConfig{Enabled: true, Keywords: []string{"invoice", "rechnung"}, HidingFolders: []string{"RSS Feeds", "Notes"}}
				c.Detectors.MailboxForwarding.Enabled = false
				c.Detectors.IdPRisk.TrustedNetworkAction = "suppress"
				c.Detectors.PasswordSpray.MinUsers = 20
				c.Detectors.ImpossibleTravel.VPNASNs = []uint32{9009}
				c.Detectors.Anonymizer.HostingASNs = []uint32{14061, 16509}
				return c
			}(),
		},
		{id: component.NewIDWithName(metadata.Type, "bad_domain"), wantErr: `organization_domains[0]: "@contoso.com" is not a domain; write a bare domain such as contoso.com`},
		{id: component.NewIDWithName(metadata.Type, "bad_network"), wantErr: `trusted_networks[0]: "10.0.0.0/33" is not a CIDR or IP address`},
		{id: component.NewIDWithName(metadata.Type, "bad_window"), wantErr: `change_windows[0].targets: list the mailboxes the window covers`},
		{id: component.NewIDWithName(metadata.Type, "bad_window"), wantErr: `change_windows[0].end: must be after start (2026-11-28T06:00:00Z)`},
		{id: component.NewIDWithName(metadata.Type, "bad_time"), wantErr: `'change_windows[0].start' parsing time "tomorrow"`},
		{id: component.NewIDWithName(metadata.Type, "bad_output"), wantErr: `output: "tagged_only" is not a mode; use "all" (pass every record) or "detections_only"`},
		{id: component.NewIDWithName(metadata.Type, "bad_state"), wantErr: `state.max_users: must be positive`},
		{id: component.NewIDWithName(metadata.Type, "bad_geoip"), wantErr: `geoip.city_database: cannot read "/nonexistent/GeoLite2-City.mmdb"`},
		{id: component.NewIDWithName(metadata.Type, "bad_detectors"), wantErr: `detectors.identity_provider_risk.trusted_network_action: "ignore" is not an action; use "downgrade" or "suppress"`},
		{id: component.NewIDWithName(metadata.Type, "bad_detectors"), wantErr: `detectors.brute_force.window: must be a positive duration; e.g. 30m`},
		{id: component.NewIDWithName(metadata.Type, "bad_detectors"), wantErr: `detectors.anonymizer.networks[0]: "tor" is not a CIDR`},
		{id: component.NewIDWithName(metadata.Type, "bad_detectors"), wantErr: `detectors.bulk_send.learning_hours: -5 is out of range; use 0 to 192`},
		{id: component.NewIDWithName(metadata.Type, "bad_detectors"), wantErr: `detectors.thread_hijack.min_known_ips: 50 is out of range; use 0 to 8`},
		{id: component.NewIDWithName(metadata.Type, "bad_detectors"), wantErr: `detectors.impossible_travel.familiar_sign_ins: 0 is out of range; use 1 to 16`},
		{id: component.NewIDWithName(metadata.Type, "bad_detectors"), wantErr: `detectors.new_location.learning_sign_ins: 1000 is too many; use at most 100`},
		{id: component.NewIDWithName(metadata.Type, "bad_lateness"), wantErr: `allowed_lateness: must not be negative`},
		{
			id: component.NewIDWithName(metadata.Type, "tenants"),
			expected: func() *Config {
				c := createDefaultConfig().(*Config)
				c.OrganizationDomains = []string{"contoso.com"}
				c.Tenants = []TenantConfig{
					{ID: "0e8108b1-18e9-41a4-961b-dfcddf92ef08", Name: "contoso", PolicyConfig: PolicyConfig{
						OrganizationDomains: []string{"contoso.com", "contoso.onmicrosoft.com"}, TrustedNetworks: []string{"203.0.113.0/24"}}},
					{Name: "fabrikam", PolicyConfig: PolicyConfig{OrganizationDomains: []string{"fabrikam.co.uk"}, Admins: []string{"admin@fabrikam.co.uk"}}},
				}
				return c
			}(),
		},
		{id: component.NewIDWithName(metadata.Type, "bad_tenants"), wantErr: `tenants[0]: give the tenant an id (its Entra tenant id or Google customer id, as in cloud.account.id) or a name`},
		{id: component.NewIDWithName(metadata.Type, "bad_tenants"), wantErr: `tenants[2]: "fabrikam" is already tenants[1]; each id and name may name one tenant`},
		{id: component.NewIDWithName(metadata.Type, "bad_tenants"), wantErr: `tenants[1].trusted_networks[0]: "10.0.0.0/33" is not a CIDR or IP address`},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}
