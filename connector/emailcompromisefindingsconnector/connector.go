package emailcompromisefindingsconnector // import "github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector"

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/incident"
	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/metadata"
	"github.com/otelsec/emailcompromise/internal/snapshot"
)

const (
	// snapshotPrefix carries the layout version of incident.Finding: a
	// release that changes it incompatibly raises the version (and starts
	// empty).
	snapshotPrefix   = "email_compromise_findings/v1"
	findingsPerChunk = 1024
	// watermarkMetaSize: the snapshot's metadata is the newest event time
	// seen, 8 bytes.
	watermarkMetaSize = 8
	// maxClockSkew is how far ahead of the wall clock a record's event
	// time may be (vendor clocks and time zones written wrongly).
	maxClockSkew = time.Hour
)

// findingsConnector implements the component directly, as stateful contrib
// components do: state is loaded in Start, flushed and snapshotted by a
// goroutine, and flushed and saved again in Shutdown.
type findingsConnector struct {
	id        component.ID
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	next      consumer.Logs
	now       func() time.Time

	// mu guards the tracker and the scratch observations: batches of the
	// tagged pipeline and the flush goroutine take turns.
	mu      sync.Mutex
	tracker *incident.Tracker
	obs     []incident.Observation
	evicted int

	// sendMu keeps flushes in order: one set of emissions is sent, and
	// requeued if refused, before the next is taken.
	sendMu sync.Mutex

	storageClient storage.Client
	stop          chan struct{}
	done          sync.WaitGroup
}

func newFindingsConnector(set connector.Settings, cfg *Config, next consumer.Logs) (*findingsConnector, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &findingsConnector{
		id:        set.ID,
		cfg:       cfg,
		logger:    set.Logger,
		telemetry: tb,
		next:      next,
		now:       time.Now,
		tracker:   incident.New(cfg.options()),
	}, nil
}

// Capabilities: the tagged records are read, never changed, so the
// pipeline need not copy them for the connector.
func (c *findingsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *findingsConnector) Start(ctx context.Context, host component.Host) error {
	if c.cfg.Storage != nil {
		client, err := snapshot.Client(ctx, host, *c.cfg.Storage, component.KindConnector, c.id)
		if err != nil {
			return err
		}
		c.storageClient = client
		c.mu.Lock()
		n, meta, err := snapshot.Load(ctx, client, snapshotPrefix, snapshot.Gob[*incident.Finding]{}, c.tracker.Restore)
		if len(meta) == watermarkMetaSize {
			c.tracker.SetWatermark(int64(binary.LittleEndian.Uint64(meta)))
		}
		c.mu.Unlock()
		if err != nil {
			// Losing the findings must not stop the pipeline: what is
			// restored is kept, later records open findings anew.
			c.telemetry.EmailCompromiseFindingsSnapshotErrors.Add(ctx, 1)
			c.logger.Warn("Could not restore the findings snapshot completely", zap.Int("restored", n), zap.Error(err))
		} else {
			c.logger.Info("Restored findings", zap.Int("findings", n))
		}
	}
	c.stop = make(chan struct{})
	c.done.Add(1)
	go c.run()
	return nil
}

// run flushes every FlushInterval and snapshots every SnapshotInterval.
func (c *findingsConnector) run() {
	defer c.done.Done()
	flush := time.NewTicker(c.cfg.FlushInterval)
	defer flush.Stop()
	save := time.NewTicker(c.cfg.State.SnapshotInterval)
	defer save.Stop()
	ctx := context.Background()
	for {
		select {
		case <-c.stop:
			return
		case <-flush.C:
			c.flush(ctx)
		case <-save.C:
			c.save(ctx)
		}
	}
}

func (c *findingsConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	in, untagged, malformed, duplicates, late, evicted, held := c.observe(ld)
	t := c.telemetry
	t.EmailCompromiseFindingsRecordsIn.Add(ctx, in)
	addIf(ctx, t.EmailCompromiseFindingsUntaggedRecords.Add, untagged)
	addIf(ctx, t.EmailCompromiseFindingsMalformedRecords.Add, malformed)
	addIf(ctx, t.EmailCompromiseFindingsDuplicateRecords.Add, duplicates)
	addIf(ctx, t.EmailCompromiseFindingsLateRecords.Add, late)
	addIf(ctx, t.EmailCompromiseFindingsEvictions.Add, evicted)
	t.EmailCompromiseFindingsHeld.Record(ctx, held)
	return nil
}

// observe adds the tags of every record of ld to the findings and returns
// what it counted.
func (c *findingsConnector) observe(ld plog.Logs) (in, untagged, malformed, duplicates, late, evicted, held int64) {
	// A record dated further ahead of the clock than maxClockSkew is
	// malformed: taken as the newest event time it would close every open
	// finding and expire the retained ones.
	latest := c.now().Add(maxClockSkew).UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				in++
				lr := lrs.At(k)
				at := eventTime(lr)
				if at == 0 || at > latest {
					malformed++
					continue
				}
				var tagged bool
				if c.obs, tagged = readRecord(lr, at, c.obs[:0]); !tagged {
					// An untagged record still says how far event time
					// has come, which is what closes findings.
					c.tracker.Advance(at)
					untagged++
					continue
				}
				for o := range c.obs {
					switch c.tracker.Observe(&c.obs[o]) {
					case incident.Duplicate:
						duplicates++
					case incident.Expired:
						late++
					}
				}
			}
		}
	}
	evicted = int64(c.tracker.Evicted() - c.evicted)
	c.evicted = c.tracker.Evicted()
	return in, untagged, malformed, duplicates, late, evicted, int64(c.tracker.Len())
}

func addIf[O any](ctx context.Context, add func(context.Context, int64, ...O), n int64) {
	if n > 0 {
		add(ctx, n)
	}
}

// flush sends every finding that changed since the last flush to the next
// pipeline; if it refuses them they are sent again at the next flush.
func (c *findingsConnector) flush(ctx context.Context) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	now := c.now()
	ems, ld, lines := c.take(now)
	if len(ems) == 0 {
		return
	}
	if err := c.next.ConsumeLogs(ctx, ld); err != nil {
		c.mu.Lock()
		c.tracker.Requeue(ems)
		c.mu.Unlock()
		c.telemetry.EmailCompromiseFindingsSendErrors.Add(ctx, int64(len(ems)))
		c.logger.Warn("The findings pipeline refused findings; they are sent again at the next flush", zap.Int("findings", len(ems)), zap.Error(err))
		return
	}
	c.telemetry.EmailCompromiseFindingsEmitted.Add(ctx, int64(len(ems)))
	for _, l := range lines {
		l.log(c.logger)
	}
}

// take returns the findings to emit now, written as OCSF records, and
// their log lines.
func (c *findingsConnector) take(now time.Time) ([]incident.Emission, plog.Logs, []logLine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ems := c.tracker.Flush(now.UnixNano())
	ld := plog.NewLogs()
	if len(ems) == 0 {
		return nil, ld, nil
	}
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	lrs := sl.LogRecords()
	lrs.EnsureCapacity(len(ems))
	lines := make([]logLine, len(ems))
	for i, e := range ems {
		writeFinding(lrs.AppendEmpty(), e, now, c.cfg.OCSFVersion)
		lines[i] = lineOf(e)
	}
	return ems, ld, lines
}

// logLine is what the connector logs of one emission: the line a person
// watching the collector reads, one per finding opened, updated or closed.
type logLine struct {
	msg, user, rule, severity, uid, successor string
	records, revision                         int
}

func lineOf(e incident.Emission) logLine {
	f := e.Finding
	l := logLine{user: f.User, rule: f.Rule, severity: f.Severity.String(), uid: f.UID, records: f.Count(), revision: f.Revision}
	switch {
	case f.Status == incident.StatusSuperseded:
		l.msg, l.successor = "Finding superseded", f.Successor()
	case e.Activity == incident.ActivityCreate && f.Status == incident.StatusClosed:
		l.msg = "Finding opened and closed"
	case e.Activity == incident.ActivityCreate:
		l.msg = "Finding opened"
	case f.Status == incident.StatusClosed:
		l.msg = "Finding closed"
	default:
		l.msg = "Finding updated"
	}
	return l
}

func (l logLine) log(logger *zap.Logger) {
	fields := []zap.Field{
		zap.String("user", l.user), zap.String("rule", l.rule), zap.String("severity", l.severity),
		zap.Int("records", l.records), zap.String("uid", l.uid), zap.Int("revision", l.revision),
	}
	if l.successor != "" {
		fields = append(fields, zap.String("superseded_by", l.successor))
	}
	logger.Info(l.msg, fields...)
}

// save snapshots the findings and the newest event time seen.
func (c *findingsConnector) save(ctx context.Context) {
	if c.storageClient == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	meta := binary.LittleEndian.AppendUint64(nil, uint64(c.tracker.Watermark()))
	_, err := snapshot.Save(ctx, c.storageClient, snapshotPrefix, findingsPerChunk, meta, c.tracker.All(), snapshot.Gob[*incident.Finding]{})
	if err != nil {
		c.telemetry.EmailCompromiseFindingsSnapshotErrors.Add(ctx, 1)
		c.logger.Warn("Could not snapshot the findings", zap.Error(err))
	}
}

func (c *findingsConnector) Shutdown(ctx context.Context) error {
	defer c.telemetry.Shutdown()
	if c.stop != nil {
		close(c.stop)
		c.done.Wait()
		c.stop = nil
		// What changed since the last tick is sent now, so that a clean
		// stop leaves nothing unsaid.
		c.flush(ctx)
	}
	if c.storageClient == nil {
		return nil
	}
	c.save(ctx)
	err := c.storageClient.Close(ctx)
	c.storageClient = nil
	return err
}
