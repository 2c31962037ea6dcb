package sigma

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func saved(t *testing.T, e *Engine) [][]byte {
	t.Helper()
	var chunks [][]byte
	require.NoError(t, e.SaveCorrelations(func(b []byte) error { chunks = append(chunks, b); return nil }, func(f func()) { f() }))
	return chunks
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
	chunks := saved(t, e)

	restarted := mustCompile(t, Config{}, snapshotRules)
	rep, err := restarted.RestoreCorrelations(chunks)
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Groups)
	assert.Empty(t, rep.Changed)
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
	rep, err := changed.RestoreCorrelations(saved(t, e))
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
	chunks := saved(t, e)
	assert.Len(t, chunks, 3, "5,001 groups, 2,048 a chunk")

	capped := mustCompile(t, Config{Correlation: CorrelationLimits{MaxGroups: 10, MaxEventsPerGroup: 1}}, snapshotRules)
	rep, err := capped.RestoreCorrelations(chunks)
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
	_, err := e.RestoreCorrelations([][]byte{[]byte("not a gob")})
	require.ErrorContains(t, err, "decode Sigma correlation state chunk 0")
}
