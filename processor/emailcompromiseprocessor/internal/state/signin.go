package state

import (
	"net/netip"
	"strings"
	"time"
)

// Caps on what one user's sign-in history may hold. A user signing in from a
// hundred countries keeps the most frequent few; the rest are forgotten.
const (
	MaxCountries = 8
	MaxASNs      = 8
	MaxPlaces    = 8
	MaxIPs       = 8
	// MaxRecentEvents bounds the failure and MFA-prompt rings.
	MaxRecentEvents = 32
)

// SignInHistory is what the sign-in detectors learn about one user.
type SignInHistory struct {
	// FirstSuccess and Successes measure the learning period.
	FirstSuccess Instant
	Successes    uint32
	// Last is the latest successful interactive sign-in by event time.
	Last LastSignIn
	// Familiar countries, ASNs and places, each with how often seen.
	Countries []Seen[Country]
	ASNs      []Seen[uint32]
	Places    []Seen[Cell]
	IPs       []Seen[netip.Addr]
	// Bursts is allocated at the user's first failure or MFA prompt.
	Bursts *Bursts
}

// Country is an ISO 3166-1 alpha-2 code, held without a string header or
// allocation.
type Country [2]byte

// CountryOf converts a code ("DE"); anything else yields the zero Country.
func CountryOf(code string) Country {
	if len(code) != 2 {
		return Country{}
	}
	return Country{code[0], code[1]}
}

func (c Country) String() string { return string(c[:]) }

// Bursts are the event times of recent failed sign-ins and MFA
// denials/interrupts, newest last.
type Bursts struct {
	Failures   Recent
	MFAPrompts Recent
}

// LastSignIn is one sign-in, reduced to what travel needs.
type LastSignIn struct {
	Time      Instant
	IP        netip.Addr
	HasGeo    bool
	Lat, Lon  float64
	Country   string
	City      string
	ASN       uint32
	DeviceID  string
	SessionID string
}

// Keep returns a string safe to hold in long-lived state: old when equal
// (no allocation on the common path), else a copy of s, so that state never
// pins the memory of the record s was read from.
func Keep(old, s string) string {
	if old == s {
		return old
	}
	return strings.Clone(s)
}

// Cell is a place rounded to half a degree (about 50 km), so that sign-ins
// from one city land in one cell.
type Cell struct{ Lat, Lon int16 }

// CellOf rounds coordinates to their cell.
func CellOf(lat, lon float64) Cell {
	return Cell{Lat: int16(lat * 2), Lon: int16(lon * 2)}
}

// Seen counts sightings of one value.
type Seen[T comparable] struct {
	Value T
	Count uint32
}

// Count returns how often v was seen.
func Count[T comparable](list []Seen[T], v T) uint32 {
	for _, s := range list {
		if s.Value == v {
			return s.Count
		}
	}
	return 0
}

// Observe counts v in list, keeping at most max entries: when full, the
// least seen entry gives way.
func Observe[T comparable](list []Seen[T], v T, max int) []Seen[T] {
	least := -1
	for i := range list {
		if list[i].Value == v {
			list[i].Count++
			return list
		}
		if least < 0 || list[i].Count < list[least].Count {
			least = i
		}
	}
	if len(list) < max {
		return append(list, Seen[T]{Value: v, Count: 1})
	}
	list[least] = Seen[T]{Value: v, Count: 1}
	return list
}

// Recent holds the times of the latest events, at most MaxRecentEvents.
type Recent struct {
	Times []Instant
}

// Add records an event at t, keeping the newest MaxRecentEvents in time order.
func (r *Recent) Add(when time.Time) {
	t := At(when)
	i := len(r.Times)
	for i > 0 && r.Times[i-1] > t {
		i--
	}
	if len(r.Times) == MaxRecentEvents {
		if i == 0 {
			return // older than everything kept
		}
		copy(r.Times, r.Times[1:i])
		r.Times[i-1] = t
		return
	}
	r.Times = append(r.Times, 0)
	copy(r.Times[i+1:], r.Times[i:])
	r.Times[i] = t
}

// Within counts events in (t-window, t].
func (r *Recent) Within(t time.Time, window time.Duration) int {
	from, to := At(t.Add(-window)), At(t)
	n := 0
	for _, et := range r.Times {
		if et > from && et <= to {
			n++
		}
	}
	return n
}

// Clear forgets every event (after a success ends a burst).
func (r *Recent) Clear() { r.Times = r.Times[:0] }
