package logrecord

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
)

func TestAsReadBuildsTheSameRecordsAgainWithoutCountingThem(t *testing.T) {
	raws := []Raw{
		{Data: []byte(recordtest.O365Record("id-1"))},
		{Data: []byte(`{"Id": x}`), Offset: 100, CSVCell: true},
		{Data: []byte("caf\xe9")},
		{Data: []byte("{cut"), Problem: "file ends inside a record"},
	}
	b := NewBuilder(1 << 20)
	var kept AsRead
	var first []plog.LogRecord
	buf := make([]byte, 0, 64)
	for _, raw := range raws {
		lr := plog.NewLogRecord()
		b.Build(raw, lr)
		// Data is valid only until the reader's next call: Keep copies it.
		raw.Data = append(buf[:0], raw.Data...)
		kept.Keep(raw, lr)
		clear(raw.Data)
		first = append(first, lr)
	}
	counts := b.TakeCounts()
	require.Equal(t, int64(len(raws)), counts.Read)
	time.Sleep(time.Millisecond) // a new Build would observe a later time

	require.Equal(t, len(raws), kept.Len())
	for i := range raws {
		again := plog.NewLogRecord()
		kept.Build(&b, i, again)
		assert.Equal(t, first[i], again, "record %d", i)
	}
	assert.Equal(t, Counts{}, b.TakeCounts(), "built again, not counted again")

	kept.Reset()
	assert.Zero(t, kept.Len())
}
