package emailcompromisefindingsconnector

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// FuzzConsumeTagged: whatever tags a record carries - any rules, any
// severities, any reason, ids, times - the connector neither panics nor
// refuses the batch, and every finding it writes is a Detection Finding.
func FuzzConsumeTagged(f *testing.F) {
	f.Add("risky_sign_in/identity_provider_risk\nchain/account_takeover", "medium\ncritical", "risky_sign_in/identity_provider_risk: a. chain/account_takeover: b.", "id-1", "chain-1", int64(0), int64(60))
	f.Add("chain/account_takeover", "", "", "", "", int64(-5), int64(0))
	f.Add("\n/\nsigma/", "critical\nlow\nhigh", ": : :", "x", "", int64(1<<40), int64(-1))
	f.Fuzz(func(t *testing.T, rules, severities, reason, id, chain string, offset, step int64) {
		c, sink := newTestConnector(t, testConfig(), componenttest.NewNopHost())
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for i := int64(0); i < 3; i++ {
			lr := lrs.AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(story.Add(time.Duration(offset + i*step))))
			a := lr.Attributes()
			putStrings(a, "detection.rules", strings.Split(rules, "\n"))
			putStrings(a, "detection.severities", strings.Split(severities, "\n"))
			a.PutStr("detection.severity", "high")
			a.PutStr("detection.reason", reason)
			a.PutStr("audit.record.id", id)
			a.PutStr("detection.chain.id", chain)
			putStrings(a, "detection.evidence", []string{id, chain})
		}
		if err := c.ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
		c.flush(context.Background())
		for _, lr := range findings(sink) {
			if v, ok := lr.Body().Map().Get("class_uid"); !ok || v.Int() != 2004 {
				t.Fatalf("finding body %v", lr.Body().AsRaw())
			}
		}
	})
}
