package emailcompromisefindingsconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/metadata"
)

// story is 25 November 2026 (UTC), the demo's account takeover.
var story = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// emittedAt is the wall clock of the test connector's flushes.
var emittedAt = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// tag is one tagged record as the email_compromise processor writes it.
type tag struct {
	id, user   string
	tenant     string // tenant.name, "" for none
	at         time.Duration
	rules      []string
	severities []string // per rule; the record's detection.severity is the highest
	reason     string
	techniques []string
	evidence   []string
	chain      string
	title      string // security_rule.name of the most severe rule
	reference  string
	operation  string
	source     string
	address    string
	country    string
}

var severityRank = map[string]int{"low": 1, "medium": 2, "high": 3, "critical": 4}

func (tg tag) appendTo(lrs plog.LogRecordSlice) {
	lr := lrs.AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(story.Add(tg.at)))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(emittedAt))
	lr.SetEventName(tg.operation)
	lr.Body().SetEmptyMap().PutStr("Id", tg.id)
	a := lr.Attributes()
	a.PutStr("audit.record.id", tg.id)
	a.PutStr("user.name", tg.user)
	if tg.tenant != "" {
		a.PutStr("tenant.name", tg.tenant)
	}
	if tg.operation != "" {
		a.PutStr("audit.operation", tg.operation)
	}
	if tg.source != "" {
		a.PutStr("audit.source", tg.source)
	}
	if tg.address != "" {
		a.PutStr("client.address", tg.address)
	}
	if tg.country != "" {
		a.PutStr("geo.country.iso_code", tg.country)
	}
	if len(tg.rules) == 0 {
		return
	}
	top := ""
	for _, s := range tg.severities {
		if severityRank[s] > severityRank[top] {
			top = s
		}
	}
	putStrings(a, "detection.rules", tg.rules)
	putStrings(a, "detection.severities", tg.severities)
	a.PutStr("detection.severity", top)
	a.PutStr("detection.reason", tg.reason)
	putStrings(a, "detection.technique", tg.techniques)
	evidence := tg.evidence
	if evidence == nil {
		evidence = []string{tg.id}
	}
	putStrings(a, "detection.evidence", evidence)
	if tg.chain != "" {
		a.PutStr("detection.chain.id", tg.chain)
	}
	a.PutStr("security_rule.name", tg.title)
	a.PutStr("security_rule.category", tg.rules[0][:indexOf(tg.rules[0], '/')])
	a.PutStr("security_rule.ruleset.name", "email_compromise")
	if tg.reference != "" {
		a.PutStr("security_rule.reference", tg.reference)
	}
}

func indexOf(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

func putStrings(m pcommon.Map, key string, values []string) {
	s := m.PutEmptySlice(key)
	for _, v := range values {
		s.AppendEmpty().SetStr(v)
	}
}

func logsOf(tags ...tag) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, tg := range tags {
		tg.appendTo(lrs)
	}
	return ld
}

// newTestConnector returns a started connector with a fixed clock whose
// flushes the test drives, and the sink of its findings.
func newTestConnector(t testing.TB, cfg *Config, host component.Host) (*findingsConnector, *consumertest.LogsSink) {
	t.Helper()
	sink := new(consumertest.LogsSink)
	return startConnector(t, cfg, host, sink, componenttest.NewNopTelemetrySettings()), sink
}

// startConnector starts a connector sending to next, with telemetry tel.
func startConnector(t testing.TB, cfg *Config, host component.Host, next consumer.Logs, tel component.TelemetrySettings) *findingsConnector {
	t.Helper()
	set := connectortest.NewNopSettings(metadata.Type)
	// A fixed id: the storage client is named by it, and a restarted
	// connector must find its predecessor's.
	set.ID = component.NewID(metadata.Type)
	set.TelemetrySettings = tel
	c, err := newFindingsConnector(set, cfg, next)
	require.NoError(t, err)
	c.now = func() time.Time { return emittedAt }
	require.NoError(t, c.Start(context.Background(), host))
	t.Cleanup(func() {
		if c.stop != nil {
			require.NoError(t, c.Shutdown(context.Background()))
		}
	})
	return c
}

// testConfig never flushes or snapshots on its own: the test does.
func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.FlushInterval = time.Hour
	cfg.State.SnapshotInterval = time.Hour
	return cfg
}

// findings returns the finding records the sink received, in order.
func findings(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

func attrStr(lr plog.LogRecord, key string) string {
	v, _ := lr.Attributes().Get(key)
	return v.AsString()
}

func attrInt(lr plog.LogRecord, key string) int64 {
	v, _ := lr.Attributes().Get(key)
	return v.Int()
}
