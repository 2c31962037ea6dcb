package state

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestStoreEvictsLeastRecentlyUsed(t *testing.T) {
	s := New[User](3, time.Hour)
	for _, u := range []string{"a", "b", "c"} {
		s.Touch(u, t0)
	}
	s.Touch("a", t0.Add(time.Second)) // a is now the most recent; b the least
	s.Touch("d", t0.Add(2*time.Second))
	assert.Equal(t, 3, s.Len())
	assert.Nil(t, s.Get("b"), "the least recently used user is evicted")
	assert.NotNil(t, s.Get("a"))
	assert.Equal(t, uint64(1), s.Evictions())
}

func TestStoreExpiresIdleUsers(t *testing.T) {
	s := New[User](10, time.Hour)
	s.Touch("old", t0)
	s.Touch("recent", t0.Add(50*time.Minute))
	assert.Equal(t, 1, s.Expire(t0.Add(61*time.Minute)))
	assert.Nil(t, s.Get("old"))
	assert.NotNil(t, s.Get("recent"))
	assert.Equal(t, uint64(0), s.Evictions(), "expiry is not eviction")
}

func TestStoreStaysBoundedUnderAFlood(t *testing.T) {
	s := New[User](1000, time.Hour)
	for i := 0; i < 100_000; i++ {
		s.Touch(fmt.Sprintf("user%d@contoso.com", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	assert.Equal(t, 1000, s.Len())
	assert.Equal(t, uint64(99_000), s.Evictions())
	assert.NotNil(t, s.Get("user99999@contoso.com"))
	assert.Nil(t, s.Get("user0@contoso.com"))
}

func TestSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	client := storagetest.NewInMemoryClient(component.KindProcessor, component.MustNewID("email_compromise"), "")
	s := New[User](10_000, time.Hour)
	for i := 0; i < 9000; i++ { // more than two chunks
		s.Touch(fmt.Sprintf("user%d@contoso.com", i), t0.Add(time.Duration(i)*time.Second))
	}
	require.NoError(t, Save(ctx, client, s, func(f func()) { f() }))
	// A second save replaces the first generation and removes its chunks.
	s.Touch("late@contoso.com", t0.Add(time.Hour))
	require.NoError(t, Save(ctx, client, s, func(f func()) { f() }))

	restored := New[User](10_000, time.Hour)
	n, err := Load(ctx, client, restored)
	require.NoError(t, err)
	assert.Equal(t, 9001, n)
	assert.Equal(t, 9001, restored.Len())
	var lastSeen time.Time
	restored.Each(func(key string, seen time.Time, _ *User) {
		if key == "late@contoso.com" {
			lastSeen = seen
		}
	})
	assert.Equal(t, t0.Add(time.Hour), lastSeen)

	// Recency order survives: the oldest user is evicted first after restore.
	restored = New[User](9001, time.Hour)
	_, err = Load(ctx, client, restored)
	require.NoError(t, err)
	restored.Touch("new@contoso.com", t0.Add(2*time.Hour))
	assert.Nil(t, restored.Get("user0@contoso.com"))
	assert.NotNil(t, restored.Get("user1@contoso.com"))

	// Only the current generation's chunks remain, and the manifest.
	keys := 0
	require.NoError(t, client.Walk(ctx, func(string, []byte) ([]*storage.Operation, error) { keys++; return nil, nil }))
	assert.Equal(t, (9001+usersPerChunk-1)/usersPerChunk+1, keys)
}

func TestLoadWithoutSnapshot(t *testing.T) {
	client := storagetest.NewInMemoryClient(component.KindProcessor, component.MustNewID("email_compromise"), "")
	n, err := Load(context.Background(), client, New[User](10, time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestLoadCorruptManifest(t *testing.T) {
	ctx := context.Background()
	client := storagetest.NewInMemoryClient(component.KindProcessor, component.MustNewID("email_compromise"), "")
	require.NoError(t, client.Set(ctx, manifestKey, []byte("garbage")))
	_, err := Load(ctx, client, New[User](10, time.Hour))
	assert.ErrorContains(t, err, "manifest is corrupt")
}

// TestLoadOlderLayout: a snapshot written in layout 1 is recognised, not
// half-decoded; the processor then starts empty, and the next save removes it.
func TestLoadOlderLayout(t *testing.T) {
	ctx := context.Background()
	client := storagetest.NewInMemoryClient(component.KindProcessor, component.MustNewID("email_compromise"), "")
	require.NoError(t, client.Set(ctx, "email_compromise/state/v1/manifest", []byte("3 1")))
	require.NoError(t, client.Set(ctx, "email_compromise/state/v1/3/0", []byte("gob of layout 1")))
	s := New[User](10, time.Hour)
	_, err := Load(ctx, client, s)
	require.ErrorIs(t, err, ErrOlderLayout)
	assert.ErrorContains(t, err, "layout v1 found, v3 expected")
	assert.Zero(t, s.Len())

	s.Touch("bob@contoso.com", t0)
	require.NoError(t, Save(ctx, client, s, func(f func()) { f() }))
	var keys []string
	require.NoError(t, client.Walk(ctx, func(k string, _ []byte) ([]*storage.Operation, error) { keys = append(keys, k); return nil, nil }))
	assert.ElementsMatch(t, []string{"email_compromise/state/v3/manifest", "email_compromise/state/v3/1/0"}, keys)
	n, err := Load(ctx, client, New[User](10, time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

// TestSnapshotKeepsEventTimeState: the event-time state of a user (sightings,
// timelines, stages, emissions) survives a round trip.
func TestSnapshotKeepsEventTimeState(t *testing.T) {
	ctx := context.Background()
	client := storagetest.NewInMemoryClient(component.KindProcessor, component.MustNewID("email_compromise"), "")
	s := New[User](10, time.Hour)
	u := s.Touch("bob@contoso.com", t0)
	u.Learned(t0)
	u.SignIns.Sight(CountryKnown(CountryOf("DE")), SecOf(t0))
	u.SignIns.AddSignIn(SignIn{At: At(t0), ID: IDOf("85d29e27-be28-4f2c-96c8-08dbbe33c473"), Kind: SignInSuccess, IP: AddrOf(netip.MustParseAddr("198.51.100.7")), City: TextOf("Berlin")})
	u.MailOf().AddReply(Reply{At: At(t0), ID: IDOf("r-1"), Subject: "RE: Invoice"})
	u.FoundOf().Stages.Add(Stage{Kind: StageAccess, At: At(t0), ID: IDOf("s-1"), Rule: "risky_sign_in/identity_provider_risk"})
	u.FoundOf().Emitted.Add(Emission{Identity: 42, Carrier: 7, At: At(t0)})
	u.FoundOf().Hold(Held{Rule: "bulk_send/send_rate_anomaly", Identity: 9, Evidence: []HeldEvidence{{ID: IDOf("r-2"), At: At(t0)}}})
	require.NoError(t, Save(ctx, client, s, func(f func()) { f() }))
	restored := New[User](10, time.Hour)
	_, err := Load(ctx, client, restored)
	require.NoError(t, err)
	r := restored.Get("bob@contoso.com")
	assert.Equal(t, u.Found, r.Found)
	assert.Equal(t, u.SignIns, r.SignIns)
	assert.Equal(t, u.Mail.Replies, r.Mail.Replies)
	assert.Equal(t, "Berlin", r.SignIns.Recent[0].City.String())
	assert.Equal(t, "198.51.100.7", r.SignIns.Recent[0].IP.String())
	assert.Equal(t, u.Span(), r.Span())
}

// TestStoreWalkAcrossChanges: a pass taken in steps, with the store used
// between them, visits every key held at its start and still held, once,
// in recency order as it then stands; it changes no recency itself.
func TestStoreWalkAcrossChanges(t *testing.T) {
	s := New[User](6, time.Hour)
	for i := range 6 {
		s.Touch(fmt.Sprintf("u%d", i), t0.Add(time.Duration(i)*time.Minute))
	}
	var seen []string
	visit := func(key string, _ time.Time, _ *User) { seen = append(seen, key) }
	s.Walk()
	require.True(t, s.WalkStep(2, visit))
	assert.Equal(t, []string{"u0", "u1"}, seen)
	// The pass is at u2: u2 is used (moves to the front), then u3, where
	// the pass is then, is dropped (as expiry and eviction do), u0 is used
	// again after its visit, and two keys are created, the second evicting
	// u1.
	s.Touch("u2", t0.Add(time.Hour))
	s.remove(s.entries["u3"])
	s.Touch("u0", t0.Add(time.Hour))
	s.Touch("new1", t0.Add(time.Hour))
	s.Touch("new2", t0.Add(time.Hour))
	require.Nil(t, s.Get("u1"))
	for s.WalkStep(1, visit) {
	}
	assert.Equal(t, []string{"u0", "u1", "u4", "u5", "u2"}, seen,
		"u3 is gone, u2 is visited at its new place, u0 once, the new keys not at all")

	var order []string
	s.Each(func(key string, _ time.Time, _ *User) { order = append(order, key) })
	assert.Equal(t, []string{"u4", "u5", "u2", "u0", "new1", "new2"}, order, "the pass changed no recency")

	// The next pass visits everything, the new keys included.
	seen = nil
	s.Walk()
	for s.WalkStep(100, visit) {
	}
	assert.Equal(t, order, seen)

	// A key evicted while the pass is at it: the pass goes on from the next.
	s = New[User](2, time.Hour)
	s.Touch("a", t0)
	s.Touch("b", t0)
	s.Walk()
	s.Touch("c", t0) // evicts a
	seen = nil
	for s.WalkStep(1, visit) {
	}
	assert.Equal(t, []string{"b"}, seen)
}

// TestSnapshotOfManyChunksKeepsEachUser: Save copies users into memory it
// reuses from one chunk to the next; every user of three chunks comes back
// as it was, none with another's history.
func TestSnapshotOfManyChunksKeepsEachUser(t *testing.T) {
	ctx := context.Background()
	client := storagetest.NewInMemoryClient(component.KindProcessor, component.MustNewID("email_compromise"), "")
	s := New[User](10_000, time.Hour)
	const users = 2*usersPerChunk + 100
	for i := range users {
		u := s.Touch(fmt.Sprintf("user%d@contoso.com", i), t0)
		for j := range i % 7 { // users of different sizes, so copies replace larger ones
			u.SignIns.Successes = u.SignIns.Successes.Add(Sec(i+j), 8)
		}
		if i%3 == 0 {
			u.FoundOf().Hold(Held{Rule: fmt.Sprint("rule", i), Identity: uint64(i), Evidence: make([]HeldEvidence, i%5+1)})
		}
	}
	require.NoError(t, Save(ctx, client, s, func(f func()) { f() }))
	restored := New[User](10_000, time.Hour)
	n, err := Load(ctx, client, restored)
	require.NoError(t, err)
	require.Equal(t, users, n)
	for i := range users {
		key := fmt.Sprintf("user%d@contoso.com", i)
		want, got := s.Get(key), restored.Get(key)
		require.Len(t, got.SignIns.Successes, len(want.SignIns.Successes), key)
		for j := range want.SignIns.Successes {
			require.Equal(t, want.SignIns.Successes[j], got.SignIns.Successes[j], key)
		}
		if i%3 == 0 {
			require.Equal(t, want.Found.Held[0].Rule, got.Found.Held[0].Rule, key)
			require.Len(t, got.Found.Held[0].Evidence, len(want.Found.Held[0].Evidence), key)
		} else {
			require.Nil(t, got.Found, key)
		}
	}
}
