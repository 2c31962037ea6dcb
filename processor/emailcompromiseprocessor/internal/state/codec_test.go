package state

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/otelsec/emailcompromise/internal/snapshot"
)

// filledUsers are users with every field of the state set, by reflection
// (so a field added later is set too), each different, one with no
// optional history and one with no state at all.
func filledUsers(t *testing.T) []snapshotUser {
	t.Helper()
	users := make([]snapshotUser, 4)
	for i := range users {
		users[i].Key = fmt.Sprint("user", i, "@contoso.com")
		users[i].LastSeen = time.Unix(int64(1_790_000_000+i), int64(i)).UTC()
		if i < 3 {
			fill(t, reflect.ValueOf(&users[i].User).Elem(), "User", 0, i+1)
		}
	}
	users[2].User.Mail, users[2].User.Account, users[2].User.Found = nil, nil, nil
	return users
}

// TestCodecRoundTrip: users encoded and decoded come back equal, every
// field of the state included: a field added to User without a line in
// codec.go fails here.
func TestCodecRoundTrip(t *testing.T) {
	users := filledUsers(t)
	c := &userCodec{}
	data, err := c.Encode(users)
	require.NoError(t, err)
	var got []snapshotUser
	require.NoError(t, c.Decode(data, func(u snapshotUser) { got = append(got, u) }))
	require.Len(t, got, len(users))
	for i := range users {
		assert.True(t, reflect.DeepEqual(users[i], got[i]), "user %d:\n%+v\n%+v", i, users[i], got[i])
	}
}

// TestCodecRefusesCorruptChunks: every truncation of a chunk, bytes that
// are not one, and a held detection without evidence (which its release
// would index) give an error and restore no user, never a panic.
func TestCodecRefusesCorruptChunks(t *testing.T) {
	c := &userCodec{}
	users := filledUsers(t)
	data, err := c.Encode(users)
	require.NoError(t, err)
	for n := 0; n < len(data); n++ {
		restored := 0
		err := c.Decode(data[:n], func(snapshotUser) { restored++ })
		assert.ErrorIs(t, err, errCorrupt, "a chunk cut at %d", n)
		assert.Zero(t, restored, "a chunk cut at %d", n)
	}
	assert.ErrorIs(t, c.Decode(append(data, 0), func(snapshotUser) {}), errCorrupt, "a byte past the users")
	assert.ErrorIs(t, c.Decode([]byte("not a chunk of users"), func(snapshotUser) {}), errCorrupt)

	users[0].User.Found.Held[0].Evidence = nil
	data, err = c.Encode(users)
	require.NoError(t, err)
	assert.ErrorIs(t, c.Decode(data, func(snapshotUser) { t.Error("a user restored") }), errCorrupt)
}

// FuzzCodecDecode: no input makes Decode panic, and what it decodes encodes
// back to the bytes it came from.
func FuzzCodecDecode(f *testing.F) {
	c := &userCodec{}
	var users []snapshotUser
	for i := range 3 {
		var u snapshotUser
		u.Key = fmt.Sprint("user", i)
		u.User.SignIns.Successes = Earliest{Sec(i), 7}
		u.User.Mail = &MailHistory{Sends: []Send{{At: Instant(i), ID: IDOf("1234")}}, Hours: &HourCounts{Newest: 3}}
		users = append(users, u)
	}
	data, err := c.Encode(users)
	require.NoError(f, err)
	f.Add(data)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []snapshotUser
		if err := c.Decode(data, func(u snapshotUser) { got = append(got, u) }); err != nil {
			return
		}
		again, err := c.Encode(got)
		require.NoError(t, err)
		var back []snapshotUser
		require.NoError(t, c.Decode(again, func(u snapshotUser) { back = append(back, u) }))
		require.True(t, reflect.DeepEqual(got, back))
	})
}

// TestLoadMigratesTheGobLayout: a snapshot of layout 2 (the same users, in
// gob) is read, every field of the state included; the next save writes
// layout 3 and removes it, and reads back the same users.
func TestLoadMigratesTheGobLayout(t *testing.T) {
	ctx := context.Background()
	client := storagetest.NewInMemoryClient(component.KindProcessor, component.MustNewID("email_compromise"), "")
	users := filledUsers(t)
	_, err := snapshot.Save(ctx, client, prefixOf(gobLayout), 2, nil, func(yield func(snapshotUser) bool) {
		for _, u := range users {
			if !yield(u) {
				return
			}
		}
	}, snapshot.Gob[snapshotUser]{})
	require.NoError(t, err)

	s := New[User](10, time.Hour)
	n, err := Load(ctx, client, s)
	require.NoError(t, err)
	require.Equal(t, len(users), n)
	for _, u := range users {
		got := s.Get(u.Key)
		require.NotNil(t, got, u.Key)
		assert.True(t, reflect.DeepEqual(u.User, *got), "%s:\n%+v\n%+v", u.Key, u.User, *got)
	}

	require.NoError(t, Save(ctx, client, s, func(f func()) { f() }))
	var keys []string
	require.NoError(t, client.Walk(ctx, func(k string, _ []byte) ([]*storage.Operation, error) { keys = append(keys, k); return nil, nil }))
	assert.ElementsMatch(t, []string{"email_compromise/state/v3/manifest", "email_compromise/state/v3/1/0"}, keys)
	again := New[User](10, time.Hour)
	n, err = Load(ctx, client, again)
	require.NoError(t, err)
	require.Equal(t, len(users), n)
	for _, u := range users {
		assert.True(t, reflect.DeepEqual(u.User, *again.Get(u.Key)), u.Key)
	}
}
