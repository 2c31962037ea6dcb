package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"slices"
	"time"
)

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
