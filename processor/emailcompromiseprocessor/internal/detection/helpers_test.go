package detection

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
)

// parseRecord runs the real parsers over a vendor record written as JSON.
func parseRecord(t *testing.T, vendorJSON string) *auditrecord.Record {
	t.Helper()
	body := pcommon.NewMap()
	require.NoError(t, jsonpdata.DecodeMap([]byte(vendorJSON), body, jsonpdata.Limits{}))
	var r auditrecord.Record
	require.NoError(t, auditrecord.Parse(body, &r))
	return &r
}

// detect runs one detector over one record and returns its findings.
func detect(t *testing.T, d Detector, vendorJSON string) []Finding {
	t.Helper()
	r := parseRecord(t, vendorJSON)
	return d.Detect(&Event{Record: r, Now: time.Now()}, nil)
}

// ruleIDs lists the rule ids of findings, for compact expectations.
func ruleIDs(fs []Finding) []string {
	ids := []string{}
	for _, f := range fs {
		ids = append(ids, f.Rule.ID)
	}
	return ids
}

// testPolicy is the organisation of the test cases: contoso.com, with one
// admin, one automation app and a migration window for *@contoso.com.
func testPolicy() *Policy {
	return NewPolicy(PolicyOptions{
		OrganizationDomains: []string{"contoso.com"},
		Admins:              []string{"it-admin@contoso.com"},
		AutomationApps:      []string{"5b0a6d52-1c8e-4b4a-9f0e-3f1f2d0c0a11"},
		ChangeWindows: []ChangeWindow{{
			Actors:  []string{"it-admin@contoso.com", "5b0a6d52-1c8e-4b4a-9f0e-3f1f2d0c0a11"},
			Targets: []string{"*@contoso.com"},
			Start:   time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
			End:     time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC),
		}},
	})
}
