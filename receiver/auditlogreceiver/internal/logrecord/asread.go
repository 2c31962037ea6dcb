package logrecord // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"

import (
	"sync"
	"sync/atomic"

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

// Keep adds raw, which Build made into lr, or which BuildFirst will build
// into lr (whose observed time is then set already). raw.Data is copied, so
// it need stay valid only until Keep returns.
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
	counts := b.counts
	a.build(b, i, lr)
	b.counts = counts
}

// BuildFirst builds every kept record for the first time, the i-th into
// lrs[i] (the record Keep was given, with its observed time set), counting
// each in the builder that built it. Decoding is most of what reading a
// record costs, and the records of a batch do not depend on each other: a
// batch of at least two chunks is shared out among one goroutine per
// builder, so that reading uses as many cores as there are builders.
func (a *AsRead) BuildFirst(builders []Builder, lrs []plog.LogRecord) {
	n := len(a.records)
	workers := min(len(builders), (n+buildChunk-1)/buildChunk)
	if workers <= 1 {
		for i := range n {
			a.build(&builders[0], i, lrs[i])
		}
		return
	}
	// Records differ in size (a sign-in is ten times a send), so the
	// goroutines take chunks in turn rather than a fixed share each.
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				end := int(next.Add(buildChunk))
				start := end - buildChunk
				if start >= n {
					return
				}
				for i := start; i < min(end, n); i++ {
					a.build(&builders[w], i, lrs[i])
				}
			}
		})
	}
	wg.Wait()
}

// buildChunk is how many records a goroutine of BuildFirst takes at a time:
// enough that taking costs nothing beside decoding them (10-20 µs each).
const buildChunk = 32

// build builds the i-th kept record into lr with its kept observed time.
func (a *AsRead) build(b *Builder, i int, lr plog.LogRecord) {
	rec := a.records[i]
	start := 0
	if i > 0 {
		start = a.records[i-1].end
	}
	rec.raw.Data = a.data[start:rec.end]
	b.Build(rec.raw, lr)
	lr.SetObservedTimestamp(rec.observed)
}

// Reset forgets the records kept, keeping the buffer for the next batch.
func (a *AsRead) Reset() {
	a.data, a.records = a.data[:0], a.records[:0]
}
