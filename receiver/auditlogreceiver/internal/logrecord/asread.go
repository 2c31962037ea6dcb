package logrecord // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// AsRead keeps the records of a batch as they were read, so that the batch
// can be built again, the same as at first, once the pipeline changed it in
// place and refused it for good: the receiver then cuts the halves it sends
// from the batch as read (see the receiver's delivery.go). Keeping the raw
// bytes is a copy of at most max_batch_bytes plus one record into a buffer
// reused from batch to batch, much cheaper than a deep copy of the built
// batch before every push.
type AsRead struct {
	data    []byte
	records []readRecord
}

// readRecord is a kept record: its Raw without Data, which is data up to
// end, and the time Build observed it, which a second Build would not.
type readRecord struct {
	raw      Raw
	end      int
	observed pcommon.Timestamp
}

// Keep adds raw, which Build made into lr. raw.Data is copied, so it need
// stay valid only until Keep returns.
func (a *AsRead) Keep(raw Raw, lr plog.LogRecord) {
	a.data = append(a.data, raw.Data...)
	raw.Data = nil
	a.records = append(a.records, readRecord{raw: raw, end: len(a.data), observed: lr.ObservedTimestamp()})
}

// Len is the number of records kept.
func (a *AsRead) Len() int { return len(a.records) }

// Build builds the i-th kept record again into lr, as b built it the first
// time, observed time included. It counts nothing: the record was counted
// when it was read.
func (a *AsRead) Build(b *Builder, i int, lr plog.LogRecord) {
	rec := a.records[i]
	start := 0
	if i > 0 {
		start = a.records[i-1].end
	}
	rec.raw.Data = a.data[start:rec.end]
	counts := b.counts
	b.Build(rec.raw, lr)
	b.counts = counts
	lr.SetObservedTimestamp(rec.observed)
}

// Reset forgets the records kept, keeping the buffer for the next batch.
func (a *AsRead) Reset() {
	a.data, a.records = a.data[:0], a.records[:0]
}
