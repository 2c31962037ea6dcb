package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/metadata"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// emailCompromiseProcessor implements the component directly, as stateful
// contrib processors do: state is loaded in Start, snapshotted by a
// goroutine, and saved again in Shutdown.
type emailCompromiseProcessor struct {
	id        component.ID
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	next      consumer.Logs
	detectors []detection.Detector
	// ruleMetricAttrs are the precomputed metric attributes of each rule.
	ruleMetricAttrs map[*detection.Rule][]metric.AddOption

	// mu serialises batches: per-user state must see one user's records in
	// order, and the scratch values below are reused across records.
	mu       sync.Mutex
	users    *state.Store
	record   auditrecord.Record
	findings []detection.Finding
	jsonBody pcommon.Map

	storageClient storage.Client
	stopSnapshots chan struct{}
	snapshotsDone sync.WaitGroup
}

func newEmailCompromiseProcessor(set processor.Settings, cfg *Config, next consumer.Logs) (*emailCompromiseProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	p := &emailCompromiseProcessor{
		id:              set.ID,
		cfg:             cfg,
		logger:          set.Logger,
		telemetry:       tb,
		next:            next,
		detectors:       buildDetectors(cfg),
		ruleMetricAttrs: map[*detection.Rule][]metric.AddOption{},
		users:           state.New(cfg.State.MaxUsers, cfg.State.TTL),
		jsonBody:        pcommon.NewMap(),
	}
	for _, d := range p.detectors {
		for _, r := range d.Rules() {
			p.ruleMetricAttrs[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
				attribute.String("rule", r.ID), attribute.String("category", r.Category)))}
		}
	}
	return p, nil
}

// buildDetectors returns the enabled detectors, cheapest first.
func buildDetectors(cfg *Config) []detection.Detector {
	policy := detection.NewPolicy(cfg.policyOptions())
	var ds []detection.Detector
	if cfg.Detectors.MailboxForwarding.Enabled {
		ds = append(ds, detection.NewMailboxForwarding(policy))
	}
	if c := cfg.Detectors.InboxRule; c.Enabled {
		ds = append(ds, detection.NewInboxRule(policy, detection.InboxRuleOptions{Keywords: c.Keywords, HidingFolders: c.HidingFolders}))
	}
	return ds
}

func (p *emailCompromiseProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (p *emailCompromiseProcessor) Start(ctx context.Context, host component.Host) error {
	if p.cfg.Storage != nil {
		client, err := storageClient(ctx, host, *p.cfg.Storage, p.id)
		if err != nil {
			return err
		}
		p.storageClient = client
		n, err := state.Load(ctx, client, p.users)
		if err != nil {
			// Losing learned history must not stop detection: start empty.
			p.telemetry.EmailCompromiseStateSnapshotErrors.Add(ctx, 1)
			p.logger.Warn("Could not restore the per-user state snapshot; starting with empty state", zap.Error(err))
		} else {
			p.logger.Info("Restored per-user state", zap.Int("users", n))
		}
	}
	p.stopSnapshots = make(chan struct{})
	p.snapshotsDone.Add(1)
	go p.maintainState()
	return nil
}

func storageClient(ctx context.Context, host component.Host, id, self component.ID) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not configured; add it under extensions: and service::extensions, or remove the storage key", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension; use e.g. file_storage", id)
	}
	return se.GetClient(ctx, component.KindProcessor, self, "")
}

// maintainState expires idle users and snapshots state every interval.
func (p *emailCompromiseProcessor) maintainState() {
	defer p.snapshotsDone.Done()
	ticker := time.NewTicker(p.cfg.State.SnapshotInterval)
	defer ticker.Stop()
	for {
		select {
		case <-p.stopSnapshots:
			return
		case <-ticker.C:
			p.mu.Lock()
			p.users.Expire(time.Now())
			p.saveState(context.Background())
			p.mu.Unlock()
		}
	}
}

// saveState snapshots state; the caller holds mu.
func (p *emailCompromiseProcessor) saveState(ctx context.Context) {
	if p.storageClient == nil {
		return
	}
	if err := state.Save(ctx, p.storageClient, p.users); err != nil {
		p.telemetry.EmailCompromiseStateSnapshotErrors.Add(ctx, 1)
		p.logger.Warn("Could not snapshot per-user state", zap.Error(err))
	}
}

func (p *emailCompromiseProcessor) Shutdown(ctx context.Context) error {
	if p.stopSnapshots != nil {
		close(p.stopSnapshots)
		p.snapshotsDone.Wait()
	}
	var err error
	if p.storageClient != nil {
		p.mu.Lock()
		p.saveState(ctx)
		p.mu.Unlock()
		err = p.storageClient.Close(ctx)
	}
	p.telemetry.Shutdown()
	return err
}

// outcome is what inspecting one record found.
type outcome uint8

const (
	outcomeClean outcome = iota
	outcomeTagged
	outcomeUnrecognized
	outcomeParseError
)

func (p *emailCompromiseProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	p.mu.Lock()
	now := time.Now()
	var in, tagged, unrecognized, parseErrors int64
	evictionsBefore := p.users.Evictions()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		scopes := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < scopes.Len(); j++ {
			records := scopes.At(j).LogRecords()
			in += int64(records.Len())
			records.RemoveIf(func(lr plog.LogRecord) bool {
				o := p.inspect(ctx, lr, now)
				switch o {
				case outcomeTagged:
					tagged++
				case outcomeUnrecognized:
					unrecognized++
				case outcomeParseError:
					parseErrors++
				}
				return p.cfg.Output == OutputDetectionsOnly && o != outcomeTagged
			})
		}
	}
	p.telemetry.EmailCompromiseStateEvictions.Add(ctx, int64(p.users.Evictions()-evictionsBefore))
	p.telemetry.EmailCompromiseStateUsers.Record(ctx, int64(p.users.Len()))
	p.mu.Unlock()

	p.telemetry.EmailCompromiseRecordsIn.Add(ctx, in)
	p.telemetry.EmailCompromiseRecordsTagged.Add(ctx, tagged)
	p.telemetry.EmailCompromiseUnrecognizedRecords.Add(ctx, unrecognized)
	p.telemetry.EmailCompromiseParseErrors.Add(ctx, parseErrors)
	if p.cfg.Output == OutputDetectionsOnly {
		ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
			rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool { return sl.LogRecords().Len() == 0 })
			return rl.ScopeLogs().Len() == 0
		})
	}
	out := ld.LogRecordCount()
	if out == 0 {
		return nil
	}
	p.telemetry.EmailCompromiseRecordsOut.Add(ctx, int64(out))
	return p.next.ConsumeLogs(ctx, ld)
}

// inspect builds the record's view once, runs every detector on it and tags
// the record when any fired.
func (p *emailCompromiseProcessor) inspect(ctx context.Context, lr plog.LogRecord, now time.Time) outcome {
	rec := &p.record
	if o, ok := p.view(lr, rec); !ok {
		return o
	}
	ev := detection.Event{Record: rec, Now: now}
	if rec.User != "" {
		ev.User = p.users.Touch(rec.User, now)
	}
	findings := p.findings[:0]
	for _, d := range p.detectors {
		findings = d.Detect(&ev, findings)
	}
	p.findings = findings
	if len(findings) == 0 {
		return outcomeClean
	}
	writeTags(lr.Attributes(), findings)
	for i := range findings {
		f := &findings[i]
		p.telemetry.EmailCompromiseDetections.Add(ctx, 1, p.ruleMetricAttrs[f.Rule]...)
		p.logger.Info("Detection",
			zap.String("user", rec.User), zap.String("rule", f.Rule.ID),
			zap.String("severity", f.Severity.String()), zap.String("reason", f.Reason))
	}
	return outcomeTagged
}

// view fills rec from the record. A record from our receiver names its
// source, so the shape detection is skipped; a body that is a JSON string
// (a foreign receiver such as filelog or kafka) is decoded once into a
// scratch map, leaving the record's own body untouched.
func (p *emailCompromiseProcessor) view(lr plog.LogRecord, rec *auditrecord.Record) (outcome, bool) {
	src, hadParseError := auditrecord.SourceOf(lr.Attributes())
	if hadParseError {
		return outcomeParseError, false
	}
	var body pcommon.Map
	switch lr.Body().Type() {
	case pcommon.ValueTypeMap:
		body = lr.Body().Map()
	case pcommon.ValueTypeStr:
		text := lr.Body().Str()
		if !looksLikeJSONObject(text) {
			return outcomeUnrecognized, false
		}
		if err := jsonpdata.DecodeMap([]byte(text), p.jsonBody, jsonpdata.Limits{}); err != nil {
			return outcomeUnrecognized, false
		}
		body = p.jsonBody
	default:
		return outcomeUnrecognized, false
	}
	var err error
	if src != auditrecord.SourceUnknown {
		err = auditrecord.ParseAs(body, src, rec)
	} else {
		err = auditrecord.Parse(body, rec)
	}
	switch {
	case errors.Is(err, auditrecord.ErrUnrecognized):
		return outcomeUnrecognized, false
	case err != nil:
		return outcomeParseError, false
	}
	return outcomeClean, true
}

func looksLikeJSONObject(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}
