package sigma

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// BenchmarkSigma measures the per-record cost of 100 and 1,000 rules on a
// realistic mix of records (1,000 also with the literal prefilter off),
// beside a read-once baseline that visits every body and attribute value of
// the record once, in the same run.
//
//	go test -run=^$ -bench=BenchmarkSigma -benchmem ./processor/emailcompromiseprocessor/internal/sigma/
func BenchmarkSigma(b *testing.B) {
	dir, ok := corpus.Lookup(b)
	if !ok {
		b.Skip("the benchmark reads the corpus's rules and samples")
	}
	events := benchRecords(b, filepath.Join(dir, "samples"))
	rules := benchRules(b, dir)
	b.Run("baseline-read-once", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		var cpu time.Duration
		for i := 0; b.Loop(); i++ {
			if i == 0 {
				cpu = cpuTime(b)
			}
			ev := events[i%len(events)]
			n += visitAll(ev.Body) + visitAll(ev.Attributes)
		}
		reportPerRecord(b)
		reportCPUPerRecord(b, cpu)
		_ = n
	})
	// prefilter-off evaluates every rule no equality indexes, as before the
	// literal prefilter, for comparison.
	for _, run := range []struct {
		count int
		off   bool
	}{{100, false}, {1000, false}, {1000, true}} {
		name := fmt.Sprintf("rules=%d", run.count)
		if run.off {
			name += "-prefilter-off"
		}
		b.Run(name, func(b *testing.B) {
			e, rep, err := Compile(rules[:run.count], Config{})
			if err != nil || len(rep.Errors) > 0 {
				b.Fatalf("compile: %v %v", err, rep.Errors)
			}
			for _, idx := range allIndexes(e) {
				idx.prefilterOff = run.off
			}
			var out []Match
			var cpu time.Duration
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i == 0 {
					cpu = cpuTime(b)
				}
				out = e.Evaluate(events[i%len(events)], out[:0])
			}
			reportPerRecord(b)
			reportCPUPerRecord(b, cpu)
		})
	}
}

func reportPerRecord(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/record")
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine, what a benchmark used is steadier than how long it took.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPUPerRecord reports the CPU time per record since start (GC
// included, as it is the benchmark's).
func reportCPUPerRecord(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/record")
}

// visitAll reads every value once: what any consumer of the record pays.
func visitAll(m pcommon.Map) int {
	n := 0
	m.Range(func(_ string, v pcommon.Value) bool {
		n += visitValue(v)
		return true
	})
	return n
}

func visitValue(v pcommon.Value) int {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return visitAll(v.Map())
	case pcommon.ValueTypeSlice:
		n := 0
		for i := 0; i < v.Slice().Len(); i++ {
			n += visitValue(v.Slice().At(i))
		}
		return n
	case pcommon.ValueTypeStr:
		return len(v.Str())
	}
	return 1
}

// benchRecords builds the record mix from real sample shapes, with their
// views and attributes as the receiver writes them: O365 sign-ins, mail
// items and cmdlets (inbox rules, Set-Mailbox), Azure Monitor and Graph
// sign-ins, Google logins and account events.
func benchRecords(b *testing.B, samples string) []*Event {
	type pick struct {
		file  string
		index int
	}
	picks := []pick{
		{"o365/splunk-security_content_o365_userloggedin.json", 0},
		{"o365/splunk-security_content_o365_userloginfailed.json", 0},
		{"o365/splunk-security_content_o365_mailitemsaccessed.json", 0},
		{"o365/splunk-security_content_o365_set_mailbox.json", 0},
		{"o365/elastic-integrations_test-exchange-item.log", 0},
		{"purview_csv/DERIVED_huntress2023_purview_AuditData.ndjson", 143},
		{"purview_csv/DERIVED_huntress2023_purview_AuditData.ndjson", 0},
		{"purview_csv/DERIVED_huntress2023_purview_AuditData.ndjson", 60},
		{"entra_signin_azuremonitor/splunk-security_content_azure_active_directory_sign_in_activity.json", 0},
		{"entra_signin_azuremonitor/elastic-integrations_test-non-interactive-user-signin.log", 0},
		{"entra_signin_azuremonitor/elastic-integrations_test-signinlogs-raw.log", 0},
		{"entra_signin_graph/graph-docs_beta_signin-list_example1_response.json", 0},
		{"entra_signin_graph/graph-docs_v1.0_signin-list_example1_response.fixed.json", 0},
		{"google_workspace/splunk-security_content_google_workspace_login_success.json", 0},
		{"google_workspace/elastic-integrations_test-login.log", 1},
		{"google_workspace/elastic-integrations_test-user-accounts.log", 8},
	}
	t := &testing.T{}
	var events []*Event
	for i, p := range picks {
		body := sampleRecord(t, filepath.Join(samples, p.file), p.index)
		var r auditrecord.Record
		if err := auditrecord.Parse(body, &r); err != nil {
			b.Fatalf("%s: %v", p.file, err)
		}
		// Records of one stream move forward in time.
		r.Time = testTime.Add(time.Duration(i) * time.Second)
		attrs := pcommon.NewMap()
		r.PutAttributes(attrs)
		events = append(events, &Event{Record: &r, Body: body, Attributes: attrs, Now: r.Time})
	}
	return events
}

// benchRules returns 1,000 rule files: the shipped examples, the corpus's
// SigmaHQ cloud rules, and variants of those rules whose values are changed
// (so they keep each rule's shape: equalities, contains, lists) until there
// are 1,000.
func benchRules(b *testing.B, dir string) []File {
	var base []File
	add := func(root string) {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yml") {
				data, err := os.ReadFile(p)
				if err != nil {
					b.Fatal(err)
				}
				base = append(base, File{Name: p, Data: data})
			}
			return nil
		})
	}
	add(filepath.Join(corpus.RepoRoot(b), "testdata", "sigma"))
	add(filepath.Join(dir, "sigma", "rules"))
	add(filepath.Join(dir, "sigma", "rules-threat-hunting"))
	out := append([]File(nil), base...)
	for v := 1; len(out) < 1000; v++ {
		for _, f := range base[7:] { // the corpus rules, one document each
			if len(out) == 1000 {
				break
			}
			variant, err := corpus.SigmaRuleVariant(f.Data, v)
			if err != nil {
				b.Fatalf("%s: %v", f.Name, err)
			}
			out = append(out, File{Name: fmt.Sprintf("%s.v%d", f.Name, v), Data: variant})
		}
	}
	return out
}

// BenchmarkSigmaCorrelation measures the per-record cost of correlations
// over a stream moving forward in time: 2,000 users failing and signing in,
// fed to an event_count, a value_count, a temporal_ordered and a "fewer
// than" (lt) correlation, each grouping by user.
//
//	go test -run=^$ -bench=BenchmarkSigmaCorrelation -benchmem ./processor/emailcompromiseprocessor/internal/sigma/
func BenchmarkSigmaCorrelation(b *testing.B) {
	const rules = `title: Failed
name: failed
detection:
    sel: {result: failure}
    condition: sel
---
title: Succeeded
name: succeeded
detection:
    sel: {result: success}
    condition: sel
---
title: Many failures
name: many_failures
correlation: {type: event_count, rules: [failed], group-by: [user], timespan: 10m, condition: {gte: 10}}
---
title: Many addresses
correlation: {type: value_count, rules: [failed], group-by: [user], timespan: 1h, condition: {field: ip, gte: 3}}
---
title: Failures then success
correlation: {type: temporal_ordered, rules: [many_failures, succeeded], group-by: [user], timespan: 10m}
---
title: Rare sign-ins
correlation: {type: event_count, rules: [succeeded], group-by: [user], timespan: 1h, condition: {lt: 2}}
`
	e := mustCompile(b, Config{}, rules)
	const users = 2000
	bodies := make([]pcommon.Map, 2*users)
	for u := range users {
		for k, result := range []string{"failure", "success"} {
			bodies[2*u+k] = body(b, fmt.Sprintf(`{"result":%q,"user":"user%d@contoso.com","ip":"203.0.113.%d"}`, result, u, u%7))
		}
	}
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("record-%d", i)
	}
	var rec auditrecord.Record
	ev := &Event{Record: &rec, Lateness: testLateness}
	var out []Match
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// One record every 100 ms; every seventh of a user's records a success.
		rec.Time = testTime.Add(time.Duration(i) * 100 * time.Millisecond)
		rec.ID = ids[i%len(ids)]
		u := i % users
		ev.Body, ev.Now = bodies[2*u+min(1, (i/users)%7/6)], rec.Time
		out = e.Evaluate(ev, out[:0])
	}
	reportPerRecord(b)
}
