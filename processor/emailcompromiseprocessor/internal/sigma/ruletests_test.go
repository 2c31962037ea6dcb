package sigma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// The shipped rules and the corpus's SigmaHQ cloud rules pass the tests of
// testdata/sigma-regression-synthetic, as `make sigma-test` runs them in CI:
// the counts below are the info files', written from the samples by hand.
func TestRuleTestsOfShippedAndCorpusRules(t *testing.T) {
	root, dir := corpus.RepoRoot(t), corpus.Dir(t)
	rep, err := RunRuleTests(Config{Rules: []string{
		filepath.Join(root, "testdata", "sigma"),
		filepath.Join(dir, "sigma", "rules"),
		filepath.Join(dir, "sigma", "rules-threat-hunting"),
	}}, []string{filepath.Join(root, "testdata", "sigma-regression-synthetic")}, 24*time.Hour)
	require.NoError(t, err)
	got := map[string]int{}
	for _, r := range rep.Results {
		assert.Equal(t, TestPassed, r.Outcome, "%s", r)
		got[r.Rule+" "+r.Name] = r.Matches
	}
	assert.Equal(t, map[string]int{
		"0b5cf1a6-43e7-4c2b-8f20-5d6a3c9e7b10 Positive Detection Test":                                      1,
		"0b5cf1a6-43e7-4c2b-8f20-5d6a3c9e7b10 Negative Detection Test":                                      0,
		"3a7e5c19-8b2d-4f60-a1c4-6d9e0f1b2c30 Positive Detection Test":                                      38,
		"3a7e5c19-8b2d-4f60-a1c4-6d9e0f1b2c30 Negative Detection Test":                                      0,
		"4f77e1d7-3982-4ee0-8489-abf2d6b75284 Positive Detection Test (a Graph page)":                       1,
		"4f77e1d7-3982-4ee0-8489-abf2d6b75284 Negative Detection Test":                                      0,
		"60de9b57-dc4d-48b9-a6a0-b39e0469f876 Positive Detection Test":                                      1,
		"60de9b57-dc4d-48b9-a6a0-b39e0469f876 Negative Detection Test":                                      0,
		"c726e007-2cd0-4a55-abfb-79730fbedee5 Positive Detection Test":                                      1,
		"c726e007-2cd0-4a55-abfb-79730fbedee5 Negative Detection Test (mailbox permission)":                 0,
		"c726e007-2cd0-4a55-abfb-79730fbedee5 Negative Detection Test (inbox rules that hide, not forward)": 0,
		"d3577be1-42c9-44a7-b56e-2e8de97349d3 Positive Detection Test":                                      38,
		"d3577be1-42c9-44a7-b56e-2e8de97349d3 Negative Detection Test":                                      0,
	}, got)
	assert.False(t, rep.Failed())
}

// ruleTestDir writes files into a temporary folder.
func ruleTestDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	}
	return dir
}

const (
	setMailboxRecord = `{"Id":"a1","CreationTime":"2026-11-20T09:00:00","Operation":"Set-Mailbox","RecordType":1,"Workload":"Exchange","UserId":"bob@contoso.com","ResultStatus":"True","Parameters":[{"Name":"ForwardingSmtpAddress","Value":"smtp:x@evil.example"}]}`
	newRuleRecord    = `{"Id":"a2","CreationTime":"2026-11-20T09:01:00","Operation":"New-InboxRule","RecordType":1,"Workload":"Exchange","UserId":"bob@contoso.com","ResultStatus":"True","Parameters":[{"Name":"DeleteMessage","Value":"True"}]}`
	forwardingRule   = `title: Forwarding
id: fwd
regression_tests_path: tests/info.yml
logsource: {product: m365, service: audit}
detection:
    sel:
        Operation: Set-Mailbox
        Parameters|contains: ForwardingSmtpAddress
    condition: sel
`
)

// What a detection engineer sees: each test passes, warns (more matches
// than match_count, as SigmaHQ's runner warns), fails (fewer; any for a
// negative test; a sample that is no vendor record; a rule not loaded), or
// is skipped (evtx), with the reason; the info file is found through the
// rule's regression_tests_path or in a test folder.
func TestRuleTestOutcomes(t *testing.T) {
	dir := ruleTestDir(t, map[string]string{
		"rules/forwarding.yml": forwardingRule,
		"rules/tests/info.yml": `rule_metadata: [{id: fwd}]
regression_tests_info:
    - {name: positive, type: json, match_count: 1, path: forwarding.json}
    - {name: positive without count, type: ndjson, path: both.ndjson}
    - {name: too many, type: ndjson, match_count: 1, path: twice.ndjson}
    - {name: too few, type: ndjson, match_count: 2, path: both.ndjson}
    - {name: negative, type: json, match_count: 0, path: rule.json}
    - {name: negative that matches, type: json, match_count: 0, path: forwarding.json}
    - {name: windows, type: evtx, path: fwd.evtx}
    - {name: not a vendor record, type: json, path: windows.json}
    - {name: missing sample, type: json, path: nowhere.json}
    - {name: unknown type, type: csv, path: forwarding.json}
`,
		"rules/tests/forwarding.json": setMailboxRecord,
		"rules/tests/rule.json":       newRuleRecord,
		"rules/tests/both.ndjson":     setMailboxRecord + "\n" + newRuleRecord + "\n",
		"rules/tests/twice.ndjson":    setMailboxRecord + "\n" + strings.Replace(setMailboxRecord, `"a1"`, `"a3"`, 1) + "\n",
		"rules/tests/windows.json":    `{"Event":{"System":{"EventID":1}}}`,
		"other/info.yml":              "rule_metadata: [{id: absent}]\nregression_tests_info: [{name: x, type: json, path: x.json}]\n",
	})
	rep, err := RunRuleTests(Config{Rules: []string{filepath.Join(dir, "rules")}}, []string{filepath.Join(dir, "other")}, 24*time.Hour)
	require.NoError(t, err)
	var lines []string
	for _, r := range rep.Results {
		lines = append(lines, strings.ReplaceAll(r.String(), dir+string(filepath.Separator), ""))
	}
	assert.Equal(t, []string{
		`PASS  "Forwarding" (fwd): positive [json rules/tests/forwarding.json]: 1 match, expected 1`,
		`PASS  "Forwarding" (fwd): positive without count [ndjson rules/tests/both.ndjson]: 1 match, expected at least 1`,
		`WARN  "Forwarding" (fwd): too many [ndjson rules/tests/twice.ndjson]: 2 matches, expected 1`,
		`FAIL  "Forwarding" (fwd): too few [ndjson rules/tests/both.ndjson]: 1 match, expected 2`,
		`PASS  "Forwarding" (fwd): negative [json rules/tests/rule.json]: 0 matches, expected 0`,
		`FAIL  "Forwarding" (fwd): negative that matches [json rules/tests/forwarding.json]: 1 match, expected 0`,
		`SKIP  "Forwarding" (fwd): windows [evtx fwd.evtx]; EVTX samples are Windows event logs; this engine reads cloud audit records (give a json or ndjson sample)`,
		`FAIL  "Forwarding" (fwd): not a vendor record [json rules/tests/windows.json]: record 1 of rules/tests/windows.json: not a recognised audit record: no Office 365, Entra ID, Azure or Google Workspace shape matched`,
		`FAIL  "Forwarding" (fwd): missing sample [json nowhere.json]: path: nowhere.json is neither in rules/tests nor in any folder above it`,
		`FAIL  "Forwarding" (fwd): unknown type [csv forwarding.json]: type "csv" is not one of json, ndjson, jsonl, evtx`,
		`FAIL  absent: other/info.yml: no rule with id absent is among the rule files given`,
	}, lines)
	assert.True(t, rep.Failed())
	assert.Contains(t, rep.Summary(), "11 tests: 3 passed, 1 warned, 6 failed, 1 skipped")
}

// A correlation's test sample is a stream of its own: state starts empty
// for each, and windows decided at window end are decided at the sample's
// end. Rules referred to by a correlation report on their own, so that
// their tests run too.
func TestRuleTestsOfCorrelations(t *testing.T) {
	rules := `title: Inbox rule
id: inbox
logsource: {product: m365, service: audit}
detection:
    sel: {Operation: New-InboxRule}
    condition: sel
---
title: A lone inbox rule in the hour
id: lone
correlation: {type: event_count, rules: [inbox], group-by: [UserId], timespan: 1h, condition: {lt: 2}}
`
	second := strings.NewReplacer(`"a2"`, `"a4"`, "09:01:00", "09:30:00").Replace(newRuleRecord)
	dir := ruleTestDir(t, map[string]string{
		"rules.yml": rules,
		"lone/info.yml": `rule_metadata: [{id: lone}]
regression_tests_info:
    - {name: one rule, type: json, match_count: 1, path: one.json}
    - {name: two rules, type: ndjson, match_count: 0, path: two.ndjson}
    - {name: one rule again, type: json, match_count: 1, path: one.json}
`,
		"inbox/info.yml":  "rule_metadata: [{id: inbox}]\nregression_tests_info: [{name: two, type: ndjson, match_count: 2, path: ../lone/two.ndjson}]\n",
		"lone/one.json":   newRuleRecord,
		"lone/two.ndjson": newRuleRecord + "\n" + second + "\n",
	})
	rep, err := RunRuleTests(Config{Rules: []string{filepath.Join(dir, "rules.yml")}}, []string{dir}, 24*time.Hour)
	require.NoError(t, err)
	require.Len(t, rep.Results, 4)
	for _, r := range rep.Results {
		assert.Equal(t, TestPassed, r.Outcome, "%s", r)
	}
}
