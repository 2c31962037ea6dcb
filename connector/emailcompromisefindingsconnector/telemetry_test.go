package emailcompromisefindingsconnector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/metadatatest"
)

// TestCountsAndRetries: what the connector ignores is counted, and findings
// the next pipeline refuses are sent again at the next flush, with a higher
// revision.
func TestCountsAndRetries(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	sink := new(consumertest.LogsSink)
	refuse := true
	next, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		if refuse {
			return errors.New("backend down")
		}
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	c := startConnector(t, testConfig(), componenttest.NewNopHost(), next, tel.NewTelemetrySettings())
	ctx := context.Background()

	tags := megan()
	ld := logsOf(append(tags, tag{id: "plain", user: "a@contoso.com", at: time.Hour})...)
	require.NoError(t, c.ConsumeLogs(ctx, ld))
	require.NoError(t, c.ConsumeLogs(ctx, logsOf(tags[4])), "a batch delivered again")
	c.flush(ctx)
	refuse = false
	c.flush(ctx)

	out := findings(sink)
	require.Len(t, out, 6, "every finding, sent again")
	for _, lr := range out {
		assert.EqualValues(t, 2, attrInt(lr, AttrFindingRevision), "the refused revision 1 is skipped")
		assert.EqualValues(t, 1, lr.Body().Map().AsRaw()["activity_id"], "created: the refused creation never arrived")
	}
	metadatatest.AssertEqualEmailCompromiseFindingsRecordsIn(t, tel, []metricdata.DataPoint[int64]{{Value: 7}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseFindingsUntaggedRecords(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseFindingsDuplicateRecords(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseFindingsSendErrors(t, tel, []metricdata.DataPoint[int64]{{Value: 6}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseFindingsEmitted(t, tel, []metricdata.DataPoint[int64]{{Value: 6}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualEmailCompromiseFindingsHeld(t, tel, []metricdata.DataPoint[int64]{{Value: 6}}, metricdatatest.IgnoreTimestamp())
}

// TestConcurrentBatchesAndFlushes: batches from several goroutines while the
// connector's own ticker flushes and snapshots; at shutdown every finding
// has been sent in its final state.
func TestConcurrentBatchesAndFlushes(t *testing.T) {
	cfg := testConfig()
	cfg.FlushInterval = time.Millisecond
	cfg.State.SnapshotInterval = 2 * time.Millisecond
	storageID := storagetest.NewStorageID("findings")
	cfg.Storage = &storageID
	host := storagetest.NewStorageHost().WithInMemoryStorageExtension(storageID.Name())
	sink := new(consumertest.LogsSink)
	c := startConnector(t, cfg, host, sink, componenttest.NewNopTelemetrySettings())
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				var tags []tag
				for j := 0; j < 5; j++ {
					n := g*1000 + i*5 + j
					tags = append(tags, tag{id: fmt.Sprintf("send-%d", n), user: fmt.Sprintf("user%d@contoso.com", g),
						at: time.Duration(n) * time.Second, rules: []string{"bulk_send/send_rate_anomaly"}, severities: []string{"high"}})
				}
				assert.NoError(t, c.ConsumeLogs(context.Background(), logsOf(tags...)))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, c.Shutdown(context.Background()))
	last := map[string]int64{}
	for _, lr := range findings(sink) {
		last[attrStr(lr, AttrFindingUID)] = attrInt(lr, AttrFindingRecords)
	}
	assert.Len(t, last, 4, "one burst per user")
	for uid, n := range last {
		assert.EqualValues(t, 250, n, uid)
	}
}
