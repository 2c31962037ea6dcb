package emailcompromiseprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

const (
	contosoTenant  = "0e8108b1-18e9-41a4-961b-dfcddf92ef08"
	fabrikamTenant = "7c1e4a52-3b9d-4f0e-8a6b-2d5c9e1f0a37"
)

// tenantSignIn is a Graph sign-in of user in an Entra tenant.
func tenantSignIn(tenantID, user, ip string, at time.Time, errorCode int) string {
	return fmt.Sprintf(`{"id":"%s-%d","createdDateTime":%q,"userPrincipalName":%q,"ipAddress":%q,"homeTenantId":%q,
		"clientAppUsed":"Browser","isInteractive":true,"status":{"errorCode":%d}}`,
		tenantID[:8], at.UnixNano(), at.UTC().Format(time.RFC3339), user, ip, tenantID, errorCode)
}

// TestTenantsKeepStateAndPolicyApart runs two tenants in one processor: the
// same address in both never shares state, and each tenant's policy
// applies to its own records only.
func TestTenantsKeepStateAndPolicyApart(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Tenants = []TenantConfig{
		{ID: contosoTenant, Name: "contoso", PolicyConfig: PolicyConfig{OrganizationDomains: []string{"contoso.com"}, TrustedNetworks: []string{"203.0.113.0/24"}}},
		{ID: fabrikamTenant, Name: "fabrikam", PolicyConfig: PolicyConfig{OrganizationDomains: []string{"contoso.com"}}},
	}
	require.NoError(t, cfg.Validate())
	failures := func(tenantID, ip string) []string {
		var out []string
		for i := 0; i < 10; i++ {
			out = append(out, tenantSignIn(tenantID, "bob@contoso.com", ip, day0.Add(time.Duration(i)*time.Minute), 50126))
		}
		return out
	}
	success := func(tenantID, ip string) string {
		return tenantSignIn(tenantID, "bob@contoso.com", ip, day0.Add(15*time.Minute), 0)
	}
	t.Run("failures in one tenant, the success in the other: no brute force", func(t *testing.T) {
		p, sink := newTestProcessor(t, cfg, componenttest.NewTelemetry())
		tags := consume(t, p, sink, append(failures(contosoTenant, "198.51.100.9"), success(fabrikamTenant, "198.51.100.9"))...)
		assert.Empty(t, tags[10])
	})
	t.Run("both in one tenant", func(t *testing.T) {
		p, sink := newTestProcessor(t, cfg, componenttest.NewTelemetry())
		tags := consume(t, p, sink, append(failures(fabrikamTenant, "198.51.100.9"), success(fabrikamTenant, "198.51.100.9"))...)
		assert.Contains(t, tags[10], "risky_sign_in/brute_force_success")
	})
	t.Run("contoso trusts its office network, fabrikam does not", func(t *testing.T) {
		p, sink := newTestProcessor(t, cfg, componenttest.NewTelemetry())
		tags := consume(t, p, sink, append(failures(contosoTenant, "203.0.113.7"), success(contosoTenant, "203.0.113.7"))...)
		assert.Empty(t, tags[10])
		tags = consume(t, p, sink, append(failures(fabrikamTenant, "203.0.113.7"), success(fabrikamTenant, "203.0.113.7"))...)
		assert.Contains(t, tags[10], "risky_sign_in/brute_force_success")
	})
	t.Run("a record names its tenant with tenant.name", func(t *testing.T) {
		p, sink := newTestProcessor(t, cfg, componenttest.NewTelemetry())
		// Google records carry the customer id, not the Entra tenant: the
		// receiver's tenant.name says whose they are.
		forward := `{"kind":"admin#reports#activity","id":{"time":"2026-11-02T09:00:00Z","uniqueQualifier":"77","applicationName":"user_accounts","customerId":"C03az79cb"},
			"actor":{"email":"bob@contoso.com"},"ipAddress":"198.51.100.9","events":[{"type":"email_forwarding_change","name":"email_forwarding_out_of_domain",
			"parameters":[{"name":"email_forwarding_destination_address","value":"drop@example.net"}]}]}`
		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr(forward)
		lr.Attributes().PutStr(auditrecord.AttrTenantName, "fabrikam")
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		require.Equal(t, 1, sink.LogRecordCount())
		assert.NotNil(t, p.users.Get("fabrikam\x00bob@contoso.com"), "state kept under the tenant")
		assert.Nil(t, p.users.Get("bob@contoso.com"), "not under the default")
	})
	t.Run("tenant.name on the resource, where scale-out's tier 1 moved it", func(t *testing.T) {
		p, sink := newTestProcessor(t, cfg, componenttest.NewTelemetry())
		// A Graph sign-in names no tenant; groupbyattrs [tenant.name,
		// user.name] took both attributes off the record.
		signIn := `{"id":"g-1","createdDateTime":"2026-11-02T09:00:00Z","userPrincipalName":"bob@contoso.com","ipAddress":"198.51.100.9","status":{"errorCode":0}}`
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr(auditrecord.AttrTenantName, "fabrikam")
		rl.Resource().Attributes().PutStr(auditrecord.AttrUserName, "bob@contoso.com")
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(signIn)
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		require.Equal(t, 1, sink.LogRecordCount())
		assert.NotNil(t, p.users.Get("fabrikam\x00bob@contoso.com"), "state kept under the tenant")
		assert.Nil(t, p.users.Get("bob@contoso.com"), "not under the default")
	})
}
