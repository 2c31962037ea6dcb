package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
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
		Output:            OutputAll,
		SuppressionPeriod: time.Hour,
		AllowedLateness:   24 * time.Hour,
		State: StateConfig{
			MaxUsers:         200_000,
			TTL:              30 * 24 * time.Hour,
			SnapshotInterval: time.Minute,
		},
		Detectors: DetectorsConfig{
			InboxRule:         InboxRuleConfig{Enabled: true},
			MailboxForwarding: DetectorToggle{Enabled: true},
			IdPRisk:           IdPRiskConfig{Enabled: true, TrustedNetworkAction: detection.TrustedNetworkDowngrade},
			LegacyAuth:        LegacyAuthConfig{Enabled: true},
			PasswordSpray:     PasswordSprayConfig{Enabled: true, MinUsers: 10, Window: 30 * time.Minute, MaxSources: 100_000},
			BruteForce:        BruteForceConfig{Enabled: true, MinFailures: 10, Window: 30 * time.Minute},
			MFAFatigue:        MFAFatigueConfig{Enabled: true, MinPrompts: 5, Window: 10 * time.Minute},
			Anonymizer:        AnonymizerConfig{Enabled: true},
			NewLocation:       NewLocationConfig{Enabled: true, LearningPeriod: 14 * 24 * time.Hour, LearningSignIns: 10},
			ImpossibleTravel:  ImpossibleTravelConfig{Enabled: true, MaxSpeedKmh: 900, MinDistanceKm: 500, FamiliarSignIns: 3},
			TransportRule:     DetectorToggle{Enabled: true},
			Delegation:        DetectorToggle{Enabled: true},
			BulkSend:          BulkSendConfig{Enabled: true, Factor: 5, Floor: 50, LearningHours: 72},
			ThreadHijack:      ThreadHijackConfig{Enabled: true, RiskWindow: 24 * time.Hour, DeleteWindow: 30 * time.Minute, MinKnownIPs: 3},
			SessionHijack:     SessionHijackConfig{Enabled: true, Window: 2 * time.Hour},
			DeviceCode:        DetectorToggle{Enabled: true},
			Persistence:       PersistenceConfig{Enabled: true, RiskWindow: 24 * time.Hour, MinKnownIPs: 3},
			AccountLockout:    AccountLockoutConfig{Enabled: true, MinLockouts: 3, Window: 30 * time.Minute},
			MailCollection:    MailCollectionConfig{Enabled: true, Factor: 3, Floor: 200, Window: time.Hour, LearningHours: 72, ConsentWindow: 24 * time.Hour},
			Chain:             ChainConfig{Enabled: true, StageTwoWindow: time.Hour, Window: 24 * time.Hour},
		},
	}
}

func createLogsProcessor(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return newEmailCompromiseProcessor(set, cfg.(*Config), next)
}
