package e2e

// The collector configs of the end-to-end tests: one writer for the
// pipelines the tests describe (writePipeline), and the small pieces the
// tests that edit a shipped config (the demo's, deploy/scaleout's) share
// with it: the exporter to a sink, the collector's own telemetry, the YAML.

import (
	"maps"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

// exporterQueue is the exporter's sending_queue in a test pipeline.
type exporterQueue string

const (
	// queueDisabled: the receiver's push returns once the export did.
	queueDisabled exporterQueue = "disabled"
	// queueMemory: the exporters' default, lost on a crash.
	queueMemory exporterQueue = "memory"
	// queuePersistent: on the test's file_storage, kept across a crash.
	queuePersistent exporterQueue = "persistent"
)

// queueConsumers is the exporters' default sending_queue.num_consumers: a
// persistent queue has at most that many batches out when it is killed, and
// sends them again after the restart.
const queueConsumers = 10

// testStorage is the file_storage extension of a test pipeline.
const testStorage = "file_storage/state"

// pipeline describes the collector a test runs: one logs pipeline from a
// receiver, through email_compromise when processor is set, to a sink.
type pipeline struct {
	// The receiver: audit_log reading the files of logsGlob, polled every
	// 100ms in batches of batchSize (1 when 0) with the further files
	// settings of files; or audit_log with receiver as its whole block
	// (the API sources); or, with otlpIn, an OTLP/gRPC receiver there.
	logsGlob  string
	batchSize int
	files     map[string]any
	receiver  map[string]any
	otlpIn    string
	// stateDir is the directory of a file_storage extension that the
	// audit_log receiver and the processor keep their state on ("" for
	// none).
	stateDir string
	// processor is the email_compromise processor's config (nil: no
	// processor in the pipeline); storage is added when stateDir is set.
	processor map[string]any
	// The exporter: exporter (otlp_grpc when empty, or otlp_http) to sink,
	// with queue as its sending_queue (disabled when empty), retry as its
	// retry_on_failure (the exporter's default when nil) and compression
	// as its compression (the exporter's default, gzip, when empty).
	sink        *otlpSink
	exporter    string
	queue       exporterQueue
	retry       map[string]any
	compression string
	// promPort serves the collector's own metrics to Prometheus (0: no
	// metrics); logLevel is its own logs' level (warn when empty).
	promPort int
	logLevel string
}

// writePipeline writes the collector config p describes to path.
func writePipeline(t testing.TB, path string, p pipeline) {
	t.Helper()
	cfg := map[string]any{}
	service := map[string]any{}
	if p.stateDir != "" {
		cfg["extensions"] = map[string]any{testStorage: fileStorage(p.stateDir)}
		service["extensions"] = []string{testStorage}
	}
	var receiver string
	switch {
	case p.otlpIn != "":
		receiver = "otlp"
		cfg["receivers"] = map[string]any{receiver: map[string]any{"protocols": map[string]any{"grpc": map[string]any{"endpoint": p.otlpIn}}}}
	default:
		receiver = "audit_log"
		block := maps.Clone(p.receiver)
		if block == nil {
			files := map[string]any{"include": []string{p.logsGlob}, "poll_interval": "100ms", "batch_size": max(p.batchSize, 1)}
			maps.Copy(files, p.files)
			block = map[string]any{"files": files}
		}
		if p.stateDir != "" {
			block["storage"] = testStorage
		}
		cfg["receivers"] = map[string]any{receiver: block}
	}
	processors := []string{}
	if p.processor != nil {
		proc := maps.Clone(p.processor)
		if p.stateDir != "" {
			proc["storage"] = testStorage
		}
		cfg["processors"] = map[string]any{"email_compromise": proc}
		processors = append(processors, "email_compromise")
	}
	exporter := p.exporter
	if exporter == "" {
		exporter = "otlp_grpc"
	}
	exp := sinkExporter(exporter, p.sink)
	queue := map[string]any{"enabled": p.queue == queueMemory || p.queue == queuePersistent}
	if p.queue == queuePersistent {
		if p.stateDir == "" {
			t.Fatal("a persistent queue needs the test's file_storage (stateDir)")
		}
		queue["storage"] = testStorage
	}
	exp["sending_queue"] = queue
	if p.retry != nil {
		exp["retry_on_failure"] = p.retry
	}
	if p.compression != "" {
		exp["compression"] = p.compression
	}
	cfg["exporters"] = map[string]any{exporter: exp}
	logLevel := p.logLevel
	if logLevel == "" {
		logLevel = "warn"
	}
	service["telemetry"] = telemetry(p.promPort, logLevel)
	service["pipelines"] = map[string]any{"logs": map[string]any{"receivers": []string{receiver}, "processors": processors, "exporters": []string{exporter}}}
	cfg["service"] = service
	writeYAML(t, path, cfg)
}

// sinkExporter is the block of an OTLP exporter of type kind (otlp_grpc or
// otlp_http) to the sink, without a sending queue: the receiver's batch
// counts as accepted only once the sink has it (an in-memory queue would
// lose its content to a kill -9).
func sinkExporter(kind string, sink *otlpSink) map[string]any {
	return toSink(map[string]any{"sending_queue": map[string]any{"enabled": false}}, kind, sink)
}

// toSink points an exporter block of type kind at the sink, keeping its
// other settings, and returns it.
func toSink(exp map[string]any, kind string, sink *otlpSink) map[string]any {
	exp["endpoint"] = sink.endpoint(kind)
	if kind == "otlp_grpc" {
		exp["tls"] = map[string]any{"insecure": true}
	}
	return exp
}

// fileStorage is a file_storage extension's block.
func fileStorage(dir string) map[string]any {
	return map[string]any{"directory": dir, "create_directory": true}
}

// telemetry is the collector's own telemetry: its logs at logLevel and its
// metrics served to Prometheus on 127.0.0.1:promPort, or none when
// promPort is 0.
func telemetry(promPort int, logLevel string) map[string]any {
	metrics := map[string]any{"level": "none"}
	if promPort != 0 {
		metrics = map[string]any{"level": "normal", "readers": []any{map[string]any{"pull": map[string]any{"exporter": map[string]any{
			"prometheus": map[string]any{"host": "127.0.0.1", "port": promPort, "without_scope_info": true}}}}}}
	}
	return map[string]any{"metrics": metrics, "logs": map[string]any{"level": logLevel}}
}

// writeYAML writes a collector config. Only the test's user may read it:
// some hold a client secret.
func writeYAML(t testing.TB, path string, cfg map[string]any) {
	t.Helper()
	text, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
}

// patchYAML edits a config written before.
func patchYAML(t testing.TB, path string, edit func(map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	writeYAML(t, path, cfg)
}
