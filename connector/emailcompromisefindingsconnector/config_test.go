package emailcompromisefindingsconnector

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	storageID := component.MustNewIDWithName("file_storage", "findings")

	tests := []struct {
		name     string
		expected *Config
		wantErrs []string
	}{
		{name: "", expected: createDefaultConfig().(*Config)},
		{
			name: "full",
			expected: func() *Config {
				c := createDefaultConfig().(*Config)
				c.QuietPeriod = time.Hour
				c.AllowedLateness = 2 * time.Hour
				c.MaxEvidence = 8
				c.Severities = []string{"high", "critical"}
				c.OCSFVersion = "1.1.0"
				c.FlushInterval = 5 * time.Second
				c.Storage = &storageID
				c.State = StateConfig{MaxFindings: 5000, Retention: 72 * time.Hour, SnapshotInterval: 30 * time.Second}
				return c
			}(),
		},
		{name: "bad_severity", wantErrs: []string{`severities[0]: "severe" is not a severity; use low, medium, high or critical`}},
		{name: "bad_version", wantErrs: []string{`ocsf_version: "1.0.0" is not an OCSF release with Detection Finding; write 1.1.0 or later, e.g. 1.3.0 (the default)`}},
		{name: "bad_periods", wantErrs: []string{
			"quiet_period: must be a positive duration; e.g. 30m",
			"allowed_lateness: must not be negative; use the processor's allowed_lateness",
			"flush_interval: must be a positive duration; e.g. 1s (the default)",
		}},
		{name: "bad_state", wantErrs: []string{
			"max_evidence: 0 is out of range; use 1 to 1000, e.g. 32 (the default)",
			"state.max_findings: must be positive; e.g. 100000 (the default)",
			"state.retention: 1h0m0s is shorter than allowed_lateness plus quiet_period (24h30m0s)",
			"state.snapshot_interval: must be a positive duration; e.g. 1m (the default)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := cm.Sub(component.NewIDWithName(metadata.Type, tt.name).String())
			require.NoError(t, err)
			cfg := createDefaultConfig()
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if len(tt.wantErrs) > 0 {
				require.Error(t, err)
				for _, want := range tt.wantErrs {
					assert.Contains(t, err.Error(), want)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestOCSFVersions(t *testing.T) {
	for v, ok := range map[string]bool{"1.1.0": true, "1.3.0": true, "1.12.2": true, "1.0.0": false, "2.0.0": false, "1.3": false, "1.03.0": false, "v1.3.0": false, "": false} {
		assert.Equal(t, ok, validOCSFVersion(v), v)
	}
}
