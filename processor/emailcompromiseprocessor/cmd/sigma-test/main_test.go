package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The command's exit status is what CI and a detection engineer's script
// read: 0 when every test passed, 1 when one failed (or a rule could not be
// loaded), 2 on bad arguments.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	rules := write("rule.yml", `title: Mailbox forwarding
id: fwd
regression_tests_path: info.yml
logsource: {product: m365, service: audit}
detection:
    sel: {Operation: Set-Mailbox}
    condition: sel
`)
	write("info.yml", "rule_metadata: [{id: fwd}]\nregression_tests_info: [{name: positive, type: json, match_count: 1, path: sample.json}]\n")
	sample := write("sample.json", `{"Id":"a1","CreationTime":"2026-11-20T09:00:00","Operation":"Set-Mailbox","RecordType":1,"Workload":"Exchange","UserId":"bob@contoso.com"}`)
	config := write("sigma.yaml", "sigma:\n  placeholders: {Admins: [alice]}\n")

	var out, errs bytes.Buffer
	assert.Equal(t, 0, run([]string{"-rules", rules, "-config", config}, &out, &errs), errs.String())
	assert.Contains(t, out.String(), `PASS  "Mailbox forwarding" (fwd): positive`)
	assert.Contains(t, out.String(), "1 tests: 1 passed, 0 warned, 0 failed, 0 skipped")

	require.NoError(t, os.WriteFile(sample, []byte(`{"Id":"a1","CreationTime":"2026-11-20T09:00:00","Operation":"Get-Mailbox","RecordType":1,"Workload":"Exchange","UserId":"bob@contoso.com"}`), 0o644))
	out.Reset()
	assert.Equal(t, 1, run([]string{"-rules", rules}, &out, &errs))
	assert.Contains(t, out.String(), "FAIL")

	errs.Reset()
	assert.Equal(t, 2, run(nil, &out, &errs))
	assert.Contains(t, errs.String(), "give the rules to test with -rules")
	assert.Equal(t, 2, run([]string{"-rules", rules, "-config", filepath.Join(dir, "absent.yaml")}, &out, &errs))
}
