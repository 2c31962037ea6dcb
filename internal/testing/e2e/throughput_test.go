package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

// TestDistributionThroughput runs the built distribution end to end: the
// audit_log receiver reads a generated tenant's files, the email_compromise
// processor tags them (or, for the baseline, is left out of the pipeline),
// the OTLP/gRPC exporter sends them to a local counting sink. records/s
// counts from the first record to reach the sink to the last, which leaves
// the collector's start out. The two pipelines alternate, THROUGHPUT_RUNS
// times each (default 3), and the median is reported.
//
// Each is measured with two exporter compressions: none, the figure the
// target applies to (a sink on the same machine, as deploy/scaleout's tier2
// exports), and gzip, the OTLP exporter's default, for reference: gzip took
// about 40% of the collector's CPU, and the sink's too to decompress it.
//
// It is a test rather than a benchmark because the e2e helpers it shares
// (collectorBinary, startCollector) take a *testing.T. It takes a minute or
// two, so it runs only when E2E_THROUGHPUT=1 (make bench sets it); it
// writes its result to $BENCH_RESULTS when set.
func TestDistributionThroughput(t *testing.T) {
	if os.Getenv("E2E_THROUGHPUT") != "1" {
		t.Skip("set E2E_THROUGHPUT=1 to measure the distribution's throughput (make bench does)")
	}
	root := corpus.RepoRoot(t)
	binary := collectorBinary(t, root)
	users := 1000
	if v, err := strconv.Atoi(os.Getenv("THROUGHPUT_USERS")); err == nil && v > 0 {
		users = v
	}
	runs := 3
	if v, err := strconv.Atoi(os.Getenv("THROUGHPUT_RUNS")); err == nil && v > 0 {
		runs = v
	}
	dir := t.TempDir()
	g, err := loadgen.New(loadgen.Config{Seed: 31, Users: users, Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := g.WriteFiles(filepath.Join(dir, "logs"), loadgen.SplitHour)
	if err != nil {
		t.Fatal(err)
	}
	compressions := []string{"none", "gzip"}
	rates := map[string]map[bool][]float64{}
	for _, compression := range compressions {
		rates[compression] = map[bool][]float64{}
	}
	for i := 0; i < runs; i++ {
		for _, compression := range compressions {
			for _, withProcessor := range []bool{false, true} {
				rates[compression][withProcessor] = append(rates[compression][withProcessor],
					runThroughput(t, binary, dir, g.Policy(), withProcessor, compression, st.Records))
			}
		}
	}
	// The record keeps for compression none the fields it had before gzip
	// was measured too (bench/benchreport reads them); gzip's are prefixed
	// gzip_.
	result := map[string]any{"name": "distribution_throughput", "records": st.Records, "bytes": st.Bytes, "compression": "none"}
	for _, compression := range compressions {
		r := rates[compression]
		without, with := median(r[false]), median(r[true])
		t.Logf("%d records (%.0f MB), compression %s: without the processor %.0f records/s (runs %v), with email_compromise %.0f records/s (runs %v): %.2fx the time",
			st.Records, float64(st.Bytes)/1e6, compression, without, rounded(r[false]), with, rounded(r[true]), without/with)
		prefix := ""
		if compression != "none" {
			prefix = compression + "_"
		}
		result[prefix+"without_processor_rps"], result[prefix+"with_processor_rps"] = without, with
		result[prefix+"without_runs"], result[prefix+"with_runs"] = r[false], r[true]
	}
	writeBenchResult(t, result)
}

// runThroughput runs the collector once over the files of dir, with the
// processor or not, exporting with compression, and returns its records/s.
func runThroughput(t *testing.T, binary, dir string, policy loadgen.Policy, withProcessor bool, compression string, want int) float64 {
	t.Helper()
	work := t.TempDir()
	// The sink keeps nothing: it only counts, on the wire, and notes when
	// the first and the last record arrived, so that it costs the shared
	// CPUs as little as possible.
	sink := startSink(t, sinkKeeps{})
	var processor map[string]any
	if withProcessor {
		processor = policy.ProcessorConfig()
	}
	cfgPath := filepath.Join(work, "config.yaml")
	writePipeline(t, cfgPath, pipeline{
		logsGlob: filepath.Join(dir, "logs", "*.jsonl"), batchSize: 500, processor: processor, sink: sink, queue: queueMemory,
		compression: compression,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	col := startCollector(t, binary, cfgPath, filepath.Join(work, "collector.log"))
	if err := sink.until(ctx, col.exited, 0, func() bool { return sink.count() >= want }); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("not all %d records arrived in 10 minutes", want)
		}
		t.Fatalf("the collector exited\n%s", col.logTail())
	}
	col.stop(t)
	return sink.rate()
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rounded(v []float64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x + 0.5)
	}
	return out
}

// writeBenchResult appends a JSON line to $BENCH_RESULTS, which the
// BENCHMARKS.md report reads.
func writeBenchResult(t testing.TB, fields map[string]any) {
	path := os.Getenv("BENCH_RESULTS")
	if path == "" {
		return
	}
	line, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
}
