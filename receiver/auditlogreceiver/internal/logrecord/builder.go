package logrecord // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
)

// Raw is one record cut out of a stream.
type Raw struct {
	// Data is valid until the reader's next call.
	Data []byte
	// Offset is where the record starts in the decompressed stream (an API
	// record is a stream of its own).
	Offset int64
	// Problem, when set, says why Data is not a whole record; it becomes the
	// audit.parse_error attribute without any attempt to decode Data.
	Problem string
	// CSVCell: Data is a CSV cell with its "" escapes undone, so a position
	// in Data is not Offset bytes further into the stream.
	CSVCell bool
}

// Builder turns one raw vendor record into one log record, whatever the
// source: the record decoded into the body, its event time, operation and
// contract attributes; or, when it cannot be decoded or parsed, its raw text
// as body and audit.parse_error saying why.
type Builder struct {
	limits jsonpdata.Limits
	// view is reused from record to record: Parse resets it.
	view   auditrecord.Record
	counts Counts
}

// Counts are counted per record and reported per batch, which keeps metric
// calls off the per-record path.
type Counts struct {
	// Read counts every record built, parsed or not.
	Read int64
	// ParseErrors counts the records passed on with audit.parse_error.
	ParseErrors int64
	// Unrecognized counts the well-formed records of no known vendor shape
	// (also counted in ParseErrors).
	Unrecognized int64
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Read += o.Read
	c.ParseErrors += o.ParseErrors
	c.Unrecognized += o.Unrecognized
}

// NewBuilder returns a builder that decodes records of at most
// maxRecordBytes.
func NewBuilder(maxRecordBytes int) Builder {
	return Builder{limits: jsonpdata.Limits{MaxBytes: maxRecordBytes}}
}

// Build fills lr and reports whether the record parsed; when it did, View
// holds its normalised view until the next call.
func (b *Builder) Build(raw Raw, lr plog.LogRecord) bool {
	b.counts.Read++
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	if raw.Problem != "" {
		b.fail(lr, raw.Data, raw.Problem)
		return false
	}
	body := lr.Body().SetEmptyMap()
	if err := jsonpdata.DecodeMap(raw.Data, body, b.limits); err != nil {
		b.fail(lr, raw.Data, decodeProblem(err, raw))
		return false
	}
	if err := auditrecord.Parse(body, &b.view); err != nil {
		if errors.Is(err, auditrecord.ErrUnrecognized) {
			b.counts.Unrecognized++
		}
		b.fail(lr, raw.Data, err.Error())
		return false
	}
	lr.SetTimestamp(pcommon.NewTimestampFromTime(b.view.Time))
	lr.SetEventName(b.view.Operation)
	b.view.PutAttributes(lr.Attributes())
	return true
}

// View is the normalised view of the record the last Build parsed.
func (b *Builder) View() *auditrecord.Record { return &b.view }

// fail keeps the record's raw text as body, so nothing the vendor wrote is
// lost, and says what was wrong.
func (b *Builder) fail(lr plog.LogRecord, raw []byte, problem string) {
	b.counts.ParseErrors++
	if utf8.Valid(raw) {
		lr.Body().SetStr(string(raw))
	} else {
		lr.Body().SetEmptyBytes().FromRaw(raw)
	}
	lr.Attributes().PutStr(auditrecord.AttrParseError, problem)
}

// TakeCounts returns the counts since the last call and resets them.
func (b *Builder) TakeCounts() Counts {
	c := b.counts
	b.counts = Counts{}
	return c
}

// decodeProblem says where the record's JSON went wrong: at an offset of the
// stream it was read from (a file, decompressed; an API record is a stream of
// its own), or, in a CSV cell whose escapes were undone, at a byte of the
// cell.
func decodeProblem(err error, raw Raw) string {
	var syntax *jsonpdata.SyntaxError
	switch {
	case !errors.As(err, &syntax):
		return "invalid JSON: " + err.Error()
	case raw.CSVCell:
		return fmt.Sprintf("invalid JSON at byte %d of the AuditData cell at offset %d: %s", syntax.Offset, raw.Offset, syntax.Msg)
	}
	return fmt.Sprintf("invalid JSON at offset %d: %s", raw.Offset+syntax.Offset, syntax.Msg)
}
