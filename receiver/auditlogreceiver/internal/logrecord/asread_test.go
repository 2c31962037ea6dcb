package logrecord

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
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

func TestBuildFirstBuildsOnEveryBuilderWhatOneBuilderWould(t *testing.T) {
	// More records than the builders take in chunks, of every kind: parsed,
	// not JSON, not UTF-8, cut short.
	var raws []Raw
	for i := range 5*buildChunk + 7 {
		switch i % 4 {
		case 0, 1:
			raws = append(raws, Raw{Data: []byte(recordtest.O365Record(fmt.Sprintf("id-%d", i)))})
		case 2:
			raws = append(raws, Raw{Data: []byte(`{"Id": x}`), Offset: int64(i)})
		default:
			raws = append(raws, Raw{Data: []byte("{cut"), Problem: "file ends inside a record"})
		}
	}
	observed := pcommon.NewTimestampFromTime(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	keep := func() (AsRead, []plog.LogRecord) {
		var kept AsRead
		var lrs []plog.LogRecord
		for _, raw := range raws {
			lr := plog.NewLogRecord()
			lr.SetObservedTimestamp(observed)
			kept.Keep(raw, lr)
			lrs = append(lrs, lr)
		}
		return kept, lrs
	}
	one := []Builder{NewBuilder(1 << 20)}
	kept, want := keep()
	kept.BuildFirst(one, want)
	wantCounts := one[0].TakeCounts()
	require.Equal(t, int64(len(raws)), wantCounts.Read)

	four := []Builder{NewBuilder(1 << 20), NewBuilder(1 << 20), NewBuilder(1 << 20), NewBuilder(1 << 20)}
	kept, got := keep()
	kept.BuildFirst(four, got)
	var counts Counts
	for i := range four {
		counts.Add(four[i].TakeCounts())
	}
	assert.Equal(t, wantCounts, counts, "every record counted once")
	for i := range want {
		assert.Equal(t, want[i], got[i], "record %d", i)
		assert.Equal(t, observed, got[i].ObservedTimestamp(), "record %d keeps the time it was read", i)
	}
}
