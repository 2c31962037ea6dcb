package emailcompromisefindingsconnector

import (
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestartKeepsOpenFindings: a collector killed (no Shutdown, as with
// kill -9) after a snapshot comes back with its open findings: a record
// that joins one updates it under the same uid with the next revision,
// the newest event time survives, and a record delivered again before the
// crash is not counted twice.
func TestRestartKeepsOpenFindings(t *testing.T) {
	dir := t.TempDir()
	storageID := storagetest.NewStorageID("findings")
	cfg := testConfig()
	cfg.Storage = &storageID
	ctx := context.Background()

	host := storagetest.NewStorageHost().WithFileBackedStorageExtension(storageID.Name(), dir)
	first, sink := newTestConnector(t, cfg, host)
	require.NoError(t, first.ConsumeLogs(ctx, logsOf(megan()...)))
	first.flush(ctx)
	before := map[string]int64{} // uid -> revision
	for _, lr := range findings(sink) {
		before[attrStr(lr, AttrFindingUID)] = attrInt(lr, AttrFindingRevision)
		assert.Equal(t, "open", attrStr(lr, AttrFindingStatus))
	}
	require.Len(t, before, 6)
	first.save(ctx)
	// The kill: the connector is dropped without Shutdown, so nothing is
	// flushed or saved after the last periodic snapshot. Only its storage
	// client is closed, as the dead process's file goes with it.
	require.NoError(t, first.storageClient.Close(ctx))
	close(first.stop)
	first.done.Wait()
	first.stop, first.storageClient = nil, nil

	host = storagetest.NewStorageHost().WithFileBackedStorageExtension(storageID.Name(), dir)
	second, sink2 := newTestConnector(t, cfg, host)
	assert.Equal(t, 6, second.tracker.Len(), "every open finding is restored")
	assert.Equal(t, story.Add(52*time.Minute).UnixNano(), second.tracker.Watermark())

	// The batch the dead collector had not acknowledged comes again, with
	// one more send that joins the forwarding incident.
	again := megan()
	extra := again[3]
	extra.id, extra.at = "4f8d2c61-0b7e-4f39-8e14-08dd2d42a0f7", 31*time.Minute
	require.NoError(t, second.ConsumeLogs(ctx, logsOf(append(again, extra)...)))
	second.flush(ctx)
	out := findings(sink2)
	require.Len(t, out, 1, "only the finding the new record joined changed")
	uid := attrStr(out[0], AttrFindingUID)
	require.Contains(t, before, uid, "the same finding, under the uid it had")
	assert.Equal(t, before[uid]+1, attrInt(out[0], AttrFindingRevision))
	assert.EqualValues(t, 2, attrInt(out[0], AttrFindingRecords), "the record delivered again is not counted twice")
	assert.EqualValues(t, 2, out[0].Body().Map().AsRaw()["activity_id"], "an update, not a new finding")
}
