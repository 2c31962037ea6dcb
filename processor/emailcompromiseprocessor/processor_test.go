package emailcompromiseprocessor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/metadatatest"
)

// Vendor records of the test stream. huntressRule is a New-InboxRule record
// of the Huntress CTF 2023 Purview export, verbatim.
const (
	huntressRule     = `{"AppAccessContext":{"IssuedAtTime":"2023-09-26T01:47:34","UniqueTokenId":"3kVZRE8tFkinHtPA7_EFAA"},"CreationTime":"2023-09-26T01:56:15","Id":"85d29e27-be28-4f2c-96c8-08dbbe33c473","Operation":"New-InboxRule","OrganizationId":"df233d94-fed3-4436-bf9a-a799fb85a159","RecordType":1,"ResultStatus":"True","UserKey":"10032002F222981B","UserType":2,"Version":1,"Workload":"Exchange","ClientIP":"185.73.124.135:19823","ObjectId":"NAMPR10A011.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/M365B132131.onmicrosoft.com/f757cb79-dd91-4555-a45e-520c2525d932\\f","UserId":"DebraB@M365B132131.OnMicrosoft.com","AppId":"00000002-0000-0ff1-ce00-000000000000","ClientAppId":"","ExternalAccess":false,"OrganizationName":"M365B132131.onmicrosoft.com","OriginatingServer":"CH3PR10MB7864 (15.20.6813.027)","Parameters":[{"Name":"AlwaysDeleteOutlookRulesBlob","Value":"False"},{"Name":"Force","Value":"False"},{"Name":"From","Value":"flag@ctf.com"},{"Name":"MoveToFolder","Value":"Conversation History"},{"Name":"Name","Value":"f"},{"Name":"MarkAsRead","Value":"True"},{"Name":"StopProcessingRules","Value":"True"}],"SessionId":"9dfdecb6-59a0-4714-846e-86c0fc911104"}`
	forwardingChange = `{"CreationTime":"2026-11-20T08:14:02","Id":"6f1f8e7a-3a55-4f0e-9c1e-08dd0a1b2c3d","Operation":"Set-Mailbox","OrganizationId":"0e8108b1-18e9-41a4-961b-dfcddf92ef08","OrganizationName":"contoso.onmicrosoft.com","RecordType":1,"ResultStatus":"True","UserType":0,"Workload":"Exchange","ClientIP":"[2001:db8::7]:50412","ObjectId":"bob","UserId":"bob@contoso.com","Parameters":[{"Name":"Identity","Value":"bob"},{"Name":"ForwardingSmtpAddress","Value":"smtp:payroll@contoso-payments.com"},{"Name":"DeliverToMailboxAndForward","Value":"False"}]}`
	graphSignIn      = `{"id":"66ea54eb-6301-4ee5-be62-ff5a759b0100","createdDateTime":"2020-03-13T19:15:41.6195833Z","userPrincipalName":"testaccount1@contoso.com","appId":"de8bc8b5-d9f9-48b1-a8ad-b748da725064","ipAddress":"131.107.159.37","clientAppUsed":"Browser","isInteractive":true,"riskLevelDuringSignIn":"none","riskState":"none","status":{"errorCode":0},"location":{"city":"Redmond","countryOrRegion":"US","geoCoordinates":{"latitude":47.68050003051758,"longitude":-122.12094116210938}}}`
)

func newTestProcessor(t *testing.T, cfg *Config, tel *componenttest.Telemetry) (*emailCompromiseProcessor, *consumertest.LogsSink) {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p, err := newEmailCompromiseProcessor(metadatatest.NewSettings(tel), cfg, sink)
	require.NoError(t, err)
	return p, sink
}

func mapBody(t *testing.T, lr plog.LogRecord, vendorJSON string) {
	t.Helper()
	require.NoError(t, jsonpdata.DecodeMap([]byte(vendorJSON), lr.Body().SetEmptyMap(), jsonpdata.Limits{}))
}

func TestProcessorTagsTheRevealingRecordOnly(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	cfg := createDefaultConfig().(*Config)
	cfg.OrganizationDomains = []string{"contoso.com"}
	p, sink := newTestProcessor(t, cfg, tel)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	// 0: a vendor record as a map, from a receiver that is not ours (OTLP).
	mapBody(t, records.AppendEmpty(), huntressRule)
	// 1: the same record as a JSON string, as filelog or kafka deliver it.
	records.AppendEmpty().Body().SetStr(huntressRule)
	// 2: a record from our receiver, with its attributes.
	fwd := records.AppendEmpty()
	mapBody(t, fwd, forwardingChange)
	fwd.Attributes().PutStr("audit.source", "o365")
	// 3: a clean sign-in.
	mapBody(t, records.AppendEmpty(), graphSignIn)
	// 4: an application log in a mixed pipeline.
	records.AppendEmpty().Body().SetStr("GET /healthz 200 3ms")
	// 5: JSON that is no vendor record.
	records.AppendEmpty().Body().SetStr(`{"level":"info","msg":"cache warmed"}`)
	// 6: a record our receiver could not parse.
	bad := records.AppendEmpty()
	bad.Body().SetStr(`{"CreationTime":`)
	bad.Attributes().PutStr("audit.parse_error", "invalid JSON at offset 16: unexpected end of input")
	before := plog.NewLogs()
	ld.CopyTo(before)

	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.Len(t, sink.AllLogs(), 1)
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 7, out.Len(), "records in = records out")

	hiding := map[string]any{
		"detection.rules":            []any{"mailbox_rule/inbox_rule_hiding"},
		"detection.evidence":         []any{"85d29e27-be28-4f2c-96c8-08dbbe33c473"},
		"detection.severity":         "high",
		"detection.severities":       []any{"high"},
		"detection.reason":           `inbox rule "f" on debrab@m365b132131.onmicrosoft.com set from 185.73.124.135 moves mail to Conversation History, marks it as read, stops processing other rules, has a 1-character name (4 hiding traits).`,
		"detection.technique":        []any{"T1586.002", "T1564.008"},
		"security_rule.name":         "Inbox rule hides mail from the mailbox owner",
		"security_rule.category":     "mailbox_rule",
		"security_rule.ruleset.name": "email_compromise",
		"security_rule.reference":    "https://attack.mitre.org/techniques/T1564/008/",
	}
	assert.Equal(t, hiding, out.At(0).Attributes().AsRaw())
	assert.Equal(t, hiding, out.At(1).Attributes().AsRaw())
	assert.Equal(t, huntressRule, out.At(1).Body().Str(), "a JSON string body is read, never rewritten")
	assert.Equal(t, map[string]any{
		"audit.source":               "o365",
		"detection.rules":            []any{"mailbox_rule/mailbox_forwarding_external"},
		"detection.evidence":         []any{"6f1f8e7a-3a55-4f0e-9c1e-08dd0a1b2c3d"},
		"detection.severity":         "critical",
		"detection.severities":       []any{"critical"},
		"detection.reason":           "Set-Mailbox on bob@contoso.com forwards all mail to external payroll@contoso-payments.com without keeping a copy (DeliverToMailboxAndForward=False), from 2001:db8::7.",
		"detection.technique":        []any{"T1586.002", "T1114.003"},
		"security_rule.name":         "Mailbox forwarding set to an address outside the organisation",
		"security_rule.category":     "mailbox_rule",
		"security_rule.ruleset.name": "email_compromise",
		"security_rule.reference":    "https://attack.mitre.org/techniques/T1114/003/",
	}, out.At(2).Attributes().AsRaw())
	for i := 3; i < 7; i++ {
		assert.Equal(t, before.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(i).Attributes().AsRaw(), out.At(i).Attributes().AsRaw(), "record %d passes untouched", i)
		assert.Equal(t, before.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(i).Body().AsRaw(), out.At(i).Body().AsRaw(), "record %d passes untouched", i)
	}

	metadatatest.AssertEqualEmailCompromiseRecordsIn(t, tel, []metricdata.DataPoint[int64]{{Value: 7}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseRecordsOut(t, tel, []metricdata.DataPoint[int64]{{Value: 7}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseRecordsTagged(t, tel, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseUnrecognizedRecords(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseParseErrors(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseDetections(t, tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("rule", "mailbox_rule/inbox_rule_hiding"), attribute.String("category", "mailbox_rule"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("rule", "mailbox_rule/mailbox_forwarding_external"), attribute.String("category", "mailbox_rule"))},
	}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
}

func TestProcessorDetectionsOnly(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	cfg := createDefaultConfig().(*Config)
	cfg.Output = OutputDetectionsOnly
	p, sink := newTestProcessor(t, cfg, tel)

	ld := plog.NewLogs()
	clean := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	mapBody(t, clean.AppendEmpty(), graphSignIn)
	clean.AppendEmpty().Body().SetStr("GET /healthz 200 3ms")
	mapBody(t, ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty(), huntressRule)

	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.Len(t, sink.AllLogs(), 1)
	got := sink.AllLogs()[0]
	assert.Equal(t, 1, got.LogRecordCount())
	assert.Equal(t, 1, got.ResourceLogs().Len(), "emptied resources are dropped")

	// A batch without detections is not passed on at all.
	ld = plog.NewLogs()
	mapBody(t, ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty(), graphSignIn)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	assert.Len(t, sink.AllLogs(), 1)
	metadatatest.AssertEqualEmailCompromiseRecordsIn(t, tel, []metricdata.DataPoint[int64]{{Value: 4}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseRecordsOut(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

// TestProcessorStateSurvivesRestart checks that the per-user state is written
// to the storage extension at shutdown and read back at start.
func TestProcessorStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	storageID := storagetest.NewStorageID("state")
	host := storagetest.NewStorageHost().WithFileBackedStorageExtension(storageID.Name(), dir)
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &storageID

	run := func() *emailCompromiseProcessor {
		tel := componenttest.NewTelemetry()
		t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
		p, _ := newTestProcessor(t, cfg, tel)
		require.NoError(t, p.Start(context.Background(), host))
		return p
	}
	first := run()
	ld := plog.NewLogs()
	mapBody(t, ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty(), graphSignIn)
	require.NoError(t, first.ConsumeLogs(context.Background(), ld))
	require.NoError(t, first.Shutdown(context.Background()))

	learned := *first.users.Get("testaccount1@contoso.com")
	require.NotEmpty(t, learned.SignIns.Known, "the sign-in taught a country and a network")

	second := run()
	defer func() { require.NoError(t, second.Shutdown(context.Background())) }()
	restored := second.users.Get("testaccount1@contoso.com")
	require.NotNil(t, restored)
	assert.Equal(t, learned, *restored, "every learned value, sighting time and timeline entry comes back")
}

// TestProcessorMaintainsStateWhileRunning: every snapshot_interval the
// processor forgets users idle longer than state.ttl and snapshots the rest;
// a snapshot that cannot be written is logged and counted, and processing
// goes on.
func TestProcessorMaintainsStateWhileRunning(t *testing.T) {
	ctx := context.Background()
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(ctx)) }()
	core, logs := observer.New(zap.WarnLevel)
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)
	cfg := createDefaultConfig().(*Config)
	cfg.State.SnapshotInterval = 10 * time.Millisecond
	cfg.State.TTL = 50 * time.Millisecond
	sink := new(consumertest.LogsSink)
	p, err := newEmailCompromiseProcessor(set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(ctx)) }()
	healthy := storagetest.NewInMemoryClient(component.KindProcessor, set.ID, "")
	p.mu.Lock()
	p.storageClient = healthy
	p.mu.Unlock()

	ld := plog.NewLogs()
	mapBody(t, ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty(), graphSignIn)
	require.NoError(t, p.ConsumeLogs(ctx, ld))
	require.Eventually(t, func() bool {
		data, err := healthy.Get(ctx, "email_compromise/state/v3/manifest")
		return err == nil && data != nil
	}, 5*time.Second, 10*time.Millisecond, "a snapshot was written while running")
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.users.Len() == 0
	}, 5*time.Second, 10*time.Millisecond, "the idle user expired after state.ttl")

	p.mu.Lock()
	p.storageClient = failingClient{healthy}
	p.mu.Unlock()
	require.Eventually(t, func() bool { return logs.FilterMessage("Could not snapshot per-user state").Len() > 0 }, 5*time.Second, 10*time.Millisecond)
	p.mu.Lock()
	p.storageClient = healthy // Shutdown saves once more
	p.mu.Unlock()
	require.NoError(t, p.ConsumeLogs(ctx, plog.NewLogs()), "processing goes on")
	m, err := tel.GetMetric("otelcol_email_compromise_state_snapshot_errors")
	require.NoError(t, err)
	assert.Positive(t, m.Data.(metricdata.Sum[int64]).DataPoints[0].Value, "the failed snapshots are counted")
}

// failingClient is a storage client whose writes fail, as a full disk's do.
type failingClient struct{ storage.Client }

func (failingClient) Set(context.Context, string, []byte) error {
	return errors.New("no space left on device")
}

func (failingClient) Batch(context.Context, ...*storage.Operation) error {
	return errors.New("no space left on device")
}

// TestProcessorStartsEmptyOnAnOlderSnapshot: a snapshot written by an
// earlier release in another layout is not half-read: the processor starts
// with empty state, says why, and counts it.
func TestProcessorStartsEmptyOnAnOlderSnapshot(t *testing.T) {
	ctx := context.Background()
	storageID := storagetest.NewStorageID("state")
	host := storagetest.NewStorageHost().WithFileBackedStorageExtension(storageID.Name(), t.TempDir())
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &storageID
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(ctx)) }()
	core, logs := observer.New(zap.WarnLevel)
	set := metadatatest.NewSettings(tel)
	set.Logger = zap.New(core)
	p, err := newEmailCompromiseProcessor(set, cfg, new(consumertest.LogsSink))
	require.NoError(t, err)

	client, err := host.GetExtensions()[storageID].(storage.Extension).GetClient(ctx, component.KindProcessor, set.ID, "")
	require.NoError(t, err)
	require.NoError(t, client.Set(ctx, "email_compromise/state/v1/manifest", []byte("4 1")))
	require.NoError(t, client.Set(ctx, "email_compromise/state/v1/4/0", []byte("a gob of the first layout")))
	require.NoError(t, client.Close(ctx))

	require.NoError(t, p.Start(ctx, host))
	require.NoError(t, p.Shutdown(ctx))
	require.Equal(t, 1, logs.FilterMessageSnippet("earlier release's layout").Len())
	assert.Contains(t, logs.All()[0].ContextMap()["error"], "layout v1 found, v3 expected")
	metadatatest.AssertEqualEmailCompromiseStateSnapshotErrors(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

func TestProcessorStorageMisconfigured(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	missing := component.MustNewIDWithName("file_storage", "absent")
	cfg.Storage = &missing
	p, _ := newTestProcessor(t, cfg, componenttest.NewTelemetry())
	err := p.Start(context.Background(), componenttest.NewNopHost())
	assert.ErrorContains(t, err, `storage: extension "file_storage/absent" is not configured`)
}

// TestProcessorWithSigmaRules loads the shipped Sigma rules beside the
// built-in detectors: a rogue inbox rule is tagged by both, and the record's
// security_rule fields name the most severe detection.
func TestProcessorWithSigmaRules(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Sigma.Rules = []string{"../../testdata/sigma"}
	require.NoError(t, cfg.Validate())
	p, sink := newTestProcessor(t, cfg, componenttest.NewTelemetry())
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(huntressRule)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	attrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	rules, _ := attrs.Get(AttrDetectionRules)
	var ids []string
	sigmaRules := 0
	for i := 0; i < rules.Slice().Len(); i++ {
		id := rules.Slice().At(i).Str()
		ids = append(ids, id)
		if strings.HasPrefix(id, "sigma/") {
			sigmaRules++
		}
	}
	assert.Contains(t, ids, "mailbox_rule/inbox_rule_hiding")
	assert.Positive(t, sigmaRules, "a shipped Sigma rule matches the rogue inbox rule: %v", ids)
}

func TestProcessorSigmaErrorsAreFatalOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.yml"), []byte("title: broken\nlogsource: {product: m365, service: audit}\ndetection:\n  sel: {Operation|nosuchmodifier: x}\n  condition: sel\n"), 0o600))
	cfg := createDefaultConfig().(*Config)
	cfg.Sigma.Rules = []string{dir}
	_, err := newEmailCompromiseProcessor(processortest.NewNopSettings(NewFactory().Type()), cfg, consumertest.NewNop())
	require.NoError(t, err, "a bad rule is reported and skipped")
	cfg.Sigma.FailOnError = true
	_, err = newEmailCompromiseProcessor(processortest.NewNopSettings(NewFactory().Type()), cfg, consumertest.NewNop())
	assert.ErrorContains(t, err, "broken.yml")
}
