package emailcompromiseprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/metadatatest"
)

// TestWarmupHoldsBackHistoryDetections: with state.warmup set, as on a
// scale-out replica that just took over users, a send burst judged against
// no baseline is held back (and counted) until the user's state spans the
// warm-up; detections that need no history fire at once.
func TestWarmupHoldsBackHistoryDetections(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	cfg := createDefaultConfig().(*Config)
	cfg.State.Warmup = 24 * time.Hour
	cfg.Detectors.BulkSend.Floor = 3
	p, sink := newTestProcessor(t, cfg, tel)

	send := func(at time.Time, i int) string {
		return o365Mail("Send", "bob@contoso.com", at, "198.51.100.7",
			fmt.Sprintf(`"Item":{"Subject":"Statement %d","InternetMessageId":"<w%d@contoso.com>","ParentFolder":{"Path":"\\Sent Items"}}`, i, i))
	}
	var burst []string
	for i := 0; i < 5; i++ {
		burst = append(burst, send(day0.Add(time.Duration(i)*time.Minute), i))
	}
	burst = append(burst, huntressRule) // needs no history: fires at once
	got := consume(t, p, sink, burst...)
	assert.Equal(t, [][]string{{}, {}, {}, {}, {}, {"mailbox_rule/inbox_rule_hiding"}}, got)
	metadatatest.AssertEqualEmailCompromiseWarmupSuppressed(t, tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("rule", "bulk_send/send_rate_anomaly"), attribute.String("category", "bulk_send"))},
	}, metricdatatest.IgnoreTimestamp())

	var later []string
	for i := 0; i < 5; i++ {
		later = append(later, send(day0.Add(25*time.Hour+time.Duration(i)*time.Minute), 10+i))
	}
	got = consume(t, p, sink, later...)
	assert.Equal(t, [][]string{{}, {}, {}, {"bulk_send/send_rate_anomaly"}, {"bulk_send/send_rate_anomaly"}}, got, "warm after 24h of event time")
}

// TestWarmupReleasesWhenOlderHistoryArrives: the warm-up is measured from
// the earliest record the state holds, not the first one read. Exports list
// newest first: a burst read before the history behind it is held back,
// then released, on the record that brings the history (within the allowed
// lateness), as a detection completed late — as in event order.
func TestWarmupReleasesWhenOlderHistoryArrives(t *testing.T) {
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	cfg := createDefaultConfig().(*Config)
	cfg.State.Warmup = 12 * time.Hour
	cfg.Detectors.BulkSend.Floor = 3
	p, sink := newTestProcessor(t, cfg, tel)

	send := func(at time.Time, i int) string {
		return o365Mail("Send", "bob@contoso.com", at, "198.51.100.7",
			fmt.Sprintf(`"Item":{"Subject":"Statement %d","InternetMessageId":"<r%d@contoso.com>","ParentFolder":{"Path":"\\Sent Items"}}`, i, i))
	}
	var burst []string
	for i := 0; i < 5; i++ {
		burst = append(burst, send(day0.Add(25*time.Hour+time.Duration(i)*time.Minute), i))
	}
	got := consume(t, p, sink, burst...)
	assert.Equal(t, [][]string{{}, {}, {}, {}, {}}, got, "no history behind the burst yet: held back")

	got = consume(t, p, sink, send(day0.Add(12*time.Hour), 99))
	assert.Equal(t, [][]string{{"bulk_send/send_rate_anomaly"}}, got, "13 hours of history arrived: both held detections released on it")
	attrs := sink.AllLogs()[len(sink.AllLogs())-1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
	evidence, _ := attrs.Get(AttrDetectionEvidence)
	assert.Equal(t, 2, evidence.Slice().Len(), "the fourth and fifth sends")
	reason, _ := attrs.Get(AttrDetectionReason)
	assert.Contains(t, reason.Str(), "Completed late by Send of")
}
