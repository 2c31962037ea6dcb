package auditlogreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
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

func TestLoadConfig(t *testing.T) {
	storageID := component.MustNewIDWithName("file_storage", "audit")
	tests := []struct {
		name string
		want *Config
	}{
		{"", &Config{Files: FilesConfig{
			Include:        []string{"/var/log/o365/*.json"},
			PollInterval:   time.Second,
			MaxRecordBytes: 16 << 20,
			BatchSize:      500,
		}}},
		{"full", &Config{
			Files: FilesConfig{
				Include:        []string{"/var/log/o365/*.json", "/var/log/entra/*.json.gz"},
				Exclude:        []string{"/var/log/o365/*.tmp.json"},
				PollInterval:   30 * time.Second,
				MaxRecordBytes: 4 << 20,
				BatchSize:      100,
			},
			StorageID: &storageID,
		}},
		{"int_size", &Config{Files: FilesConfig{
			Include:        []string{"/exports/*.csv"},
			PollInterval:   time.Second,
			MaxRecordBytes: 1 << 20,
			BatchSize:      500,
		}}},
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
	assert.EqualError(t, confmap.Validate(cfg), `files.include: at least one glob is required, e.g. ["/var/log/o365/*.json"]`)

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
	} {
		assert.ErrorContains(t, err, msg)
	}
}

func TestUnmarshalRejectsBadSizeAndUnknownKeys(t *testing.T) {
	_, err := loadConfig(t, "bad_size")
	assert.ErrorContains(t, err, `"16 megabytes" is not a size`)
	_, err = loadConfig(t, "unknown_key")
	assert.ErrorContains(t, err, "format")
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
