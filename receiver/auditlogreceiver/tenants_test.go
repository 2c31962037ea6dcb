package auditlogreceiver

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/testing/apitest"
)

// otherTenantID is a second organisation's directory id.
const otherTenantID = "7b3e9d2a-5c1f-4e8b-a6d0-2f9c8b7e1a35"

// tenantGraph is one tenant's token endpoint and Graph, and its entry in
// the receiver's tenants.
type tenantGraph struct {
	api   *apitest.Graph
	entry TenantConfig
}

// newTenantGraph serves a Graph for directory tenantID and returns the
// tenant named name reading its sign-ins with the credentials the fake
// accepts.
func newTenantGraph(t *testing.T, name, tenantID string) *tenantGraph {
	entra := apitest.NewEntra(t, tenantID, apitest.ClientID, apitest.ClientSecret)
	api := apitest.NewGraph(t, entra)
	entry := TenantConfig{Name: name, APISourcesConfig: defaultAPISources()}
	g := entry.Graph.GetOrInsertDefault()
	g.TenantID, g.ClientID, g.ClientSecret = tenantID, apitest.ClientID, apitest.ClientSecret
	g.BaseURL, g.TokenURL = api.URL, entra.TokenURL()
	g.PageSize = 3
	fastPoll(&g.APIPollConfig)
	return &tenantGraph{api: api, entry: entry}
}

// addSignIns adds n sign-ins of bob@contoso.com within the last hour,
// ids <prefix>-<i>, and returns their ids.
func (tg *tenantGraph) addSignIns(prefix string, n int) []string {
	now := time.Now()
	return addSignIns(tg.api, prefix, now.Add(-time.Hour), now.Add(-time.Minute), n)
}

func tenantsConfig(tenants ...*tenantGraph) *Config {
	cfg := createDefaultConfig().(*Config)
	for _, tg := range tenants {
		cfg.Tenants = append(cfg.Tenants, tg.entry)
	}
	return cfg
}

// byTenant groups the ids of records by their tenant.name, and checks that
// every record carries the attributes a tenant's records must.
func byTenant(t *testing.T, records []plog.LogRecord) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, lr := range records {
		attrs := lr.Attributes()
		name, ok := attrs.Get(auditrecord.AttrTenantName)
		require.True(t, ok, "every record of a tenant carries tenant.name: %v", attrs.AsRaw())
		id, _ := attrs.Get(auditrecord.AttrRecordID)
		out[name.Str()] = append(out[name.Str()], id.Str())
	}
	return out
}

func TestTenantWithRefusedCredentialsNeverStopsTheOthers(t *testing.T) {
	acme := newTenantGraph(t, "acme", apitest.TenantID)
	globex := newTenantGraph(t, "globex", otherTenantID)
	want := acme.addSignIns("acme", 5)
	globex.addSignIns("globex", 5)
	globex.entry.Graph.Get().ClientSecret = "not-the-secret"
	cfg := tenantsConfig(acme, globex)

	logs := &syncBuffer{}
	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, cfg, sink.consumer(t), componenttest.NewNopHost(), tt, logTo(logs))
	assert.Equal(t, sorted(want), sorted(sink.waitIDs(t, len(want))))
	// globex keeps failing, every poll, while acme is read.
	require.Eventually(t, func() bool { return readErrorsOf(t, tt, "globex") >= 3 }, 5*time.Second, 5*time.Millisecond)
	assert.Zero(t, readErrorsOf(t, tt, "acme"))
	assert.Equal(t, int64(1), graphPointOf(t, tt, "api_auth_failing", "globex"))
	assert.Zero(t, graphPointOf(t, tt, "api_auth_failing", "acme"))
	assert.Equal(t, map[string][]string{"acme": sink.ids()}, byTenant(t, sink.records()))
	for _, lr := range sink.records() {
		account, _ := lr.Attributes().Get(auditrecord.AttrCloudAccount)
		assert.Equal(t, apitest.TenantID, account.Str(), "a Graph sign-in names no tenant: the block's tenant_id does")
	}

	out := logs.String()
	assert.Contains(t, out, "check tenants[1].graph_signins.tenant_id, tenants[1].graph_signins.client_id and tenants[1].graph_signins.client_secret")
	assert.Contains(t, out, `"tenant":"globex"`)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "credentials refused") {
			assert.Contains(t, line, `"tenant":"globex"`, "only globex's credentials are refused")
		}
	}
	assert.NotContains(t, out, "not-the-secret")
}

func TestTenantThatCannotBeSetUpIsLeftOutAndTheOthersRun(t *testing.T) {
	acme := newTenantGraph(t, "acme", apitest.TenantID)
	globex := newTenantGraph(t, "globex", otherTenantID)
	want := acme.addSignIns("acme", 2)
	g := globex.entry.Graph.Get()
	g.ClientSecret, g.CertificateFile = "", t.TempDir()+"/missing.pem"

	logs := &syncBuffer{}
	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, tenantsConfig(acme, globex), sink.consumer(t), componenttest.NewNopHost(), tt, logTo(logs))
	assert.Equal(t, sorted(want), sorted(sink.waitIDs(t, len(want))))
	assert.Contains(t, logs.String(), "cannot set up the tenant's API source")
	assert.Contains(t, logs.String(), "tenants[1].graph_signins.certificate_file")
	assert.Equal(t, int64(1), readErrorsOf(t, tt, "globex"), "counted, for the alert on read_errors")
}

func TestSameUserInTwoTenantsIsTwoUsers(t *testing.T) {
	acme := newTenantGraph(t, "acme", apitest.TenantID)
	globex := newTenantGraph(t, "globex", otherTenantID)
	wantAcme, wantGlobex := acme.addSignIns("acme", 4), globex.addSignIns("globex", 3)

	sink := &idSink{}
	startReceiver(t, tenantsConfig(acme, globex), sink.consumer(t), componenttest.NewNopHost(), nil)
	sink.waitIDs(t, len(wantAcme)+len(wantGlobex))
	got := byTenant(t, sink.records())
	assert.Equal(t, sorted(wantAcme), sorted(got["acme"]))
	assert.Equal(t, sorted(wantGlobex), sorted(got["globex"]))
	accounts := map[string]string{"acme": apitest.TenantID, "globex": otherTenantID}
	for _, lr := range sink.records() {
		attrs := lr.Attributes().AsRaw()
		assert.Equal(t, "bob@contoso.com", attrs[auditrecord.AttrUserName], "the same address in both tenants")
		assert.Equal(t, accounts[attrs[auditrecord.AttrTenantName].(string)], attrs[auditrecord.AttrCloudAccount])
	}
}

// TestTenantsResumeEachFromItsOwnCheckpoint reads the same directory three
// times over, at the top level and as two tenants, as a provider that
// mistakenly lists one organisation twice would: each keeps its own
// cursor, so after a restart each reads on from where it stopped, nothing
// twice and nothing lost, and the top level's checkpoint is where it always
// was.
func TestTenantsResumeEachFromItsOwnCheckpoint(t *testing.T) {
	top := newGraphEnv(t)
	acme := newTenantGraph(t, "acme", apitest.TenantID)
	globex := newTenantGraph(t, "globex", apitest.TenantID)
	now := time.Now()
	wantTop := addSignIns(top.api, "top", now.Add(-50*time.Minute), now.Add(-time.Minute), 4)
	wantAcme, wantGlobex := acme.addSignIns("acme", 6), globex.addSignIns("globex", 2)
	cfg := tenantsConfig(acme, globex)
	cfg.Graph = top.cfg.Graph
	storageDir := t.TempDir()

	host, storageID, ext := fileStorageHost(t, storageDir)
	cfg.StorageID = &storageID
	first := &idSink{}
	r := startReceiver(t, cfg, first.consumer(t), host, nil)
	first.waitIDs(t, len(wantTop)+len(wantAcme)+len(wantGlobex))
	require.NoError(t, r.Shutdown(context.Background()))
	client := storageClient(t, host, storageID)
	for _, key := range []string{
		"api/graph_signins/" + apitest.TenantID + "/v1.0/signIns",
		"api/tenants/acme/graph_signins/" + apitest.TenantID + "/v1.0/signIns",
		"api/tenants/globex/graph_signins/" + apitest.TenantID + "/v1.0/signIns",
	} {
		data, err := client.Get(context.Background(), key)
		require.NoError(t, err)
		assert.NotEmpty(t, data, key)
	}
	require.NoError(t, client.Close(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))

	// While stopped, each gets new sign-ins, within the overlap of what
	// was read.
	later := time.Now().Add(-30 * time.Second)
	for _, f := range []struct {
		api *apitest.Graph
		id  string
	}{{top.api, "top-new"}, {acme.api, "acme-new"}, {globex.api, "globex-new"}} {
		f.api.Add(later, "interactiveUser", apitest.GraphSignIn(f.id, later, "none"))
	}
	host, _, ext = fileStorageHost(t, storageDir)
	second := &idSink{}
	r = startReceiver(t, cfg, second.consumer(t), host, nil)
	assert.Equal(t, []string{"acme-new", "globex-new", "top-new"}, sorted(second.waitIDs(t, 3)), "each resumes from its own checkpoint")
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
	for _, lr := range second.records() {
		id, _ := lr.Attributes().Get(auditrecord.AttrRecordID)
		name, ok := lr.Attributes().Get(auditrecord.AttrTenantName)
		if id.Str() == "top-new" {
			assert.False(t, ok, "the top level's records carry no tenant.name")
		} else {
			assert.Equal(t, strings.TrimSuffix(id.Str(), "-new"), name.Str())
		}
	}
}

// readErrorsOf is the read_errors of a tenant's graph_signins.
func readErrorsOf(t *testing.T, tt *componenttest.Telemetry, tenant string) int64 {
	t.Helper()
	return graphPointOf(t, tt, "read_errors", tenant)
}

// graphPointOf is the value of the point of the receiver's int metric name
// (a counter or a gauge) of a tenant's graph_signins, 0 when there is none.
func graphPointOf(t *testing.T, tt *componenttest.Telemetry, name, tenant string) int64 {
	t.Helper()
	m, err := tt.GetMetric("otelcol_audit_log_" + name)
	if err != nil {
		return 0
	}
	var points []metricdata.DataPoint[int64]
	switch data := m.Data.(type) {
	case metricdata.Sum[int64]:
		points = data.DataPoints
	case metricdata.Gauge[int64]:
		points = data.DataPoints
	}
	want := attribute.NewSet(attribute.String("source", sourceGraph), attribute.String("tenant", tenant))
	for _, dp := range points {
		if dp.Attributes.Equals(&want) {
			return dp.Value
		}
	}
	return 0
}

func TestFilesTenantNameMarksEveryRecordReadFromFiles(t *testing.T) {
	dir := t.TempDir()
	want := writeRecordFiles(t, dir, "f", 2, 3)
	cfg := testConfig(filepath.Join(dir, "*.json"))
	cfg.Files.TenantName = "acme"
	require.NoError(t, cfg.Validate())
	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, cfg, sink.consumer(t), componenttest.NewNopHost(), tt)
	sink.waitIDs(t, len(want))
	assert.Equal(t, map[string][]string{"acme": sink.ids()}, byTenant(t, sink.records()))
	m, err := tt.GetMetric("otelcol_audit_log_records_read")
	require.NoError(t, err)
	acmeFiles := attribute.NewSet(attribute.String("source", sourceFiles), attribute.String("tenant", "acme"))
	assert.True(t, m.Data.(metricdata.Sum[int64]).DataPoints[0].Attributes.Equals(&acmeFiles), "the files' metrics name the tenant")

	cfg.Files.TenantName = "Acme Corp"
	assert.ErrorContains(t, cfg.Validate(), `files.tenant_name: "Acme Corp" is not a tenant name`)
}
