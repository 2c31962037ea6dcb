package auditlogreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/testing/apitest"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadatatest"
)

// gatedSink accepts or refuses each batch as decide says, keeping the
// accepted ones in order.
type gatedSink struct {
	mu       sync.Mutex
	calls    int
	accepted []plog.Logs
	decide   func(call int) error
}

func (s *gatedSink) consumer(t *testing.T) consumer.Logs {
	c, err := consumer.NewLogs(func(_ context.Context, logs plog.Logs) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls++
		if err := s.decide(s.calls); err != nil {
			return err
		}
		s.accepted = append(s.accepted, logs)
		return nil
	})
	require.NoError(t, err)
	return c
}

func (s *gatedSink) state() (calls int, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, recordtest.IDs(recordtest.Records(s.accepted...))
}

var errBackpressure = errors.New("memory limiter: data refused")

// sourcePoint is the one data point of a counter of the given source.
func sourcePoint(source string, v int64) []metricdata.DataPoint[int64] {
	return []metricdata.DataPoint[int64]{{Value: v, Attributes: attribute.NewSet(attribute.String("source", source))}}
}

func filesPoint(v int64) []metricdata.DataPoint[int64] { return sourcePoint(sourceFiles, v) }

// writeRecordFiles writes files of records with ids <prefix><file>-<n>.
func writeRecordFiles(t *testing.T, dir, prefix string, files, perFile int) []string {
	var ids []string
	for f := range files {
		var lines []string
		for n := range perFile {
			id := fmt.Sprintf("%s%d-%d", prefix, f, n)
			ids = append(ids, id)
			lines = append(lines, recordtest.O365Record(id))
		}
		recordtest.WriteFile(t, filepath.Join(dir, fmt.Sprintf("%s%d.json", prefix, f)), []byte(recordtest.JSONLines(lines...)))
	}
	return ids
}

// fileStorageHost runs a real file_storage extension in dir.
func fileStorageHost(t *testing.T, dir string) (component.Host, component.ID, component.Component) {
	factory := filestorage.NewFactory()
	cfg := factory.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	id := component.NewID(factory.Type())
	ext, err := factory.Create(context.Background(), extensiontest.NewNopSettings(factory.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	return hostWith{id: ext}, id, ext
}

type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

func TestRestartEmitsNothingTwiceAndLosesNothing(t *testing.T) {
	dir := t.TempDir()
	storageDir := t.TempDir()
	all := writeRecordFiles(t, dir, "f", 4, 5)
	cfg := testConfig(filepath.Join(dir, "*.json"))
	cfg.Files.BatchSize = 3

	// First run: three batches are accepted, then the pipeline pushes back
	// until the collector shuts down.
	host, storageID, ext := fileStorageHost(t, storageDir)
	cfg.StorageID = &storageID
	first := &gatedSink{decide: func(call int) error {
		if call <= 3 {
			return nil
		}
		return errBackpressure
	}}
	r := newTestReceiver(t, cfg, first.consumer(t), nil)
	require.NoError(t, r.Start(context.Background(), host))
	require.Eventually(t, func() bool { calls, _ := first.state(); return calls > 5 }, 5*time.Second, time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
	_, firstIDs := first.state()
	require.Len(t, firstIDs, 9)

	// Second run on the same storage, with a file added meanwhile.
	all = append(all, writeRecordFiles(t, dir, "g", 1, 3)...)
	host, _, ext = fileStorageHost(t, storageDir)
	second := new(consumertest.LogsSink)
	r = newTestReceiver(t, cfg, second, nil)
	require.NoError(t, r.Start(context.Background(), host))
	require.Eventually(t, func() bool { return second.LogRecordCount() >= len(all)-len(firstIDs) }, 5*time.Second, time.Millisecond)
	time.Sleep(5 * cfg.Files.PollInterval)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))

	got := append(firstIDs, recordtest.IDs(recordtest.Records(second.AllLogs()...))...)
	slices.Sort(got)
	slices.Sort(all)
	assert.Equal(t, all, got, "every record exactly once")
}

func TestBackpressureRetriesTheSameBatchInOrder(t *testing.T) {
	dir := t.TempDir()
	all := writeRecordFiles(t, dir, "f", 2, 4)
	cfg := testConfig(filepath.Join(dir, "*.json"))
	cfg.Files.BatchSize = 3
	const refusals = 5
	sink := &gatedSink{decide: func(call int) error {
		if call <= refusals {
			return errBackpressure
		}
		return nil
	}}
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	r := newTestReceiver(t, cfg, sink.consumer(t), tt)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { _, ids := sink.state(); return len(ids) == len(all) }, 5*time.Second, time.Millisecond)
	time.Sleep(5 * cfg.Files.PollInterval)
	require.NoError(t, r.Shutdown(context.Background()))

	_, ids := sink.state()
	assert.Equal(t, all, ids, "all records, once each, in file order")
	metadatatest.AssertEqualAuditLogDownstreamRetries(t, tt, filesPoint(refusals), metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAuditLogRecordsEmitted(t, tt, filesPoint(int64(len(all))), metricdatatest.IgnoreTimestamp())
}

// refusingSink refuses for good every request that refuse returns an error
// for; before refusing, it keeps the records partial says reached it (as a
// Kafka exporter writes the messages that fit and fails the one too large).
type refusingSink struct {
	mu        sync.Mutex
	calls     int
	delivered map[string]int // audit.record.id -> deliveries
	order     []string       // first deliveries, in order
	refuse    func(logs plog.Logs) error
	partial   func(logs plog.Logs) []plog.LogRecord
}

func newRefusingSink(refuse func(plog.Logs) error, partial func(plog.Logs) []plog.LogRecord) *refusingSink {
	return &refusingSink{delivered: map[string]int{}, refuse: refuse, partial: partial}
}

func (s *refusingSink) consumer(t *testing.T) consumer.Logs {
	c, err := consumer.NewLogs(func(_ context.Context, logs plog.Logs) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls++
		err := s.refuse(logs)
		reached := recordtest.Records(logs)
		if err != nil {
			reached = nil
			if s.partial != nil {
				reached = s.partial(logs)
			}
		}
		for _, lr := range reached {
			id := recordtest.Attr(lr, auditrecord.AttrRecordID)
			if s.delivered[id] == 0 {
				s.order = append(s.order, id)
			}
			s.delivered[id]++
		}
		return err
	})
	require.NoError(t, err)
	return c
}

func (s *refusingSink) state() (calls int, order []string, repeats int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.delivered {
		repeats += n - 1
	}
	return s.calls, slices.Clone(s.order), repeats
}

func containsRecord(logs plog.Logs, id string) bool {
	return slices.ContainsFunc(recordtest.Records(logs), func(lr plog.LogRecord) bool { return recordtest.Attr(lr, auditrecord.AttrRecordID) == id })
}

func TestPermanentRefusalDropsOnlyTheRecordRefusedAlone(t *testing.T) {
	dir := t.TempDir()
	all := writeRecordFiles(t, dir, "f", 1, 20)
	const bad = "f0-13"
	cfg := testConfig(filepath.Join(dir, "*.json"))
	sink := newRefusingSink(func(logs plog.Logs) error {
		if containsRecord(logs, bad) {
			return consumererror.NewPermanent(errors.New("invalid record"))
		}
		return nil
	}, nil)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.WarnLevel)
	r := newTestReceiver(t, cfg, sink.consumer(t), tt)
	r.settings.Logger = zap.New(core)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { _, order, _ := sink.state(); return len(order) == len(all)-1 }, 5*time.Second, time.Millisecond)
	// A file read after the refusal is delivered as usual.
	more := writeRecordFiles(t, dir, "g", 1, 3)
	require.Eventually(t, func() bool { _, order, _ := sink.state(); return len(order) == len(all)-1+len(more) }, 5*time.Second, time.Millisecond)
	time.Sleep(5 * cfg.Files.PollInterval)
	require.NoError(t, r.Shutdown(context.Background()))

	calls, order, repeats := sink.state()
	want := append(slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == bad }), more...)
	assert.Equal(t, want, order, "every other record, in file order")
	assert.Zero(t, repeats, "nothing reached the sink from a refused request")
	// 20 records, one bad: the halving tree's path to it (5 levels, the
	// refused node and its accepted sibling at each) plus the next file.
	assert.Equal(t, 1+2*5+1, calls)
	require.Equal(t, 1, logs.Len(), "one log line for the batch")
	entry := logs.All()[0]
	assert.Equal(t, zapcore.ErrorLevel, entry.Level)
	assert.Equal(t, int64(1), entry.ContextMap()["records"])
	assert.Equal(t, int64(20), entry.ContextMap()["batch_records"])
	assert.Equal(t, []any{bad}, entry.ContextMap()["record_ids"])
	assert.Equal(t, "Permanent error: invalid record", entry.ContextMap()["error"])
	metadatatest.AssertEqualAuditLogDroppedRecords(t, tt, filesPoint(1), metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAuditLogRecordsEmitted(t, tt, filesPoint(int64(len(want))), metricdatatest.IgnoreTimestamp())
}

// paddedRecord is an O365 record of about size bytes.
func paddedRecord(id string, size int) string {
	return strings.Replace(recordtest.O365Record(id), `"Workload"`, `"Pad":"`+strings.Repeat("x", size)+`","Workload"`, 1)
}

// TestRequestsTooLargeAreSplitUntilTheyFit: a sink that refuses, for good,
// every request over a byte limit, after the records that fit reached it
// (a Kafka exporter writing the messages below producer.max_message_bytes
// and failing the rest). Nothing that fits on its own is lost; only the
// record larger than the limit by itself is dropped and counted.
func TestRequestsTooLargeAreSplitUntilTheyFit(t *testing.T) {
	const limit = 40 << 10
	dir := t.TempDir()
	var lines, ids []string
	for i := range 60 {
		id := fmt.Sprintf("r-%02d", i)
		size := 3 << 10
		if i == 41 {
			size = 50 << 10 // alone over the limit
		}
		lines = append(lines, paddedRecord(id, size))
		ids = append(ids, id)
	}
	recordtest.WriteFile(t, filepath.Join(dir, "burst.json"), []byte(recordtest.JSONLines(lines...)))
	cfg := testConfig(filepath.Join(dir, "*.json"))
	var sizer plog.ProtoMarshaler
	tooLarge := func(logs plog.Logs) error {
		if n := sizer.LogsSize(logs); n > limit {
			return consumererror.NewPermanent(fmt.Errorf("MESSAGE_TOO_LARGE: request of %d bytes exceeds %d", n, limit))
		}
		return nil
	}
	fitting := func(logs plog.Logs) []plog.LogRecord {
		var reached []plog.LogRecord
		size := 0
		for _, lr := range recordtest.Records(logs) {
			one := plog.NewLogs()
			lr.CopyTo(one.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
			if size += sizer.LogsSize(one); size > limit {
				break
			}
			reached = append(reached, lr)
		}
		return reached
	}
	sink := newRefusingSink(tooLarge, fitting)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.WarnLevel)
	r := newTestReceiver(t, cfg, sink.consumer(t), tt)
	r.settings.Logger = zap.New(core)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { _, order, _ := sink.state(); return len(order) == len(ids)-1 }, 5*time.Second, time.Millisecond)
	time.Sleep(5 * cfg.Files.PollInterval)
	require.NoError(t, r.Shutdown(context.Background()))

	calls, order, repeats := sink.state()
	slices.Sort(order)
	assert.Equal(t, slices.Delete(slices.Clone(ids), 41, 42), order, "every record that fits alone reached the sink")
	assert.Positive(t, repeats, "records of refused requests that reached the sink come again: at-least-once")
	assert.LessOrEqual(t, calls, 2*len(ids)-1, "at most every node of the halving tree")
	require.Equal(t, 1, logs.Len())
	entry := logs.All()[0]
	assert.Equal(t, int64(1), entry.ContextMap()["records"])
	assert.Equal(t, []any{"r-41"}, entry.ContextMap()["record_ids"])
	assert.Contains(t, entry.ContextMap()["error"], "MESSAGE_TOO_LARGE")
	metadatatest.AssertEqualAuditLogDroppedRecords(t, tt, filesPoint(1), metricdatatest.IgnoreTimestamp())
	t.Logf("60 records of a 40 KiB-limited sink delivered in %d requests, %d records twice", calls, repeats)
}

func TestBatchRefusedOnceIsDeliveredInPartsAndNothingIsDropped(t *testing.T) {
	dir := t.TempDir()
	all := writeRecordFiles(t, dir, "f", 1, 8)
	cfg := testConfig(filepath.Join(dir, "*.json"))
	refusedWhole := false
	sink := newRefusingSink(func(logs plog.Logs) error {
		if !refusedWhole {
			refusedWhole = true
			return consumererror.NewPermanent(errors.New("request too large"))
		}
		return nil
	}, nil)
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.WarnLevel)
	r := newTestReceiver(t, cfg, sink.consumer(t), tt)
	r.settings.Logger = zap.New(core)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { _, order, _ := sink.state(); return len(order) == len(all) }, 5*time.Second, time.Millisecond)
	time.Sleep(5 * cfg.Files.PollInterval)
	require.NoError(t, r.Shutdown(context.Background()))

	calls, order, _ := sink.state()
	assert.Equal(t, all, order)
	assert.Equal(t, 3, calls, "the batch, then its two halves")
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, zapcore.WarnLevel, logs.All()[0].Level)
	metadatatest.AssertEqualAuditLogRecordsEmitted(t, tt, filesPoint(int64(len(all))), metricdatatest.IgnoreTimestamp())
	_, err := tt.GetMetric("otelcol_audit_log_dropped_records")
	assert.Error(t, err, "nothing dropped, nothing counted")
}

// TestHalvesAreCutFromTheBatchAsRead: the pipeline changes a batch in place
// before refusing it for good (groupbyattrs moves user.name off the records;
// a processor tags them). The halves sent after the refusal must be cut from
// the batch as read, with the tenant's mark and in the order the pipeline
// first got it, whether the batch was read from files or from an API.
func TestHalvesAreCutFromTheBatchAsRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(t *testing.T) *Config
	}{
		{"files", func(t *testing.T) *Config {
			dir := t.TempDir()
			writeRecordFiles(t, dir, "f", 3, 1)
			cfg := testConfig(filepath.Join(dir, "*.json"))
			cfg.Files.TenantName = "contoso"
			return cfg
		}},
		{"graph", func(t *testing.T) *Config {
			env := newGraphEnv(t)
			at := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
			for i := range env.cfg.Graph.Get().PageSize {
				env.api.Add(at, "interactiveUser", apitest.GraphSignIn(fmt.Sprintf("s-%d", i), at.Add(-time.Duration(i)*time.Minute), "none"))
			}
			return env.cfg
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			refused := plog.NewLogs() // as the pipeline got it, before changing it
			var halves []plog.Logs
			next, err := consumer.NewLogs(func(_ context.Context, logs plog.Logs) error {
				mu.Lock()
				defer mu.Unlock()
				if refused.ResourceLogs().Len() > 0 {
					halves = append(halves, logs)
					return nil
				}
				logs.CopyTo(refused)
				for _, lr := range recordtest.Records(logs) {
					lr.Attributes().Remove(auditrecord.AttrUserName)
					lr.Attributes().PutStr("detection.rules", "tagged before the refusal")
				}
				return consumererror.NewPermanent(errors.New("message too large"))
			})
			require.NoError(t, err)
			r := newTestReceiver(t, tc.cfg(t), next, nil)
			require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
			require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(halves) >= 2 }, 5*time.Second, time.Millisecond)
			require.NoError(t, r.Shutdown(context.Background()))
			require.Equal(t, 3, refused.LogRecordCount())
			assert.NotEmpty(t, recordtest.Attr(recordtest.Records(refused)[0], auditrecord.AttrUserName))
			assert.Equal(t, recordtest.Records(refused), recordtest.Records(halves[:2]...), "the halves, record for record")
		})
	}
}

// TestAcceptedBatchIsHandedOnItself: the batch a source built goes down the
// pipeline itself, not a copy, and is not built again, whether accepted at
// once or after backpressure (which re-sends it as the processors left it).
func TestAcceptedBatchIsHandedOnItself(t *testing.T) {
	calls := 0
	next, err := consumer.NewLogs(func(_ context.Context, logs plog.Logs) error {
		calls++
		attrs := recordtest.Records(logs)[0].Attributes()
		if calls == 1 {
			attrs.PutStr("detection.rules", "tagged before the backpressure")
			return errBackpressure
		}
		_, tagged := attrs.Get("detection.rules")
		assert.True(t, tagged, "sent again as the processors left it")
		attrs.PutStr("reached", "the sink")
		return nil
	})
	require.NoError(t, err)
	r := newTestReceiver(t, testConfig(), next, nil)
	deliver, err := r.deliverer(sourceLabel{source: sourceFiles}, "file", nil)
	require.NoError(t, err)
	logs := plog.NewLogs()
	lr := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutStr(auditrecord.AttrRecordID, "r-1")
	require.NoError(t, deliver(context.Background(), logs, func() plog.Logs {
		t.Error("built again as read, though never refused for good")
		return plog.NewLogs()
	}))
	assert.Equal(t, 2, calls)
	_, reached := lr.Attributes().Get("reached")
	assert.True(t, reached, "the sink changed the batch the source built, not a copy")
}

func TestSplitInHalvesKeepsOrderResourcesAndScopes(t *testing.T) {
	logs := plog.NewLogs()
	for r, n := range []int{3, 2} {
		rl := logs.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("user.name", fmt.Sprintf("user-%d", r))
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("audit_log")
		for i := range n {
			sl.LogRecords().AppendEmpty().Attributes().PutStr(auditrecord.AttrRecordID, fmt.Sprintf("%d-%d", r, i))
		}
	}
	first, second := splitInHalves(logs)
	assert.Equal(t, []string{"0-0", "0-1"}, recordtest.IDs(recordtest.Records(first)))
	assert.Equal(t, []string{"0-2", "1-0", "1-1"}, recordtest.IDs(recordtest.Records(second)))
	assert.Equal(t, 1, first.ResourceLogs().Len(), "no empty resource left behind")
	assert.Equal(t, 2, second.ResourceLogs().Len())
	user, _ := second.ResourceLogs().At(1).Resource().Attributes().Get("user.name")
	assert.Equal(t, "user-1", user.Str())
	assert.Equal(t, "audit_log", second.ResourceLogs().At(1).ScopeLogs().At(0).Scope().Name())
	assert.Equal(t, 5, logs.LogRecordCount(), "the batch itself is left as it was")
}

func TestShutdownIsPromptWhileThePipelinePushesBack(t *testing.T) {
	dir := t.TempDir()
	writeRecordFiles(t, dir, "f", 1, 3)
	sink := &gatedSink{decide: func(int) error { return errBackpressure }}
	r := newTestReceiver(t, testConfig(filepath.Join(dir, "*.json")), sink.consumer(t), nil)
	r.newBackOff = defaultBackOff // waits of up to 30 s: shutdown must not sit them out
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { calls, _ := sink.state(); return calls >= 2 }, 5*time.Second, time.Millisecond)

	start := time.Now()
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Less(t, time.Since(start), time.Second)
}

func TestTelemetryCountsRecordsAndErrors(t *testing.T) {
	dir := t.TempDir()
	recordtest.WriteFile(t, filepath.Join(dir, "a.json"), []byte(recordtest.JSONLines(recordtest.O365Record("1"), `{"foreign":true}`, "not json", recordtest.O365Record("2"))))
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, testConfig(filepath.Join(dir, "*.json"), filepath.Join(dir, "missing", "*")), sink, tt)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 4 }, 5*time.Second, time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))

	metadatatest.AssertEqualAuditLogRecordsRead(t, tt, filesPoint(4), metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAuditLogParseErrors(t, tt, filesPoint(2), metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAuditLogUnrecognizedRecords(t, tt, filesPoint(1), metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualAuditLogRecordsEmitted(t, tt, filesPoint(4), metricdatatest.IgnoreTimestamp())
	assert.Len(t, recordtest.ParseErrors(recordtest.Records(sink.AllLogs()...)), 2)
	assert.Equal(t, "2", recordtest.Attr(recordtest.Records(sink.AllLogs()...)[3], auditrecord.AttrRecordID))
}

func TestReadErrorsAreCounted(t *testing.T) {
	dir := t.TempDir()
	loop := filepath.Join(dir, "loop.json")
	require.NoError(t, os.Symlink(loop, loop))
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	r := newTestReceiver(t, testConfig(filepath.Join(dir, "*.json")), consumertest.NewNop(), tt)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	time.Sleep(10 * r.cfg.Files.PollInterval)
	require.NoError(t, r.Shutdown(context.Background()))
	metadatatest.AssertEqualAuditLogReadErrors(t, tt, filesPoint(1), metricdatatest.IgnoreTimestamp())
}

func TestStartWithoutStorageSaysProgressIsNotKept(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	r := newTestReceiver(t, testConfig(filepath.Join(t.TempDir(), "*")), consumertest.NewNop(), nil)
	r.settings.Logger = zap.New(core)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Equal(t, 1, logs.FilterMessageSnippet("no storage extension configured").Len())
}

func TestStartFailsOnMissingOrWrongStorage(t *testing.T) {
	cfg := testConfig(filepath.Join(t.TempDir(), "*"))
	missing := component.MustNewIDWithName("file_storage", "absent")
	cfg.StorageID = &missing
	r := newTestReceiver(t, cfg, consumertest.NewNop(), nil)
	err := r.Start(context.Background(), componenttest.NewNopHost())
	assert.ErrorContains(t, err, `storage: extension "file_storage/absent" is not configured`)
	require.NoError(t, r.Shutdown(context.Background()))

	notStorage := component.MustNewID("health_check")
	cfg.StorageID = &notStorage
	r = newTestReceiver(t, cfg, consumertest.NewNop(), nil)
	err = r.Start(context.Background(), hostWith{notStorage: extensionNop{}})
	assert.ErrorContains(t, err, "is not a storage extension")
	require.NoError(t, r.Shutdown(context.Background()))
}

type extensionNop struct {
	component.StartFunc
	component.ShutdownFunc
}

func TestShutdownIsPromptWhileReadingALargeFile(t *testing.T) {
	dir := t.TempDir()
	all := writeRecordFiles(t, dir, "f", 1, 5000)
	cfg := testConfig(filepath.Join(dir, "*.json"))
	cfg.Files.BatchSize = 10
	host, storageID := storageHost(t.TempDir())
	cfg.StorageID = storageID
	slow := &gatedSink{decide: func(int) error { time.Sleep(time.Millisecond); return nil }}
	r := newTestReceiver(t, cfg, slow.consumer(t), nil)
	require.NoError(t, r.Start(context.Background(), host))
	require.Eventually(t, func() bool { calls, _ := slow.state(); return calls >= 5 }, 5*time.Second, time.Millisecond)

	start := time.Now()
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Less(t, time.Since(start), time.Second)
	_, firstIDs := slow.state()
	assert.Less(t, len(firstIDs), len(all), "stopped before the end of the file")

	// The rest comes on the next start, nothing twice.
	rest := new(consumertest.LogsSink)
	r = newTestReceiver(t, cfg, rest, nil)
	require.NoError(t, r.Start(context.Background(), host))
	require.Eventually(t, func() bool { return len(firstIDs)+rest.LogRecordCount() >= len(all) }, 10*time.Second, time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Equal(t, all, append(firstIDs, recordtest.IDs(recordtest.Records(rest.AllLogs()...))...))
}
