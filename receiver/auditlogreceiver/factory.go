package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"
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
			// Ordinary batches (500 records of 1.7 KB on average) are cut
			// by count; a burst of large records is cut at 2 MiB, whose
			// OTLP encoding (about 1.5 times the raw bytes) stays under
			// the 4 MiB a gRPC server accepts in one message by default.
			MaxBatchBytes: 2 << 20,
			// A gzip writer may hold a block back for many seconds at a
			// low record rate; a minute outlasts that and only delays the
			// report of an export that really was cut short.
			IncompleteRecordTimeout: time.Minute,
		},
		APISourcesConfig: defaultAPISources(),
	}
}

// defaultAPISources are the API blocks of the top level and of every
// tenant: off until their key appears; then these defaults apply to what the
// block leaves out.
func defaultAPISources() APISourcesConfig {
	return APISourcesConfig{
		O365: configoptional.Default(O365Config{
			MicrosoftAuthConfig: MicrosoftAuthConfig{Cloud: "commercial"},
			ContentTypes:        []string{"Audit.AzureActiveDirectory", "Audit.Exchange", "Audit.General"},
			// Nothing is listed before a subscription is started, and a
			// new deployment should read without an administrator's
			// extra step (README: start_subscriptions).
			StartSubscriptions: true,
			// Content is listed by when it became available, which trails
			// the events by minutes to hours; an hour of overlap absorbs
			// listings that show a blob late.
			APIPollConfig: defaultAPIPollConfig(time.Minute, time.Hour),
		}),
		Graph: configoptional.Default(GraphConfig{
			MicrosoftAuthConfig: MicrosoftAuthConfig{Cloud: "commercial"},
			APIVersion:          "v1.0",
			PageSize:            vendorapi.MaxGraphPageSize,
			// Sign-ins are listed by event time and usually appear within
			// minutes, sometimes much later.
			APIPollConfig: defaultAPIPollConfig(time.Minute, time.Hour),
		}),
		GraphRisk: configoptional.Default(GraphRiskConfig{
			MicrosoftAuthConfig: MicrosoftAuthConfig{Cloud: "commercial"},
			APIVersion:          "v1.0",
			PageSize:            vendorapi.MaxGraphRiskPageSize,
			// Risk detections are few (a handful a day in most tenants),
			// listed by when they were detected, and updated later when
			// someone acts on them: a week of overlap lists each again,
			// with its new riskState, for the week in which most are
			// dismissed, remediated or confirmed; day-long windows keep
			// that to eight requests a poll.
			APIPollConfig: func() APIPollConfig {
				c := defaultAPIPollConfig(5*time.Minute, 7*24*time.Hour)
				c.MaxWindow = 24 * time.Hour
				return c
			}(),
		}),
		Google: configoptional.Default(GoogleConfig{
			// token: OAuth grants to third-party apps (authorize events),
			// which the persistence/mail_app_consent detection reads.
			Applications: []string{"login", "user_accounts", "admin", "token"},
			PageSize:     vendorapi.MaxGooglePageSize,
			// Google documents lags of up to a few hours for some
			// applications' events, listed by event time.
			APIPollConfig: defaultAPIPollConfig(5*time.Minute, 3*time.Hour),
		}),
	}
}

func defaultAPIPollConfig(pollInterval, overlap time.Duration) APIPollConfig {
	httpCfg := confighttp.NewDefaultClientConfig()
	httpCfg.Timeout = time.Minute
	return APIPollConfig{
		PollInterval:    pollInterval,
		InitialLookback: 24 * time.Hour,
		Overlap:         overlap,
		MaxWindow:       time.Hour,
		BatchSize:       500,
		MaxBatchBytes:   2 << 20, // as files.max_batch_bytes
		MaxSeenIDs:      100_000,
		Retry: RetryConfig{
			MaxAttempts:     5,
			InitialInterval: time.Second,
			MaxInterval:     time.Minute,
		},
		HTTP: httpCfg,
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newAuditLogReceiver(set, cfg.(*Config), next)
}
