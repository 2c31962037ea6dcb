package emailcompromisefindingsconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

// TestTenantsKeepFindingsApart: one address in two tenants (tenant.name,
// written by audit_log for each configured tenant) is two users, with two
// findings named by their tenant.
func TestTenantsKeepFindingsApart(t *testing.T) {
	c, sink := newTestConnector(t, testConfig(), componenttest.NewNopHost())
	rule := []string{"mailbox_rule/mailbox_forwarding_external"}
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(
		tag{id: "a1", user: "bob@contoso.com", tenant: "contoso", at: 0, rules: rule, severities: []string{"high"}},
		tag{id: "b1", user: "bob@contoso.com", tenant: "fabrikam", at: time.Minute, rules: rule, severities: []string{"high"}},
		tag{id: "a2", user: "bob@contoso.com", tenant: "contoso", at: 2 * time.Minute, rules: rule, severities: []string{"high"}},
	)))
	c.flush(context.Background())
	out := findings(sink)
	require.Len(t, out, 2)
	byTenant := map[string]int64{}
	uids := map[string]bool{}
	for _, lr := range out {
		byTenant[attrStr(lr, "tenant.name")] = attrInt(lr, AttrFindingRecords)
		uids[attrStr(lr, AttrFindingUID)] = true
	}
	assert.Equal(t, map[string]int64{"contoso": 2, "fabrikam": 1}, byTenant)
	assert.Len(t, uids, 2)
}
