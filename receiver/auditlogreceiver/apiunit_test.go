package auditlogreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/apitest"
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

func TestTokenRenewal(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, now.Add(59*time.Minute), renewTime(now, now.Add(time.Hour)), "a minute early")
	assert.Equal(t, now.Add(750*time.Millisecond), renewTime(now, now.Add(time.Second)), "short-lived: a quarter early")
	assert.Equal(t, now.Add(time.Hour), renewTime(now, time.Time{}), "no expiry given")
}

func TestWithPublisher(t *testing.T) {
	s := &o365Stream{publisher: apitest.PublisherID}
	assert.Equal(t, "https://manage.office.com/api/v1.0/t/activity/feed/audit/1$2?PublisherIdentifier="+apitest.PublisherID,
		s.withPublisher("https://manage.office.com/api/v1.0/t/activity/feed/audit/1$2"))
	assert.Equal(t, "https://x/c?contentType=a&nextPage=b&PublisherIdentifier="+apitest.PublisherID, s.withPublisher("https://x/c?contentType=a&nextPage=b"))
	kept := "https://x/c?PublisherIdentifier=other"
	assert.Equal(t, kept, s.withPublisher(kept))
	assert.Equal(t, "https://x/c", (&o365Stream{}).withPublisher("https://x/c"))
}

func TestExpiredIsCertainOnly(t *testing.T) {
	now := time.Now()
	live := o365Content{ContentExpiration: now.Add(time.Hour)}
	gone := o365Content{ContentExpiration: now.Add(-time.Hour)}
	assert.True(t, expired(&statusError{status: 400, code: afContentExpired}, live, now))
	assert.False(t, expired(&statusError{status: 404, code: "AF20050"}, live, now), "may not be replicated yet")
	assert.True(t, expired(&statusError{status: 404, code: "AF20050"}, gone, now))
	assert.True(t, expired(&statusError{status: 403}, gone, now), "after contentExpiration nothing can fetch it")
	assert.False(t, expired(&statusError{status: 403, code: "AF10001"}, live, now))
	assert.False(t, expired(&statusError{status: 404}, o365Content{}, now), "no expiration listed: never certain")
}

func TestGraphFilter(t *testing.T) {
	w := timeWindow{time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	assert.Equal(t, "createdDateTime ge 2026-11-25T09:00:00Z and createdDateTime lt 2026-11-25T10:00:00Z", (&graphStream{}).filter(w))
	assert.Equal(t, "createdDateTime ge 2026-11-25T09:00:00Z and createdDateTime lt 2026-11-25T10:00:00Z and signInEventTypes/any(t: t eq 'nonInteractiveUser' or t eq 'servicePrincipal')",
		(&graphStream{eventTypes: []string{"nonInteractiveUser", "servicePrincipal"}}).filter(w))
}
