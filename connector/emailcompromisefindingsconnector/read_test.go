package emailcompromisefindingsconnector

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
)

// A record our receiver decoded in this process carries attributes that are
// slices of its whole text: what an observation (and so a finding, for its
// retention) keeps of them is a copy.
func TestObservationsDoNotPinTheRecord(t *testing.T) {
	text := strings.Repeat("x", 2000) + `alice@contoso.com|1111-2222|Send|o365|192.0.2.7|DE|bulk_send/rate|high|over the rate|e-1|chain-1|T1586.002|tenant-a` + strings.Repeat("y", 2000)
	part := func(s string) string {
		i := strings.Index(text, s)
		require.GreaterOrEqual(t, i, 0, s)
		return text[i : i+len(s)]
	}
	lr := plog.NewLogRecord()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)))
	lr.SetEventName(part("Send"))
	a := lr.Attributes()
	a.PutStr(auditrecord.AttrUserName, part("alice@contoso.com"))
	a.PutStr(auditrecord.AttrRecordID, part("1111-2222"))
	a.PutStr(auditrecord.AttrSource, part("o365"))
	a.PutStr(auditrecord.AttrClientAddress, part("192.0.2.7"))
	a.PutStr(auditrecord.AttrGeoCountry, part("DE"))
	a.PutStr(auditrecord.AttrTenantName, part("tenant-a"))
	a.PutEmptySlice(attrRules).AppendEmpty().SetStr(part("bulk_send/rate"))
	a.PutEmptySlice(attrSeverities).AppendEmpty().SetStr(part("high"))
	a.PutStr(attrSeverity, part("high"))
	a.PutStr(attrReason, part("over the rate"))
	a.PutEmptySlice(attrEvidence).AppendEmpty().SetStr(part("e-1"))
	a.PutStr(attrChainID, part("chain-1"))
	a.PutEmptySlice(attrTechnique).AppendEmpty().SetStr(part("T1586.002"))

	obs, tagged := readRecord(lr, eventTime(lr), nil)
	require.True(t, tagged)
	require.Len(t, obs, 1)
	o := obs[0]
	kept := map[string]string{"tenant": o.Tenant, "user": o.User, "rule": o.Rule, "record id": o.RecordID, "chain": o.ChainID,
		"reason": o.Reason, "evidence": o.Evidence[0], "technique": o.Techniques[0], "operation": o.Fields.Operation,
		"source": o.Fields.Source, "client address": o.Fields.ClientAddress, "country": o.Fields.Country}
	for what, s := range kept {
		assert.NotEmpty(t, s, what)
		assert.False(t, recordtest.Within(s, text), "the observation's %s is the record's own memory", what)
	}
}
