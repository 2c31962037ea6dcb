// Package corpus checks the real pipeline (audit_log receiver, file input, then
// the email_compromise processor) against the hand-written expectations of
// every published vendor sample in ../shared/corpus.
package corpus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"go.yaml.in/yaml/v3"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver"
)

type expectations struct {
	Processor struct {
		OrganizationDomains []string `yaml:"organization_domains"`
	} `yaml:"processor"`
	Files []fileExpectation `yaml:"files"`
}

type fileExpectation struct {
	File               string           `yaml:"file"`
	Shape              string           `yaml:"shape"`
	Records            int              `yaml:"records"`
	ParseErrors        int              `yaml:"parse_errors"`
	Sources            map[string]int   `yaml:"sources"`
	Operations         map[string]int   `yaml:"operations"`
	KeyRecords         []map[string]any `yaml:"key_records"`
	Detections         map[string]int   `yaml:"detections"`
	UntaggedOperations []string         `yaml:"untagged_operations"`
}

// keyAttributes maps the expectation keys to the record attributes they check.
var keyAttributes = map[string]string{
	"user":           "user.name",
	"actor":          "audit.actor",
	"operation":      "audit.operation",
	"result":         "audit.result",
	"error_code":     "audit.error_code",
	"client_address": "client.address",
	"country":        "geo.country.iso_code",
	"lat":            "geo.location.lat",
	"lon":            "geo.location.lon",
	"severity":       "detection.severity",
}

func TestCorpusExpectations(t *testing.T) {
	dir := corpus.Dir(t)
	raw, err := os.ReadFile("expectations.yaml")
	require.NoError(t, err)
	var exp expectations
	require.NoError(t, yaml.Unmarshal(raw, &exp))

	listed := map[string]bool{}
	for _, fe := range exp.Files {
		listed[fe.File] = true
		t.Run(fe.File, func(t *testing.T) {
			path := filepath.Join(dir, "samples", fe.File)
			records, layouts := runPipeline(t, path, exp.Processor.OrganizationDomains, fe.Records)
			checkFile(t, fe, records)
			checkShape(t, fe, layouts)
		})
	}
	// Every data file of the corpus has written expectations.
	samples, err := filepath.Glob(filepath.Join(dir, "samples", "*", "*"))
	require.NoError(t, err)
	for _, s := range samples {
		base := filepath.Base(s)
		if strings.HasPrefix(base, "LICENSE") || strings.HasPrefix(base, "NOTICE") {
			continue
		}
		rel, _ := filepath.Rel(filepath.Join(dir, "samples"), s)
		assert.True(t, listed[filepath.ToSlash(rel)], "corpus file %s has no expectations in expectations.yaml", rel)
	}
}

// runPipeline reads one file with the real receiver into the real processor
// and returns the records that left the processor and the layouts the
// receiver logged for the file.
func runPipeline(t *testing.T, path string, domains []string, want int) ([]plog.LogRecord, []string) {
	t.Helper()
	ctx := context.Background()
	sink := new(consumertest.LogsSink)

	pf := emailcompromiseprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*emailcompromiseprocessor.Config)
	pcfg.OrganizationDomains = domains
	proc, err := pf.CreateLogs(ctx, processortest.NewNopSettings(pf.Type()), pcfg, sink)
	require.NoError(t, err)

	rf := auditlogreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig().(*auditlogreceiver.Config)
	rcfg.Files.Include = []string{corpus.GlobEscape(path)}
	rcfg.Files.PollInterval = 20 * time.Millisecond
	require.NoError(t, rcfg.Validate())
	rset := receivertest.NewNopSettings(rf.Type())
	core, logs := observer.New(zapcore.InfoLevel)
	rset.Logger = zap.New(core)
	rcv, err := rf.CreateLogs(ctx, rset, rcfg, proc)
	require.NoError(t, err)

	host := componenttest.NewNopHost()
	require.NoError(t, proc.Start(ctx, host))
	require.NoError(t, rcv.Start(ctx, host))
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= want }, 15*time.Second, 10*time.Millisecond,
		"expected %d records from %s", want, filepath.Base(path))
	time.Sleep(100 * time.Millisecond) // anything beyond the expected count would show now
	require.NoError(t, rcv.Shutdown(ctx))
	require.NoError(t, proc.Shutdown(ctx))

	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			for j := 0; j < ld.ResourceLogs().At(i).ScopeLogs().Len(); j++ {
				lrs := ld.ResourceLogs().At(i).ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	var layouts []string
	for _, e := range logs.FilterMessage("audit file layout").All() {
		layouts = append(layouts, fmt.Sprint(e.ContextMap()["layout"]))
	}
	return out, layouts
}

// checkShape compares the layout the receiver found in the file, as it logs
// it once per new file, with the shape written by hand. A shape
// <layout>_invalid_json is a file whose JSON is broken inside a record: the
// receiver cuts records out without decoding them, so it finds the layout of
// the structure around them, and the broken record is passed on with
// audit.parse_error, which parse_errors counts.
func checkShape(t *testing.T, fe fileExpectation, layouts []string) {
	layout, broken := strings.CutSuffix(fe.Shape, "_invalid_json")
	assert.Equal(t, []string{layout}, layouts, "layout found in %s (shape %s)", fe.File, fe.Shape)
	if broken {
		assert.Positive(t, fe.ParseErrors, "a shape with invalid JSON expects parse errors")
	}
}

func checkFile(t *testing.T, fe fileExpectation, records []plog.LogRecord) {
	assert.Len(t, records, fe.Records, "records")
	parseErrors := 0
	sources := map[string]int{}
	operations := map[string]int{}
	detections := map[string]int{}
	for _, lr := range records {
		attrs := lr.Attributes()
		if _, ok := attrs.Get("audit.parse_error"); ok {
			parseErrors++
		}
		if v, ok := attrs.Get("audit.source"); ok {
			sources[v.Str()]++
		}
		op := str(attrs, "audit.operation")
		if _, counted := fe.Operations[op]; counted {
			operations[op]++
		}
		rules := ruleIDs(attrs)
		for _, r := range rules {
			detections[r]++
		}
		for _, untagged := range fe.UntaggedOperations {
			assert.False(t, op == untagged && len(rules) > 0, "%s record %s is tagged %v", op, str(attrs, "audit.record.id"), rules)
		}
	}
	assert.Equal(t, fe.ParseErrors, parseErrors, "parse errors")
	assert.Equal(t, nonNil(fe.Sources), sources, "sources")
	for op, n := range fe.Operations {
		assert.Equal(t, n, operations[op], "records of operation %s", op)
	}
	assert.Equal(t, nonNil(fe.Detections), detections, "detections by rule")
	for _, key := range fe.KeyRecords {
		assert.True(t, anyMatches(records, key), "no record matches key record %v", key)
	}
}

// anyMatches reports whether some record has the key record's id and every
// value it lists.
func anyMatches(records []plog.LogRecord, key map[string]any) bool {
	for _, lr := range records {
		attrs := lr.Attributes()
		if str(attrs, "audit.record.id") != fmt.Sprint(key["id"]) {
			continue
		}
		if matches(lr, key) {
			return true
		}
	}
	return false
}

func matches(lr plog.LogRecord, key map[string]any) bool {
	attrs := lr.Attributes()
	for k, want := range key {
		switch k {
		case "id":
		case "time":
			wt, ok := want.(time.Time)
			if !ok || !lr.Timestamp().AsTime().Equal(wt) {
				return false
			}
		case "rules":
			got := ruleIDs(attrs)
			var w []string
			for _, r := range want.([]any) {
				w = append(w, r.(string))
			}
			sort.Strings(got)
			sort.Strings(w)
			if strings.Join(got, ",") != strings.Join(w, ",") {
				return false
			}
		default:
			v, ok := attrs.Get(keyAttributes[k])
			if !ok || v.AsString() != fmt.Sprint(want) {
				return false
			}
		}
	}
	return true
}

func ruleIDs(attrs pcommon.Map) []string {
	v, ok := attrs.Get("detection.rules")
	if !ok {
		return nil
	}
	var ids []string
	for i := 0; i < v.Slice().Len(); i++ {
		ids = append(ids, v.Slice().At(i).Str())
	}
	return ids
}

func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}
