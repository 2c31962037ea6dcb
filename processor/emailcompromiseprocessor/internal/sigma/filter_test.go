package sigma

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// filter_1.yml of the specification: administrator accounts start with
// adm_, and the two rules it names must not fire for them.
func TestExampleFilter(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpus.Dir(t), "sigma", "filter-examples", "filter_1.yml"))
	require.NoError(t, err)
	rules := `title: Data Compressed - rar.exe
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
logsource: {category: process_creation, product: windows}
detection:
    selection: {Image|endswith: '\rar.exe'}
    condition: selection
---
title: Login on jump host
id: df0841c0-9846-4e9f-ad8a-7df91571771b
logsource: {category: process_creation, product: windows}
detection:
    selection: {ComputerName: jump01}
    condition: selection
---
title: Not filtered
id: not-filtered
logsource: {category: process_creation, product: windows}
detection:
    selection: {ComputerName: jump01}
    condition: selection
`
	cfg := Config{LogsourceMapping: []LogsourceMapping{{Category: "process_creation", Product: "windows", Source: "windows"}}}
	e, rep, err := Compile([]File{{Name: "filter_1.yml", Data: data}, {Name: "rules.yml", Data: []byte(rules)}}, cfg)
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	assert.Equal(t, 1, rep.Filters)
	ev := func(json string) []string {
		return matchedKeys(e.Evaluate(testEvent(t, "windows", json, testTime), nil))
	}
	assert.Equal(t, []string{"6f3e2987-db24-4c78-a860-b4f4095a7095"}, ev(`{"Image":"C:\\tools\\rar.exe","User":"bob"}`))
	assert.Equal(t, []string{}, ev(`{"Image":"C:\\tools\\rar.exe","User":"ADM_bob"}`))
	assert.Equal(t, []string{"df0841c0-9846-4e9f-ad8a-7df91571771b", "not-filtered"}, ev(`{"ComputerName":"jump01","User":"bob"}`))
	assert.Equal(t, []string{"not-filtered"}, ev(`{"ComputerName":"jump01","User":"adm_alice"}`))
}

// filterRules are an m365 and an azure rule that both match {"user":"svc"},
// which the filters below exclude.
const filterRules = `title: M365 rule
id: m365-rule
logsource: {product: m365, service: audit}
detection:
    sel: {Operation: Set-Mailbox}
    condition: sel
---
title: Azure rule
id: azure-rule
logsource: {product: azure, service: signinlogs}
detection:
    sel: {Operation: Set-Mailbox}
    condition: sel
`

// A filter applies only to rules its own logsource contains (every
// logsource attribute it names, the rule names with the same value), as
// pySigma applies filters: a filter for windows is no filter for an m365
// rule it happens to name. The rule is left alone, and the load report says
// why.
func TestFilterRespectsItsLogsource(t *testing.T) {
	const filter = `title: Windows service accounts
logsource: {product: windows}
filter:
    rules: [m365-rule]
    sel: {user: svc}
    condition: sel
`
	e, rep, err := Compile(files(filterRules, filter), Config{})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	assert.Equal(t, 0, rep.Filters, "applied to no rule")
	require.Len(t, rep.Notes, 1)
	assert.Contains(t, rep.Notes[0].String(), `rules2.yml:1: rule "Windows service accounts" (rules2#1): filter does not apply to rule "M365 rule" (m365-rule): `+
		`the filter's logsource (product: windows) does not contain the rule's (product: m365, service: audit)`)
	got := e.Evaluate(testEvent(t, "o365", `{"Operation":"Set-Mailbox","user":"svc"}`, testTime), nil)
	assert.Equal(t, []string{"m365-rule"}, matchedKeys(got))
}

// "rules: any" (or all, or an empty list) applies a filter to every rule its
// logsource contains, as pySigma does; a logsource naming only the product
// contains every service of it.
func TestFilterForAnyRule(t *testing.T) {
	for _, rules := range []string{"any", "all", "[]"} {
		t.Run(rules, func(t *testing.T) {
			filter := "title: Service account\nlogsource: {product: m365}\nfilter:\n    rules: " + rules + "\n    sel: {user: svc}\n    condition: sel\n"
			e, rep, err := Compile(files(filterRules, filter), Config{})
			require.NoError(t, err)
			require.Empty(t, rep.Errors)
			assert.Equal(t, 1, rep.Filters)
			ev := func(source, user string) []string {
				return matchedKeys(e.Evaluate(testEvent(t, source, `{"Operation":"Set-Mailbox","user":"`+user+`"}`, testTime), nil))
			}
			assert.Equal(t, []string{}, ev("o365", "svc"), "the m365 rule is filtered")
			assert.Equal(t, []string{"m365-rule"}, ev("o365", "bob"))
			assert.Equal(t, []string{"azure-rule"}, ev("entra_signin", "svc"), "the azure rule is not the filter's")
		})
	}
}

// The filters specification makes logsource and rules mandatory.
func TestFilterNeedsLogsourceAndRules(t *testing.T) {
	errs := ruleErrors(t, Config{}, filterRules, "title: f\nfilter:\n    rules: any\n    sel: {a: 1}\n    condition: sel\n")
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Reason, "filter: logsource is required")
	errs = ruleErrors(t, Config{}, filterRules, "title: f\nlogsource: {product: m365}\nfilter:\n    sel: {a: 1}\n    condition: sel\n")
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Reason, "filter: rules is required")
}
