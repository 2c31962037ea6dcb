package sigma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// corpusPlaceholders configures every placeholder of rules-placeholder/, as
// a deployment would (values are examples).
var corpusPlaceholders = map[string][]string{
	"ApprovedUserUpn":   {"admin@contoso.com"},
	"Approved_Inviters": {"hr@contoso.com"},
	"Important_AppIds":  {"00000002-0000-0ff1-ce00-000000000000"},
	"Known_Location":    {"US", "GB"},
	"KNOWN_LOCATION":    {"US", "GB"},
	"UnLegitCountries":  {"KP"},
	"UnApprovedIp":      {"203.0.113.*"},
	"UnApprovedDevice":  {"unmanaged-*"},
	"HomeTenantID":      {"99081087-73c4-48d1-a112-f60ff75114f7"},
}

type expectedLoad struct {
	Loaded   int               `yaml:"loaded"`
	Inactive map[string]int    `yaml:"inactive"`
	Rejected map[string]string `yaml:"rejected"`
}

func readExpectedRejections(t *testing.T) (rules, extra expectedLoad) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "expected_rejections.yaml"))
	require.NoError(t, err)
	var doc struct {
		Rules expectedLoad `yaml:"rules"`
		Extra expectedLoad `yaml:"extra"`
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	return doc.Rules, doc.Extra
}

// Every SigmaHQ cloud rule of the corpus loads, is inactive for a reason
// written down by hand, or is rejected for a reason written down by hand.
func TestCorpusRulesLoad(t *testing.T) {
	dir := filepath.Join(corpus.Dir(t), "sigma")
	want, wantExtra := readExpectedRejections(t)

	_, rep, err := Load(Config{
		Rules:        []string{filepath.Join(dir, "rules"), filepath.Join(dir, "rules-threat-hunting"), filepath.Join(dir, "rules-placeholder")},
		Placeholders: corpusPlaceholders,
	})
	require.NoError(t, err)
	t.Logf("rules, rules-threat-hunting, rules-placeholder: %d loaded, %d rejected, %d inactive (%s)", rep.Loaded, len(rep.Errors), len(rep.Inactive), rep.Summary())
	checkRejections(t, dir, rep, want.Rejected)
	inactive := map[string]int{}
	for _, r := range rep.Inactive {
		inactive[r.Logsource]++
	}
	assert.Equal(t, want.Inactive, inactive)
	assert.Equal(t, want.Loaded, rep.Loaded)

	_, rep, err = Load(Config{
		Rules:        []string{filepath.Join(dir, "deprecated"), filepath.Join(dir, "unsupported")},
		Placeholders: corpusPlaceholders,
	})
	require.NoError(t, err)
	t.Logf("deprecated, unsupported: %d loaded, %d rejected, %d inactive", rep.Loaded, len(rep.Errors), len(rep.Inactive))
	checkRejections(t, dir, rep, wantExtra.Rejected)
	assert.Equal(t, wantExtra.Loaded, rep.Loaded)
}

func checkRejections(t *testing.T, dir string, rep *Report, want map[string]string) {
	t.Helper()
	got := map[string]bool{}
	for _, e := range rep.Errors {
		rel, err := filepath.Rel(dir, e.File)
		require.NoError(t, err)
		rel = filepath.ToSlash(rel)
		got[rel] = true
		reason, ok := want[rel]
		if !assert.True(t, ok, "unexpected rejection: %v", e) {
			continue
		}
		assert.True(t, strings.Contains(e.Reason, reason), "%s: reason %q does not say %q", rel, e.Reason, reason)
	}
	for file := range want {
		assert.True(t, got[file], "expected %s to be rejected (%s)", file, want[file])
	}
}

// The shipped rules load whole: what the processor's README reports of them,
// written here by hand.
func TestShippedRulesLoad(t *testing.T) {
	e, rep, err := Load(Config{Rules: []string{filepath.Join(corpus.RepoRoot(t), "testdata", "sigma")}})
	require.NoError(t, err)
	assert.Equal(t, 7, rep.Files)
	assert.Equal(t, 15, rep.Loaded)
	assert.Zero(t, rep.Filters)
	assert.Empty(t, rep.Inactive)
	assert.Empty(t, rep.Errors)
	assert.Empty(t, rep.Notes)
	reporting := map[string]string{}
	for _, r := range e.Rules() {
		reporting[r.Key] = r.Correlation
	}
	assert.Equal(t, map[string]string{
		"6f0c3a52-2b8e-4f4d-9a51-7c1d3e0f9a01": "", "6f0c3a52-2b8e-4f4d-9a51-7c1d3e0f9a02": "", "6f0c3a52-2b8e-4f4d-9a51-7c1d3e0f9a03": "",
		"3a7e5c19-8b2d-4f60-a1c4-6d9e0f1b2c30": "",
		"0b5cf1a6-43e7-4c2b-8f20-5d6a3c9e7b10": "temporal_ordered", "5c2b8d41-7e93-4a15-9f06-2b3c4d5e6f40": "event_count",
		"9d3e1f27-6a84-4b0c-b5d2-1e7f8a9c0d20": "value_count", "8e4f2a63-1c57-4d98-b0e2-3f4a5b6c7d50": "temporal_ordered",
		"2d6a9b74-5e18-4c3f-8a27-4b5c6d7e8f60": "temporal_ordered",
	}, reporting)
	assert.Empty(t, e.windowed, "every shipped correlation is decided in flight")
}
