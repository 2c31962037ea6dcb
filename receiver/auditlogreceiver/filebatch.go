package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"path/filepath"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// fileBatch gathers records, one ResourceLogs per file, until it is full;
// then it is delivered and the checkpoints it reached are saved.
type fileBatch struct {
	source  *fileSource
	deliver deliverFunc
	logs    plog.Logs
	// records of the file being read, created on its first record.
	records  plog.LogRecordSlice
	path     string
	hasScope bool
	count    int
	bytes    int
	commits  []commit
}

func (s *fileSource) newBatch(deliver deliverFunc) *fileBatch {
	return &fileBatch{source: s, deliver: deliver, logs: plog.NewLogs()}
}

func (b *fileBatch) beginFile(path string) {
	b.path, b.hasScope = path, false
}

func (b *fileBatch) add(raw rawRecord) {
	if !b.hasScope {
		rl := b.logs.ResourceLogs().AppendEmpty()
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(metadata.ScopeName)
		sl.Scope().SetVersion(b.source.buildVersion)
		b.records, b.hasScope = sl.LogRecords(), true
	}
	lr := b.records.AppendEmpty()
	b.source.builder.build(raw, lr)
	attrs := lr.Attributes()
	attrs.PutStr(attrFileName, filepath.Base(b.path))
	attrs.PutStr(attrFilePath, b.path)
	b.count++
	b.bytes += len(raw.data)
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
	return b.count >= b.source.cfg.BatchSize || b.bytes >= int(b.source.cfg.MaxBatchBytes)
}

// flush delivers the batch, then applies and saves its checkpoints. It
// returns an error only when ctx ended before the batch was accepted.
func (b *fileBatch) flush(ctx context.Context) error {
	s := b.source
	if b.count > 0 {
		s.builder.report(ctx, s.telemetry, s.attrs)
		if err := b.deliver(ctx, b.logs); err != nil {
			return err
		}
	}
	if len(b.commits) > 0 {
		s.checkpoints.apply(b.commits)
		s.save(ctx)
	}
	b.logs, b.count, b.bytes, b.commits, b.hasScope = plog.NewLogs(), 0, 0, b.commits[:0], false
	return nil
}
