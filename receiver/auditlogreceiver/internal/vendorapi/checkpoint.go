package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

const apiCheckpointVersion = 1

// streamState is the saved progress of one API stream. Nothing is lost by
// construction: the cursor moves only past windows whose every record was
// accepted downstream, and a poll starts again at cursor - overlap, where
// the records already accepted are recognised in seen and skipped.
type streamState struct {
	// Cursor is the end of the last window read completely; zero before
	// the first poll.
	Cursor time.Time
	// Origin is where the first poll started (now - initial_lookback):
	// overlap never reaches before it.
	Origin time.Time
	// NewestEvent is the latest event time delivered, kept for the lag
	// metric across restarts.
	NewestEvent time.Time
	// Records are the dedup keys of the records accepted downstream that a
	// poll may list again.
	Records *seenSet
	// Contents are O365 content blobs whose records were all accepted (or
	// that expired): they are not fetched again.
	Contents *seenSet
}

func newStreamState(maxSeen int) *streamState {
	return &streamState{Records: newSeenSet(maxSeen), Contents: newSeenSet(maxSeen)}
}

// advance moves the cursor to a window's end, never back, and forgets what
// the next poll cannot list again: it starts at the new cursor - overlap,
// and every key's horizon is the time the listing filters on.
func (s *streamState) advance(end time.Time, overlap time.Duration) {
	if end.After(s.Cursor) {
		s.Cursor = end
	}
	s.Records.forgetBefore(s.Cursor.Add(-overlap))
	s.Contents.forgetBefore(s.Cursor.Add(-overlap))
}

// savedStream is a stream state as stored: JSON, with the seen sets packed
// (base64 in JSON), which keeps a save of 100k keys to a few milliseconds.
type savedStream struct {
	Version     int       `json:"version"`
	Cursor      time.Time `json:"cursor"`
	Origin      time.Time `json:"origin"`
	NewestEvent time.Time `json:"newest_event"`
	Records     []byte    `json:"records"`
	Contents    []byte    `json:"contents"`
}

// apiCheckpoints keeps the states of one source's streams in the storage
// extension, one key per stream.
type apiCheckpoints struct {
	client storage.Client
	// prefix names the source and what makes its checkpoints valid (the
	// tenant, the API version): changing those starts afresh rather than
	// applying another feed's cursor.
	prefix string
}

func (c apiCheckpoints) key(stream string) string {
	return "api/" + c.prefix + "/" + stream
}

func (c apiCheckpoints) load(ctx context.Context, stream string, maxSeen int) (*streamState, error) {
	st := newStreamState(maxSeen)
	data, err := c.client.Get(ctx, c.key(stream))
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoint of %s %s from storage: %w", c.prefix, stream, err)
	}
	if data == nil {
		return st, nil
	}
	var saved savedStream
	err = json.Unmarshal(data, &saved)
	if err == nil {
		err = errors.Join(st.Records.unpack(saved.Records), st.Contents.unpack(saved.Contents))
	}
	if err != nil {
		return nil, fmt.Errorf("the checkpoint of %s %s in storage is unreadable (%w); delete the receiver's storage to read again from initial_lookback", c.prefix, stream, err)
	}
	if saved.Version != apiCheckpointVersion {
		return nil, fmt.Errorf("the checkpoint of %s %s in storage has version %d, this receiver reads version %d; delete the receiver's storage to read again from initial_lookback",
			c.prefix, stream, saved.Version, apiCheckpointVersion)
	}
	st.Cursor, st.Origin, st.NewestEvent = saved.Cursor, saved.Origin, saved.NewestEvent
	return st, nil
}

func (c apiCheckpoints) save(ctx context.Context, stream string, st *streamState) error {
	data, err := json.Marshal(savedStream{
		Version:     apiCheckpointVersion,
		Cursor:      st.Cursor,
		Origin:      st.Origin,
		NewestEvent: st.NewestEvent,
		Records:     st.Records.pack(),
		Contents:    st.Contents.pack(),
	})
	if err != nil {
		return err
	}
	return c.client.Set(ctx, c.key(stream), data)
}
