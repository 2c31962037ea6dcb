package auditlogreceiver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
)

// TestStartTimeIsClampedToWhatEachAPIKeeps asks every source for a backfill
// from before its vendor's retention: each first poll starts at the earliest
// time the API keeps (less an hour), reads what is there, warns once per
// stream naming the key and the limit, and never sends a request for a range
// the API does not keep.
func TestStartTimeIsClampedToWhatEachAPIKeeps(t *testing.T) {
	now := time.Now()
	days := func(n float64) time.Time { return now.Add(-time.Duration(n * float64(24*time.Hour))) }
	for _, tc := range []struct {
		name, key, limit string
		setup            func(t *testing.T) (cfg *Config, poll *APIPollConfig, want []string, violations func() []string)
	}{
		{"o365", "o365_management_api.start_time", "the Management Activity API lists content made available in the last 7 days", func(t *testing.T) (*Config, *APIPollConfig, []string, func() []string) {
			env := newO365Env(t, "Audit.Exchange")
			env.api.AddBlob("Audit.Exchange", days(6.5), apitest.O365SignIn("o365-6.5d", days(6.5)))
			env.api.AddBlob("Audit.Exchange", days(1), apitest.O365SignIn("o365-1d", days(1)))
			return env.cfg, &env.cfg.O365.Get().APIPollConfig, []string{"o365-1d", "o365-6.5d"}, env.api.Violations
		}},
		{"graph", "graph_signins.start_time", "Entra ID keeps sign-ins 30 days", func(t *testing.T) (*Config, *APIPollConfig, []string, func() []string) {
			env := newGraphEnv(t)
			for id, at := range map[string]time.Time{"graph-29d": days(29), "graph-3d": days(3)} {
				env.api.Add(at, "interactiveUser", apitest.GraphSignIn(id, at, "none"))
			}
			return env.cfg, &env.cfg.Graph.Get().APIPollConfig, []string{"graph-29d", "graph-3d"}, env.api.Violations
		}},
		{"risk", "graph_risk_detections.start_time", "Entra ID keeps risk detections 90 days", func(t *testing.T) (*Config, *APIPollConfig, []string, func() []string) {
			env := newGraphRiskEnv(t)
			env.api.AddRiskDetection(riskDetection("risk-85d", days(85)))
			env.api.AddRiskDetection(riskDetection("risk-2d", days(2)))
			return env.cfg, &env.cfg.GraphRisk.Get().APIPollConfig, []string{"risk-2d", "risk-85d"}, env.api.Violations
		}},
		{"google", "google_workspace_reports.start_time", "Google Workspace keeps log events 6 months", func(t *testing.T) (*Config, *APIPollConfig, []string, func() []string) {
			env := newGoogleEnv(t, "login")
			env.api.Add("login", days(170), apitest.GoogleLogin("4170", days(170)))
			env.api.Add("login", days(10), apitest.GoogleLogin("4010", days(10)))
			return env.cfg, &env.cfg.Google.Get().APIPollConfig, []string{"4010", "4170"}, env.api.Violations
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, poll, want, violations := tc.setup(t)
			poll.StartTime = days(400)
			poll.MaxWindow = 24 * time.Hour
			logs := &syncBuffer{}
			sink := &idSink{}
			startReceiver(t, cfg, sink.consumer(t), componenttest.NewNopHost(), nil, logTo(logs))
			assert.Equal(t, want, sorted(sink.waitIDs(t, len(want))))
			assert.Empty(t, violations(), "a range the API does not keep was asked for")
			out := logs.String()
			assert.Contains(t, out, tc.key+" reaches further back than the API keeps records; the first poll starts at the earliest time it can list")
			assert.Contains(t, out, tc.limit)
		})
	}
}

// TestStartTimeIsWhereTheFirstPollStartsAndOnlyThat: within the retention,
// start_time is taken as given (records before it are not read, records
// after it are, however far beyond initial_lookback); once a checkpoint
// exists the stream resumes from it and says that start_time no longer
// applies.
func TestStartTimeIsWhereTheFirstPollStartsAndOnlyThat(t *testing.T) {
	env := newGoogleEnv(t, "login")
	now := time.Now()
	start := now.Add(-72 * time.Hour).Truncate(time.Second)
	env.api.Add("login", start.Add(-time.Minute), apitest.GoogleLogin("before", start.Add(-time.Minute)))
	env.api.Add("login", start.Add(time.Minute), apitest.GoogleLogin("after", start.Add(time.Minute)))
	g := env.cfg.Google.Get()
	g.StartTime, g.MaxWindow = start, 24*time.Hour
	host, storageID := storageHost(t.TempDir())
	env.cfg.StorageID = storageID

	logs := &syncBuffer{}
	sink := &idSink{}
	r := startReceiver(t, env.cfg, sink.consumer(t), host, nil, logTo(logs))
	assert.Equal(t, []string{"after"}, sink.waitIDs(t, 1))
	require.NoError(t, r.Shutdown(context.Background()))
	assert.NotContains(t, logs.String(), "reaches further back")

	client := storageClient(t, host, *storageID)
	data, err := client.Get(context.Background(), "api/"+sourceGoogle+"/"+apitest.Admin+"/login")
	require.NoError(t, err)
	require.NoError(t, client.Close(context.Background()))
	var st storedStream
	require.NoError(t, json.Unmarshal(data, &st))
	assert.True(t, start.Equal(st.Origin), "origin %s, start_time %s", st.Origin, start)

	// Restarted with an earlier start_time: the checkpoint wins.
	g.StartTime = start.Add(-24 * time.Hour)
	env.api.Add("login", start.Add(-2*time.Hour), apitest.GoogleLogin("earlier", start.Add(-2*time.Hour)))
	startReceiver(t, env.cfg, sink.consumer(t), host, nil, logTo(logs))
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), "google_workspace_reports.start_time applies to a stream's first poll only")
	}, 5*time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, []string{"after"}, sink.ids())
}
