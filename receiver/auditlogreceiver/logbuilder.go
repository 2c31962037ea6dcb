package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// recordBuilder turns one raw vendor record into one log record, whatever
// the source: the record decoded into the body, its event time, operation
// and contract attributes; or, when it cannot be decoded or parsed, its raw
// text as body and audit.parse_error saying why.
type recordBuilder struct {
	limits jsonpdata.Limits
	// view is reused from record to record: Parse resets it.
	view   auditrecord.Record
	counts recordCounts
}

// recordCounts are counted per record and reported per batch, which keeps
// metric calls off the per-record path.
type recordCounts struct {
	read, parseErrors, unrecognized int64
}

func newRecordBuilder(maxRecordBytes int) recordBuilder {
	return recordBuilder{limits: jsonpdata.Limits{MaxBytes: maxRecordBytes}}
}

// build fills lr and reports whether the record parsed; when it did, b.view
// holds its normalised view until the next call.
func (b *recordBuilder) build(raw rawRecord, lr plog.LogRecord) bool {
	b.counts.read++
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	if raw.problem != "" {
		b.fail(lr, raw.data, raw.problem)
		return false
	}
	body := lr.Body().SetEmptyMap()
	if err := jsonpdata.DecodeMap(raw.data, body, b.limits); err != nil {
		b.fail(lr, raw.data, decodeProblem(err, raw))
		return false
	}
	if err := auditrecord.Parse(body, &b.view); err != nil {
		if errors.Is(err, auditrecord.ErrUnrecognized) {
			b.counts.unrecognized++
		}
		b.fail(lr, raw.data, err.Error())
		return false
	}
	lr.SetTimestamp(pcommon.NewTimestampFromTime(b.view.Time))
	lr.SetEventName(b.view.Operation)
	b.view.PutAttributes(lr.Attributes())
	return true
}

// fail keeps the record's raw text as body, so nothing the vendor wrote is
// lost, and says what was wrong.
func (b *recordBuilder) fail(lr plog.LogRecord, raw []byte, problem string) {
	b.counts.parseErrors++
	if utf8.Valid(raw) {
		lr.Body().SetStr(string(raw))
	} else {
		lr.Body().SetEmptyBytes().FromRaw(raw)
	}
	lr.Attributes().PutStr(auditrecord.AttrParseError, problem)
}

// report adds the counts so far to the receiver's metrics and resets them.
func (b *recordBuilder) report(ctx context.Context, tb *metadata.TelemetryBuilder, attrs metric.MeasurementOption) {
	tb.AuditLogRecordsRead.Add(ctx, b.counts.read, attrs)
	tb.AuditLogParseErrors.Add(ctx, b.counts.parseErrors, attrs)
	tb.AuditLogUnrecognizedRecords.Add(ctx, b.counts.unrecognized, attrs)
	b.counts = recordCounts{}
}

// decodeProblem says where the record's JSON went wrong: at an offset of the
// stream it was read from (a file, decompressed; an API record is a stream of
// its own), or, in a CSV cell whose escapes were undone, at a byte of the
// cell.
func decodeProblem(err error, raw rawRecord) string {
	var syntax *jsonpdata.SyntaxError
	switch {
	case !errors.As(err, &syntax):
		return "invalid JSON: " + err.Error()
	case raw.csvCell:
		return fmt.Sprintf("invalid JSON at byte %d of the AuditData cell at offset %d: %s", syntax.Offset, raw.offset, syntax.Msg)
	}
	return fmt.Sprintf("invalid JSON at offset %d: %s", raw.offset+syntax.Offset, syntax.Msg)
}
