package sigma

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otelsec/emailcompromise/internal/snapshot"
)

// snapshotRules are a correlation judged in flight (three failures) and one
// decided at window end (fewer than two sign-ins), both by user.
var snapshotRules = countRules + `---
title: Sign-in
name: sign_in
detection:
    sel: {result: success}
    condition: sel
---
title: Lone sign-in
name: lone
correlation: {type: event_count, rules: [sign_in], group-by: [user], timespan: 10m, condition: {lt: 2}}
`

// unlocked runs f: the tests use an engine from one goroutine.
func unlocked(f func()) { f() }

// saved snapshots e's correlation state to a fresh in-memory storage
// client, as the processor does, and returns the client.
func saved(t *testing.T, e *Engine) storage.Client {
	t.Helper()
	client := storagetest.NewInMemoryClient(component.KindProcessor, component.MustNewID("email_compromise"), "")
	_, err := snapshot.Save(context.Background(), client, testPrefix, GroupsPerChunk, e.CorrelationWatermark(unlocked),
		e.Correlations(unlocked), CorrelationCodec{})
	require.NoError(t, err)
	return client
}

const testPrefix = "sigma"

// restored restores the snapshot in client into e, as the processor does.
func restored(t *testing.T, e *Engine, client storage.Client) (RestoreReport, error) {
	t.Helper()
	r := e.RestoreCorrelations()
	_, meta, err := snapshot.Load(context.Background(), client, testPrefix, CorrelationCodec{}, r.Restore)
	if err != nil {
		return RestoreReport{}, err
	}
	return r.Finish(meta)
}

// A restart in the middle of a window loses nothing: the failures before it
// and the one after make three, and the lone sign-in's window, closed after
// the restart, fires.
func TestCorrelationStateSurvivesRestart(t *testing.T) {
	e := mustCompile(t, Config{}, snapshotRules)
	signIn := func(at time.Duration) *Event {
		return testEvent(t, "x", `{"result":"success","user":"alice"}`, testTime.Add(at))
	}
	feed(t, e, failure(t, 0, "bob"), failure(t, time.Minute, "bob"), signIn(2*time.Minute))
	client := saved(t, e)

	restarted := mustCompile(t, Config{}, snapshotRules)
	rep, err := restored(t, restarted, client)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Groups)
	assert.Empty(t, rep.Changed)
	assert.Equal(t, e.watermark, restarted.watermark)
	assert.Equal(t, [][]string{{"failures"}, {"lone"}}, feed(t, restarted,
		failure(t, 2*time.Minute, "bob"), testEvent(t, "x", `{}`, testTime.Add(10*time.Minute+testLateness))))

	// Without the snapshot, neither fires.
	fresh := mustCompile(t, Config{}, snapshotRules)
	assert.Equal(t, [][]string{{}, {}}, feed(t, fresh,
		failure(t, 2*time.Minute, "bob"), testEvent(t, "x", `{}`, testTime.Add(10*time.Minute+testLateness))))
}

// State restored into a rule that changed, or is gone, is dropped and
// reported: its groups were built for another condition.
func TestCorrelationStateOfChangedRules(t *testing.T) {
	e := mustCompile(t, Config{}, snapshotRules)
	feed(t, e, failure(t, 0, "bob"), failure(t, time.Minute, "bob"))
	changed := mustCompile(t, Config{}, strings.Replace(snapshotRules, "{gte: 3}", "{gte: 2}", 1))
	rep, err := restored(t, changed, saved(t, e))
	require.NoError(t, err)
	assert.Equal(t, []string{"failures"}, rep.Changed)
	assert.Zero(t, rep.Groups)
	assert.Equal(t, [][]string{{}}, feed(t, changed, failure(t, 2*time.Minute, "bob")), "one failure since the restart")
}

// Restored state is held to the configured caps: at most max_groups groups
// (the least recently seen go) of at most max_events_per_group events (the
// oldest go), whatever the snapshot holds; thousands of groups come in
// several chunks.
func TestCorrelationStateRestoredWithinCaps(t *testing.T) {
	e := mustCompile(t, Config{}, snapshotRules)
	for i := range 5000 {
		feed(t, e, failure(t, time.Duration(i)*time.Millisecond, fmt.Sprintf("user%d", i)))
	}
	feed(t, e, failure(t, 6*time.Second, "bob"), failure(t, 7*time.Second, "bob"))
	client := saved(t, e)
	m, err := snapshot.ReadManifest(context.Background(), client, testPrefix)
	require.NoError(t, err)
	assert.Equal(t, 3, m.Chunks, "5,001 groups, 2,048 a chunk")

	capped := mustCompile(t, Config{Correlation: CorrelationLimits{MaxGroups: 10, MaxEventsPerGroup: 1}}, snapshotRules)
	rep, err := restored(t, capped, client)
	require.NoError(t, err)
	assert.Equal(t, 5001, rep.Groups)
	var corr *correlationRule
	for _, c := range capped.correlations {
		if c.info.Key == "failures" {
			corr = c
		}
	}
	assert.Equal(t, 10, corr.state.groups.Len())
	bob := corr.state.groups.Get("bob")
	require.NotNil(t, bob, "the most recently seen group is kept")
	assert.Len(t, bob.events, 1)
	st := capped.Stats()
	assert.Equal(t, uint64(4991), st.GroupsEvicted)
	assert.Equal(t, uint64(1), st.EventsDropped)
}

// A corrupt snapshot is an error, never a panic.
func TestCorrelationStateCorrupt(t *testing.T) {
	e := mustCompile(t, Config{}, snapshotRules)
	feed(t, e, failure(t, 0, "bob"))
	client := saved(t, e)
	require.NoError(t, client.Set(context.Background(), testPrefix+"/1/0", []byte("not a gob")))
	_, err := restored(t, mustCompile(t, Config{}, snapshotRules), client)
	require.ErrorContains(t, err, "decode snapshot chunk 0")
}

// A snapshot written before the state moved onto internal/snapshot (the
// chunk below was written by that code, from the engine of
// TestCorrelationStateSurvivesRestart, with the watermark in the chunk and
// no metadata) restores the same: the keys and the chunk layout did not
// change.
func TestCorrelationStateOfThePreviousRelease(t *testing.T) {
	chunk, err := os.ReadFile(filepath.Join("testdata", "correlations_layout1_chunk0.gob"))
	require.NoError(t, err)
	ctx := context.Background()
	client := storagetest.NewInMemoryClient(component.KindProcessor, component.MustNewID("email_compromise"), "")
	require.NoError(t, client.Set(ctx, testPrefix+"/manifest", []byte("1 1")))
	require.NoError(t, client.Set(ctx, testPrefix+"/1/0", chunk))

	restarted := mustCompile(t, Config{}, snapshotRules)
	rep, err := restored(t, restarted, client)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Groups)
	assert.Empty(t, rep.Changed)
	assert.Equal(t, testTime.Add(2*time.Minute).UnixNano(), restarted.watermark, "the watermark kept in the chunk")
	assert.Equal(t, [][]string{{"failures"}, {"lone"}}, feed(t, restarted,
		failure(t, 2*time.Minute, "bob"), testEvent(t, "x", `{}`, testTime.Add(10*time.Minute+testLateness))))
}

// An engine with window-end rules and no group yet still keeps its
// watermark across a restart (the snapshot's metadata): a record late
// before the restart is late after it.
func TestCorrelationWatermarkWithoutGroups(t *testing.T) {
	e := mustCompile(t, Config{}, snapshotRules)
	feed(t, e, testEvent(t, "x", `{}`, testTime))
	require.NotEqual(t, int64(math.MinInt64), e.watermark)
	restarted := mustCompile(t, Config{}, snapshotRules)
	_, err := restored(t, restarted, saved(t, e))
	require.NoError(t, err)
	assert.Equal(t, e.watermark, restarted.watermark)
}
