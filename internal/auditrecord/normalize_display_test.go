package auditrecord

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestNormalizeExchangeDisplayForm: inbox-rule recipients arrive as
// Exchange renders them, display name then the address in brackets.
func TestNormalizeExchangeDisplayForm(t *testing.T) {
	assert.Equal(t, "bob@x.com", NormalizeAddress(`"Bob" [SMTP:Bob@X.com]`))
	assert.Equal(t, []string{"bob@x.com", "eve@evil.io"}, SplitAddresses(`"Bob" [SMTP:bob@x.com];"Eve" [SMTP:eve@evil.io]`))
	assert.Equal(t, "[ex:/o=exchangelabs/cn=recipients/cn=bob]", NormalizeAddress("[EX:/o=ExchangeLabs/cn=Recipients/cn=bob]"), "legacy DN kept")
}

// TestRiskEventTypesOnce: Graph lists risk events in riskEventTypes and
// riskEventTypes_v2; each counts once.
func TestRiskEventTypesOnce(t *testing.T) {
	body := pcommon.NewMap()
	require.NoError(t, body.FromRaw(map[string]any{
		"id": "x", "createdDateTime": "2026-11-20T08:00:00Z", "userPrincipalName": "bob@contoso.com",
		"riskEventTypes": []any{"unfamiliarFeatures"}, "riskEventTypes_v2": []any{"unfamiliarFeatures", "anonymizedIPAddress"},
		"status": map[string]any{"errorCode": 0},
	}))
	var r Record
	require.NoError(t, Parse(body, &r))
	assert.Equal(t, []string{"unfamiliarFeatures", "anonymizedIPAddress"}, r.SignIn.RiskEventTypes)
}
