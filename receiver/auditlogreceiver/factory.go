package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// NewFactory returns the factory of the audit_log receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Files: FilesConfig{
			PollInterval:   time.Second,
			MaxRecordBytes: 16 << 20,
			BatchSize:      500,
		},
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newAuditLogReceiver(set, cfg.(*Config), next)
}
