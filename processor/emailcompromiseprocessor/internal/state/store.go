// Package state keeps per-user detection state in memory, bounded in users
// (least recently used evicted first) and in time (users idle longer than the
// TTL expire), and snapshots it so learned history survives restarts.
package state // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"

import (
	"time"
)

// User is everything the detectors remember about one user. Each detector
// owns one field and caps what it keeps there, so one user can never grow
// without bound whatever a flood of records does.
type User struct {
	Key string
	// LastSeen is the processing (wall-clock) time of the user's latest
	// record; the TTL counts from it.
	LastSeen time.Time
}

// entry links a User into the recency list.
type entry struct {
	user       User
	prev, next *entry
}

// Store is a bounded map of users. It is not safe for concurrent use: the
// processor serialises access (one batch at a time), which also keeps every
// user's records in order.
type Store struct {
	maxUsers  int
	ttl       time.Duration
	users     map[string]*entry
	head      *entry // most recently used
	tail      *entry // least recently used
	evictions uint64
}

// New returns a store holding at most maxUsers users, each for ttl after its
// last record.
func New(maxUsers int, ttl time.Duration) *Store {
	return &Store{maxUsers: maxUsers, ttl: ttl, users: make(map[string]*entry)}
}

// Get returns the user's state, or nil when the store holds none (never
// seen, expired or evicted). It does not count as use.
func (s *Store) Get(key string) *User {
	if e, ok := s.users[key]; ok {
		return &e.user
	}
	return nil
}

// Touch returns the user's state, creating it if needed, and marks it most
// recently used at now. Creating a user beyond the cap evicts the least
// recently used one.
func (s *Store) Touch(key string, now time.Time) *User {
	if e, ok := s.users[key]; ok {
		e.user.LastSeen = now
		s.moveToFront(e)
		return &e.user
	}
	if len(s.users) >= s.maxUsers && s.tail != nil {
		s.remove(s.tail)
		s.evictions++
	}
	e := &entry{user: User{Key: key, LastSeen: now}}
	s.users[key] = e
	s.pushFront(e)
	return &e.user
}

// Expire drops users idle for longer than the TTL at now and returns how
// many it dropped.
func (s *Store) Expire(now time.Time) int {
	cutoff := now.Add(-s.ttl)
	n := 0
	for s.tail != nil && s.tail.user.LastSeen.Before(cutoff) {
		s.remove(s.tail)
		n++
	}
	return n
}

// Len is the number of users held.
func (s *Store) Len() int { return len(s.users) }

// Evictions counts users dropped because the store was full.
func (s *Store) Evictions() uint64 { return s.evictions }

// Each calls f for every user, least recently used first, so that restoring
// the sequence with Touch rebuilds the same recency order.
func (s *Store) Each(f func(*User)) {
	for e := s.tail; e != nil; e = e.prev {
		f(&e.user)
	}
}

// Restore puts a snapshotted user back, as most recently used.
func (s *Store) Restore(u User) {
	*s.Touch(u.Key, u.LastSeen) = u
}

func (s *Store) pushFront(e *entry) {
	e.prev, e.next = nil, s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
}

func (s *Store) moveToFront(e *entry) {
	if s.head == e {
		return
	}
	s.unlink(e)
	s.pushFront(e)
}

func (s *Store) unlink(e *entry) {
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

func (s *Store) remove(e *entry) {
	s.unlink(e)
	delete(s.users, e.user.Key)
}
