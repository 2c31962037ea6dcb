package state

import "time"

// Instant is a point in time as Unix nanoseconds: 8 bytes where time.Time
// takes 24, for the timestamps of the timelines every user's state holds.
type Instant int64

// At converts t (the zero time becomes the zero Instant).
func At(t time.Time) Instant {
	if t.IsZero() {
		return 0
	}
	return Instant(t.UnixNano())
}

// Time converts back (the zero Instant becomes the zero time).
func (i Instant) Time() time.Time {
	if i == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(i)).UTC()
}

// IsZero reports whether i was never set.
func (i Instant) IsZero() bool { return i == 0 }

// Sec is a point in time in whole seconds since 2000-01-01T00:00:00Z: the
// 4-byte timestamps of baselines (sightings, familiar places, learning),
// where a second is precision enough and every user holds dozens of them.
// 0 means unset; times before 2000 are clamped to its first second.
type Sec uint32

var secEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// SecOf converts t (the zero time becomes 0).
func SecOf(t time.Time) Sec {
	if t.IsZero() {
		return 0
	}
	s := t.Unix() - secEpoch
	switch {
	case s < 1:
		return 1
	case s > 1<<32-1:
		return 1<<32 - 1
	}
	return Sec(s)
}

// Sec converts an Instant (rounding down to its second).
func (i Instant) Sec() Sec { return SecOf(i.Time()) }

// Time converts back.
func (s Sec) Time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s)+secEpoch, 0).UTC()
}
