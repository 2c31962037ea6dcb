package sigma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/otelsec/emailcompromise/internal/corpus"
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
