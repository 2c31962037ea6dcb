package sigma

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// corpusRuleFiles returns the corpus's Sigma files, for fuzz seeds; none
// when the corpus is absent (fuzzing then starts from the inline seeds).
func corpusRuleFiles(tb testing.TB) [][]byte {
	dir, ok := corpus.Lookup(tb)
	if !ok {
		return nil
	}
	var out [][]byte
	_ = filepath.WalkDir(filepath.Join(dir, "sigma"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yml") {
			if data, err := os.ReadFile(p); err == nil {
				out = append(out, data)
			}
		}
		return nil
	})
	return out
}

// fuzzEvent is a record with the shapes rules read: nested maps, a
// {Name,Value} array, scalars of each type.
const fuzzEvent = `{"Operation":"New-InboxRule","EventID":4625,"Workload":"Exchange","ok":true,"n":1.5,"nil":null,
	"Parameters":[{"Name":"ForwardTo","Value":"eve@evil.io"}],"properties":{"status":{"errorCode":50126}},
	"events":[{"name":"login_failure","parameters":[{"name":"is_suspicious","boolValue":true}]}],"ip":"10.1.2.3"}`

// FuzzLoadRule feeds arbitrary bytes to the loader as a rule file, and runs
// whatever compiles on a record: no input may crash either.
func FuzzLoadRule(f *testing.F) {
	for _, data := range corpusRuleFiles(f) {
		f.Add(data)
	}
	f.Add([]byte(aliasBomb))
	f.Add([]byte(wideAliasBomb()))
	f.Add([]byte(ruleWith("sel:\n    f|windash|base64offset|contains: ' -e '\n    g|re|i: '^a.*'\n    h|cidr: 10.0.0.0/8\ncondition: 1 of them")))
	f.Add([]byte(countRules))
	cfg := Config{Placeholders: corpusPlaceholders}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, _, err := Compile([]File{{Name: "fuzz.yml", Data: data}}, cfg)
		if err != nil || e == nil {
			return
		}
		ev := testEvent(t, "o365", fuzzEvent, testTime)
		e.Evaluate(ev, nil)
		e.Evaluate(ev, nil)
	})
}

var conditionLine = regexp.MustCompile(`(?m)^\s+condition:\s*(.+)$`)

// FuzzCondition feeds arbitrary text to the condition parser and evaluates
// what it accepts.
func FuzzCondition(f *testing.F) {
	for _, data := range corpusRuleFiles(f) {
		for _, m := range conditionLine.FindAllSubmatch(data, -1) {
			f.Add(string(m[1]))
		}
	}
	for _, s := range []string{"sel and not filter", "1 of sel_* and not 1 of filter*", "all of them", "(a or (b and not c))", "sel | count() > 5", "not not not sel"} {
		f.Add(s)
	}
	idents := []string{"selection", "filter", "sel_a", "sel_b", "filter_main_x", "_hidden", "keywords", "a", "b", "c", "sel"}
	l := &logic{selections: make([]selection, len(idents))}
	c := &evalCtx{}
	f.Fuzz(func(t *testing.T, text string) {
		n, err := parseCondition(text, idents)
		if err != nil {
			return
		}
		l.evalNode(c, n)
		positiveRefs(n, false, map[int]bool{}, nil)
	})
}
