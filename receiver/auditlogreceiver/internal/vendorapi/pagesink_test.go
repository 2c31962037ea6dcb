package vendorapi

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/logrecord"
)

func TestDedupKeys(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	rec := &auditrecord.Record{ID: "a1", Time: at}
	body := pcommon.NewMap()
	assert.Equal(t, "a1", byVendorID.key(rec, body), "O365 Id and Graph id are unique on their own")
	assert.Equal(t, "a1@2026-11-25T09:00:00Z", googleIdentity.key(rec, body), "Google's uniqueQualifier is unique only with the time")
	assert.NotEqual(t, googleIdentity.key(rec, body), googleIdentity.key(&auditrecord.Record{ID: "a1", Time: at.Add(time.Second)}, body))

	body.PutStr("lastUpdatedDateTime", "2026-11-25T09:40:00Z")
	first := riskDetectionIdentity.key(rec, body)
	body.PutStr("lastUpdatedDateTime", "2026-11-26T14:02:11.5Z")
	assert.NotEqual(t, first, riskDetectionIdentity.key(rec, body), "an updated risk detection is a new record under the same id")
	assert.Equal(t, "detectedDateTime", riskDetectionIdentity.listedBy)
}

// testStream is a stream that lists nothing: the test hands its sink pages.
type testStream string

func (s testStream) name() string                                    { return string(s) }
func (testStream) list(context.Context, timeWindow, *pageSink) error { return nil }

// TestBatchesAreBuiltAgainAsRead: a batch the pipeline changed in place is
// built again as it was read (for the halves of a permanent refusal),
// without the duplicates the sink dropped, without the records of the
// batches before it, and without counting its records again.
func TestBatchesAreBuiltAgainAsRead(t *testing.T) {
	env, metrics := testEnv(t, nil)
	s := &Source{
		poll:        PollSettings{BatchSize: 2, MaxBatchBytes: 1 << 20},
		identity:    byVendorID,
		builder:     logrecord.NewBuilder(1 << 20),
		checkpoints: apiCheckpoints{client: env.Storage, prefix: "test"},
		scopeName:   env.ScopeName, scopeVersion: env.ScopeVersion,
		logger: env.Logger, metrics: metrics, now: time.Now,
	}
	var delivered [][]string
	sink := &pageSink{source: s, stream: testStream("test"), state: newStreamState(100), deliver: func(_ context.Context, logs plog.Logs, asRead func() plog.Logs) error {
		read := plog.NewLogs()
		logs.CopyTo(read)
		for _, lr := range recordtest.Records(logs) {
			lr.Attributes().Clear()
			lr.Body().SetStr("changed by a processor")
		}
		assert.Equal(t, read, asRead())
		delivered = append(delivered, recordtest.IDs(recordtest.Records(read)))
		return nil
	}}
	page := func(records ...string) apiPage {
		p := apiPage{}
		for _, r := range records {
			p.records = append(p.records, json.RawMessage(r))
		}
		return p
	}
	a, b, c := recordtest.O365Record("a"), recordtest.O365Record("b"), recordtest.O365Record("c")
	require.NoError(t, sink.page(context.Background(), page(a, a, b, `{"Id": x}`, c)))
	require.NoError(t, sink.page(context.Background(), page(b, recordtest.O365Record("d"))))
	assert.Equal(t, [][]string{{"a", "b"}, {"", "c"}, {"d"}}, delivered)
	assert.Equal(t, int64(7), metrics.counts["RecordsBuilt"], "each record read counted once")
}
