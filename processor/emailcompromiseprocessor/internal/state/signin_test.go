package state

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestObserveKeepsTheMostSeen(t *testing.T) {
	var list []Seen[string]
	for _, c := range []string{"DE", "DE", "DE", "FR", "FR", "US"} {
		list = Observe(list, c, 2)
	}
	// When full, the least seen entry (FR, twice) gives way to the new one.
	assert.Equal(t, []Seen[string]{{"DE", 3}, {"US", 1}}, list)
	assert.Equal(t, uint32(3), Count(list, "DE"))
	assert.Zero(t, Count(list, "FR"))
}

func TestRecentWindowAndOrder(t *testing.T) {
	var r Recent
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := 0; i < MaxRecentEvents+10; i++ {
		r.Add(base.Add(time.Duration(i) * time.Minute))
	}
	assert.Len(t, r.Times, MaxRecentEvents)
	assert.Equal(t, base.Add(10*time.Minute), r.Times[0].Time(), "the oldest are dropped")
	r.Add(base.Add(30*time.Second + 20*time.Minute)) // late, out of order
	assert.Less(t, r.Times[10], r.Times[11])
	assert.Equal(t, 5, r.Within(base.Add(41*time.Minute), 5*time.Minute))
	r.Clear()
	assert.Zero(t, r.Within(base.Add(41*time.Minute), time.Hour))
}

func TestInstantRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 123, time.UTC)
	assert.Equal(t, at, At(at).Time())
	assert.True(t, At(time.Time{}).IsZero())
	assert.True(t, Instant(0).Time().IsZero())
}
