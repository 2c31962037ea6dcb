package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/metadata"
)

// NewFactory returns the factory of the email_compromise processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithLogs(createLogsProcessor, metadata.LogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Output: OutputAll,
		State: StateConfig{
			MaxUsers:         200_000,
			TTL:              30 * 24 * time.Hour,
			SnapshotInterval: time.Minute,
		},
		Detectors: DetectorsConfig{
			InboxRule:         InboxRuleConfig{Enabled: true},
			MailboxForwarding: DetectorToggle{Enabled: true},
		},
	}
}

func createLogsProcessor(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return newEmailCompromiseProcessor(set, cfg.(*Config), next)
}
