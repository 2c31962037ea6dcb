package vendorapi

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var seenBase = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// blobHorizon is the horizon of the i-th record of O365 blobs of perBlob
// records: every record of a blob shares the blob's contentCreated.
func blobHorizon(i, perBlob int) time.Time {
	return seenBase.Add(time.Duration(i/perBlob) * time.Minute)
}

// TestSeenSetIsAHardCap adds ten times the cap, in blobs of 2,000 records
// that share a horizon (the set used to hold 2,899 ids at a cap of 1,000
// there, because it evicted only ids older than a whole blob): the set never
// holds more than the cap, keeps the newest ids and counts every id it
// forgot.
func TestSeenSetIsAHardCap(t *testing.T) {
	const capacity, perBlob = 1000, 2000
	s := newSeenSet(capacity)
	for i := range 10 * capacity {
		s.add(uint64(i), blobHorizon(i, perBlob))
		require.LessOrEqual(t, s.len(), capacity, "after %d adds", i+1)
	}
	assert.Equal(t, capacity, s.len())
	assert.Equal(t, 9*capacity, s.evicted)
	for i := range 10 * capacity {
		assert.Equal(t, i >= 9*capacity, s.has(uint64(i)), "id %d: the newest %d are kept", i, capacity)
	}
}

// TestSeenSetEvictsTheOldestHorizonFirst adds sign-ins as Graph pages list
// them, newest first: what a full set forgets is the oldest by horizon, not
// the first added.
func TestSeenSetEvictsTheOldestHorizonFirst(t *testing.T) {
	s := newSeenSet(3)
	for i, minutes := range []int{30, 20, 10} {
		s.add(uint64(i), seenBase.Add(time.Duration(minutes)*time.Minute))
	}
	s.add(3, seenBase.Add(25*time.Minute))
	assert.False(t, s.has(2), "10 minutes: the oldest")
	assert.True(t, s.has(0) && s.has(1) && s.has(3))

	s.add(1, seenBase.Add(40*time.Minute)) // listed again later: the new horizon
	s.add(4, seenBase.Add(35*time.Minute))
	assert.False(t, s.has(3), "25 minutes is now the oldest")
	assert.True(t, s.has(1), "its horizon moved to 40 minutes")
	assert.Equal(t, 2, s.evicted)
}

func TestSeenSetKeyAddedAgainStaysOneKey(t *testing.T) {
	s := newSeenSet(10)
	for round := range 1000 {
		for k := range 10 {
			s.add(uint64(k), seenBase.Add(time.Duration(round)*time.Second))
		}
	}
	assert.Equal(t, 10, s.len())
	assert.Zero(t, s.evicted, "adding a key again evicts nothing")
	assert.LessOrEqual(t, len(s.heap), 2*10+64+1, "entries replaced by a later add are compacted away")
	s.forgetBefore(seenBase.Add(999 * time.Second))
	assert.Equal(t, 10, s.len(), "every key has the horizon of its last add")
	s.forgetBefore(seenBase.Add(1000 * time.Second))
	assert.Zero(t, s.len())
}

func TestSeenSetForgetsByHorizon(t *testing.T) {
	s := newSeenSet(1000)
	for i := range 1000 {
		s.add(uint64(i), seenBase.Add(time.Duration(i)*time.Second))
	}
	s.forgetBefore(seenBase.Add(950 * time.Second))
	assert.Equal(t, 50, s.len())
	assert.False(t, s.has(949))
	assert.True(t, s.has(950))
	assert.Zero(t, s.evicted, "forgetting what cannot be listed again is no eviction")
}

func TestSeenSetPackRoundTrip(t *testing.T) {
	s := newSeenSet(1000)
	for i := range 1500 {
		s.add(uint64(i*7919), blobHorizon(i, 100))
	}
	back := newSeenSet(1000)
	require.NoError(t, back.unpack(s.pack()))
	assert.Equal(t, entries(s), entries(back))

	// Saved with a larger max_seen_ids: the newest are kept.
	smaller := newSeenSet(100)
	require.NoError(t, smaller.unpack(s.pack()))
	assert.Equal(t, 100, smaller.len())
	assert.Equal(t, entries(s)[900:], entries(smaller))

	assert.Error(t, back.unpack([]byte{1, 2, 3}), "entries must be whole")
}

// entries lists a set's keys with their horizons, oldest first.
func entries(s *seenSet) [][2]int64 {
	var out [][2]int64
	for _, e := range s.heap {
		out = append(out, [2]int64{e.horizon, int64(e.key)})
	}
	slices.SortFunc(out, func(a, b [2]int64) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	return out
}

// BenchmarkSeenSetAdd adds ids to a full set, each add evicting the oldest,
// at caps from 1,000 to 1,000,000, in blobs of 2,000 ids sharing a horizon.
// The baseline in the same benchmark is the least a capped set can do: a map
// insert and the delete of the id added cap adds before (a ring buffer,
// which cannot order by horizon). ns/op staying flat from one cap to the
// next is the point; the old set sorted every id on each add past the cap.
func BenchmarkSeenSetAdd(b *testing.B) {
	for _, capacity := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("baseline_map_ring/cap=%d", capacity), func(b *testing.B) {
			ids := make(map[uint64]int64, capacity)
			ring := make([]uint64, capacity)
			i := 0
			add := func() {
				slot := i % capacity
				if i >= capacity {
					delete(ids, ring[slot])
				}
				ids[uint64(i)], ring[slot] = blobHorizon(i, 2000).Unix(), uint64(i)
				i++
			}
			for range capacity {
				add()
			}
			for b.Loop() {
				add()
			}
		})
		b.Run(fmt.Sprintf("seen_set/cap=%d", capacity), func(b *testing.B) {
			s := newSeenSet(capacity)
			i := 0
			for range capacity {
				s.add(uint64(i), blobHorizon(i, 2000))
				i++
			}
			for b.Loop() {
				s.add(uint64(i), blobHorizon(i, 2000))
				i++
			}
			if s.len() != capacity {
				b.Fatalf("%d ids held, cap %d", s.len(), capacity)
			}
		})
	}
}
