package state

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// The snapshot is written in chunks under a generation prefix, then the
// manifest is switched to the new generation, then the old chunks go. A
// crash at any point leaves the previous complete snapshot readable.
//
// Keys carry the layout version of User: a release that changes the layout
// incompatibly raises it, so that an older snapshot is recognised as such
// (ErrOlderLayout) instead of failing to decode half-way.
const (
	layoutVersion = 2
	usersPerChunk = 4096
)

var manifestKey = manifestKeyOf(layoutVersion)

func manifestKeyOf(version int) string {
	return fmt.Sprintf("email_compromise/state/v%d/manifest", version)
}

func chunkKey(version int, generation uint64, chunk int) string {
	return fmt.Sprintf("email_compromise/state/v%d/%d/%d", version, generation, chunk)
}

// ErrOlderLayout says the storage holds a snapshot of an earlier layout
// only. The event-time state of layout 2 cannot be derived from layout 1,
// which kept counts and the latest values instead of sighting times.
var ErrOlderLayout = errors.New("the state snapshot was written in an older layout that this release cannot read")

// snapshotUser is one user as stored.
type snapshotUser struct {
	Key      string
	LastSeen time.Time
	User     User
}

type manifest struct {
	Generation uint64
	Chunks     int
}

// Save writes every user in s to client.
func Save(ctx context.Context, client storage.Client, s *Store[User]) error {
	old, err := readManifest(ctx, client)
	if err != nil {
		return err
	}
	next := manifest{Generation: old.Generation + 1}
	chunk := make([]snapshotUser, 0, usersPerChunk)
	var flushErr error
	flush := func() {
		if flushErr != nil || len(chunk) == 0 {
			return
		}
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(chunk); err != nil {
			flushErr = fmt.Errorf("encode state chunk: %w", err)
			return
		}
		flushErr = client.Set(ctx, chunkKey(layoutVersion, next.Generation, next.Chunks), buf.Bytes())
		next.Chunks++
		chunk = chunk[:0]
	}
	s.Each(func(key string, lastSeen time.Time, u *User) {
		chunk = append(chunk, snapshotUser{Key: key, LastSeen: lastSeen, User: *u})
		if len(chunk) == usersPerChunk {
			flush()
		}
	})
	flush()
	if flushErr != nil {
		return flushErr
	}
	if err := client.Set(ctx, manifestKey, encodeManifest(next)); err != nil {
		return err
	}
	deletes := make([]*storage.Operation, 0, old.Chunks)
	for i := 0; i < old.Chunks; i++ {
		deletes = append(deletes, storage.DeleteOperation(chunkKey(layoutVersion, old.Generation, i)))
	}
	if v, err := olderLayout(ctx, client); err == nil && v > 0 {
		// Every layout so far writes the same manifest and chunk keys.
		if m, err := readManifestAt(ctx, client, manifestKeyOf(v)); err == nil {
			for i := 0; i < m.Chunks; i++ {
				deletes = append(deletes, storage.DeleteOperation(chunkKey(v, m.Generation, i)))
			}
		}
		deletes = append(deletes, storage.DeleteOperation(manifestKeyOf(v)))
	}
	if len(deletes) == 0 {
		return nil
	}
	return client.Batch(ctx, deletes...)
}

// olderLayout returns the newest older layout version with a manifest in
// storage, or 0.
func olderLayout(ctx context.Context, client storage.Client) (int, error) {
	for v := layoutVersion - 1; v >= 1; v-- {
		data, err := client.Get(ctx, manifestKeyOf(v))
		if err != nil {
			return 0, err
		}
		if data != nil {
			return v, nil
		}
	}
	return 0, nil
}

// Load restores the latest snapshot into s and returns how many users it
// read. When only a snapshot of an older layout exists it returns an error
// wrapping ErrOlderLayout, and the next Save removes that snapshot.
func Load(ctx context.Context, client storage.Client, s *Store[User]) (int, error) {
	m, err := readManifest(ctx, client)
	if err != nil {
		return 0, err
	}
	if m.Chunks == 0 {
		if v, err := olderLayout(ctx, client); err != nil || v > 0 {
			if err == nil {
				err = fmt.Errorf("%w (layout v%d found, v%d expected)", ErrOlderLayout, v, layoutVersion)
			}
			return 0, err
		}
	}
	n := 0
	for i := 0; i < m.Chunks; i++ {
		data, err := client.Get(ctx, chunkKey(layoutVersion, m.Generation, i))
		if err != nil {
			return n, err
		}
		if data == nil {
			return n, fmt.Errorf("state snapshot generation %d lacks chunk %d", m.Generation, i)
		}
		var users []snapshotUser
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&users); err != nil {
			return n, fmt.Errorf("decode state chunk %d: %w", i, err)
		}
		for _, u := range users {
			s.Restore(u.Key, u.LastSeen, u.User)
			n++
		}
	}
	return n, nil
}

func readManifest(ctx context.Context, client storage.Client) (manifest, error) {
	return readManifestAt(ctx, client, manifestKey)
}

func readManifestAt(ctx context.Context, client storage.Client, key string) (manifest, error) {
	data, err := client.Get(ctx, key)
	if err != nil || data == nil {
		return manifest{}, err
	}
	gen, chunks, ok := bytes.Cut(data, []byte{' '})
	if !ok {
		return manifest{}, errors.New("state snapshot manifest is corrupt")
	}
	g, err1 := strconv.ParseUint(string(gen), 10, 64)
	c, err2 := strconv.Atoi(string(chunks))
	if err1 != nil || err2 != nil || c < 0 {
		return manifest{}, errors.New("state snapshot manifest is corrupt")
	}
	return manifest{Generation: g, Chunks: c}, nil
}

func encodeManifest(m manifest) []byte {
	return []byte(strconv.FormatUint(m.Generation, 10) + " " + strconv.Itoa(m.Chunks))
}
