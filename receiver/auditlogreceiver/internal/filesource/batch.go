package filesource // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"

import (
	"context"
	"path/filepath"
	"runtime"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// fileBatch gathers records, one ResourceLogs per file, until it is full;
// then it is delivered and the checkpoints it reached are saved. Delivering
// a batch (the pipeline's processors and exporters) runs in a goroutine of
// its own while the next batch is read and decoded, one batch at a time, in
// order: a batch's checkpoints are applied once it is accepted, after those
// of the batch before it.
type fileBatch struct {
	source  *Source
	deliver Deliver
	// content is the batch being filled; spare is the content of the batch
	// delivered before, whose buffers the next batch reuses.
	*content
	spare *content
	// records of the file being read, created on its first record.
	records  plog.LogRecordSlice
	path     string
	hasScope bool
	count    int
	bytes    int
	unbuilt  []plog.LogRecord
	// delivered receives the result of the delivery in flight; nil when
	// none is.
	delivered chan error
}

// content is what a batch hands on: its records, built and as read, and
// the checkpoints it reaches once accepted.
type content struct {
	logs    plog.Logs
	commits []commit
	// read and runs keep the batch as read: its records, and the file of
	// each ResourceLogs. The records are built from them at flush, on all
	// cores (AsRead.BuildFirst), and again by rebuild.
	read logrecord.AsRead
	runs []fileRun
}

// fileRun is a ResourceLogs of the batch: the file its records were read
// from and the number of records kept up to its end.
type fileRun struct {
	path string
	end  int
}

func (s *Source) newBatch(deliver Deliver) *fileBatch {
	return &fileBatch{source: s, deliver: deliver, content: &content{logs: plog.NewLogs()}, spare: &content{}}
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
	// The runtime follows the container's CPU limit as it changes.
	if n := runtime.GOMAXPROCS(0); n != len(s.builders) {
		s.builders = newBuilders(n, s.set.MaxRecordBytes)
	}
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

// rebuild builds c again as it was read, for delivery to cut the halves of
// a permanent refusal from (the Deliver's asRead). It runs in the delivery
// goroutine, with the builder kept for it.
func (b *fileBatch) rebuild(c *content) plog.Logs {
	logs := plog.NewLogs()
	i := 0
	for _, run := range c.runs {
		records := b.appendFile(logs)
		for ; i < run.end; i++ {
			lr := records.AppendEmpty()
			c.read.Build(&b.source.rebuilder, i, lr)
			putFile(lr, run.path)
		}
	}
	return logs
}

// position is where cp will stand once the commits so far are applied; the
// caller waits for the delivery in flight first.
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

// flush builds the batch and starts its delivery once the one before has
// ended; the delivery then applies and saves its checkpoints. It returns an
// error only when ctx ended before the batch before was accepted.
func (b *fileBatch) flush(ctx context.Context) error {
	if b.count > 0 {
		b.build(ctx)
	}
	if err := b.wait(); err != nil {
		return err
	}
	if b.count == 0 && len(b.commits) == 0 {
		return nil
	}
	c, hasRecords := b.content, b.count > 0
	delivered := make(chan error, 1)
	b.delivered = delivered
	go func() {
		delivered <- b.deliverContent(ctx, c, hasRecords)
	}()
	b.content, b.spare = b.spare, c
	b.logs, b.commits = plog.NewLogs(), b.commits[:0]
	b.read.Reset()
	b.runs = b.runs[:0]
	b.count, b.bytes, b.hasScope = 0, 0, false
	return nil
}

// deliverContent delivers c, then applies and saves its checkpoints.
func (b *fileBatch) deliverContent(ctx context.Context, c *content, hasRecords bool) error {
	s := b.source
	if hasRecords {
		if err := b.deliver(ctx, c.logs, func() plog.Logs { return b.rebuild(c) }); err != nil {
			return err
		}
	}
	if len(c.commits) > 0 {
		s.checkpoints.apply(c.commits)
		s.save(ctx)
	}
	return nil
}

// wait waits for the delivery in flight, if any, and returns its error.
func (b *fileBatch) wait() error {
	if b.delivered == nil {
		return nil
	}
	err := <-b.delivered
	b.delivered = nil
	return err
}
