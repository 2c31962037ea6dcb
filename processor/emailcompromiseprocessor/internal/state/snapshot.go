package state

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otelsec/emailcompromise/internal/snapshot"
)

// The snapshot is written by internal/snapshot: in chunks under a
// generation, then the manifest switches to it, so that a crash at any point
// leaves the previous complete snapshot readable.
//
// Keys carry the layout version of User: a release that changes the layout
// raises it, so that an older snapshot is recognised as such instead of
// failing to decode half-way, and read (gobLayout) or refused
// (ErrOlderLayout).
const (
	layoutVersion = 3
	// gobLayout is layout 2: the same users, in gob. Load reads it, and
	// the next Save replaces it.
	gobLayout = 2
	// usersPerChunk keeps a chunk's encoding under a megabyte (2.6 KB a
	// user after an office day). With 4,096 users a chunk took 10 MB: its
	// buffer's growth, and the storage's copy of it, were copies of many
	// megabytes into fresh pages that the runtime cannot interrupt, and
	// every collection's stop-the-world waited for them (GC pauses of
	// 15-50 ms in BenchmarkSnapshotPause, under 2 ms with 256).
	usersPerChunk = 256
	// clonesPerLock is how many users Save copies at a time under the
	// processing lock: well under a millisecond of copying.
	clonesPerLock = 128
)

var manifestKey = prefixOf(layoutVersion) + "/manifest"

// prefixOf is where the snapshot of a layout version lives.
func prefixOf(version int) string {
	return fmt.Sprintf("email_compromise/state/v%d", version)
}

// ErrOlderLayout says the storage holds a snapshot of layout 1 only. The
// event-time state of later layouts cannot be derived from layout 1, which
// kept counts and the latest values instead of sighting times.
var ErrOlderLayout = errors.New("the state snapshot was written in an older layout that this release cannot read")

// snapshotUser is one user as stored.
type snapshotUser struct {
	Key      string
	LastSeen time.Time
	User     User
}

// Save writes every user in s to client, and removes a snapshot of an
// older layout. locked runs a function under the lock that guards s:
// Save needs it only to copy a batch of users (clonesPerLock, with
// User.CloneInto), never while encoding or writing, so that processing
// goes on while a snapshot is written. Each user is saved as it stood
// when its batch was copied; a user created after Save began waits for the
// next snapshot.
func Save(ctx context.Context, client storage.Client, s *Store[User], locked func(func())) error {
	locked(s.Walk)
	users := func(yield func(snapshotUser) bool) {
		// The copies of one chunk, reused for the next: snapshot.Save is
		// done with a chunk's items when the yield of its last returns. A
		// batch never runs past the chunk's end, so that it does not
		// overwrite copies of the chunk not yet written.
		slots := make([]snapshotUser, usersPerChunk)
		spares := make([]Spare, usersPerChunk)
		next := 0
		for more := true; more; {
			first := next
			locked(func() {
				more = s.WalkStep(min(clonesPerLock, usersPerChunk-first), func(key string, lastSeen time.Time, u *User) {
					slot := &slots[next]
					slot.Key, slot.LastSeen = key, lastSeen
					u.CloneInto(&slot.User, &spares[next])
					next++
				})
			})
			for _, u := range slots[first:next] {
				if !yield(u) {
					return
				}
			}
			if next == usersPerChunk {
				next = 0
			}
		}
	}
	if _, err := snapshot.Save(ctx, client, prefixOf(layoutVersion), usersPerChunk, nil, users, &userCodec{}); err != nil {
		return err
	}
	if v, err := olderLayout(ctx, client); err == nil && v > 0 {
		return snapshot.Delete(ctx, client, prefixOf(v))
	}
	return nil
}

// olderLayout returns the newest older layout version with a snapshot in
// storage, or 0.
func olderLayout(ctx context.Context, client storage.Client) (int, error) {
	for v := layoutVersion - 1; v >= 1; v-- {
		m, err := snapshot.ReadManifest(ctx, client, prefixOf(v))
		if err != nil {
			return 0, err
		}
		if m.Generation > 0 {
			return v, nil
		}
	}
	return 0, nil
}

// Load restores the latest snapshot into s and returns how many users it
// read, from a snapshot of layout 2 when there is no later one. When only a
// snapshot of layout 1 exists it returns an error wrapping ErrOlderLayout,
// and the next Save removes that snapshot.
func Load(ctx context.Context, client storage.Client, s *Store[User]) (int, error) {
	m, err := snapshot.ReadManifest(ctx, client, prefixOf(layoutVersion))
	if err != nil {
		return 0, err
	}
	restore := func(u snapshotUser) { s.Restore(u.Key, u.LastSeen, u.User) }
	if m.Generation == 0 {
		v, err := olderLayout(ctx, client)
		switch {
		case err != nil:
			return 0, err
		case v == gobLayout:
			n, _, err := snapshot.Load(ctx, client, prefixOf(gobLayout), snapshot.Gob[snapshotUser]{}, restore)
			return n, err
		case v > 0:
			return 0, fmt.Errorf("%w (layout v%d found, v%d expected)", ErrOlderLayout, v, layoutVersion)
		}
	}
	n, _, err := snapshot.Load(ctx, client, prefixOf(layoutVersion), &userCodec{}, restore)
	return n, err
}

// userCodec is the snapshot.Codec of layout 3: a chunk's count of users,
// then the users one after the other, each its key, the time it was last
// seen, and its state (codec.go).
type userCodec struct {
	// lastSize is the size of the chunk encoded before, to size the next.
	lastSize int
}

// yieldEvery is how many users Encode encodes between yields of its core:
// a record's goroutine that the scheduler took off a core (it does so every
// 10 ms while others wait) gets one back after a few users' encoding
// rather than after the snapshot's whole time slice.
const yieldEvery = 16

func (c *userCodec) Encode(users []snapshotUser) ([]byte, error) {
	e := encoder{b: make([]byte, 0, c.lastSize+c.lastSize/8)}
	e.uint(uint64(len(users)))
	for i := range users {
		e.str(users[i].Key)
		e.time(users[i].LastSeen)
		putUser(&e, &users[i].User)
		if i%yieldEvery == yieldEvery-1 {
			runtime.Gosched()
		}
	}
	c.lastSize = len(e.b)
	return e.b, nil
}

// Decode restores a chunk's users only once all of them are read: a chunk
// that is corrupt anywhere, or holds fewer or more users than it says,
// restores none.
func (*userCodec) Decode(data []byte, restore func(snapshotUser)) error {
	d := decoder{b: data}
	var users []snapshotUser
	for n := d.small(uint64(len(data))); uint64(len(users)) < n && d.err == nil; {
		var u snapshotUser
		u.Key = d.str()
		u.LastSeen = d.time()
		getUser(&d, &u.User)
		users = append(users, u)
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail()
	}
	if d.err != nil {
		return d.err
	}
	for _, u := range users {
		restore(u)
	}
	return nil
}
