package auditlogreceiver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

func TestFactoryDefaults(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, metadata.Type, f.Type())
	assert.Equal(t, metadata.LogsStability, f.LogsStability())
	cfg := f.CreateDefaultConfig().(*Config)
	assert.Equal(t, FilesConfig{PollInterval: time.Second, MaxRecordBytes: 16 << 20, BatchSize: 500, MaxBatchBytes: 2 << 20, IncompleteRecordTimeout: time.Minute}, cfg.Files)
	assert.Nil(t, cfg.StorageID)
	assert.False(t, cfg.O365.HasValue() || cfg.Graph.HasValue() || cfg.Google.HasValue(), "API sources are off until their block appears")
	assert.NoError(t, componenttest.CheckConfigStruct(cfg))
}

func TestFactoryCreatesLogsReceiver(t *testing.T) {
	cfg := testConfig(t.TempDir() + "/*.json")
	r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
}
