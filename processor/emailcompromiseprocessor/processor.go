package emailcompromiseprocessor // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/internal/snapshot"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/geoip"
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
	tenants   *tenants
	geo       *geoip.DB
	// knownRules finds a built-in rule by id, for tags an upstream
	// collector of ours already wrote.
	knownRules map[string]*detection.Rule

	// mu serialises batches: per-user state is not safe for concurrent use,
	// and the scratch values below are reused across records.
	mu         sync.Mutex
	users      *state.Store[state.User]
	lookupUser func(string) *state.User
	// current is the tenant of the record being judged: lookupUser finds
	// another user of the same tenant.
	current  *tenant
	record   auditrecord.Record
	event    detection.Event
	findings []detection.Finding
	jsonBody pcommon.Map

	// storageClient is set at Start; tests swap it under mu.
	storageClient storage.Client
	// saving serialises snapshots: one pass over users at a time.
	saving sync.Mutex
	// steps passes a snapshot's copy steps to the processing path.
	steps         stepHandoff
	stopSnapshots chan struct{}
	snapshotsDone sync.WaitGroup
}

func newEmailCompromiseProcessor(set processor.Settings, cfg *Config, next consumer.Logs) (*emailCompromiseProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	ts, err := newTenants(cfg, tb, set.Logger)
	if err != nil {
		return nil, err
	}
	p := &emailCompromiseProcessor{
		id:         set.ID,
		cfg:        cfg,
		logger:     set.Logger,
		telemetry:  tb,
		next:       next,
		tenants:    ts,
		knownRules: map[string]*detection.Rule{},
		users:      state.New[state.User](cfg.State.MaxUsers, cfg.State.TTL),
		jsonBody:   pcommon.NewMap(),
		current:    ts.fallback,
	}
	p.lookupUser = func(user string) *state.User { return p.users.Get(p.current.userKey(user)) }
	p.steps.mu = &p.mu
	for _, r := range detection.BuiltinRules() {
		p.knownRules[r.ID] = r
	}
	return p, nil
}

// buildSuite returns the enabled detectors, cheapest first, in a suite
// applying policy.
func buildSuite(cfg *Config, pc PolicyConfig, sigmaRules *detection.SigmaRules, onHeldBack func(*detection.Rule)) *detection.Suite {
	policy := detection.NewPolicy(pc.policyOptions())
	d := cfg.Detectors
	var ds []detection.Detector
	add := func(enabled bool, det detection.Detector) {
		if enabled {
			ds = append(ds, det)
		}
	}
	add(d.MailboxForwarding.Enabled, detection.NewMailboxForwarding(policy))
	add(d.InboxRule.Enabled, detection.NewInboxRule(policy, detection.InboxRuleOptions{Keywords: d.InboxRule.Keywords, HidingFolders: d.InboxRule.HidingFolders}))
	add(d.IdPRisk.Enabled, detection.NewIdPRisk(policy, detection.IdPRiskOptions{TrustedNetworkAction: d.IdPRisk.TrustedNetworkAction}))
	add(d.LegacyAuth.Enabled, detection.NewLegacyAuth(policy, detection.LegacyAuthOptions{ClientApps: d.LegacyAuth.ClientApps}))
	add(d.Anonymizer.Enabled, detection.NewAnonymizer(detection.AnonymizerOptions{Networks: parseNetworks(d.Anonymizer.Networks), HostingASNs: d.Anonymizer.HostingASNs}))
	add(d.BruteForce.Enabled, detection.NewBruteForce(policy, detection.BruteForceOptions{MinFailures: d.BruteForce.MinFailures, Window: d.BruteForce.Window}))
	add(d.MFAFatigue.Enabled, detection.NewMFAFatigue(detection.MFAFatigueOptions{MinPrompts: d.MFAFatigue.MinPrompts, Window: d.MFAFatigue.Window}))
	add(d.PasswordSpray.Enabled, detection.NewPasswordSpray(policy, detection.PasswordSprayOptions{MinUsers: d.PasswordSpray.MinUsers, Window: d.PasswordSpray.Window,
		MaxSources: d.PasswordSpray.MaxSources, Lateness: cfg.AllowedLateness}))
	add(d.NewLocation.Enabled, detection.NewNewLocation(policy, detection.NewLocationOptions{LearningPeriod: d.NewLocation.LearningPeriod, LearningSignIns: d.NewLocation.LearningSignIns}))
	travel := detection.NewImpossibleTravel(policy, detection.ImpossibleTravelOptions{
		MaxSpeedKmh: d.ImpossibleTravel.MaxSpeedKmh, MinDistanceKm: d.ImpossibleTravel.MinDistanceKm,
		VPNASNs: d.ImpossibleTravel.VPNASNs, MobileASNs: d.ImpossibleTravel.MobileASNs, FamiliarSignIns: d.ImpossibleTravel.FamiliarSignIns,
	})
	add(d.ImpossibleTravel.Enabled, travel)
	add(d.TransportRule.Enabled, detection.NewTransportRule(policy))
	add(d.Delegation.Enabled, detection.NewDelegation(policy))
	add(d.BulkSend.Enabled, detection.NewBulkSend(policy, detection.BulkSendOptions{Factor: d.BulkSend.Factor, Floor: d.BulkSend.Floor, LearningHours: d.BulkSend.LearningHours}))
	add(d.SessionHijack.Enabled, detection.NewSessionHijack(policy, detection.SessionHijackOptions{Window: d.SessionHijack.Window, MobileASNs: d.ImpossibleTravel.MobileASNs}))
	add(d.DeviceCode.Enabled, detection.NewDeviceCode(policy, detection.DeviceCodeOptions{HostingASNs: d.Anonymizer.HostingASNs}))
	add(d.AccountLockout.Enabled, detection.NewLockout(policy, detection.LockoutOptions{MinLockouts: d.AccountLockout.MinLockouts, Window: d.AccountLockout.Window}))
	// Thread hijacking and persistence read the access stages of the
	// sign-in detectors above; mail collection the consents persistence
	// learns.
	add(d.ThreadHijack.Enabled, detection.NewThreadHijack(detection.ThreadHijackOptions{RiskWindow: d.ThreadHijack.RiskWindow, DeleteWindow: d.ThreadHijack.DeleteWindow, MinKnownIPs: d.ThreadHijack.MinKnownIPs}))
	add(d.Persistence.Enabled, detection.NewPersistence(policy, detection.PersistenceOptions{RiskWindow: d.Persistence.RiskWindow, MinKnownIPs: d.Persistence.MinKnownIPs}))
	add(d.MailCollection.Enabled, detection.NewMailCollection(policy, detection.MailCollectionOptions{Factor: d.MailCollection.Factor, Floor: d.MailCollection.Floor,
		Window: d.MailCollection.Window, LearningHours: d.MailCollection.LearningHours, ConsentWindow: d.MailCollection.ConsentWindow}))
	if sigmaRules != nil {
		ds = append(ds, sigmaRules)
	}
	// The chain reads the stages the other detectors' findings made: last.
	add(d.Chain.Enabled, detection.NewChain(detection.ChainOptions{StageTwoWindow: d.Chain.StageTwoWindow, Window: d.Chain.Window}))
	return detection.NewSuite(ds, detection.SuiteOptions{
		Lateness: cfg.AllowedLateness,
		// The longest pattern: a travel pair's physical horizon, the
		// chain's window, the risky-session windows of thread hijacking and
		// persistence, the consent window of mail collection.
		Retention: max(travel.Horizon(), d.Chain.Window, d.ThreadHijack.RiskWindow, d.BruteForce.Window, d.MFAFatigue.Window,
			d.SessionHijack.Window, d.Persistence.RiskWindow, d.AccountLockout.Window, d.MailCollection.Window, d.MailCollection.ConsentWindow),
		KeepSends:       d.ThreadHijack.DeleteWindow,
		Warmup:          cfg.State.Warmup,
		LearningSignIns: d.NewLocation.LearningSignIns,
		FamiliarSignIns: d.ImpossibleTravel.FamiliarSignIns,
		OnHeldBack:      onHeldBack,
		Policy:          policy,
	})
}

func (p *emailCompromiseProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// expirer is a detector with state of its own (keyed by something other
// than the user), expired together with the user state.
type expirer interface {
	Expire(now time.Time)
}

func (p *emailCompromiseProcessor) Start(ctx context.Context, host component.Host) error {
	geo, err := geoip.Open(p.cfg.GeoIP.CityDatabase, p.cfg.GeoIP.ASNDatabase)
	if err != nil {
		return err
	}
	p.geo = geo
	if p.cfg.Storage != nil {
		client, err := snapshot.Client(ctx, host, *p.cfg.Storage, component.KindProcessor, p.id)
		if err != nil {
			return err
		}
		p.storageClient = client
		n, err := state.Load(ctx, client, p.users)
		switch {
		case errors.Is(err, state.ErrOlderLayout):
			// An upgrade changed what a user's state holds: start empty (the
			// next snapshot replaces the old one), and say so.
			p.telemetry.EmailCompromiseStateSnapshotErrors.Add(ctx, 1)
			p.logger.Warn("The per-user state snapshot is of an earlier release's layout and cannot be read; starting with empty state, so baselines are learned anew",
				zap.Error(err))
		case err != nil:
			// Losing learned history must not stop detection: start empty,
			// without the users of the chunks read before the one that
			// failed (half a history would judge its users against less
			// than it seems to hold).
			p.users = state.New[state.User](p.cfg.State.MaxUsers, p.cfg.State.TTL)
			p.telemetry.EmailCompromiseStateSnapshotErrors.Add(ctx, 1)
			p.logger.Warn("Could not restore the per-user state snapshot; starting with empty state", zap.Error(err))
		default:
			p.logger.Info("Restored per-user state", zap.Int("users", n))
		}
		p.restoreSigmaStates(ctx)
		p.restoreSprayStates(ctx)
	}
	p.stopSnapshots = make(chan struct{})
	p.snapshotsDone.Add(1)
	go p.maintainState()
	return nil
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
			p.maintain(context.Background())
		}
	}
}

// maintain expires idle state and snapshots the rest: one tick of
// maintainState.
func (p *emailCompromiseProcessor) maintain(ctx context.Context) {
	p.steps.underLock(func() {
		now := time.Now()
		p.users.Expire(now)
		for _, t := range p.tenants.all() {
			for _, e := range t.expirers {
				e.Expire(now)
			}
		}
	})
	p.saveState(ctx)
}

// saveState snapshots state. The caller does not hold mu: saveState copies
// a batch of users at a time under it (see stepHandoff), and encodes and
// writes outside it, so that records are processed while a snapshot is
// written.
func (p *emailCompromiseProcessor) saveState(ctx context.Context) {
	p.saving.Lock()
	defer p.saving.Unlock()
	p.mu.Lock()
	client := p.storageClient
	p.mu.Unlock()
	if client == nil {
		return
	}
	if err := state.Save(ctx, client, p.users, p.steps.underLock); err != nil {
		p.telemetry.EmailCompromiseStateSnapshotErrors.Add(ctx, 1)
		p.logger.Warn("Could not snapshot per-user state", zap.Error(err))
	}
	p.saveSigmaStates(ctx, client)
	p.saveSprayStates(ctx, client)
}

func (p *emailCompromiseProcessor) Shutdown(ctx context.Context) error {
	if p.stopSnapshots != nil {
		close(p.stopSnapshots)
		p.snapshotsDone.Wait()
	}
	var err error
	if p.storageClient != nil {
		p.saveState(ctx)
		err = p.storageClient.Close(ctx)
	}
	if p.geo != nil {
		err = errors.Join(err, p.geo.Close())
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
	c := p.inspectBatch(ctx, ld)
	p.telemetry.EmailCompromiseRecordsIn.Add(ctx, c.in)
	p.telemetry.EmailCompromiseRecordsTagged.Add(ctx, c.tagged)
	p.telemetry.EmailCompromiseUnrecognizedRecords.Add(ctx, c.unrecognized)
	p.telemetry.EmailCompromiseParseErrors.Add(ctx, c.parseErrors)
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

// batchCounts is what inspecting a batch found.
type batchCounts struct{ in, tagged, unrecognized, parseErrors int64 }

// inspectBatch judges every record of ld under the processing lock, then
// runs the copy step a snapshot handed over, if any. The lock is released
// by a defer, so that a panic cannot leave it held.
func (p *emailCompromiseProcessor) inspectBatch(ctx context.Context, ld plog.Logs) (c batchCounts) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	evictionsBefore := p.users.Evictions()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		resource, scopes := rl.Resource().Attributes(), rl.ScopeLogs()
		for j := 0; j < scopes.Len(); j++ {
			records := scopes.At(j).LogRecords()
			c.in += int64(records.Len())
			records.RemoveIf(func(lr plog.LogRecord) bool {
				o := p.inspect(ctx, lr, resource, now)
				switch o {
				case outcomeTagged:
					c.tagged++
				case outcomeUnrecognized:
					c.unrecognized++
				case outcomeParseError:
					c.parseErrors++
				}
				return p.cfg.Output == OutputDetectionsOnly && o != outcomeTagged
			})
		}
	}
	p.telemetry.EmailCompromiseStateEvictions.Add(ctx, int64(p.users.Evictions()-evictionsBefore))
	p.telemetry.EmailCompromiseStateUsers.Record(ctx, int64(p.users.Len()))
	p.steps.runHanded()
	return c
}

// inspect builds the record's view once, has the suite judge it and tags
// the record when anything fired.
func (p *emailCompromiseProcessor) inspect(ctx context.Context, lr plog.LogRecord, resource pcommon.Map, now time.Time) outcome {
	rec := &p.record
	body, o, ok := p.view(lr, rec)
	if !ok {
		return o
	}
	// The event lives in the processor: passed to detectors through an
	// interface, a local would escape to the heap on every record.
	ev := &p.event
	*ev = detection.Event{Record: rec, Body: body, Attributes: lr.Attributes(), Now: now, Users: p.lookupUser, NewStages: ev.NewStages}
	t := p.tenants.of(rec, lr.Attributes(), resource)
	p.current = t
	if rec.User != "" {
		ev.User = p.users.Touch(t.userKey(rec.User), now)
	}
	findings := t.suite.Judge(ev, p.adoptUpstream(lr.Attributes(), p.findings[:0]))
	p.findings = findings
	if ev.Late {
		p.telemetry.EmailCompromiseLateRecords.Add(ctx, 1)
	}
	if len(findings) == 0 {
		return outcomeClean
	}
	writeTags(lr.Attributes(), findings)
	for i := range findings {
		f := &findings[i]
		if f.Status != detection.StatusNew {
			continue
		}
		p.telemetry.EmailCompromiseDetections.Add(ctx, 1, t.ruleAttrs[f.Rule]...)
		if p.firstInPeriod(p.lookupUser(f.User), f.Rule, now) {
			p.logger.Info("Detection",
				t.logField(), zap.String("user", f.User), zap.String("rule", f.Rule.ID),
				zap.String("severity", f.Severity.String()), zap.String("reason", f.Reason),
				zap.Strings("evidence", evidenceIDs(f.Evidence)), zap.String("record", rec.ID))
		}
	}
	return outcomeTagged
}

// adoptUpstream turns the tags an earlier collector of ours wrote on the
// record (tier 1 of a scale-out tags password spray, which it alone can see)
// into findings: they stay on the record when this collector tags it again,
// they count as chain stages, and they are not counted or logged twice.
// A batch our own receiver sends again after a refusal carries the tags
// of its first pass, which are adopted the same way.
func (p *emailCompromiseProcessor) adoptUpstream(attrs pcommon.Map, findings []detection.Finding) []detection.Finding {
	rules, ok := attrs.Get(AttrDetectionRules)
	if !ok || rules.Type() != pcommon.ValueTypeSlice || rules.Slice().Len() == 0 {
		return findings
	}
	severity := detection.SeverityLow
	if v, ok := attrs.Get(AttrDetectionSeverity); ok && detection.ParseSeverity(v.Str()) != 0 {
		severity = detection.ParseSeverity(v.Str())
	}
	var reason, chainID string
	if v, ok := attrs.Get(AttrDetectionReason); ok {
		reason = v.Str()
	}
	if v, ok := attrs.Get(AttrDetectionChainID); ok {
		chainID = v.Str()
	}
	var evidence []detection.Evidence
	if v, ok := attrs.Get(AttrDetectionEvidence); ok && v.Type() == pcommon.ValueTypeSlice {
		for i := 0; i < v.Slice().Len(); i++ {
			evidence = append(evidence, detection.Evidence{ID: state.IDOf(v.Slice().At(i).Str())})
		}
	}
	// Each rule's own severity, when the upstream collector wrote them.
	severities, perRule := attrs.Get(AttrDetectionSeverities)
	perRule = perRule && severities.Type() == pcommon.ValueTypeSlice && severities.Slice().Len() == rules.Slice().Len()
	for i := 0; i < rules.Slice().Len(); i++ {
		id := rules.Slice().At(i).Str()
		ruleSeverity := severity
		if perRule {
			if s := detection.ParseSeverity(severities.Slice().At(i).Str()); s != 0 {
				ruleSeverity = s
			}
		}
		rule, known := p.knownRules[id]
		if !known {
			category, _, _ := strings.Cut(id, "/")
			rule = &detection.Rule{ID: id, Category: category, Title: id}
		}
		findings = append(findings, detection.Finding{Rule: rule, Severity: ruleSeverity, Reason: reason, ChainID: chainID,
			Evidence: evidence, Status: detection.StatusUpstream})
		reason = "" // the upstream reason already covers every upstream rule
	}
	return findings
}

// firstInPeriod reports whether rule has not been logged for the user within
// the suppression period, and remembers that it is now.
func (p *emailCompromiseProcessor) firstInPeriod(u *state.User, rule *detection.Rule, now time.Time) bool {
	if u == nil {
		return true
	}
	found := u.FoundOf()
	oldest := 0
	for i := range found.Logged {
		l := &found.Logged[i]
		if l.Rule == rule.ID {
			if now.Sub(l.At) < p.cfg.SuppressionPeriod {
				return false
			}
			l.At = now
			return true
		}
		if l.At.Before(found.Logged[oldest].At) {
			oldest = i
		}
	}
	if len(found.Logged) < state.MaxLogged {
		found.Logged = append(found.Logged, state.Logged{Rule: rule.ID, At: now})
	} else {
		found.Logged[oldest] = state.Logged{Rule: rule.ID, At: now}
	}
	return true
}

// view fills rec from the record and returns the structured body detectors
// may read (Sigma rules match vendor fields). A record from our receiver names its
// source, so the shape detection is skipped; a body that is a JSON string
// (a foreign receiver such as filelog or kafka) is decoded once into a
// scratch map, leaving the record's own body untouched.
func (p *emailCompromiseProcessor) view(lr plog.LogRecord, rec *auditrecord.Record) (pcommon.Map, outcome, bool) {
	src, hadParseError := auditrecord.SourceOf(lr.Attributes())
	if hadParseError {
		return pcommon.Map{}, outcomeParseError, false
	}
	var body pcommon.Map
	switch lr.Body().Type() {
	case pcommon.ValueTypeMap:
		body = lr.Body().Map()
	case pcommon.ValueTypeStr:
		text := lr.Body().Str()
		if !looksLikeJSONObject(text) {
			return pcommon.Map{}, outcomeUnrecognized, false
		}
		if err := jsonpdata.DecodeMapString(text, p.jsonBody, jsonpdata.Limits{}); err != nil {
			return pcommon.Map{}, outcomeUnrecognized, false
		}
		body = p.jsonBody
	default:
		return pcommon.Map{}, outcomeUnrecognized, false
	}
	var err error
	if src != auditrecord.SourceUnknown {
		err = auditrecord.ParseAs(body, src, rec)
	} else {
		err = auditrecord.Parse(body, rec)
	}
	switch {
	case errors.Is(err, auditrecord.ErrUnrecognized):
		return pcommon.Map{}, outcomeUnrecognized, false
	case err != nil:
		return pcommon.Map{}, outcomeParseError, false
	}
	p.locate(rec)
	return body, outcomeClean, true
}

// locate fills a record's place and network from the GeoIP databases when
// the vendor gave none (O365 and Google records carry only the address):
// sign-ins, and the records compared with them — those that use a session,
// account changes, mail accesses.
func (p *emailCompromiseProcessor) locate(rec *auditrecord.Record) {
	if !rec.ClientIP.IsValid() || (rec.Kind != auditrecord.KindSignIn && rec.Kind != auditrecord.KindAccountChange &&
		rec.SessionID == "" && rec.TokenID == "" && rec.Mail.Accessed == 0) {
		return
	}
	if !rec.Geo.HasCoordinates {
		if loc, ok := p.geo.City(rec.ClientIP); ok {
			rec.Geo.Lat, rec.Geo.Lon, rec.Geo.HasCoordinates = loc.Lat, loc.Lon, true
			rec.Geo.City = loc.City
			if rec.Geo.CountryISO == "" {
				rec.Geo.CountryISO = loc.CountryISO
			}
		}
	}
	if rec.SignIn.ASN == 0 {
		if a, ok := p.geo.ASN(rec.ClientIP); ok {
			rec.SignIn.ASN = a.Number
		}
	}
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
