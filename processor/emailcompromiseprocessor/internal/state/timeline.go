package state

import (
	"slices"
	"sort"
)

// A timeline is a slice of a user's recent events in event-time order, so
// that a record can be judged against its neighbours before and after it
// whatever order they arrived in. Timelines are bounded twice: by time (the
// caller drops what no record within the allowed lateness can still pair
// with) and by a hard cap, beyond which the oldest events go first.

// timed is an event in a timeline.
type timed interface {
	when() Instant
	id() RecordID
}

// insert puts v in its event-time place, unless the same record is already
// there (a record delivered twice is learned once; its copies share an
// event time). It returns v's index, or -1 when v was not added; a full
// list drops its oldest event, or v itself when v is older than all.
func insert[T timed](list []T, v T, max int) ([]T, int) {
	if find(list, v.when(), v.id()) >= 0 {
		return list, -1
	}
	// Records mostly arrive in time order: the place is found from the end.
	i := len(list)
	for i > 0 && list[i-1].when() > v.when() {
		i--
	}
	if len(list) >= max {
		if i == 0 {
			return list, -1
		}
		if max <= shiftLimit {
			// Full and short: shift in place, no allocation.
			copy(list[:i-1], list[1:i])
			list[i-1] = v
			return list, i - 1
		}
		// Full and long (a send flood): reslicing keeps appends amortised,
		// where shifting would copy the whole list every time.
		list, i = list[1:], i-1
	}
	return slices.Insert(list, i, v), i
}

// shiftLimit is the longest timeline kept full by shifting in place.
const shiftLimit = 64

// find returns the index of the event of the record with id at at, or -1.
func find[T timed](list []T, at Instant, id RecordID) int {
	if id.IsZero() {
		return -1
	}
	for i := sort.Search(len(list), func(i int) bool { return list[i].when() >= at }); i < len(list) && list[i].when() == at; i++ {
		if list[i].id() == id {
			return i
		}
	}
	return -1
}

// dropBefore removes the events older than cutoff.
func dropBefore[T timed](list []T, cutoff Instant) []T {
	if len(list) == 0 || list[0].when() >= cutoff {
		return list // the common case, checked without a search
	}
	n := sort.Search(len(list), func(i int) bool { return list[i].when() >= cutoff })
	if n == 0 {
		return list
	}
	return slices.Delete(list, 0, n)
}

// FindSend returns the index in list of the send of record id, made at at, or -1.
func FindSend(list []Send, at Instant, id RecordID) int { return find(list, at, id) }

// FindSignIn returns the index in list of the sign-in of record id, made at
// at, or -1.
func FindSignIn(list []SignIn, at Instant, id RecordID) int { return find(list, at, id) }

// FindReply returns the index in list of the reply of record id, made at at,
// or -1.
func FindReply(list []Reply, at Instant, id RecordID) int { return find(list, at, id) }
