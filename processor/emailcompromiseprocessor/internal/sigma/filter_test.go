package sigma

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/corpus"
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
