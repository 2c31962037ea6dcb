package auditlogreceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	return s.calls, recordIDs(logRecords(s.accepted...))
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
			lines = append(lines, o365Record(id))
		}
		writeFile(t, filepath.Join(dir, fmt.Sprintf("%s%d.json", prefix, f)), []byte(jsonLines(lines...)))
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

	got := append(firstIDs, recordIDs(logRecords(second.AllLogs()...))...)
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

func TestPermanentRefusalIsCountedAndReadingGoesOn(t *testing.T) {
	dir := t.TempDir()
	all := writeRecordFiles(t, dir, "f", 1, 5)
	cfg := testConfig(filepath.Join(dir, "*.json"))
	cfg.Files.BatchSize = 2
	sink := &gatedSink{decide: func(call int) error {
		if call == 1 {
			return consumererror.NewPermanent(errors.New("invalid data"))
		}
		return nil
	}}
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	core, logs := observer.New(zapcore.ErrorLevel)
	r := newTestReceiver(t, cfg, sink.consumer(t), tt)
	r.settings.Logger = zap.New(core)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	require.Eventually(t, func() bool { _, ids := sink.state(); return len(ids) == 3 }, 5*time.Second, time.Millisecond)
	time.Sleep(5 * cfg.Files.PollInterval)
	require.NoError(t, r.Shutdown(context.Background()))

	calls, ids := sink.state()
	assert.Equal(t, all[2:], ids)
	assert.Equal(t, 3, calls, "the refused batch is not sent again")
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, int64(2), logs.All()[0].ContextMap()["records"])
	metadatatest.AssertEqualAuditLogDroppedRecords(t, tt, filesPoint(2), metricdatatest.IgnoreTimestamp())
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
	writeFile(t, filepath.Join(dir, "a.json"), []byte(jsonLines(o365Record("1"), `{"foreign":true}`, "not json", o365Record("2"))))
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
	assert.Len(t, parseErrors(logRecords(sink.AllLogs()...)), 2)
	assert.Equal(t, "2", attr(logRecords(sink.AllLogs()...)[3], auditrecord.AttrRecordID))
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
	assert.Equal(t, all, append(firstIDs, recordIDs(logRecords(rest.AllLogs()...))...))
}
