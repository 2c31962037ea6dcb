// Package state keeps detection state in memory, bounded in keys
// (least recently used evicted first) and in time (users idle longer than the
// TTL expire), and snapshots it so learned history survives restarts. What a
// user's state holds is kept in event-time order with the times it needs, so
// that what the detectors find does not depend on the order records arrive in.
package state // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"

import (
	"iter"
	"strings"
	"time"
)

// entry links a value into the recency list.
type entry[V any] struct {
	key        string
	lastSeen   Instant // processing (wall-clock) time of the latest use
	value      V
	prev, next *entry[V]
	// walk is the pass (Store.walks) that visited the entry or that was
	// under way when it was created: a pass skips both.
	walk uint32
}

// Store is a bounded map: at most max keys, least recently used evicted
// first, keys idle longer than the TTL expired. Users are kept in one; the
// password-spray detector keeps source addresses in another. It is not safe
// for concurrent use: the processor serialises access (one batch at a time),
// which also keeps every user's records in order.
type Store[V any] struct {
	max       int
	ttl       time.Duration
	entries   map[string]*entry[V]
	head      *entry[V] // most recently used
	tail      *entry[V] // least recently used
	evictions uint64
	// walks counts the passes begun (Walk); cursor is the entry the
	// current one visits next, kept on the list as entries move.
	walks  uint32
	cursor *entry[V]
}

// New returns a store holding at most max keys, each for ttl after its last use.
func New[V any](max int, ttl time.Duration) *Store[V] {
	return &Store[V]{max: max, ttl: ttl, entries: make(map[string]*entry[V])}
}

// Get returns the key's value, or nil when the store holds none (never
// seen, expired or evicted). It does not count as use.
func (s *Store[V]) Get(key string) *V {
	if e, ok := s.entries[key]; ok {
		return &e.value
	}
	return nil
}

// Touch returns the key's value, creating it if needed, and marks it most
// recently used at now. Creating a key beyond the cap evicts the least
// recently used one.
func (s *Store[V]) Touch(key string, now time.Time) *V {
	if e, ok := s.entries[key]; ok {
		e.lastSeen = At(now)
		s.moveToFront(e)
		return &e.value
	}
	if len(s.entries) >= s.max && s.tail != nil {
		s.remove(s.tail)
		s.evictions++
	}
	// The map key must be the copy too: the caller's string may point into
	// a whole record's text, which the entry would otherwise keep alive.
	key = strings.Clone(key)
	e := &entry[V]{key: key, lastSeen: At(now), walk: s.walks}
	s.entries[key] = e
	s.pushFront(e)
	return &e.value
}

// GetBytes is Get for a key held in bytes, without converting it.
func (s *Store[V]) GetBytes(key []byte) *V {
	if e, ok := s.entries[string(key)]; ok {
		return &e.value
	}
	return nil
}

// Expire drops keys idle for longer than the TTL at now and returns how
// many it dropped.
func (s *Store[V]) Expire(now time.Time) int {
	return s.ExpireBefore(now.Add(-s.ttl))
}

// ExpireBefore drops the keys last used before cutoff, least recently used
// first, and returns how many it dropped. A store touched with event times
// (Sigma's correlation groups) expires by event time this way.
func (s *Store[V]) ExpireBefore(cutoff time.Time) int {
	at := At(cutoff)
	n := 0
	for s.tail != nil && s.tail.lastSeen < at {
		s.remove(s.tail)
		n++
	}
	return n
}

// Len is the number of keys held.
func (s *Store[V]) Len() int { return len(s.entries) }

// Evictions counts keys dropped because the store was full.
func (s *Store[V]) Evictions() uint64 { return s.evictions }

// Each calls f for every key, least recently used first, so that restoring
// the sequence rebuilds the same recency order.
func (s *Store[V]) Each(f func(key string, lastSeen time.Time, v *V)) {
	for e := s.tail; e != nil; e = e.prev {
		f(e.key, e.lastSeen.Time(), &e.value)
	}
}

// Walk begins a pass over the store, least recently used first, taken in
// steps (WalkStep) between which the store may be used and changed: a
// snapshot reads a few hundred values under the caller's lock, then
// releases it to encode them. The pass visits every key held at its start
// that is still held when the pass reaches it, once, at its recency
// position then (a key used meanwhile is visited among the most recently
// used); keys created after the start are left to the next pass. One pass
// at a time: Walk abandons the previous one.
func (s *Store[V]) Walk() {
	s.walks++
	s.cursor = s.tail
}

// WalkStep takes up to n steps of the pass Walk began, calling f for each
// key it visits, and reports whether any are left. f must not keep v: the caller's lock
// guards it only during the call.
func (s *Store[V]) WalkStep(n int, f func(key string, lastSeen time.Time, v *V)) bool {
	for ; s.cursor != nil && n > 0; s.cursor, n = s.cursor.prev, n-1 {
		e := s.cursor
		if e.walk == s.walks {
			continue // created during the pass, or visited before it moved up
		}
		e.walk = s.walks
		f(e.key, e.lastSeen.Time(), &e.value)
	}
	return s.cursor != nil
}

// Copies yields a copy of every value of s, made by copyOf in a pass taken
// perStep values at a time in a function run by locked (under the lock
// that guards s), so that whoever encodes and writes the copies does not
// hold the lock meanwhile.
func Copies[V, T any](s *Store[V], locked func(func()), perStep int, copyOf func(key string, lastSeen time.Time, v *V) T) iter.Seq[T] {
	return func(yield func(T) bool) {
		locked(s.Walk)
		batch := make([]T, 0, perStep)
		for more := true; more; {
			batch = batch[:0]
			locked(func() {
				more = s.WalkStep(perStep, func(key string, lastSeen time.Time, v *V) {
					batch = append(batch, copyOf(key, lastSeen, v))
				})
			})
			for _, c := range batch {
				if !yield(c) {
					return
				}
			}
		}
	}
}

// Restore puts a snapshotted value back, as most recently used.
func (s *Store[V]) Restore(key string, lastSeen time.Time, v V) {
	*s.Touch(key, lastSeen) = v
}

func (s *Store[V]) pushFront(e *entry[V]) {
	e.prev, e.next = nil, s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
}

func (s *Store[V]) moveToFront(e *entry[V]) {
	if s.head == e {
		return
	}
	s.unlink(e)
	s.pushFront(e)
}

func (s *Store[V]) unlink(e *entry[V]) {
	if s.cursor == e {
		// The entry leaves its place (used, expired or evicted): the pass
		// goes on from the one after it.
		s.cursor = e.prev
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *Store[V]) remove(e *entry[V]) {
	s.unlink(e)
	delete(s.entries, e.key)
}
