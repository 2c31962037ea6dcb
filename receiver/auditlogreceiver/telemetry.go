package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// sourceLabel names a source in the receiver's metrics: source is the key
// of its block (files, graph_signins, ...), tenant the tenant whose block it
// is, empty at the top level.
type sourceLabel struct {
	tenant, source string
}

// attributes is the attribute set of the source's metric points: source,
// tenant when there is one, and extra.
func (l sourceLabel) attributes(extra ...attribute.KeyValue) metric.MeasurementOption {
	kvs := append([]attribute.KeyValue{attribute.String("source", l.source)}, extra...)
	if l.tenant != "" {
		kvs = append(kvs, attribute.String("tenant", l.tenant))
	}
	return metric.WithAttributeSet(attribute.NewSet(kvs...))
}

// sourceMetrics counts what one source reports into the receiver's
// telemetry, every point carrying the source's label. It is the Metrics of
// the file source and of the vendor API sources: they know no metric names.
type sourceMetrics struct {
	tb    *metadata.TelemetryBuilder
	label sourceLabel
	attrs metric.MeasurementOption
}

func (r *auditLogReceiver) metrics(label sourceLabel) sourceMetrics {
	return sourceMetrics{tb: r.telemetry, label: label, attrs: label.attributes()}
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
	m.tb.AuditLogAPILag.Record(ctx, seconds, m.label.attributes(attribute.String("stream", stream)))
}
