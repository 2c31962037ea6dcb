package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// Delivery: every source hands its batches to the deliver function the
// receiver made for it, which pushes them downstream, retries backpressure
// and splits permanent refusals, and returns only once the batch is done
// with. The source advances its checkpoint after that.

// deliverer returns the deliver function of one source: its own obsreport
// (with the transport it reads over), its own metric attributes, and for a
// tenant's source the tenant's mark on every record. A batch built again as
// read gets the mark and the order of the batch first delivered.
func (r *auditLogReceiver) deliverer(label sourceLabel, transport string, mark *tenantMark) (deliverFunc, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             r.settings.ID,
		Transport:              transport,
		LongLivedCtx:           true,
		ReceiverCreateSettings: r.settings,
	})
	if err != nil {
		return nil, err
	}
	attrs := label.attributes()
	prepare := func(logs plog.Logs) plog.Logs {
		mark.apply(logs)
		sortByEventTime(logs)
		return logs
	}
	return func(ctx context.Context, logs plog.Logs, asRead func() plog.Logs) error {
		return r.deliver(ctx, prepare(logs), func() plog.Logs { return prepare(asRead()) }, obsrecv, attrs)
	}, nil
}

// sortByEventTime puts each scope's records in event-time order. Vendors
// list newest first (Graph pages) or in no particular order (exports mixing
// workloads), while detections such as "failures, then a success" read a
// user's records in the order they happened. Only a batch is ordered: records
// of later batches can still be older, and the detectors allow for that.
func sortByEventTime(logs plog.Logs) {
	for i := 0; i < logs.ResourceLogs().Len(); i++ {
		scopes := logs.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < scopes.Len(); j++ {
			records := scopes.At(j).LogRecords()
			if !sortedByEventTime(records) {
				records.Sort(func(a, b plog.LogRecord) bool { return a.Timestamp() < b.Timestamp() })
			}
		}
	}
}

func sortedByEventTime(records plog.LogRecordSlice) bool {
	for k := 1; k < records.Len(); k++ {
		if records.At(k).Timestamp() < records.At(k-1).Timestamp() {
			return false
		}
	}
	return true
}

// deliver pushes one batch downstream and returns once every record of it is
// done with: accepted, or refused for good and counted. A retryable refusal
// is backpressure (a memory limiter, a full queue): the same records are sent
// again after a growing pause, for as long as it takes, because skipping them
// would lose records. A permanent refusal of several records is split (see
// deliverInParts); only single records refused for good are dropped, so that
// otelcol_audit_log_dropped_records counts exactly the records that were not
// delivered. asRead builds logs again as read (see deliverInParts).
func (r *auditLogReceiver) deliver(ctx context.Context, logs plog.Logs, asRead func() plog.Logs, obsrecv *receiverhelper.ObsReport, attrs metric.MeasurementOption) error {
	// Retry tries once even when ctx has ended: without this check a
	// shutdown would wait for the source to read to the end of its files.
	if err := ctx.Err(); err != nil {
		return err
	}
	// Counted before the pipeline gets logs: a processor may drop records
	// of it in place.
	records := logs.LogRecordCount()
	d := &delivery{receiver: r, obsrecv: obsrecv, attrs: attrs}
	err := d.deliverInParts(ctx, logs, asRead)
	d.report(ctx, records)
	return err
}

// delivery is the progress of one batch through deliverInParts.
type delivery struct {
	receiver *auditLogReceiver
	obsrecv  *receiverhelper.ObsReport
	attrs    metric.MeasurementOption

	// attempts counts the pushes that ended in acceptance or a permanent
	// refusal (retries of backpressure are counted by downstream_retries).
	attempts int
	// firstRefusal is the permanent error that started the split.
	firstRefusal error
	// droppedIDs are the audit.record.id of the records refused alone.
	droppedIDs []string
	dropped    int
}

// maxLoggedIDs bounds the record ids one log line names.
const maxLoggedIDs = 10

// deliverInParts pushes logs; when the next consumer refuses several records
// for good, it delivers each half on its own, recursively, down to single
// records.
//
// Why split on every permanent refusal, not only on recognisable size
// errors: a refusal of a batch is most often caused by one part of it, and
// the causes are many — a Kafka message over producer.max_message_bytes
// (MESSAGE_TOO_LARGE) or over the topic's max.message.bytes, a gRPC message
// over the server's limit (ResourceExhausted), an HTTP 413, one record the
// SIEM rejects as invalid — each worded its own way by its exporter.
// Halving isolates any of them without knowing its words; a batch that is
// too large as a whole fits once cut small enough.
//
// The cost is bounded: a batch of n records takes at most 2n-1 pushes (every
// node of the halving tree), and only when every record is refused; one bad
// record among n costs about 2*log2(n) extra pushes (18 for 500).
//
// A refused push may have been partly delivered (a Kafka exporter writes one
// message per user and fails only the one too large), so records of a split
// batch can reach downstream twice: at-least-once, countable by
// audit.record.id. Records come out in the batch's order either way.
//
// The halves are cut from the batch as read, which asRead builds again, not
// from logs: the processors that ran before the refusal may have changed
// logs in place (groupbyattrs moves user.name from the records to new
// resources, so a half cut from logs would reach Kafka without its partition
// key). Building the batch again from the raw records its source kept costs
// nothing until a refusal, where a copy of every batch before its push cost
// a fifth of the receiver's CPU. A half is pushed as a copy and kept as read
// for its own halves: refusals are rare.
func (d *delivery) deliverInParts(ctx context.Context, logs plog.Logs, asRead func() plog.Logs) error {
	err := d.push(ctx, logs)
	if err == nil || !consumererror.IsPermanent(err) {
		return err
	}
	if d.firstRefusal == nil {
		d.firstRefusal = err
	}
	read := asRead()
	if read.LogRecordCount() == 1 {
		d.drop(read)
		return nil
	}
	first, second := splitInHalves(read)
	if err := d.deliverCopy(ctx, first); err != nil {
		return err
	}
	return d.deliverCopy(ctx, second)
}

// deliverCopy delivers a copy of part in parts, part staying as read.
func (d *delivery) deliverCopy(ctx context.Context, part plog.Logs) error {
	attempt := plog.NewLogs()
	part.CopyTo(attempt)
	return d.deliverInParts(ctx, attempt, func() plog.Logs { return part })
}

// push hands logs to the next consumer until it accepts it or refuses it for
// good; it returns an error other than a permanent refusal only when ctx
// ended. Accepted records are counted as emitted at once, so the count is
// right even when a shutdown ends the batch's delivery half-way.
//
// Backpressure re-sends logs as the processors left it, not as read: the
// email_compromise processor recognises a retried batch by its own tags and
// leaves it tagged as the first time (tests/order
// TestRetriedBatchesAreCountedOnce); a batch retried as read lost a chain
// tag there.
func (d *delivery) push(ctx context.Context, logs plog.Logs) error {
	r := d.receiver
	count := logs.LogRecordCount()
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		opCtx := d.obsrecv.StartLogsOp(ctx)
		err := r.next.ConsumeLogs(opCtx, logs)
		d.obsrecv.EndLogsOp(opCtx, metadata.Type.String(), count, err)
		if consumererror.IsPermanent(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	},
		backoff.WithBackOff(r.newBackOff()),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, wait time.Duration) {
			r.telemetry.AuditLogDownstreamRetries.Add(ctx, 1, d.attrs)
			r.settings.Logger.Debug("next consumer refused a batch; sending it again",
				zap.Int("records", count), zap.Duration("wait", wait), zap.Error(err))
		}),
	)
	if err == nil {
		d.attempts++
		r.telemetry.AuditLogRecordsEmitted.Add(ctx, int64(count), d.attrs)
		return nil
	}
	if consumererror.IsPermanent(err) {
		d.attempts++
	}
	return err
}

// drop counts the one record of logs as not delivered.
func (d *delivery) drop(logs plog.Logs) {
	d.dropped++
	if len(d.droppedIDs) < maxLoggedIDs {
		rl := logs.ResourceLogs().At(0)
		lr := rl.ScopeLogs().At(0).LogRecords().At(0)
		id := "(none)"
		if v, ok := lr.Attributes().Get(auditrecord.AttrRecordID); ok {
			id = v.AsString()
		}
		d.droppedIDs = append(d.droppedIDs, id)
	}
}

// report logs, once per batch, a permanent refusal and what came of it, and
// counts the dropped records.
func (d *delivery) report(ctx context.Context, records int) {
	r := d.receiver
	switch {
	case d.firstRefusal == nil:
	case d.dropped == 0:
		r.settings.Logger.Warn("next consumer refused a batch for good; delivered it in parts instead, none refused alone (parts that reached it before the refusal may arrive twice)",
			zap.Int("records", records), zap.Int("attempts", d.attempts), zap.Error(d.firstRefusal))
	default:
		r.settings.Logger.Error("next consumer refused records for good, each on its own; they are dropped",
			zap.Int("records", d.dropped), zap.Int("batch_records", records), zap.Int("attempts", d.attempts),
			zap.Strings("record_ids", d.droppedIDs), zap.Error(d.firstRefusal))
		r.telemetry.AuditLogDroppedRecords.Add(ctx, int64(d.dropped), d.attrs)
	}
}

// splitInHalves copies the first half of logs' records (in order) into one
// Logs and the rest into another, each record under a copy of its resource
// and scope.
func splitInHalves(logs plog.Logs) (plog.Logs, plog.Logs) {
	half := logs.LogRecordCount() / 2
	first, second := plog.NewLogs(), plog.NewLogs()
	logs.CopyTo(first)
	logs.CopyTo(second)
	keepRecords(first, func(i int) bool { return i < half })
	keepRecords(second, func(i int) bool { return i >= half })
	return first, second
}

// keepRecords removes the records whose position in logs keep refuses, and
// the scopes and resources left empty.
func keepRecords(logs plog.Logs, keep func(i int) bool) {
	i := 0
	logs.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(plog.LogRecord) bool {
				i++
				return !keep(i - 1)
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
}
