package sigma

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Sigma v1 aggregation ("selection | count() by field > N" with the
// detection's timeframe) loads as the Sigma v2 correlation it stands for:
// an event_count over the rule's selection, grouped by the field, within the
// timeframe. The correlation keeps the rule's id (the detection id users
// know); the selection reports only through it. The load report says so.
func TestV1AggregationTranslated(t *testing.T) {
	rule := `title: Failures from one address
id: v1-count
level: high
tags: [attack.t1110]
detection:
    selection: {result: failure}
    filter: {user: svc}
    timeframe: 10m
    condition: selection and not filter | count() by ip > 2
`
	e, rep, err := Compile(files(rule), Config{})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	require.Len(t, rep.Notes, 1)
	assert.Equal(t, `rules1.yml:1: rule "Failures from one address" (v1-count): Sigma v1 aggregation "count() by ip > 2" translated into `+
		`a correlation: event_count, group-by ip, timespan 10m, condition gt 2, over the rule's selection "selection and not filter" (named v1-count/v1-events)`,
		rep.Notes[0].String())
	require.Len(t, e.Rules(), 1)
	info := e.Rules()[0]
	assert.Equal(t, "v1-count", info.Key)
	assert.Equal(t, "event_count", info.Correlation)
	assert.Equal(t, []string{"attack.t1110"}, info.Tags)
	ev := func(at time.Duration, user, ip string) *Event {
		return testEvent(t, "x", `{"result":"failure","user":"`+user+`","ip":"`+ip+`"}`, testTime.Add(at))
	}
	fired := feed(t, e,
		ev(0, "a", "203.0.113.1"), ev(time.Minute, "svc", "203.0.113.1"), ev(2*time.Minute, "b", "203.0.113.1"),
		ev(3*time.Minute, "c", "198.51.100.1"), ev(4*time.Minute, "d", "203.0.113.1"))
	assert.Equal(t, [][]string{{}, {}, {}, {}, {"v1-count"}}, fired, "the third failure from one address, the service account left out")
}

// count(field) is a value_count, sum(field) a value_sum, avg(field) a
// value_avg.
func TestV1AggregationFunctions(t *testing.T) {
	rule := func(agg string) string {
		return "title: v1\nid: v1\ndetection:\n    sel: {result: failure}\n    timeframe: 1h\n    condition: sel | " + agg + "\n"
	}
	for agg, want := range map[string]string{
		"count(user) by ip >= 3": "value_count", "sum(bytes) by user > 100": "value_sum", "avg(bytes) > 100": "value_avg",
	} {
		e := mustCompile(t, Config{}, rule(agg))
		require.Len(t, e.Rules(), 1, agg)
		assert.Equal(t, want, e.Rules()[0].Correlation, agg)
	}
	e := mustCompile(t, Config{}, rule("count(user) by ip >= 3"))
	ev := func(user string) *Event {
		return testEvent(t, "x", `{"result":"failure","user":"`+user+`","ip":"203.0.113.1"}`, testTime)
	}
	assert.Equal(t, [][]string{{}, {}, {}, {"v1"}}, feed(t, e, ev("a"), ev("a"), ev("b"), ev("c")), "three distinct users")
}

// A Sigma v1 collection: the action: global document is merged into each
// document after it (maps key by key, the document's own values winning),
// action: reset forgets it, action: repeat merges a document over the one
// before. Errors and rules keep the lines of their own documents.
func TestV1Collection(t *testing.T) {
	file := `action: global
title: Mailbox changes
logsource: {product: m365, service: audit}
level: medium
detection:
    admin: {UserType: 2}
    condition: selection and not admin
---
id: forwarding
detection:
    selection: {Operation: Set-Mailbox}
---
id: rules
title: Inbox rules
level: high
detection:
    selection: {Operation: New-InboxRule}
---
action: repeat
id: rules-updated
detection:
    selection: {Operation: Set-InboxRule}
---
action: reset
---
id: standalone
title: Standalone
detection:
    selection: {Operation: Remove-Mailbox}
    condition: selection
---
id: broken
detection:
    selection: {Operation|nope: x}
    condition: selection
`
	e, rep, err := Compile(files(file), Config{})
	require.NoError(t, err)
	require.Len(t, rep.Errors, 1)
	assert.Equal(t, 34, rep.Errors[0].Line, "the broken document's own line: %v", rep.Errors[0])
	var noted []string
	for _, n := range rep.Notes {
		assert.Contains(t, n.Note, "Sigma v1 collection: merged with the action: global document at line 1")
		noted = append(noted, n.Rule)
	}
	assert.Equal(t, []string{`"Mailbox changes" (forwarding)`, `"Inbox rules" (rules)`, `"Inbox rules" (rules-updated)`}, noted)
	levels := map[string]string{}
	for _, r := range e.Rules() {
		levels[r.Key] = r.Level
		if r.Key != "standalone" {
			assert.Equal(t, []string{"o365"}, r.Sources, r.Key)
		}
	}
	assert.Equal(t, map[string]string{"forwarding": "medium", "rules": "high", "rules-updated": "high", "standalone": ""}, levels)
	ev := func(op string, userType int) []string {
		return matchedKeys(e.Evaluate(testEvent(t, "o365", fmt.Sprintf(`{"Operation":%q,"UserType":%d}`, op, userType), testTime), nil))
	}
	assert.Equal(t, []string{"forwarding"}, ev("Set-Mailbox", 0))
	assert.Equal(t, []string{}, ev("Set-Mailbox", 2), "the global document's admin selection")
	assert.Equal(t, []string{"rules"}, ev("New-InboxRule", 0))
	assert.Equal(t, []string{"rules-updated"}, ev("Set-InboxRule", 0))
	assert.Equal(t, []string{"standalone"}, ev("Remove-Mailbox", 2), "after the reset, no global")
}
