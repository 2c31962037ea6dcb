package auditlogreceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestBatchesGoOutInEventTimeOrder: a Graph page lists sign-ins newest
// first; downstream, a user's failures must come before the success.
func TestBatchesGoOutInEventTimeOrder(t *testing.T) {
	logs := plog.NewLogs()
	records := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, ts := range []uint64{30, 20, 0, 10} { // 0: a parse-error record without time
		lr := records.AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(ts))
		lr.Body().SetInt(int64(ts))
	}
	sortByEventTime(logs)
	var got []int64
	for i := 0; i < records.Len(); i++ {
		got = append(got, records.At(i).Body().Int())
	}
	assert.Equal(t, []int64{0, 10, 20, 30}, got)
}
