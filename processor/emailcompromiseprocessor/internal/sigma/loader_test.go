package sigma

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// aliasBomb is the "billion laughs" of YAML: nine levels of nine aliases.
const aliasBomb = `title: bomb
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
detection:
    sel:
        f: *i
    condition: sel
`

// wideAliasBomb amplifies through shapes a rule may have: a selection that
// lists the same field map 300 times, each map naming 10 fields that alias
// the same 100 values: 300,000 values from 2 KiB of text.
func wideAliasBomb() string {
	values := strings.Repeat("x,", 99) + "x"
	var fields, maps []string
	for i := 0; i < 10; i++ {
		fields = append(fields, fmt.Sprintf("f%d: *l", i))
	}
	for i := 0; i < 300; i++ {
		maps = append(maps, "*m")
	}
	return "title: wide bomb\nl: &l [" + values + "]\nm: &m {" + strings.Join(fields, ", ") + "}\n" +
		"\n\n\n\n\n\ndetection:\n    sel: [" + strings.Join(maps, ", ") + "]\n    condition: sel\n"
}

// Every kind of bad input gives one clear error for its rule, at its line.
func TestBadRules(t *testing.T) {
	det := func(lines string) string { return ruleWith(lines) }
	tests := []struct {
		name   string
		rule   string
		line   int
		reason string
	}{
		{"malformed YAML", "title: x\ndetection: [unclosed\n", 1, "malformed YAML"},
		{"not a mapping", "- a\n- b\n", 1, "a Sigma document must be a mapping"},
		{"no detection, correlation or filter", "title: x\nlogsource:\n    product: m365\n", 1, "none of detection"},
		{"two kinds", "title: x\ndetection:\n    sel: {a: 1}\n    condition: sel\ncorrelation:\n    type: temporal\n", 1, "more than one of detection, correlation"},
		{"unknown level", "title: x\nlevel: severe\ndetection:\n    sel: {a: 1}\n    condition: sel\n", 2, `level "severe" is not one of`},
		{"title too long", "title: " + strings.Repeat("x", 257) + "\ndetection:\n    sel: {a: 1}\n    condition: sel\n", 1, "longer than 256"},
		{"unknown modifier", det("sel:\n    f|endwith: x\ncondition: sel"), 6, `f|endwith: unknown modifier "endwith"`},
		{"repeated modifier", det("sel:\n    f|contains|contains: x\ncondition: sel"), 6, `modifier "contains" repeated`},
		{"conflicting modifiers", det("sel:\n    f|contains|startswith: x\ncondition: sel"), 6, `"contains" and "startswith" cannot be combined`},
		{"regex flag without re", det("sel:\n    f|i: x\ncondition: sel"), 6, `modifier "i" is a flag of re`},
		{"re with contains", det("sel:\n    f|re|contains: x\ncondition: sel"), 6, "re cannot be combined"},
		{"regex RE2 cannot run", det("sel:\n    f|re: '(?<=a)b'\ncondition: sel"), 6, "is not a regular expression RE2 can run"},
		{"backreference", det("sel:\n    f|re: '(a)\\1'\ncondition: sel"), 6, "RE2 can run"},
		{"all on one value", det("sel:\n    f|contains|all: x\ncondition: sel"), 6, "all needs a list of two or more values"},
		{"neq with all", det("sel:\n    f|neq|all:\n        - a\n        - b\ncondition: sel"), 6, "neq cannot be combined with all"},
		{"neq with gt", det("sel:\n    n|gt|neq: 3\ncondition: sel"), 6, "neq cannot be combined with gt"},
		{"exists without a boolean", det("sel:\n    f|exists: maybe\ncondition: sel"), 6, "exists takes true or false"},
		{"exists with contains", det("sel:\n    f|exists|contains: true\ncondition: sel"), 6, "exists cannot be combined"},
		{"bad cidr", det("sel:\n    ip|cidr: 10.0.0.0/33\ncondition: sel"), 6, "is not a network"},
		{"gt of text", det("sel:\n    n|gt: many\ncondition: sel"), 6, `gt compares numbers; "many" is not one`},
		{"base64 of a wildcard", det("sel:\n    f|base64: 'a*'\ncondition: sel"), 6, "base64 cannot encode a value with wildcards"},
		{"null with a modifier", det("sel:\n    f|contains: null\ncondition: sel"), 6, "null takes no modifiers"},
		// Specification v2, "Special Field Values": "null cannot be part of a
		// list of field values as it is its own type".
		{"null inside a value list", det("sel:\n    f:\n        - ''\n        - null\ncondition: sel"), 6, "null cannot be part of a list of field values"},
		{"null inside a neq list", det("sel:\n    f|neq:\n        - a\n        - null\ncondition: sel"), 6, "null cannot be part of a list of field values"},
		{"nested map as value", det("sel:\n    f:\n        g: 1\ncondition: sel"), 6, "values must be scalars"},
		{"unconfigured placeholder", det("sel:\n    user|expand: '%Approved%'\ncondition: sel"), 6, "placeholder %Approved% is not configured; set sigma.placeholders.Approved"},
		{"empty selection", det("sel:\ncondition: sel"), 5, `search identifier "sel" is empty`},
		{"no condition", det("sel:\n    a: 1"), 4, "detection has no condition"},
		{"undefined selection", det("sel:\n    a: 1\ncondition: sel and other"), 7, `"other" is not a search identifier`},
		{"pattern matching nothing", det("sel:\n    a: 1\ncondition: 1 of filter_*"), 7, `"1 of filter_*" matches no search identifier`},
		{"2 of", det("sel_a:\n    a: 1\nsel_b:\n    b: 1\ncondition: 2 of sel_*"), 9, `only "1 of" and "all of"`},
		{"bare pattern", det("sel_a:\n    a: 1\ncondition: sel_*"), 7, `must follow "1 of" or "all of"`},
		{"unbalanced parenthesis", det("sel:\n    a: 1\ncondition: (sel"), 7, `expected ")"`},
		{"dangling operator", det("sel:\n    a: 1\ncondition: sel and"), 7, "unexpected end of condition"},
		{"v1 aggregation without timeframe", det("sel:\n    a: 1\ncondition: sel | count() by b > 3"), 7, `the Sigma v1 aggregation "count() by b > 3" has no timeframe`},
		{"v1 min()", det("sel:\n    a: 1\ntimeframe: 1h\ncondition: sel | min(n) by b > 3"), 8, "min() has no Sigma v2 correlation type"},
		{"v1 sum() without field", det("sel:\n    a: 1\ntimeframe: 1h\ncondition: sel | sum() by b > 3"), 8, "sum() needs the field"},
		{"v1 aggregation in a list", det("sel:\n    a: 1\ntimeframe: 1h\ncondition:\n    - sel\n    - sel | count() > 3"), 8, "in a list of conditions cannot be translated"},
		{"v1 garbled aggregation", det("sel:\n    a: 1\ntimeframe: 1h\ncondition: sel | count() by b"), 8, "is not a Sigma v1 aggregation"},
		{"v1 near", det("sel:\n    a: 1\nsel2:\n    b: 1\ncondition: sel near sel2"), 9, "near operator was removed"},
		{"v1 | near", det("sel:\n    a: 1\nsel2:\n    b: 1\ntimeframe: 1m\ncondition: sel | near sel2"), 10, "near operator was removed"},
		{"v1 unknown action", "action: globals\ntitle: x\ndetection:\n    sel: {a: 1}\n    condition: sel\n", 1, `action "globals" is not one of global, reset, repeat`},
		{"v1 repeat of nothing", "action: repeat\ntitle: x\ndetection:\n    sel: {a: 1}\n    condition: sel\n", 1, "action: repeat has no document before it"},
		{"YAML merge key", "title: x\nbase: &b {a: 1}\ndetection:\n    sel:\n        <<: *b\n    condition: sel\n", 5, "merge keys"},
		// The classic bomb nests lists, which no rule value may: refused by
		// shape before anything expands.
		{"billion laughs", aliasBomb, 13, "values must be scalars"},
		{"wide alias bomb (at the anchor that overflowed)", wideAliasBomb(), 2, "YAML expands to more than 10000 nodes beyond the file's size (alias bomb?)"},
		{"windash amplification", det("sel:\n    f|windash:\n" + strings.Repeat("        - '-a -b -c -d -e'\n", 30) + "condition: sel"), 6, "the file's values expand into more than 65536 alternatives"},
		{"deep nesting", "title: x\ndetection:\n    sel: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n    condition: sel\n", 3, "list items must be keywords or field maps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ruleErrors(t, Config{}, tt.rule)
			require.Len(t, errs, 1)
			assert.Equal(t, "rules1.yml", errs[0].File)
			assert.Equal(t, tt.line, errs[0].Line, errs[0].Error())
			assert.Contains(t, errs[0].Reason, tt.reason)
		})
	}
}

func TestBadCorrelations(t *testing.T) {
	base := "title: base\nname: base\ndetection:\n    sel: {a: 1}\n    condition: sel\n---\n"
	corr := func(body string) string {
		return base + "title: corr\nname: corr\ncorrelation:\n" + indent(body, "    ")
	}
	tests := []struct {
		name   string
		rule   string
		reason string
	}{
		{"unknown type", corr("type: event_sum\nrules: [base]\ntimespan: 1h"), `correlation type "event_sum" is not one of`},
		{"missing timespan", corr("type: temporal\nrules: [base]\ngroup-by: [u]"), "timespan is required"},
		{"bad timespan unit", corr("type: temporal\nrules: [base]\ntimespan: 1H"), `timespan "1H" must be a number and one of s, m, h, d, w, M (month), y`},
		{"pySigma's extended temporal condition", corr("type: temporal\nrules: [base]\ntimespan: 1h\ncondition: base and not base"), "correlation condition must be a mapping"},
		{"pySigma's value_median", corr("type: value_median\nrules: [base]\ntimespan: 1h\ncondition: {field: x, gt: 3}"), `correlation type "value_median" is not one of`},
		{"timespan beyond a duration", corr("type: temporal\nrules: [base]\ntimespan: 999999y"), "longer than the 292 years"},
		{"generate twice, differently", corr("type: temporal\nrules: [base]\ntimespan: 1h\ngenerate: true") + "generate: false\n", "generate is given twice with different values"},
		{"generate not a boolean", corr("type: temporal\nrules: [base]\ntimespan: 1h\ngenerate: sometimes"), `generate takes true or false, not "sometimes"`},
		{"percentile outside value_percentile", corr("type: value_avg\nrules: [base]\ntimespan: 1h\ncondition: {field: x, percentile: 95, gt: 3}"), "percentile belongs to value_percentile"},
		{"percentile not a percent", corr("type: value_percentile\nrules: [base]\ntimespan: 1h\ncondition: {field: x, percentile: 95.5, gt: 3}"), "percentile takes a whole number from 0 to 100"},
		{"zero timespan", corr("type: temporal\nrules: [base]\ntimespan: 0s"), "longer than zero"},
		{"unknown rule", corr("type: temporal\nrules: [base, nowhere]\ntimespan: 1h"), `refers to unknown rule "nowhere"`},
		{"event_count without condition", corr("type: event_count\nrules: [base]\ntimespan: 1h"), "event_count needs a condition"},
		{"value_count without field", corr("type: value_count\nrules: [base]\ntimespan: 1h\ncondition: {gte: 3}"), "needs the field"},
		{"event_count with field", corr("type: event_count\nrules: [base]\ntimespan: 1h\ncondition: {gte: 3, field: x}"), "takes no condition.field"},
		{"condition without comparison", corr("type: event_count\nrules: [base]\ntimespan: 1h\ncondition: {field: x}"), "give at least one of"},
		{"unknown condition key", corr("type: event_count\nrules: [base]\ntimespan: 1h\ncondition: {above: 3}"), `unknown key "above"`},
		{"unknown correlation key", corr("type: event_count\nrules: [base]\ntimespan: 1h\ngroupby: [u]\ncondition: {gte: 3}"), `unknown key "groupby"`},
		{"alias outside group-by", corr("type: temporal\nrules: [base]\ntimespan: 1h\ngroup-by: [u]\naliases: {ip: {base: src}}"), `alias "ip" is not used in group-by`},
		{"alias of another rule", corr("type: temporal\nrules: [base]\ntimespan: 1h\ngroup-by: [ip]\naliases: {ip: {other: src}}"), `names rule "other"`},
		{"refers to a filter", base + "title: f\nname: flt\nlogsource: {product: m365}\nfilter:\n    rules: [base]\n    sel: {a: 2}\n    condition: sel\n---\n" +
			"title: corr\ncorrelation:\n    type: temporal\n    rules: [flt]\n    timespan: 1h\n", `"flt", which is a filter`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ruleErrors(t, Config{}, tt.rule)
			require.Len(t, errs, 1, "%v", errs)
			assert.Contains(t, errs[0].Reason, tt.reason)
			assert.Contains(t, errs[0].Rule, "corr")
		})
	}
}

func TestCorrelationCycleAndRejectedDependencies(t *testing.T) {
	errs := ruleErrors(t, Config{},
		"title: a\nname: a\ncorrelation:\n    type: temporal\n    rules: [b]\n    timespan: 1h\n---\n"+
			"title: b\nname: b\ncorrelation:\n    type: temporal\n    rules: [a]\n    timespan: 1h\n",
		"title: bad\nname: bad\ndetection:\n    sel: {f|nope: 1}\n    condition: sel\n---\n"+
			"title: c\nname: c\ncorrelation:\n    type: temporal\n    rules: [bad]\n    timespan: 1h\n")
	var reasons []string
	for _, e := range errs {
		reasons = append(reasons, e.Rule+": "+e.Reason)
	}
	joined := strings.Join(reasons, "\n")
	assert.Contains(t, joined, "a cycle")
	assert.Contains(t, joined, `"bad" (bad): f|nope: unknown modifier "nope"`)
	assert.Contains(t, joined, `"c" (c): correlation refers to rule "bad", which was rejected`)
}

// A bad document costs only itself: the rules before and after it load, and
// its error names the file's own line.
func TestBadRuleNeverStopsGoodOnes(t *testing.T) {
	text := ruleWith("sel:\n    a: 1\ncondition: sel") +
		"---\ntitle: broken\ndetection:\n    sel: {a: [1, 2}\n    condition: sel\n" +
		"---\n" + strings.Replace(ruleWith("sel:\n    b: 1\ncondition: sel"), "test-rule", "second", 1)
	e, rep, err := Compile(files(text), Config{})
	require.NoError(t, err)
	require.Len(t, rep.Errors, 1)
	assert.Equal(t, 10, rep.Errors[0].Line, rep.Errors[0].Error())
	assert.Contains(t, rep.Errors[0].Reason, "malformed YAML: did not find expected ',' or ']'")
	assert.Equal(t, 2, rep.Loaded)
	assert.Equal(t, []string{"test-rule", "second"}, matchedKeys(e.Evaluate(testEvent(t, "x", `{"a":1,"b":1}`, testTime), nil)))
}

func TestFailOnError(t *testing.T) {
	_, rep, err := Compile(files(ruleWith("sel:\n    f|bogus: 1\ncondition: sel")), Config{FailOnError: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 rule errors and fail_on_error is set")
	assert.Contains(t, err.Error(), `rules1.yml:6: rule "Test rule" (test-rule): f|bogus: unknown modifier "bogus"`)
	assert.Len(t, rep.Errors, 1)
}

func TestDuplicateIDs(t *testing.T) {
	errs := ruleErrors(t, Config{}, ruleWith("sel:\n    a: 1\ncondition: sel"), ruleWith("sel:\n    b: 1\ncondition: sel"))
	require.Len(t, errs, 1)
	assert.Equal(t, "rules2.yml", errs[0].File)
	assert.Contains(t, errs[0].Reason, `id or name "test-rule" is already used by the rule at rules1.yml:1`)
}

func TestFilterRejections(t *testing.T) {
	errs := ruleErrors(t, Config{}, "title: f\nlogsource: {product: m365}\nfilter:\n    rules: [missing]\n    sel: {a: 1}\n    condition: sel\n")
	require.Len(t, errs, 1)
	assert.Equal(t, 4, errs[0].Line)
	assert.Contains(t, errs[0].Reason, `filter refers to unknown rule "missing"`)
}

// Files are found by path, folder and glob; an enormous file is refused
// unread, and a path that names nothing is reported.
func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	write("a/one.yml", ruleWith("sel:\n    a: 1\ncondition: sel"))
	write("a/b/two.yaml", strings.Replace(ruleWith("sel:\n    a: 2\ncondition: sel"), "test-rule", "two", 1))
	write("a/notes.txt", "not a rule")
	huge := write("huge.yml", "title: huge\n"+strings.Repeat("# padding\n", 200_000))

	got, errs := ReadFiles([]string{filepath.Join(dir, "a"), filepath.Join(dir, "*.yml"), filepath.Join(dir, "none-*.yml")}, 1<<20)
	var names []string
	for _, f := range got {
		names = append(names, filepath.Base(f.Name))
	}
	assert.Equal(t, []string{"two.yaml", "one.yml"}, names) // walked in lexical order
	require.Len(t, errs, 2)
	assert.Equal(t, huge, errs[1].File)
	assert.Contains(t, errs[1].Reason, "over the 1048576-byte limit (sigma.max_file_bytes)")
	assert.Contains(t, errs[0].Error(), "none-*.yml: matches no file")

	_, rep, err := Load(Config{Rules: []string{filepath.Join(dir, "a")}})
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Loaded)
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, (&Config{Rules: []string{"rules/"}, Placeholders: map[string][]string{"Admins": {"a"}}}).Validate())
	err := (&Config{
		Rules:            []string{" "},
		Placeholders:     map[string][]string{"Admins": {}},
		FieldMapping:     []FieldMapping{{Fields: map[string][]string{"eventName": {}}}},
		LogsourceMapping: []LogsourceMapping{{Product: "windows"}, {Source: "x"}},
		Correlation:      CorrelationLimits{MaxGroups: -1},
	}).Validate()
	require.Error(t, err)
	for _, want := range []string{
		"rules[0]: empty path",
		"placeholders.Admins: give at least one value",
		"field_mapping[0].fields.eventName: list one or more record locations",
		"logsource_mapping[0].source: required",
		"logsource_mapping[1]: give at least one of category, product, service",
		"correlation: max_groups and max_events_per_group must be positive",
	} {
		assert.Contains(t, err.Error(), want)
	}
}
