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
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"
)

// addSignIns adds n interactive sign-ins spread over [from, to).
func addSignIns(api *apitest.Graph, prefix string, from, to time.Time, n int) []string {
	var ids []string
	step := to.Sub(from) / time.Duration(n)
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		at := from.Add(time.Duration(i) * step)
		api.Add(at, "interactiveUser", apitest.GraphSignIn(id, at, "none"))
		ids = append(ids, id)
	}
	return ids
}

func TestGraphPagesFiltersAndDeliversOnce(t *testing.T) {
	env := newGraphEnv(t)
	env.api.EmptyFirstPages(2)
	env.api.RepeatPageOnce()
	now := time.Now()
	want := addSignIns(env.api, "s", now.Add(-110*time.Minute), now, 20)
	// Outside the lookback: never asked for.
	env.api.Add(now.Add(-3*time.Hour), "interactiveUser", apitest.GraphSignIn("too-old", now.Add(-3*time.Hour), "none"))

	tt := newTelemetry(t)
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt)
	got := sink.waitIDs(t, len(want))
	assert.Equal(t, sorted(want), sorted(got), "every sign-in once, despite empty and repeated pages")
	assert.Positive(t, counter(t, tt, "audit_log_api_duplicate_records"), "the repeated page was recognised")

	var followed bool
	for _, req := range env.api.Requests() {
		u, err := url.Parse(strings.TrimPrefix(req, "GET "))
		require.NoError(t, err)
		q := u.Query()
		assert.Regexp(t, `^createdDateTime ge \S+Z and createdDateTime lt \S+Z$`, q.Get("$filter"))
		assert.Equal(t, "3", q.Get("$top"))
		followed = followed || q.Has("$skiptoken")
	}
	assert.True(t, followed, "@odata.nextLink was followed")
}

func TestGraphLateSignInWithinOverlapIsRead(t *testing.T) {
	env := newGraphEnv(t)
	now := time.Now()
	env.api.Add(now.Add(-time.Minute), "interactiveUser", apitest.GraphSignIn("recent", now.Add(-time.Minute), "none"))
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
	sink.waitIDs(t, 1)
	// Entra writes a sign-in of 25 minutes ago only now.
	env.api.Add(now.Add(-25*time.Minute), "interactiveUser", apitest.GraphSignIn("late", now.Add(-25*time.Minute), "high"))
	assert.Equal(t, []string{"late", "recent"}, sorted(sink.waitIDs(t, 2)))
}

func TestGraphBetaListsNonInteractiveSignIns(t *testing.T) {
	env := newGraphEnv(t)
	g := env.cfg.Graph.Get()
	g.APIVersion = "beta"
	g.SignInEventTypes = []string{"interactiveUser", "nonInteractiveUser"}
	now := time.Now()
	env.api.Add(now.Add(-10*time.Minute), "interactiveUser", apitest.GraphSignIn("interactive", now.Add(-10*time.Minute), "none"))
	env.api.Add(now.Add(-9*time.Minute), "nonInteractiveUser", apitest.GraphSignIn("refresh", now.Add(-9*time.Minute), "none"))
	env.api.Add(now.Add(-8*time.Minute), "servicePrincipal", apitest.GraphSignIn("daemon", now.Add(-8*time.Minute), "none"))
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
	assert.Equal(t, []string{"interactive", "refresh"}, sorted(sink.waitIDs(t, 2)))
	first := env.api.Requests()[0]
	assert.True(t, strings.HasPrefix(first, "GET /beta/auditLogs/signIns?"), first)
	u, _ := url.Parse(strings.TrimPrefix(first, "GET "))
	assert.Contains(t, u.Query().Get("$filter"), " and signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')")
}

func TestCheckpointAdvancesAndForgetsWhatCannotComeAgain(t *testing.T) {
	env := newGraphEnv(t)
	now := time.Now()
	want := addSignIns(env.api, "s", now.Add(-110*time.Minute), now, 22)
	host, storageID := storageHost(t.TempDir())
	env.cfg.StorageID = storageID
	sink := &idSink{}
	r := startReceiver(t, env.cfg, sink.consumer(t), host, nil)
	sink.waitIDs(t, len(want))
	require.NoError(t, r.Shutdown(context.Background()))

	client := storageClient(t, host, *storageID)
	defer client.Close(context.Background())
	data, err := client.Get(context.Background(), "api/"+sourceGraph+"/"+apitest.TenantID+"/v1.0/signIns")
	require.NoError(t, err)
	var st storedStream
	require.NoError(t, json.Unmarshal(data, &st))
	assert.Equal(t, 1, st.Version)
	assert.WithinDuration(t, now, st.Cursor, 10*time.Second, "the cursor reached the end of the last poll")
	assert.Equal(t, now.Add(-2*time.Hour).Truncate(time.Second).UTC(), st.Origin.Truncate(time.Second))
	// Sign-ins older than cursor - overlap cannot be listed again.
	require.Zero(t, len(st.Records)%16)
	assert.Less(t, len(st.Records)/16, len(want))
	assert.Greater(t, len(st.Records)/16, len(want)/3)
	assert.WithinDuration(t, now.Add(-5*time.Minute), st.NewestEvent, 10*time.Minute)
}

func TestAPIBatchesAreCutByBytes(t *testing.T) {
	env := newGraphEnv(t)
	g := env.cfg.Graph.Get()
	g.PageSize = 10 // one page: only the byte limit cuts
	g.MaxBatchBytes = 64 << 10
	at := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	var want []string
	for i := range 6 {
		id := fmt.Sprintf("0b5e83a1-0000-4f2b-9d6e-7c1a2f3e5b%02d", i)
		record := apitest.GraphSignIn(id, at.Add(time.Duration(i)*time.Second), "none")
		env.api.Add(at.Add(time.Duration(i)*time.Second), "interactiveUser", `{"pad":"`+strings.Repeat("x", 30<<10)+`",`+record[1:])
		want = append(want, id)
	}
	sink := &idSink{}
	r := startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), nil)
	got := sink.waitIDs(t, len(want))
	require.NoError(t, r.Shutdown(context.Background()))

	assert.Equal(t, sorted(want), sorted(got))
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var sizes []int
	for _, ld := range sink.logs {
		sizes = append(sizes, ld.LogRecordCount())
	}
	// 30 KiB records, cut once 64 KiB is reached: 3 (90 KiB, less than
	// 64 KiB plus one record), then 3.
	assert.Equal(t, []int{3, 3}, sizes)
}

// TestIDsPastMaxSeenIDsComeAgainCountedNeverLost lists more sign-ins within
// the overlap than max_seen_ids holds: the set stays at its cap, the ids it
// had to forget are delivered again when the next poll lists them
// (at-least-once), and each one forgotten is counted and warned about.
func TestIDsPastMaxSeenIDsComeAgainCountedNeverLost(t *testing.T) {
	env := newGraphEnv(t)
	g := env.cfg.Graph.Get()
	g.PageSize = vendorapi.MaxGraphPageSize
	g.MaxSeenIDs = 1000 // the least the config takes
	now := time.Now()
	want := addSignIns(env.api, "s", now.Add(-50*time.Minute), now.Add(-time.Minute), 1500)

	tt := newTelemetry(t)
	logs := &syncBuffer{}
	sink := &idSink{}
	startReceiver(t, env.cfg, sink.consumer(t), componenttest.NewNopHost(), tt, logTo(logs))
	require.Eventually(t, func() bool { return len(sink.ids()) >= 2*len(want) }, 15*time.Second, 5*time.Millisecond,
		"later polls deliver again what the full set forgot")
	got := sink.ids()
	assert.Equal(t, sorted(want), sorted(uniq(got)), "nothing lost")
	assert.NotEmpty(t, duplicates(got))
	assert.GreaterOrEqual(t, counter(t, tt, "audit_log_api_seen_ids_evicted"), int64(500), "the first poll alone forgot 500")
	assert.Contains(t, logs.String(), "more records within the overlap than max_seen_ids")
}
