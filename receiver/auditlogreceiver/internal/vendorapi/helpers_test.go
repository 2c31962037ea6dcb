package vendorapi

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

// testPoll is test timing: polls and retries in milliseconds, windows and
// overlap as in production.
func testPoll() PollSettings {
	return PollSettings{
		PollInterval:    20 * time.Millisecond,
		InitialLookback: 2 * time.Hour,
		Overlap:         time.Hour,
		MaxWindow:       time.Hour,
		BatchSize:       500,
		MaxBatchBytes:   2 << 20,
		MaxSeenIDs:      100_000,
		Retry:           RetrySettings{MaxAttempts: 4, InitialInterval: 2 * time.Millisecond, MaxInterval: 20 * time.Millisecond},
	}
}

// testEnv runs a source on client with a logger that fails on nothing and
// metrics the test can read.
func testEnv(t testing.TB, client *http.Client) (Env, *countingMetrics) {
	metrics := &countingMetrics{}
	return Env{
		Logger:       zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
		Metrics:      metrics,
		HTTP:         client,
		Storage:      storage.NewNopClient(),
		ScopeName:    "test",
		ScopeVersion: "test",
	}, metrics
}

// countingMetrics counts what a source reports, by method name.
type countingMetrics struct {
	mu     sync.Mutex
	counts map[string]int64
}

func (m *countingMetrics) add(name string, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts = make(map[string]int64)
	}
	m.counts[name] += n
}

func (m *countingMetrics) RecordsBuilt(_ context.Context, c logrecord.Counts) {
	m.add("RecordsBuilt", c.Read)
}
func (m *countingMetrics) ReadError(context.Context)                   { m.add("ReadError", 1) }
func (m *countingMetrics) Page(context.Context)                        { m.add("Page", 1) }
func (m *countingMetrics) Retry(context.Context)                       { m.add("Retry", 1) }
func (m *countingMetrics) Throttle(context.Context)                    { m.add("Throttle", 1) }
func (m *countingMetrics) DuplicateRecords(_ context.Context, n int64) { m.add("DuplicateRecords", n) }
func (m *countingMetrics) SeenIDsEvicted(_ context.Context, n int64)   { m.add("SeenIDsEvicted", n) }
func (m *countingMetrics) ExpiredContent(context.Context)              { m.add("ExpiredContent", 1) }
func (m *countingMetrics) AuthFailing(context.Context, bool)           {}
func (m *countingMetrics) Lag(context.Context, string, float64)        {}
