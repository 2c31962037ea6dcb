package auditlogreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/otelsec/emailcompromise/internal/testing/apitest"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
)

// riskDetection is a risk detection of bob's detected at detected, its
// activity minutes earlier.
func riskDetection(id string, detected time.Time) apitest.RiskDetection {
	return apitest.RiskDetection{ID: id, EventType: "unfamiliarFeatures", Level: "medium", State: "atRisk",
		User: "bob@contoso.com", IPAddress: "185.220.101.4", Activity: detected.Add(-3 * time.Minute), Detected: detected}
}

func TestGraphRiskDetectionsAreReadOnceByDetectionTime(t *testing.T) {
	env := newGraphRiskEnv(t)
	now := time.Now()
	var want []string
	for i := range 7 {
		d := riskDetection(fmt.Sprintf("rd-%d", i), now.Add(-time.Duration(10+i*13)*time.Minute))
		env.api.AddRiskDetection(d)
		want = append(want, d.ID)
	}
	// An offline detection: found now, for a sign-in of nine days ago. It
	// is listed by when it was detected, and remembered as long as that
	// is within the overlap, so no later poll delivers it again.
	offline := riskDetection("rd-offline", now.Add(-20*time.Minute))
	offline.EventType, offline.Activity = "leakedCredentials", now.Add(-9*24*time.Hour)
	env.api.AddRiskDetection(offline)
	want = append(want, offline.ID)
	// Detected before the first poll's start: never asked for.
	env.api.AddRiskDetection(riskDetection("rd-too-old", now.Add(-3*time.Hour)))

	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt)
	got := sink.waitIDs(t, len(want))
	time.Sleep(10 * env.cfg.GraphRisk.Get().PollInterval)
	assert.Equal(t, sorted(want), sorted(sink.ids()), "each detection once, across many polls")
	assert.Len(t, got, len(want))

	for _, lr := range sink.records() {
		attrs := lr.Attributes()
		assert.Equal(t, "entra_risk_detection", recordtest.Attr(lr, "audit.source"))
		assert.Equal(t, "bob@contoso.com", recordtest.Attr(lr, "user.name"))
		_, parseError := attrs.Get("audit.parse_error")
		assert.False(t, parseError)
	}
	for _, req := range env.api.Requests() {
		u, err := url.Parse(strings.TrimPrefix(req, "GET "))
		require.NoError(t, err)
		assert.Equal(t, "/v1.0/identityProtection/riskDetections", u.Path)
		assert.Regexp(t, `^detectedDateTime ge \S+Z and detectedDateTime lt \S+Z$`, u.Query().Get("$filter"))
		assert.Equal(t, "3", u.Query().Get("$top"))
	}
	assert.Positive(t, counter(t, tt, "audit_log_api_duplicate_records"), "listed again within the overlap, recognised")
}

// TestGraphRiskDetectionUpdatedLaterIsANewRecord: Identity Protection
// updates a detection under the same id when someone acts on it. Listed
// again with its new riskState and lastUpdatedDateTime, it is passed on
// again, same audit.record.id; listed again unchanged, it is not.
func TestGraphRiskDetectionUpdatedLaterIsANewRecord(t *testing.T) {
	env := newGraphRiskEnv(t)
	now := time.Now()
	env.api.AddRiskDetection(riskDetection("rd-updated", now.Add(-40*time.Minute)))
	env.api.AddRiskDetection(riskDetection("rd-unchanged", now.Add(-30*time.Minute)))
	host, storageID := storageHost(t.TempDir())
	env.cfg.StorageID = storageID
	sink := &idSink{}
	r := startReceiver(t, env.cfg, sink.consumer(t), host, nil)
	sink.waitIDs(t, 2)

	env.api.UpdateRiskDetection("rd-updated", "confirmedCompromised", "adminConfirmedUserCompromised", now)
	assert.Equal(t, []string{"rd-unchanged", "rd-updated", "rd-updated"}, sorted(sink.waitIDs(t, 3)))
	records := sink.records()
	last := records[len(records)-1]
	state, _ := last.Body().Map().Get("riskState")
	assert.Equal(t, "confirmedCompromised", state.Str())
	require.NoError(t, r.Shutdown(context.Background()))

	client := storageClient(t, host, *storageID)
	defer client.Close(context.Background())
	data, err := client.Get(context.Background(), "api/"+sourceGraphRisk+"/"+apitest.TenantID+"/v1.0/riskDetections")
	require.NoError(t, err)
	var st storedStream
	require.NoError(t, json.Unmarshal(data, &st))
	assert.Equal(t, 3, len(st.Records)/16, "both versions of the updated detection are remembered")
}
