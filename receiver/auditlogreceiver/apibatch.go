package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
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
	source  *apiSource
	stream  apiStream
	state   *streamState
	deliver deliverFunc
	// window is the window being listed; it gives the horizon of records
	// without a usable event time.
	window timeWindow
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
		parsed := s.builder.build(rawRecord{data: raw}, scratch)
		rec := k.identify(raw, parsed, p.horizon)
		if inBatch[rec.key] || k.state.Records.has(rec.key) {
			duplicates++
			scratch = plog.NewLogRecord()
			continue
		}
		scratch.MoveTo(records.AppendEmpty())
		inBatch[rec.key] = true
		pending = append(pending, rec)
		batchBytes += len(raw)
		if len(pending) < s.cfg.BatchSize && batchBytes < int(s.cfg.MaxBatchBytes) {
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
		s.telemetry.AuditLogAPIDuplicateRecords.Add(ctx, duplicates, s.attrs)
	}
	return k.flush(ctx, logs, pending, &p)
}

// identify gives a built record its dedup key, the time by which the API
// lists it, and its event time.
func (k *pageSink) identify(raw []byte, parsed bool, pageHorizon time.Time) seenRecord {
	s := k.source
	rec := seenRecord{horizon: pageHorizon}
	view := &s.builder.view
	if parsed && view.ID != "" {
		rec.key = hashKey(s.dedupKey(view))
		rec.event = view.Time
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

func (k *pageSink) newBatch() (plog.Logs, plog.LogRecordSlice) {
	logs := plog.NewLogs()
	sl := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	sl.Scope().SetVersion(k.source.buildVersion)
	return logs, sl.LogRecords()
}

// flush delivers a batch, then marks its records as seen and, with the last
// batch of a page (done), an O365 blob too, and saves the state.
func (k *pageSink) flush(ctx context.Context, logs plog.Logs, pending []seenRecord, done *apiPage) error {
	s := k.source
	s.builder.report(ctx, s.telemetry, s.attrs)
	if len(pending) > 0 {
		if err := k.deliver(ctx, logs); err != nil {
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
