package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
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

// seenSet remembers dedup keys, each with its horizon: the time by which the
// API lists it (an event time, or an O365 blob's contentCreated). Keys are
// 64-bit FNV-1a hashes: a collision (odds ~1e-10 at 100k keys) would drop a
// record, a risk far below that of the vendor losing one.
type seenSet struct {
	max     int
	horizon map[uint64]int64 // hash -> unix seconds
	// evicted counts keys forgotten because of max while still listable:
	// each can come back as a duplicate.
	evicted int
}

func newSeenSet(maxKeys int) *seenSet {
	return &seenSet{max: maxKeys, horizon: make(map[uint64]int64)}
}

func hashKey(key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return h.Sum64()
}

func (s *seenSet) has(h uint64) bool {
	_, ok := s.horizon[h]
	return ok
}

func (s *seenSet) len() int { return len(s.horizon) }

func (s *seenSet) add(h uint64, horizon time.Time) {
	s.horizon[h] = horizon.Unix()
	if len(s.horizon) > s.max {
		s.evictOldest()
	}
}

// evictOldest forgets the oldest tenth, so that eviction is rare and its
// sort amortised over many adds.
func (s *seenSet) evictOldest() {
	times := make([]int64, 0, len(s.horizon))
	for _, t := range s.horizon {
		times = append(times, t)
	}
	slices.Sort(times)
	cut := times[len(times)-s.max*9/10]
	for h, t := range s.horizon {
		if t < cut {
			delete(s.horizon, h)
			s.evicted++
		}
	}
}

func (s *seenSet) forgetBefore(t time.Time) {
	limit := t.Unix()
	for h, ht := range s.horizon {
		if ht < limit {
			delete(s.horizon, h)
		}
	}
}

// pack writes the set as 16-byte entries (hash, horizon), big-endian.
func (s *seenSet) pack() []byte {
	packed := make([]byte, 0, 16*len(s.horizon))
	for h, t := range s.horizon {
		packed = binary.BigEndian.AppendUint64(packed, h)
		packed = binary.BigEndian.AppendUint64(packed, uint64(t))
	}
	return packed
}

func (s *seenSet) unpack(packed []byte) error {
	if len(packed)%16 != 0 {
		return errors.New("seen keys are not whole 16-byte entries")
	}
	for i := 0; i < len(packed); i += 16 {
		s.horizon[binary.BigEndian.Uint64(packed[i:])] = int64(binary.BigEndian.Uint64(packed[i+8:]))
	}
	return nil
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
