package filesource // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"

import (
	"context"
	"path/filepath"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// fileBatch gathers records, one ResourceLogs per file, until it is full;
// then it is delivered and the checkpoints it reached are saved.
type fileBatch struct {
	source  *Source
	deliver Deliver
	logs    plog.Logs
	// records of the file being read, created on its first record.
	records  plog.LogRecordSlice
	path     string
	hasScope bool
	count    int
	bytes    int
	commits  []commit
	// read and runs keep the batch as read: its records, and the file of
	// each ResourceLogs. The records are built from them at flush, on all
	// cores (AsRead.BuildFirst), into unbuilt, and again by rebuild.
	read    logrecord.AsRead
	runs    []fileRun
	unbuilt []plog.LogRecord
}

// fileRun is a ResourceLogs of the batch: the file its records were read
// from and the number of records kept up to its end.
type fileRun struct {
	path string
	end  int
}

func (s *Source) newBatch(deliver Deliver) *fileBatch {
	return &fileBatch{source: s, deliver: deliver, logs: plog.NewLogs()}
}

func (b *fileBatch) beginFile(path string) {
	b.path, b.hasScope = path, false
}

func (b *fileBatch) add(raw logrecord.Raw) {
	if !b.hasScope {
		b.records, b.hasScope = b.appendFile(b.logs), true
		b.runs = append(b.runs, fileRun{path: b.path})
	}
	lr := b.records.AppendEmpty()
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	b.read.Keep(raw, lr)
	b.unbuilt = append(b.unbuilt, lr)
	b.runs[len(b.runs)-1].end = b.read.Len()
	b.count++
	b.bytes += len(raw.Data)
}

// appendFile appends the ResourceLogs of a file's records to logs.
func (b *fileBatch) appendFile(logs plog.Logs) plog.LogRecordSlice {
	sl := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(b.source.set.ScopeName)
	sl.Scope().SetVersion(b.source.set.ScopeVersion)
	return sl.LogRecords()
}

func putFile(lr plog.LogRecord, path string) {
	attrs := lr.Attributes()
	attrs.PutStr(AttrFileName, filepath.Base(path))
	attrs.PutStr(AttrFilePath, path)
}

// build builds the records added since the last flush and counts them.
func (b *fileBatch) build(ctx context.Context) {
	s := b.source
	b.read.BuildFirst(s.builders, b.unbuilt)
	i := 0
	for _, run := range b.runs {
		for ; i < run.end; i++ {
			putFile(b.unbuilt[i], run.path)
		}
	}
	clear(b.unbuilt)
	b.unbuilt = b.unbuilt[:0]
	var counts logrecord.Counts
	for i := range s.builders {
		counts.Add(s.builders[i].TakeCounts())
	}
	s.metrics.RecordsBuilt(ctx, counts)
}

// rebuild builds the batch again as it was read, for delivery to cut the
// halves of a permanent refusal from (the Deliver's asRead).
func (b *fileBatch) rebuild() plog.Logs {
	logs := plog.NewLogs()
	i := 0
	for _, run := range b.runs {
		records := b.appendFile(logs)
		for ; i < run.end; i++ {
			lr := records.AppendEmpty()
			b.read.Build(&b.source.builders[0], i, lr)
			putFile(lr, run.path)
		}
	}
	return logs
}

// position is where cp will stand once the commits so far are applied.
func (b *fileBatch) position(cp *fileCheckpoint) resumePoint {
	for i := len(b.commits) - 1; i >= 0; i-- {
		if b.commits[i].checkpoint == cp {
			return b.commits[i].position
		}
	}
	return cp.Position
}

// full reports whether the batch has its record count or its raw bytes
// (max_batch_bytes): a batch holds less than max_batch_bytes plus one record.
// Checking after a record is added, not before, keeps the read position of
// the batch's end the one the reader already has.
func (b *fileBatch) full() bool {
	return b.count >= b.source.set.BatchSize || b.bytes >= b.source.set.MaxBatchBytes
}

// flush delivers the batch, then applies and saves its checkpoints. It
// returns an error only when ctx ended before the batch was accepted.
func (b *fileBatch) flush(ctx context.Context) error {
	s := b.source
	if b.count > 0 {
		b.build(ctx)
		if err := b.deliver(ctx, b.logs, b.rebuild); err != nil {
			return err
		}
	}
	if len(b.commits) > 0 {
		s.checkpoints.apply(b.commits)
		s.save(ctx)
	}
	b.logs, b.count, b.bytes, b.commits, b.hasScope = plog.NewLogs(), 0, 0, b.commits[:0], false
	b.read.Reset()
	b.runs = b.runs[:0]
	return nil
}
