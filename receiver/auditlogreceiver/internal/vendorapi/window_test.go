package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlanWindows(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 500, time.UTC)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 25, h, m, 0, 0, time.UTC) }
	day := 24 * time.Hour
	t.Run("overlap and window size", func(t *testing.T) {
		plan := planWindows(at(10, 30), at(0, 0), now, time.Hour, time.Hour, 0, 0)
		assert.Equal(t, []timeWindow{{at(9, 30), at(10, 30)}, {at(10, 30), at(11, 30)}, {at(11, 30), at(12, 0)}}, plan.windows)
		assert.Zero(t, plan.lost)
	})
	t.Run("never before the origin", func(t *testing.T) {
		plan := planWindows(at(10, 0), at(10, 0), now, time.Hour, 3*time.Hour, 0, 0)
		assert.Equal(t, []timeWindow{{at(10, 0), at(12, 0)}}, plan.windows)
	})
	t.Run("windows never exceed 24h", func(t *testing.T) {
		plan := planWindows(now.Add(-5*day), time.Time{}, now, 0, day, 7*day, 10*time.Minute)
		require.Len(t, plan.windows, 5)
		for _, w := range plan.windows {
			assert.LessOrEqual(t, w.end.Sub(w.start), day)
		}
	})
	t.Run("clamped inside the 7 days, loss reported", func(t *testing.T) {
		plan := planWindows(now.Add(-9*day), time.Time{}, now, time.Hour, day, 7*day, 10*time.Minute)
		earliest := now.Truncate(time.Second).Add(-7*day + 10*time.Minute)
		assert.Equal(t, earliest, plan.windows[0].start)
		assert.Equal(t, timeWindow{now.Add(-9 * day), earliest}, plan.lost)
	})
	t.Run("overlap alone past the limit is no loss", func(t *testing.T) {
		plan := planWindows(now.Add(-7*day+time.Hour), time.Time{}, now, 2*time.Hour, day, 7*day, 10*time.Minute)
		assert.Zero(t, plan.lost)
		assert.Equal(t, now.Truncate(time.Second).Add(-7*day+10*time.Minute), plan.windows[0].start)
	})
	t.Run("nothing to list", func(t *testing.T) {
		assert.Empty(t, planWindows(now, now, now, 0, time.Hour, 0, 0).windows)
	})
}
