package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestStreamStateAdvanceNeverMovesBack(t *testing.T) {
	st := newStreamState(1000)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	st.Records.add(1, t0)
	st.Records.add(2, t0.Add(2*time.Hour))
	st.advance(t0.Add(3*time.Hour), time.Hour)
	st.advance(t0.Add(time.Hour), time.Hour) // an overlap window ending before the cursor
	assert.Equal(t, t0.Add(3*time.Hour), st.Cursor)
	assert.False(t, st.Records.has(1), "before cursor - overlap: cannot be listed again")
	assert.True(t, st.Records.has(2))
}
