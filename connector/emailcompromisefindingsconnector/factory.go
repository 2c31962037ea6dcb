package emailcompromisefindingsconnector // import "github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/metadata"
)

// NewFactory returns the factory of the email_compromise_findings connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithLogsToLogs(createLogsToLogs, metadata.LogsToLogsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		QuietPeriod:     30 * time.Minute,
		AllowedLateness: 24 * time.Hour,
		MaxEvidence:     32,
		// A low detection alone (a new country, a new network) is context
		// for an analyst, not an alert: it joins a finding that a higher
		// one opens.
		Severities:    []string{"medium", "high", "critical"},
		OCSFVersion:   "1.3.0",
		FlushInterval: time.Second,
		State: StateConfig{
			MaxFindings:      100_000,
			Retention:        7 * 24 * time.Hour,
			SnapshotInterval: time.Minute,
		},
	}
}

func createLogsToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	return newFindingsConnector(set, cfg.(*Config), next)
}
