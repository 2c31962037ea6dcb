package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// apiPage is the records of one API response, in the vendor's order.
type apiPage struct {
	records []json.RawMessage
	// horizon is the time the listing filters these records on, when it is
	// not each record's own event time: an O365 blob's contentCreated.
	horizon time.Time
	// contentID names an O365 content blob: once all its records are
	// accepted it is remembered and not fetched again.
	contentID string
}

// pageSink turns pages of one stream into batches of log records with the
// same record builder as the file source, drops the records already
// accepted, delivers the rest and saves the stream's state after each
// accepted batch.
type pageSink struct {
	source  *Source
	stream  apiStream
	state   *streamState
	deliver Deliver
	// window is the window being listed; it gives the horizon of records
	// without a usable event time.
	window timeWindow
	// read keeps the batch in flight as read, for rebuild.
	read logrecord.AsRead
}

// fetched reports whether an O365 content blob was delivered (or skipped as
// expired) before.
func (k *pageSink) fetched(contentID string) bool {
	return k.state.Contents.has(hashKey(contentID))
}

// skipContent remembers a blob that can never be fetched, so that it is not
// asked for again.
func (k *pageSink) skipContent(ctx context.Context, contentID string, horizon time.Time) {
	k.state.Contents.add(hashKey(contentID), horizon)
	k.source.save(ctx, k.stream, k.state)
}

// seenRecord is a record of the batch in flight: marked seen once accepted.
type seenRecord struct {
	key     uint64
	horizon time.Time
	event   time.Time
}

// page delivers the page's records that were not accepted before. It
// returns an error only when ctx ended before a batch was accepted; then
// nothing of that batch is marked seen.
func (k *pageSink) page(ctx context.Context, p apiPage) error {
	s := k.source
	scratch := plog.NewLogRecord()
	logs, records := k.newBatch()
	var pending []seenRecord
	batchBytes := 0
	inBatch := make(map[uint64]bool)
	var duplicates int64
	for _, raw := range p.records {
		parsed := s.builder.Build(logrecord.Raw{Data: raw}, scratch)
		rec := k.identify(raw, parsed, p.horizon, scratch)
		if inBatch[rec.key] || k.state.Records.has(rec.key) {
			duplicates++
			scratch = plog.NewLogRecord()
			continue
		}
		lr := records.AppendEmpty()
		scratch.MoveTo(lr)
		k.read.Keep(logrecord.Raw{Data: raw}, lr)
		inBatch[rec.key] = true
		pending = append(pending, rec)
		batchBytes += len(raw)
		if len(pending) < s.poll.BatchSize && batchBytes < int(s.poll.MaxBatchBytes) {
			continue
		}
		if err := k.flush(ctx, logs, pending, nil); err != nil {
			return err
		}
		logs, records = k.newBatch()
		pending, batchBytes = pending[:0], 0
		clear(inBatch)
	}
	if duplicates > 0 {
		s.metrics.DuplicateRecords(ctx, duplicates)
	}
	return k.flush(ctx, logs, pending, &p)
}

// recordIdentity says how a source recognises a record it accepted before,
// and until when a poll may list it again.
type recordIdentity struct {
	// key names a parsed record by its normalised view and its body.
	key func(view *auditrecord.Record, body pcommon.Map) string
	// listedBy is the body field, a timestamp, that the listing filters
	// on, when it is not the record's event time: Graph lists risk
	// detections by detectedDateTime, hours or days after the
	// activityDateTime that is their event time.
	listedBy string
}

// byVendorID names a record by its vendor id alone, which is unique on its
// own for O365's Id (one per audit record) and Graph's sign-in id (one per
// sign-in event), as auditrecord reads them into Record.ID. Google's is not
// (googleIdentity), and a risk detection keeps its id through its updates
// (riskDetectionIdentity).
var byVendorID = recordIdentity{key: func(view *auditrecord.Record, _ pcommon.Map) string { return view.ID }}

// identify gives a built record its dedup key, the time by which the API
// lists it, and its event time.
func (k *pageSink) identify(raw []byte, parsed bool, pageHorizon time.Time, lr plog.LogRecord) seenRecord {
	s := k.source
	rec := seenRecord{horizon: pageHorizon}
	view := s.builder.View()
	if parsed && view.ID != "" {
		body := lr.Body().Map()
		rec.key = hashKey(s.identity.key(view, body))
		rec.event = view.Time
		if s.identity.listedBy != "" && rec.horizon.IsZero() {
			if v, ok := body.Get(s.identity.listedBy); ok {
				rec.horizon, _ = auditrecord.ParseTime(v.AsString())
			}
		}
	} else {
		// No id to go by: the same bytes are the same record.
		h := fnv.New64a()
		_, _ = h.Write(raw)
		rec.key = h.Sum64()
	}
	if rec.horizon.IsZero() {
		rec.horizon = rec.event
	}
	if rec.horizon.IsZero() {
		rec.horizon = k.window.start
	}
	return rec
}

// rebuild builds the batch in flight again as it was read, for delivery to
// cut the halves of a permanent refusal from (the Deliver's asRead).
func (k *pageSink) rebuild() plog.Logs {
	logs, records := k.newBatch()
	for i := range k.read.Len() {
		k.read.Build(&k.source.builder, i, records.AppendEmpty())
	}
	return logs
}

func (k *pageSink) newBatch() (plog.Logs, plog.LogRecordSlice) {
	logs := plog.NewLogs()
	sl := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(k.source.scopeName)
	sl.Scope().SetVersion(k.source.scopeVersion)
	return logs, sl.LogRecords()
}

// flush delivers a batch, then marks its records as seen and, with the last
// batch of a page (done), an O365 blob too, and saves the state.
func (k *pageSink) flush(ctx context.Context, logs plog.Logs, pending []seenRecord, done *apiPage) error {
	s := k.source
	s.metrics.RecordsBuilt(ctx, s.builder.TakeCounts())
	if len(pending) > 0 {
		err := k.deliver(ctx, logs, k.rebuild)
		k.read.Reset()
		if err != nil {
			return err
		}
	}
	for _, rec := range pending {
		k.state.Records.add(rec.key, rec.horizon)
		if rec.event.After(k.state.NewestEvent) {
			k.state.NewestEvent = rec.event
		}
	}
	blob := done != nil && done.contentID != ""
	if blob {
		k.state.Contents.add(hashKey(done.contentID), done.horizon)
	}
	if len(pending) > 0 || blob {
		s.save(ctx, k.stream, k.state)
	}
	return nil
}
