package loadgen

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
)

// Split says how records are spread over files.
type Split uint8

const (
	// SplitHour writes one file per shape and hour, named so that sorting
	// the names sorts the records by hour and, within an hour, puts
	// sign-ins before mailbox records, so that each detection lands on the
	// record Expected names. Azure Monitor exports to storage land in
	// hourly blobs the same way (PT1H.json).
	SplitHour Split = iota
	// SplitDay writes one file per shape and day.
	SplitDay
	// SplitNone writes one file per shape. The receiver reads files one
	// after another, so cross-source detections (a Graph sign-in followed
	// by an Exchange inbox rule) arrive out of event order; the processor
	// finds the same detections (tests/order), though a detection completed
	// late is tagged on the record that completed it, not always the one
	// Expected names.
	SplitNone
)

// ParseSplit reads "hour", "day" or "none".
func ParseSplit(s string) (Split, error) {
	switch s {
	case "hour", "":
		return SplitHour, nil
	case "day":
		return SplitDay, nil
	case "none":
		return SplitNone, nil
	}
	return 0, fmt.Errorf("loadgen: split %q is not hour, day or none", s)
}

// FileName is the file a record at t of shape s goes to.
func (sp Split) FileName(t time.Time, s Shape) string {
	switch sp {
	case SplitHour:
		return fmt.Sprintf("%s-%d-%s.jsonl", t.UTC().Format("20060102T15"), s, s)
	case SplitDay:
		return fmt.Sprintf("%s-%d-%s.jsonl", t.UTC().Format("20060102"), s, s)
	}
	return fmt.Sprintf("%d-%s.jsonl", s, s)
}

// FileStats is what WriteFiles wrote.
type FileStats struct {
	Files   []string
	Records int
	Bytes   int64
}

// WriteFiles writes every record as JSON lines under dir, which it creates.
func (g *Generator) WriteFiles(dir string, split Split) (FileStats, error) {
	return g.WriteFilesWith(dir, split, nil)
}

// WriteFilesWith is WriteFiles for the records keep accepts (every record
// when keep is nil): the caller writes the others elsewhere, as an export
// that arrives another way.
func (g *Generator) WriteFilesWith(dir string, split Split, keep func(*Record) bool) (FileStats, error) {
	var st FileStats
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	type open struct {
		name string
		f    *os.File
		w    *bufio.Writer
	}
	var files [numShapes]*open
	seen := map[string]bool{}
	closeFile := func(o *open) error {
		if o == nil {
			return nil
		}
		return errors.Join(o.w.Flush(), o.f.Close())
	}
	err := g.Each(func(r *Record) error {
		if keep != nil && !keep(r) {
			return nil
		}
		name := split.FileName(r.Time, r.Shape)
		o := files[r.Shape]
		if o == nil || o.name != name {
			if err := closeFile(o); err != nil {
				return err
			}
			flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
			if seen[name] {
				flags = os.O_WRONLY | os.O_APPEND
			}
			f, err := os.OpenFile(filepath.Join(dir, name), flags, 0o644)
			if err != nil {
				return err
			}
			if !seen[name] {
				seen[name] = true
				st.Files = append(st.Files, name)
			}
			o = &open{name: name, f: f, w: bufio.NewWriterSize(f, 256<<10)}
			files[r.Shape] = o
		}
		st.Records++
		st.Bytes += int64(len(r.JSON) + 1)
		if _, err := o.w.Write(r.JSON); err != nil {
			return err
		}
		return o.w.WriteByte('\n')
	})
	for _, o := range files {
		err = errors.Join(err, closeFile(o))
	}
	return st, err
}

// ScopeName is the instrumentation scope of the audit_log receiver.
const ScopeName = "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

// Log-file attributes the receiver adds.
const (
	attrFileName = "log.file.name"
	attrFilePath = "log.file.path"
)

// BatchBuilder turns records into plog.Logs exactly as the audit_log
// receiver emits them: the vendor record decoded into a map body, event
// time, observed time, event name, the record contract's attributes and the
// log-file attributes, one ResourceLogs per file (per shape here).
type BatchBuilder struct {
	size int
	// perShape holds the batch's records of each shape until the batch is
	// complete; it is then assembled in shape (file) order, as the receiver
	// reads the files of one hour.
	perShape [numShapes]plog.Logs
	slots    [numShapes]plog.LogRecordSlice
	has      [numShapes]bool
	n        int
	render   *Renderer
}

// NewBatchBuilder returns a builder of batches of size records.
func NewBatchBuilder(size int) *BatchBuilder {
	b := &BatchBuilder{size: max(size, 1), render: NewRenderer()}
	b.reset()
	return b
}

func (b *BatchBuilder) reset() {
	b.n, b.has = 0, [numShapes]bool{}
}

// take assembles the batch in shape order and starts a new one.
func (b *BatchBuilder) take() plog.Logs {
	out := plog.NewLogs()
	for s := range b.perShape {
		if b.has[s] {
			b.perShape[s].ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
		}
	}
	b.reset()
	return out
}

// Add appends rec; when the batch reaches its size it is returned (and a
// new one begun).
func (b *BatchBuilder) Add(rec *Record) (plog.Logs, bool, error) {
	if !b.has[rec.Shape] {
		b.perShape[rec.Shape] = plog.NewLogs()
		rl := b.perShape[rec.Shape].ResourceLogs().AppendEmpty()
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(ScopeName)
		sl.Scope().SetVersion("loadgen")
		b.slots[rec.Shape], b.has[rec.Shape] = sl.LogRecords(), true
	}
	lr := b.slots[rec.Shape].AppendEmpty()
	if err := b.render.Render(rec, lr); err != nil {
		return plog.Logs{}, false, err
	}
	b.n++
	if b.n < b.size {
		return plog.Logs{}, false, nil
	}
	return b.take(), true, nil
}

// Flush returns the partial batch, if any.
func (b *BatchBuilder) Flush() (plog.Logs, bool) {
	if b.n == 0 {
		return plog.Logs{}, false
	}
	return b.take(), true
}

// Renderer turns one record into a log record exactly as the audit_log
// receiver emits it, for callers that arrange records themselves (the
// arrival-order tests).
type Renderer struct {
	view auditrecord.Record
	now  pcommon.Timestamp
}

// NewRenderer returns a renderer whose records are observed now.
func NewRenderer() *Renderer {
	return &Renderer{now: pcommon.NewTimestampFromTime(time.Now())}
}

// Render fills lr with rec.
func (b *Renderer) Render(rec *Record, lr plog.LogRecord) error {
	lr.SetObservedTimestamp(b.now)
	body := lr.Body().SetEmptyMap()
	if err := jsonpdata.DecodeMap(rec.JSON, body, jsonpdata.Limits{}); err != nil {
		return fmt.Errorf("loadgen: record %s does not decode: %w", rec.ID, err)
	}
	if err := auditrecord.Parse(body, &b.view); err != nil {
		return fmt.Errorf("loadgen: record %s does not parse: %w", rec.ID, err)
	}
	if b.view.ID != rec.ID {
		return fmt.Errorf("loadgen: record %s parses with id %q", rec.ID, b.view.ID)
	}
	lr.SetTimestamp(pcommon.NewTimestampFromTime(b.view.Time))
	lr.SetEventName(b.view.Operation)
	attrs := lr.Attributes()
	b.view.PutAttributes(attrs)
	name := SplitHour.FileName(rec.Time, rec.Shape)
	attrs.PutStr(attrFileName, name)
	attrs.PutStr(attrFilePath, "/var/log/audit/"+name)
	return nil
}

// EachBatch calls fn with batches of size records in time order.
func (g *Generator) EachBatch(size int, fn func(plog.Logs) error) error {
	return g.eachBatch(g.Each, size, fn)
}

// EachUsersBatch is EachBatch over the users [from, to) (see EachUsers).
func (g *Generator) EachUsersBatch(from, to, size int, fn func(plog.Logs) error) error {
	return g.eachBatch(func(f func(*Record) error) error { return g.EachUsers(from, to, f) }, size, fn)
}

func (g *Generator) eachBatch(each func(func(*Record) error) error, size int, fn func(plog.Logs) error) error {
	b := NewBatchBuilder(size)
	err := each(func(r *Record) error {
		ld, full, err := b.Add(r)
		if err != nil || !full {
			return err
		}
		return fn(ld)
	})
	if err != nil {
		return err
	}
	if ld, ok := b.Flush(); ok {
		return fn(ld)
	}
	return nil
}

// Batches returns every record in batches of size.
func (g *Generator) Batches(size int) ([]plog.Logs, error) {
	var out []plog.Logs
	err := g.EachBatch(size, func(ld plog.Logs) error {
		out = append(out, ld)
		return nil
	})
	return out, err
}
