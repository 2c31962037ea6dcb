package detection

import (
	"cmp"
	"iter"
	"slices"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// SpraySource is one source address's counters as a snapshot holds them:
// its password failures (Failures) or the users who signed in from it
// (Users). An address with both is two SpraySources.
type SpraySource struct {
	// Address is the source address, the stores' key.
	Address string
	// LastSeen is when the address was last used in its store (its TTL and
	// recency).
	LastSeen time.Time
	// Newest is the event time of the newest record learned from the
	// address (the allowed lateness is applied per address).
	Newest state.Instant
	// Failures are the address's password failures, by event time.
	Failures []SprayFailure
	// Users are the users who signed in with a password from the address.
	Users []SprayUser
	// HasUsers says which of the two stores the address comes from.
	HasUsers bool
}

// SprayFailure is a password failure as snapshotted.
type SprayFailure struct {
	// At is the failure's event time.
	At state.Instant
	// User is the hash of the user name, for counting distinct users.
	User uint64
	// ID is the failure's record: the attempt detection's evidence.
	ID state.RecordID
	// Name is the user who failed: the attempt detection's owner.
	Name string
}

// SprayUser is a user who signed in from an address, as snapshotted.
type SprayUser struct {
	// User is the user's name.
	User string
	// First and Last are the user's first and last sign-ins from the
	// address.
	First, Last state.Sec
}

// sourcesPerStep is how many addresses Sources copies at a time under the
// processing lock.
const sourcesPerStep = 256

// Sources yields every address's counters, least recently used first in
// each store, copied sourcesPerStep at a time in a function run by locked
// (under the lock that guards the detector), so that a snapshot does not
// hold the lock while it encodes and writes them.
func (d *PasswordSpray) Sources(locked func(func())) iter.Seq[SpraySource] {
	failures := state.Copies(d.failures, locked, sourcesPerStep, func(key string, lastSeen time.Time, v *sprayFailures) SpraySource {
		s := SpraySource{Address: key, LastSeen: lastSeen, Newest: v.newest, Failures: make([]SprayFailure, len(v.list))}
		for i, f := range v.list {
			s.Failures[i] = SprayFailure{At: f.at, User: f.user, ID: f.id, Name: f.name}
		}
		return s
	})
	users := state.Copies(d.users, locked, sourcesPerStep, func(key string, lastSeen time.Time, v *sourceUsers) SpraySource {
		s := SpraySource{Address: key, LastSeen: lastSeen, Newest: v.newest, Users: make([]SprayUser, len(v.users)), HasUsers: true}
		for i, u := range v.users {
			s.Users[i] = SprayUser{User: u.user, First: u.first, Last: u.last}
		}
		return s
	})
	return func(yield func(SpraySource) bool) {
		for s := range failures {
			if !yield(s) {
				return
			}
		}
		for s := range users {
			if !yield(s) {
				return
			}
		}
	}
}

// RestoreSource puts an address's snapshotted counters back, as most
// recently used in its store (restoring Sources' sequence in order rebuilds
// the recency order), within the caps the live path keeps: a snapshot
// written with other caps, or damaged, holds no more than they allow.
func (d *PasswordSpray) RestoreSource(s SpraySource) {
	if s.HasUsers {
		v := sourceUsers{newest: s.Newest}
		for _, u := range s.Users {
			v.users = append(v.users, sourceUser{user: u.User, first: u.First, last: u.Last})
		}
		if n := max(maxSourceUsers, d.opts.MinUsers); len(v.users) > n {
			// The most recently seen, as addSourceUser keeps them.
			slices.SortStableFunc(v.users, func(a, b sourceUser) int { return cmp.Compare(b.last, a.last) })
			v.users = v.users[:n]
		}
		d.users.Restore(s.Address, s.LastSeen, v)
		return
	}
	v := sprayFailures{newest: s.Newest}
	for _, f := range s.Failures {
		v.list = append(v.list, sprayFailure{at: f.At, user: f.User, id: f.ID, name: f.Name})
	}
	if n := len(v.list) - maxSprayFailures; n > 0 {
		v.list = v.list[n:] // the newest, as the live cap keeps
	}
	d.failures.Restore(s.Address, s.LastSeen, v)
}
