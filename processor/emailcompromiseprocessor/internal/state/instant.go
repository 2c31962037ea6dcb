package state

import "time"

// Instant is a point in time as Unix nanoseconds: 8 bytes where time.Time
// takes 24, for the timestamps every user's state holds.
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
