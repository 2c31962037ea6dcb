package sigma

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.yaml.in/yaml/v3"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
)

// Rules' own tests, in SigmaHQ's regression-test format
// (regression_data/README.md of SigmaHQ/sigma): a rule names its tests with
// regression_tests_path, an info.yml whose rule_metadata gives the rule's
// id and whose regression_tests_info lists the tests, each a sample of
// events (type json: one record, an array of records, or a Graph "value" /
// Azure Monitor "records" page; ndjson or jsonl: a record a line) and the
// number of matches it must give (match_count: fewer fail, more warn;
// omitted, at least one). A test with match_count 0 is a negative test:
// any match fails it. info.yml files found in test folders count as well,
// for rules that do not name theirs (SigmaHQ's rules as published).
//
// The events are vendor records, read as the processor reads them: each
// is parsed into its source and view, and evaluated with its own event time,
// in the sample's order; at the end of a sample, the windows still open are
// decided, as if the stream went on. Every rule reports its own matches,
// referred to by a correlation or not.

// TestOutcome is what one test gave.
type TestOutcome uint8

const (
	TestPassed TestOutcome = iota
	// TestWarned: more matches than match_count, which SigmaHQ's runner
	// warns about but does not fail.
	TestWarned
	TestFailed
	// TestSkipped: a sample type this engine cannot read (evtx).
	TestSkipped
)

func (o TestOutcome) String() string {
	return [...]string{"PASS", "WARN", "FAIL", "SKIP"}[o]
}

// RuleTestResult is one test of one rule.
type RuleTestResult struct {
	// Rule is the rule's id, Title its title (when loaded).
	Rule, Title string
	// Info is the info.yml the test is listed in; Name, Type and Sample are
	// the test's name, sample type and sample path.
	Info, Name, Type, Sample string
	Matches                  int
	// Want is match_count; nil when the info gives none (at least one).
	Want    *int
	Outcome TestOutcome
	// Error says why a test could not run (it failed); Detail why it was
	// skipped, or what it ignored.
	Error, Detail string
}

func (r RuleTestResult) String() string {
	title := r.Rule
	if r.Title != "" {
		title = fmt.Sprintf("%q (%s)", r.Title, r.Rule)
	}
	expected := "at least 1"
	if r.Want != nil {
		expected = fmt.Sprint(*r.Want)
	}
	line := fmt.Sprintf("%s  %s", r.Outcome, title)
	if r.Name != "" {
		line += fmt.Sprintf(": %s [%s %s]", r.Name, r.Type, r.Sample)
	}
	switch {
	case r.Error != "":
		line += ": " + r.Error
	case r.Outcome != TestSkipped:
		line += fmt.Sprintf(": %d %s, expected %s", r.Matches, map[bool]string{true: "match", false: "matches"}[r.Matches == 1], expected)
	}
	if r.Detail != "" {
		line += "; " + r.Detail
	}
	return line
}

// RuleTestReport is what running the rules' tests found.
type RuleTestReport struct {
	// Load is the load report of the rules.
	Load    *Report
	Results []RuleTestResult
}

// Failed reports whether a test failed or a rule could not be loaded.
func (r *RuleTestReport) Failed() bool {
	if len(r.Load.Errors) > 0 {
		return true
	}
	return slices.ContainsFunc(r.Results, func(t RuleTestResult) bool { return t.Outcome == TestFailed })
}

// Summary is one line: how many tests passed, warned, failed, were skipped.
func (r *RuleTestReport) Summary() string {
	var n [4]int
	for _, t := range r.Results {
		n[t.Outcome]++
	}
	return fmt.Sprintf("%d tests: %d passed, %d warned, %d failed, %d skipped; %s",
		len(r.Results), n[TestPassed], n[TestWarned], n[TestFailed], n[TestSkipped], r.Load.Summary())
}

// ruleTestInfo is an info.yml.
type ruleTestInfo struct {
	RuleMetadata []struct {
		ID    string `yaml:"id"`
		Title string `yaml:"title"`
	} `yaml:"rule_metadata"`
	Tests []struct {
		Name       string   `yaml:"name"`
		Type       string   `yaml:"type"`
		MatchCount *int     `yaml:"match_count"`
		Path       string   `yaml:"path"`
		Pipelines  []string `yaml:"pipelines"`
		Filters    []string `yaml:"filters"`
	} `yaml:"regression_tests_info"`
}

// maxSampleBytes bounds an info.yml or a sample file.
const maxSampleBytes = 64 << 20

// RunRuleTests loads the rules cfg names and runs their tests: those the
// rules name, and the info.yml files below testDirs. lateness is the
// allowed lateness the processor would run with.
func RunRuleTests(cfg Config, testDirs []string, lateness time.Duration) (*RuleTestReport, error) {
	cfg = cfg.withDefaults()
	files, errs := ReadFiles(cfg.Rules, cfg.MaxFileBytes)
	engine, load, err := compile(files, errs, cfg, true)
	if err != nil {
		return nil, err
	}
	rep := &RuleTestReport{Load: load}
	infos := map[string]bool{}
	var order []string
	addInfo := func(path string) {
		if abs, err := filepath.Abs(path); err == nil && !infos[abs] {
			infos[abs] = true
			order = append(order, path)
		}
	}
	byID := map[string]*RuleInfo{}
	for _, r := range engine.Rules() {
		for _, key := range []string{r.ID, r.Name} {
			if key != "" {
				byID[key] = r
			}
		}
		if r.RegressionTests != "" {
			path, err := resolveUpward(filepath.Dir(r.File), r.RegressionTests)
			if err != nil {
				rep.Results = append(rep.Results, RuleTestResult{Rule: r.Key, Title: r.Title, Info: r.RegressionTests, Outcome: TestFailed,
					Error: fmt.Sprintf("%s:%d: regression_tests_path: %v", r.File, r.Line, err)})
				continue
			}
			addInfo(path)
		}
	}
	for _, dir := range testDirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (d.Name() == "info.yml" || d.Name() == "info.yaml") {
				addInfo(p)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("test folder %s: %w", dir, err)
		}
	}
	for _, info := range order {
		rep.Results = append(rep.Results, runInfo(engine, load, byID, info, lateness)...)
	}
	return rep, nil
}

// runInfo runs the tests one info.yml lists.
func runInfo(e *Engine, load *Report, byID map[string]*RuleInfo, path string, lateness time.Duration) []RuleTestResult {
	failed := func(rule, why string) []RuleTestResult {
		return []RuleTestResult{{Rule: rule, Info: path, Outcome: TestFailed, Error: why}}
	}
	data, err := readCapped(path, maxSampleBytes)
	if err != nil {
		return failed("", err.Error())
	}
	var info ruleTestInfo
	if err := yaml.Unmarshal(data, &info); err != nil {
		return failed("", fmt.Sprintf("%s: %v", path, err))
	}
	if len(info.RuleMetadata) == 0 || info.RuleMetadata[0].ID == "" {
		return failed("", path+": rule_metadata must give the id of the rule the tests are for")
	}
	id := info.RuleMetadata[0].ID
	rule := byID[id]
	if rule == nil {
		return failed(id, path+": "+whyNotLoaded(load, id))
	}
	if len(info.Tests) == 0 {
		return failed(id, path+": regression_tests_info lists no test")
	}
	var out []RuleTestResult
	for i, t := range info.Tests {
		res := RuleTestResult{Rule: id, Title: rule.Title, Info: path, Name: t.Name, Type: t.Type, Sample: t.Path, Want: t.MatchCount}
		if res.Name == "" {
			res.Name = fmt.Sprintf("test %d", i+1)
		}
		switch strings.ToLower(t.Type) {
		case "json", "ndjson", "jsonl":
		case "evtx":
			res.Outcome, res.Detail = TestSkipped, "EVTX samples are Windows event logs; this engine reads cloud audit records (give a json or ndjson sample)"
			out = append(out, res)
			continue
		default:
			res.Outcome, res.Error = TestFailed, fmt.Sprintf("type %q is not one of json, ndjson, jsonl, evtx", t.Type)
			out = append(out, res)
			continue
		}
		sample, err := resolveUpward(filepath.Dir(path), t.Path)
		if err != nil {
			res.Outcome, res.Error = TestFailed, "path: "+err.Error()
			out = append(out, res)
			continue
		}
		res.Sample = sample
		res.Matches, err = e.countMatches(rule, sample, strings.ToLower(t.Type) != "json", lateness)
		switch {
		case err != nil:
			res.Outcome, res.Error = TestFailed, err.Error()
		case res.Want == nil && res.Matches == 0, res.Want != nil && res.Matches < *res.Want, res.Want != nil && *res.Want == 0 && res.Matches > 0:
			res.Outcome = TestFailed
		case res.Want != nil && res.Matches > *res.Want:
			res.Outcome = TestWarned
		}
		if len(t.Pipelines) > 0 || len(t.Filters) > 0 {
			res.Detail = "pySigma pipelines and filters are not applied (this engine maps fields itself)"
		}
		out = append(out, res)
	}
	return out
}

// whyNotLoaded says why no loaded rule has the id: rejected, inactive, or
// absent from the rule files.
func whyNotLoaded(load *Report, id string) string {
	needle := "(" + id + ")"
	for _, e := range load.Errors {
		if strings.Contains(e.Rule, needle) {
			return "the rule was not loaded: " + e.Error()
		}
	}
	for _, r := range load.Inactive {
		if strings.Contains(r.Rule, needle) {
			return fmt.Sprintf("the rule (%s:%d) is inactive: its logsource (%s) maps to no source this processor receives", r.File, r.Line, r.Logsource)
		}
	}
	return fmt.Sprintf("no rule with id %s is among the rule files given", id)
}

// resolveUpward finds path relative to dir or, as SigmaHQ's runner does for
// repository-relative paths, to the nearest folder above dir that holds it.
func resolveUpward(dir, path string) (string, error) {
	if path == "" {
		return "", errors.New("empty")
	}
	if filepath.IsAbs(path) {
		_, err := os.Stat(path)
		return path, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		candidate := filepath.Join(d, filepath.FromSlash(path))
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%s is neither in %s nor in any folder above it", path, dir)
		}
		d = parent
	}
}

// countMatches runs a sample through the engine, from empty correlation
// state, and counts the matches of rule.
func (e *Engine) countMatches(rule *RuleInfo, sample string, lines bool, lateness time.Duration) (int, error) {
	records, err := readSample(sample, lines)
	if err != nil {
		return 0, err
	}
	e.resetCorrelations()
	count := func(ms []Match) int {
		n := 0
		for _, m := range ms {
			if m.Rule == rule {
				n++
			}
		}
		return n
	}
	n := 0
	var ms []Match
	for i, body := range records {
		var r auditrecord.Record
		if err := auditrecord.Parse(body, &r); err != nil {
			return 0, fmt.Errorf("record %d of %s: %v", i+1, sample, err)
		}
		attrs := pcommon.NewMap()
		r.PutAttributes(attrs)
		ms = e.Evaluate(&Event{Record: &r, Body: body, Attributes: attrs, Now: r.Time, Lateness: lateness}, ms[:0])
		n += count(ms)
	}
	return n + count(e.Flush(lateness, nil)), nil
}

// readSample returns the records of a sample: a record a line, or one JSON
// value (a record, an array of records, or a page of them under "value" or
// "records").
func readSample(path string, lines bool) ([]pcommon.Map, error) {
	data, err := readCapped(path, maxSampleBytes)
	if err != nil {
		return nil, err
	}
	var out []pcommon.Map
	if lines {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, maxSampleBytes)
		for n := 1; sc.Scan(); n++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			m := pcommon.NewMap()
			if err := jsonpdata.DecodeMap(sc.Bytes(), m, jsonpdata.Limits{}); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, n, err)
			}
			out = append(out, m)
		}
		return out, sc.Err()
	}
	v := pcommon.NewValueEmpty()
	if err := jsonpdata.DecodeValue(data, v, jsonpdata.Limits{}); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if v.Type() == pcommon.ValueTypeMap {
		for _, envelope := range []string{"value", "records"} {
			if page, ok := v.Map().Get(envelope); ok && page.Type() == pcommon.ValueTypeSlice {
				v = page
				break
			}
		}
	}
	if v.Type() == pcommon.ValueTypeMap {
		return []pcommon.Map{v.Map()}, nil
	}
	if v.Type() != pcommon.ValueTypeSlice {
		return nil, fmt.Errorf("%s: a json sample is a record, an array of records or a page of them", path)
	}
	for i := 0; i < v.Slice().Len(); i++ {
		if v.Slice().At(i).Type() != pcommon.ValueTypeMap {
			return nil, fmt.Errorf("%s: element %d is not a record", path, i+1)
		}
		out = append(out, v.Slice().At(i).Map())
	}
	return out, nil
}

// resetCorrelations forgets the correlation state, for a test of its own.
func (e *Engine) resetCorrelations() {
	e.stats = Stats{}
	e.watermark, e.nextDue = math.MinInt64, noWindow
	for _, c := range e.correlations {
		c.state = newCorrState(c.state.maxGroups, c.state.maxEvents, &e.stats)
	}
}
