package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"time"
)

// seenSet remembers dedup keys, each with its horizon: the time by which the
// API lists it (an event time, or an O365 blob's contentCreated). It holds
// at most max keys, whatever their horizons: a key added to a full set
// evicts the key of the oldest horizon (of those, the one added first).
//
// Keys are kept in a map for lookup and in a binary min-heap of (horizon,
// order added) for eviction: adding is O(log n) whatever the cap, and
// usually O(1) on the heap's side, as a new key tends to be the newest.
// Forgetting what can no longer be listed pops only what it forgets. A key
// added again gets a new heap entry; the old one is skipped when it comes
// up (the map says which entry is live), and the heap is compacted if such
// entries pile up.
//
// Keys are 64-bit FNV-1a hashes: a collision (odds ~1e-10 at 100k keys)
// would drop a record, a risk far below that of the vendor losing one.
type seenSet struct {
	max int
	// live maps each key to the order of its live heap entry.
	live map[uint64]uint64
	heap []seenEntry
	// added numbers the keys in the order they were added: among keys of
	// one horizon (the records of one O365 blob) the first added goes
	// first.
	added uint64
	// evicted counts keys forgotten because of max while they could still
	// be listed again: each can come back as a duplicate.
	evicted int
}

type seenEntry struct {
	key     uint64
	horizon int64 // unix seconds
	order   uint64
}

func (a seenEntry) before(b seenEntry) bool {
	return a.horizon < b.horizon || (a.horizon == b.horizon && a.order < b.order)
}

func newSeenSet(maxKeys int) *seenSet {
	return &seenSet{max: maxKeys, live: make(map[uint64]uint64)}
}

func hashKey(key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return h.Sum64()
}

func (s *seenSet) has(h uint64) bool {
	_, ok := s.live[h]
	return ok
}

func (s *seenSet) len() int { return len(s.live) }

// add remembers h until its horizon falls out of the overlap, or until the
// set is full and h is the oldest. A key added again takes the new horizon.
func (s *seenSet) add(h uint64, horizon time.Time) {
	if s.max <= 0 {
		return
	}
	if _, again := s.live[h]; !again && len(s.live) >= s.max {
		s.popLive()
		s.evicted++
	}
	s.live[h] = s.added
	s.push(seenEntry{key: h, horizon: horizon.Unix(), order: s.added})
	s.added++
	if len(s.heap) > 2*len(s.live)+64 {
		s.compact()
	}
}

// forgetBefore forgets the keys whose horizon is before t: the next poll
// lists nothing that old again.
func (s *seenSet) forgetBefore(t time.Time) {
	limit := t.Unix()
	for len(s.heap) > 0 && s.heap[0].horizon < limit {
		s.forget(s.pop())
	}
}

// popLive forgets the oldest key.
func (s *seenSet) popLive() {
	for len(s.heap) > 0 {
		if s.forget(s.pop()) {
			return
		}
	}
}

// forget drops e's key if e is its live entry, and reports whether it was.
func (s *seenSet) forget(e seenEntry) bool {
	if order, ok := s.live[e.key]; ok && order == e.order {
		delete(s.live, e.key)
		return true
	}
	return false
}

func (s *seenSet) push(e seenEntry) {
	s.heap = append(s.heap, e)
	for i := len(s.heap) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.heap[i].before(s.heap[parent]) {
			break
		}
		s.heap[i], s.heap[parent] = s.heap[parent], s.heap[i]
		i = parent
	}
}

// pop removes and returns the oldest entry.
func (s *seenSet) pop() seenEntry {
	root := s.heap[0]
	last := len(s.heap) - 1
	s.heap[0] = s.heap[last]
	s.heap = s.heap[:last]
	s.down(0)
	return root
}

func (s *seenSet) down(i int) {
	for {
		oldest := i
		if l := 2*i + 1; l < len(s.heap) && s.heap[l].before(s.heap[oldest]) {
			oldest = l
		}
		if r := 2*i + 2; r < len(s.heap) && s.heap[r].before(s.heap[oldest]) {
			oldest = r
		}
		if oldest == i {
			return
		}
		s.heap[i], s.heap[oldest] = s.heap[oldest], s.heap[i]
		i = oldest
	}
}

// compact drops the entries of keys added again since, and orders the rest
// as a heap again.
func (s *seenSet) compact() {
	kept := s.heap[:0]
	for _, e := range s.heap {
		if order, ok := s.live[e.key]; ok && order == e.order {
			kept = append(kept, e)
		}
	}
	s.heap = kept
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.down(i)
	}
}

// pack writes the set as 16-byte entries (hash, horizon), big-endian, in
// heap order.
func (s *seenSet) pack() []byte {
	packed := make([]byte, 0, 16*len(s.live))
	for _, e := range s.heap {
		if s.live[e.key] != e.order {
			continue
		}
		packed = binary.BigEndian.AppendUint64(packed, e.key)
		packed = binary.BigEndian.AppendUint64(packed, uint64(e.horizon))
	}
	return packed
}

// unpack adds the entries pack wrote; a set saved with a larger max_seen_ids
// keeps its newest keys.
func (s *seenSet) unpack(packed []byte) error {
	if len(packed)%16 != 0 {
		return errors.New("seen keys are not whole 16-byte entries")
	}
	for i := 0; i < len(packed); i += 16 {
		h := binary.BigEndian.Uint64(packed[i:])
		horizon := time.Unix(int64(binary.BigEndian.Uint64(packed[i+8:])), 0)
		s.add(h, horizon)
	}
	return nil
}
