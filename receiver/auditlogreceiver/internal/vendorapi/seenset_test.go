package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSeenSetForgetsByHorizonAndEvictsOldest(t *testing.T) {
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	s := newSeenSet(1000)
	for i := range 1000 {
		s.add(uint64(i), base.Add(time.Duration(i)*time.Second))
	}
	assert.Zero(t, s.evicted)
	s.add(5000, base.Add(time.Hour))
	assert.Equal(t, 900, s.len(), "the oldest tenth and a little more go when the cap is passed")
	assert.False(t, s.has(0))
	assert.True(t, s.has(999))
	assert.True(t, s.has(5000))
	assert.Equal(t, 101, s.evicted)

	s.forgetBefore(base.Add(950 * time.Second))
	assert.False(t, s.has(949))
	assert.True(t, s.has(950))

	back := newSeenSet(1000)
	require.NoError(t, back.unpack(s.pack()))
	assert.Equal(t, s.horizon, back.horizon)
	assert.Error(t, back.unpack([]byte{1, 2, 3}), "entries must be whole")
}
