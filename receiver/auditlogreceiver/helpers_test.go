package auditlogreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadatatest"
)

// testConfig reads the files matching include with test-friendly timing.
func testConfig(include ...string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Files.Include = include
	cfg.Files.PollInterval = 10 * time.Millisecond
	return cfg
}

// newTestReceiver builds a receiver whose retries wait a millisecond, with
// its telemetry readable through tt.
func newTestReceiver(t *testing.T, cfg *Config, next consumer.Logs, tt *componenttest.Telemetry) *auditLogReceiver {
	t.Helper()
	set := receivertest.NewNopSettings(metadata.Type)
	if tt != nil {
		set = metadatatest.NewSettings(tt)
	}
	// Stable, as in a collector config: storage clients are per receiver ID.
	set.ID = component.NewID(metadata.Type)
	r, err := newAuditLogReceiver(set, cfg, next)
	require.NoError(t, err)
	r.newBackOff = func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) }
	return r
}

// testSource is a file source driven one poll at a time, on a clock that
// moves only when the test says, for deterministic tests of what each poll
// passes on.
type testSource struct {
	*fileSource
	logs  []plog.Logs
	clock time.Time
	// onDeliver, when set, runs at each delivery: in the middle of a poll,
	// after it identified the files.
	onDeliver func()
}

// advance moves the source's clock on.
func (s *testSource) advance(d time.Duration) { s.clock = s.clock.Add(d) }

func newTestSource(t *testing.T, cfg *Config, client storage.Client) *testSource {
	t.Helper()
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	t.Cleanup(tb.Shutdown)
	if client == nil {
		client = storage.NewNopClient()
	}
	checkpoints, err := loadCheckpoints(context.Background(), client)
	require.NoError(t, err)
	src := &testSource{fileSource: newFileSource(cfg.Files, zapTestLogger(t), tb, "test", checkpoints), clock: time.Unix(1_700_000_000, 0)}
	src.now = func() time.Time { return src.clock }
	return src
}

// poll runs one poll and returns the records it passed on.
func (s *testSource) poll(t *testing.T) []plog.LogRecord {
	t.Helper()
	before := len(s.logs)
	s.fileSource.poll(context.Background(), func(_ context.Context, logs plog.Logs) error {
		s.logs = append(s.logs, logs)
		if s.onDeliver != nil {
			s.onDeliver()
		}
		return nil
	})
	return logRecords(s.logs[before:]...)
}

func logRecords(batches ...plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for _, logs := range batches {
		for i := 0; i < logs.ResourceLogs().Len(); i++ {
			sls := logs.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

func attr(lr plog.LogRecord, key string) string {
	v, ok := lr.Attributes().Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

func parseErrors(records []plog.LogRecord) []string {
	var out []string
	for _, lr := range records {
		if msg := attr(lr, auditrecord.AttrParseError); msg != "" {
			out = append(out, msg)
		}
	}
	return out
}

func recordIDs(records []plog.LogRecord) []string {
	ids := make([]string, 0, len(records))
	for _, lr := range records {
		ids = append(ids, attr(lr, auditrecord.AttrRecordID))
	}
	return ids
}

// bodyText is the raw text of a record passed on unparsed.
func bodyText(lr plog.LogRecord) string {
	if lr.Body().Type() == pcommon.ValueTypeBytes {
		return string(lr.Body().Bytes().AsRaw())
	}
	return lr.Body().AsString()
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

func appendFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// storageHost offers a file-backed storage extension in dir, which keeps its
// data across receivers as file_storage keeps it across restarts.
func storageHost(dir string) (component.Host, *component.ID) {
	ext := storagetest.NewFileBackedStorageExtension("checkpoints", dir)
	return storagetest.NewStorageHost().WithExtension(ext.ID, ext), &ext.ID
}

func zapTestLogger(t *testing.T) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
}
