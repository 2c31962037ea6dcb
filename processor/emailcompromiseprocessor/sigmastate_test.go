package emailcompromiseprocessor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// restartRules are a correlation judged in flight (three failed sign-ins of
// a user within ten minutes) and one decided at window end (a user who
// signed in only once in the hour).
const restartRules = `title: Sign-in failed
name: failed
logsource: {product: azure, service: signinlogs}
detection:
    sel: {ResultType: 50126}
    condition: sel
---
title: Three failures
id: three-failures
correlation: {type: event_count, rules: [failed], group-by: [userPrincipalName], timespan: 10m, condition: {gte: 3}}
---
title: Sign-in succeeded
name: succeeded
logsource: {product: azure, service: signinlogs}
detection:
    sel: {ResultType: 0}
    condition: sel
---
title: A lone sign-in
id: lone-sign-in
correlation: {type: event_count, rules: [succeeded], group-by: [userPrincipalName], timespan: 1h, condition: {lt: 2}}
`

// graphSignInAt is a Graph sign-in of user at a time, failed with 50126 or
// successful (0).
func graphSignInAt(id, user string, at time.Time, errorCode int) string {
	return fmt.Sprintf(`{"id":%q,"createdDateTime":%q,"userPrincipalName":%q,"appId":"de8bc8b5-d9f9-48b1-a8ad-b748da725064",`+
		`"ipAddress":"131.107.159.37","clientAppUsed":"Browser","isInteractive":true,"status":{"errorCode":%d},`+
		`"location":{"city":"Redmond","countryOrRegion":"US","geoCoordinates":{"latitude":47.68,"longitude":-122.12}}}`,
		id, at.UTC().Format(time.RFC3339), user, errorCode)
}

// TestProcessorSigmaStateSurvivesRestart restarts the processor in the
// middle of both correlations' windows: the failures and the sign-in before
// the restart count with the records after it, so both fire, as they would
// have without the restart; a processor without the snapshot misses both.
func TestProcessorSigmaStateSurvivesRestart(t *testing.T) {
	cfg, host := sigmaRestartConfig(t)
	require.NoError(t, cfg.Validate())

	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	before := []string{
		graphSignInAt("f1", "bob@contoso.com", start, 50126),
		graphSignInAt("f2", "bob@contoso.com", start.Add(time.Minute), 50126),
		graphSignInAt("s1", "alice@contoso.com", start.Add(2*time.Minute), 0),
	}
	after := []string{
		graphSignInAt("f3", "bob@contoso.com", start.Add(3*time.Minute), 50126),
		// An hour and the allowed lateness later: alice's hour is over.
		graphSignInAt("s2", "carol@contoso.com", start.Add(time.Hour+cfg.AllowedLateness), 0),
	}
	run := func(c *Config, records []string) map[string][]string {
		return runSigmaRestart(t, c, host, "", records)
	}
	assert.Empty(t, run(cfg, before))
	assert.Equal(t, map[string][]string{"f3": {"sigma/three-failures"}, "s2": {"sigma/lone-sign-in"}}, run(cfg, after))

	withoutStorage := *cfg
	withoutStorage.Storage = nil
	assert.Empty(t, run(&withoutStorage, after), "without the snapshot the windows lack what came before the restart")
}

// Each tenant's correlations are its own, across a restart too: bob's two
// failures in one tenant and his third in another make no three.
func TestProcessorSigmaStatePerTenant(t *testing.T) {
	cfg, host := sigmaRestartConfig(t)
	cfg.Tenants = []TenantConfig{{ID: "11111111-2222-3333-4444-555555555555", Name: "fabrikam"}}
	require.NoError(t, cfg.Validate())

	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	assert.Empty(t, runSigmaRestart(t, cfg, host, "fabrikam", []string{
		graphSignInAt("f1", "bob@contoso.com", start, 50126), graphSignInAt("f2", "bob@contoso.com", start.Add(time.Minute), 50126),
	}))
	assert.Empty(t, runSigmaRestart(t, cfg, host, "", []string{graphSignInAt("f3", "bob@contoso.com", start.Add(2*time.Minute), 50126)}),
		"the default tenant's bob failed once")
	assert.Equal(t, map[string][]string{"f4": {"sigma/three-failures"}},
		runSigmaRestart(t, cfg, host, "fabrikam", []string{graphSignInAt("f4", "bob@contoso.com", start.Add(3*time.Minute), 50126)}),
		"fabrikam's bob failed a third time")
}

// sigmaRestartConfig is the default configuration with restartRules and a
// file-backed storage extension on the host it returns.
func sigmaRestartConfig(t *testing.T) (*Config, component.Host) {
	rules := filepath.Join(t.TempDir(), "rules.yml")
	require.NoError(t, os.WriteFile(rules, []byte(restartRules), 0o600))
	storageID := storagetest.NewStorageID("state")
	host := storagetest.NewStorageHost().WithFileBackedStorageExtension(storageID.Name(), t.TempDir())
	cfg := createDefaultConfig().(*Config)
	cfg.Sigma.Rules = []string{rules}
	cfg.Storage = &storageID
	return cfg, host
}

// runSigmaRestart starts a processor on host, passes it the records (of the
// tenant named, through tenant.name), shuts it down and returns the tags.
func runSigmaRestart(t *testing.T, cfg *Config, host component.Host, tenant string, records []string) map[string][]string {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	p, sink := newTestProcessor(t, cfg, tel)
	require.NoError(t, p.Start(context.Background(), host))
	ld := plog.NewLogs()
	for _, r := range records {
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		mapBody(t, lr, r)
		if tenant != "" {
			lr.Attributes().PutStr(auditrecord.AttrTenantName, tenant)
		}
	}
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.NoError(t, p.Shutdown(context.Background()))
	return sigmaTags(sink.AllLogs())
}

// sigmaTags returns the detections tagged on each record, by its Graph id.
func sigmaTags(logs []plog.Logs) map[string][]string {
	out := map[string][]string{}
	for _, ld := range logs {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			records := ld.ResourceLogs().At(i).ScopeLogs().At(0).LogRecords()
			for j := 0; j < records.Len(); j++ {
				attrs := records.At(j).Attributes()
				rules, ok := attrs.Get(AttrDetectionRules)
				if !ok {
					continue
				}
				id, _ := records.At(j).Body().Map().Get("id")
				for k := 0; k < rules.Slice().Len(); k++ {
					out[id.Str()] = append(out[id.Str()], rules.Slice().At(k).Str())
				}
			}
		}
	}
	return out
}
