package filesource

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// testScopeName is the scope the test sources name their records with.
const testScopeName = "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

// testSettings reads the files matching include with test-friendly timing and
// the receiver's default limits.
func testSettings(include ...string) Settings {
	return Settings{
		Include:                 include,
		PollInterval:            10 * time.Millisecond,
		MaxRecordBytes:          16 << 20,
		BatchSize:               500,
		MaxBatchBytes:           2 << 20,
		IncompleteRecordTimeout: time.Minute,
		ScopeName:               testScopeName,
		ScopeVersion:            "test",
	}
}

// countingMetrics counts what a source reports.
type countingMetrics struct {
	built      logrecord.Counts
	readErrors int
}

func (m *countingMetrics) RecordsBuilt(_ context.Context, c logrecord.Counts) { m.built.Add(c) }

func (m *countingMetrics) ReadError(context.Context) { m.readErrors++ }

// testSource is a file source driven one poll at a time, on a clock that
// moves only when the test says, for deterministic tests of what each poll
// passes on.
type testSource struct {
	*Source
	logs  []plog.Logs
	clock time.Time
}

// advance moves the source's clock on.
func (s *testSource) advance(d time.Duration) { s.clock = s.clock.Add(d) }

func newTestSource(t *testing.T, set Settings, client storage.Client) *testSource {
	t.Helper()
	if client == nil {
		client = storage.NewNopClient()
	}
	checkpoints, err := LoadCheckpoints(context.Background(), client)
	require.NoError(t, err)
	src := &testSource{Source: New(set, zapTestLogger(t), &countingMetrics{}, checkpoints), clock: time.Unix(1_700_000_000, 0)}
	src.now = func() time.Time { return src.clock }
	return src
}

// poll runs one poll and returns the records it passed on. Every batch of
// every test is also built again as read, and must come out the same.
func (s *testSource) poll(t *testing.T) []plog.LogRecord {
	t.Helper()
	before := len(s.logs)
	s.Source.poll(context.Background(), func(_ context.Context, logs plog.Logs, asRead func() plog.Logs) error {
		assert.Equal(t, logs, asRead(), "the batch built again as read")
		s.logs = append(s.logs, logs)
		return nil
	})
	return recordtest.Records(s.logs[before:]...)
}

// bodyText is the raw text of a record passed on unparsed.
func bodyText(lr plog.LogRecord) string {
	if lr.Body().Type() == pcommon.ValueTypeBytes {
		return string(lr.Body().Bytes().AsRaw())
	}
	return lr.Body().AsString()
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

func zapTestLogger(t *testing.T) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
}
