package sigma

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
)

// testTime is when the test records happen.
var testTime = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// ruleWith wraps a detection section into a rule that names no logsource,
// so it applies to every record.
func ruleWith(detection string) string {
	return "title: Test rule\nid: test-rule\nlevel: high\ndetection:\n" + indent(detection, "    ")
}

func indent(text, prefix string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func files(texts ...string) []File {
	out := make([]File, len(texts))
	for i, t := range texts {
		out[i] = File{Name: fmt.Sprintf("rules%d.yml", i+1), Data: []byte(t)}
	}
	return out
}

// mustCompile compiles rule files that must load without any error.
func mustCompile(tb testing.TB, cfg Config, texts ...string) *Engine {
	tb.Helper()
	e, rep, err := Compile(files(texts...), cfg)
	require.NoError(tb, err)
	require.Empty(tb, rep.Errors, "rule errors")
	return e
}

// ruleErrors compiles rule files and returns the rule errors.
func ruleErrors(tb testing.TB, cfg Config, texts ...string) []*RuleError {
	tb.Helper()
	_, rep, err := Compile(files(texts...), cfg)
	require.NoError(tb, err)
	return rep.Errors
}

// body decodes a JSON object the way the receiver does.
func body(tb testing.TB, json string) pcommon.Map {
	tb.Helper()
	m := pcommon.NewMap()
	require.NoError(tb, jsonpdata.DecodeMap([]byte(json), m, jsonpdata.Limits{}))
	return m
}

// testEvent is a record of a test source (no parser involved) at a time.
func testEvent(tb testing.TB, source, json string, when time.Time) *Event {
	tb.Helper()
	return &Event{Record: &auditrecord.Record{Source: auditrecord.Source(source), Time: when}, Body: body(tb, json), Now: when, Lateness: testLateness}
}

// testLateness is the processor's default allowed_lateness.
const testLateness = 24 * time.Hour

func matchedKeys(ms []Match) []string {
	keys := []string{}
	for _, m := range ms {
		keys = append(keys, m.Rule.Key)
	}
	return keys
}
