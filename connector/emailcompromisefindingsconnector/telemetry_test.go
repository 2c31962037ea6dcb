package emailcompromisefindingsconnector

import (
	"context"
	"errors"
	"testing"
	"time"

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
