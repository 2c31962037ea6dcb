package auditlogreceiver

import (
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadatatest"
)

// testConfig reads the files matching include with test-friendly timing.
func testConfig(include ...string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Files.Include = include
	cfg.Files.PollInterval = 10 * time.Millisecond
	return cfg
}

// newTestReceiver builds a receiver whose retries wait a millisecond, with
// its telemetry readable through tt.
func newTestReceiver(t *testing.T, cfg *Config, next consumer.Logs, tt *componenttest.Telemetry) *auditLogReceiver {
	t.Helper()
	set := receivertest.NewNopSettings(metadata.Type)
	if tt != nil {
		set = metadatatest.NewSettings(tt)
	}
	// Stable, as in a collector config: storage clients are per receiver ID.
	set.ID = component.NewID(metadata.Type)
	r, err := newAuditLogReceiver(set, cfg, next)
	require.NoError(t, err)
	r.newBackOff = func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) }
	return r
}

// storageHost offers a file-backed storage extension in dir, which keeps its
// data across receivers as file_storage keeps it across restarts.
func storageHost(dir string) (component.Host, *component.ID) {
	ext := storagetest.NewFileBackedStorageExtension("checkpoints", dir)
	return storagetest.NewStorageHost().WithExtension(ext.ID, ext), &ext.ID
}
