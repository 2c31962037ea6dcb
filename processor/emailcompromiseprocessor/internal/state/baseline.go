package state

import "slices"

// A user's baseline (familiar countries, networks, places, how many
// sign-ins were learned) is judged as it stood at an earlier event time —
// the record's own time minus the allowed lateness, before which every record
// that will ever be learned has arrived — never as it stands at arrival.
// So every entry keeps the event times it needs to answer "was this known
// before t?", and the answer does not depend on the order records came in.

// Sighting is one value of a baseline (a country, an autonomous system, a
// network) with the event times of its first and latest sightings.
type Sighting[T comparable] struct {
	Value       T
	First, Last Sec
}

// Sight records v seen at t, keeping at most capacity values: when the list is
// full, the value last seen longest ago (in event time) gives way, unless v
// was seen earlier still. Seeing the same value at the same time again (a
// record delivered twice) changes nothing.
func Sight[T comparable](list []Sighting[T], v T, t Sec, capacity int) []Sighting[T] {
	stalest := -1
	for i := range list {
		s := &list[i]
		if s.Value == v {
			s.First, s.Last = min(s.First, t), max(s.Last, t)
			return list
		}
		if stalest < 0 || s.Last < list[stalest].Last {
			stalest = i
		}
	}
	if len(list) < capacity {
		return append(list, Sighting[T]{Value: v, First: t, Last: t})
	}
	if list[stalest].Last < t {
		list[stalest] = Sighting[T]{Value: v, First: t, Last: t}
	}
	return list
}

// sightOfKind is Sight with the capacity applied to the values of v's kind
// only: several kinds share one list.
func sightOfKind(list []Sighting[Known], v Known, t Sec, capacity int) []Sighting[Known] {
	stalest, n := -1, 0
	for i := range list {
		s := &list[i]
		if s.Value == v {
			s.First, s.Last = min(s.First, t), max(s.Last, t)
			return list
		}
		if s.Value.Kind() != v.Kind() {
			continue
		}
		n++
		if stalest < 0 || s.Last < list[stalest].Last {
			stalest = i
		}
	}
	if n < capacity {
		return append(list, Sighting[Known]{Value: v, First: t, Last: t})
	}
	if list[stalest].Last < t {
		list[stalest] = Sighting[Known]{Value: v, First: t, Last: t}
	}
	return list
}

// KnownBefore reports whether v was first seen before t.
func KnownBefore[T comparable](list []Sighting[T], v T, t Sec) bool {
	for i := range list {
		if list[i].Value == v {
			return list[i].First < t
		}
	}
	return false
}

// Earliest holds the earliest distinct event times of something, ascending
// (a user's successful sign-ins, the sign-ins from one place): enough to
// answer "had it happened n times before t?" for any t and any n up to the
// capacity it is kept at.
type Earliest []Sec

// Add records an occurrence at t (once: an equal time is the same record),
// keeping at most capacity times.
func (e Earliest) Add(t Sec, capacity int) Earliest {
	i, found := slices.BinarySearch(e, t)
	switch {
	case found:
		return e
	case len(e) < capacity:
		return slices.Insert(e, i, t)
	case i < len(e):
		copy(e[i+1:], e[i:len(e)-1])
		e[i] = t
	}
	return e
}

// CountBefore counts the occurrences before t.
func (e Earliest) CountBefore(t Sec) int {
	i, _ := slices.BinarySearch(e, t)
	return i
}

// First is the earliest occurrence (0 when none).
func (e Earliest) First() Sec {
	if len(e) == 0 {
		return 0
	}
	return e[0]
}

// Place is a cell a user signed in from, with its earliest sightings and
// its latest (which decides what gives way when the list is full).
type Place struct {
	Cell     Cell
	Last     Sec
	Earliest Earliest
}

// Cell is a place rounded to half a degree (about 50 km), so that sign-ins
// from one city land in one cell.
type Cell struct{ Lat, Lon int16 }

// CellOf rounds coordinates to their cell.
func CellOf(lat, lon float64) Cell {
	return Cell{Lat: int16(lat * 2), Lon: int16(lon * 2)}
}

// SightPlace records a sign-in from c at t, keeping at most capacity places
// and the earliest familiar sightings of each.
func SightPlace(list []Place, c Cell, t Sec, capacity, familiar int) []Place {
	stalest := -1
	for i := range list {
		p := &list[i]
		if p.Cell == c {
			p.Earliest = p.Earliest.Add(t, familiar)
			p.Last = max(p.Last, t)
			return list
		}
		if stalest < 0 || p.Last < list[stalest].Last {
			stalest = i
		}
	}
	p := Place{Cell: c, Last: t, Earliest: Earliest{t}}
	if len(list) < capacity {
		return append(list, p)
	}
	if list[stalest].Last < t {
		list[stalest] = p
	}
	return list
}

// SightingsBefore counts the sign-ins from c before t (up to MaxFamiliar).
func SightingsBefore(list []Place, c Cell, t Sec) int {
	i := slices.IndexFunc(list, func(p Place) bool { return p.Cell == c })
	if i < 0 {
		return 0
	}
	return list[i].Earliest.CountBefore(t)
}

// Caps on the sighting times a baseline keeps, and so on the configuration
// that sizes them (impossible_travel.familiar_sign_ins,
// new_location.learning_sign_ins).
const (
	MaxFamiliarSignIns = 16
	MaxLearningSignIns = 100
)
