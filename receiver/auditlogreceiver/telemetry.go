package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// sourceMetrics counts what one source reports into the receiver's
// telemetry, every point carrying the source's name. It is the Metrics of
// the file source and of the vendor API sources: they know no metric names.
type sourceMetrics struct {
	tb     *metadata.TelemetryBuilder
	source string
	attrs  metric.MeasurementOption
}

func (r *auditLogReceiver) metrics(source string) sourceMetrics {
	return sourceMetrics{tb: r.telemetry, source: source, attrs: sourceAttrs(source)}
}

// sourceAttrs is the attribute set every metric of one source carries.
func sourceAttrs(source string) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("source", source)))
}

func (m sourceMetrics) RecordsBuilt(ctx context.Context, c logrecord.Counts) {
	m.tb.AuditLogRecordsRead.Add(ctx, c.Read, m.attrs)
	m.tb.AuditLogParseErrors.Add(ctx, c.ParseErrors, m.attrs)
	m.tb.AuditLogUnrecognizedRecords.Add(ctx, c.Unrecognized, m.attrs)
}

func (m sourceMetrics) ReadError(ctx context.Context) {
	m.tb.AuditLogReadErrors.Add(ctx, 1, m.attrs)
}

func (m sourceMetrics) Page(ctx context.Context) {
	m.tb.AuditLogAPIPages.Add(ctx, 1, m.attrs)
}

func (m sourceMetrics) Retry(ctx context.Context) {
	m.tb.AuditLogAPIRetries.Add(ctx, 1, m.attrs)
}

func (m sourceMetrics) Throttle(ctx context.Context) {
	m.tb.AuditLogAPIThrottles.Add(ctx, 1, m.attrs)
}

func (m sourceMetrics) DuplicateRecords(ctx context.Context, n int64) {
	m.tb.AuditLogAPIDuplicateRecords.Add(ctx, n, m.attrs)
}

func (m sourceMetrics) ExpiredContent(ctx context.Context) {
	m.tb.AuditLogAPIExpiredContent.Add(ctx, 1, m.attrs)
}

func (m sourceMetrics) SeenIDsEvicted(ctx context.Context, n int64) {
	m.tb.AuditLogAPISeenIdsEvicted.Add(ctx, n, m.attrs)
}

func (m sourceMetrics) AuthFailing(ctx context.Context, failing bool) {
	var v int64
	if failing {
		v = 1
	}
	m.tb.AuditLogAPIAuthFailing.Record(ctx, v, m.attrs)
}

func (m sourceMetrics) Lag(ctx context.Context, stream string, seconds float64) {
	m.tb.AuditLogAPILag.Record(ctx, seconds, metric.WithAttributeSet(attribute.NewSet(
		attribute.String("source", m.source), attribute.String("stream", stream))))
}
