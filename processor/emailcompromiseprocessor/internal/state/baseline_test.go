package state

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSightKeepsFirstAndLastWhateverTheOrder(t *testing.T) {
	times := []Sec{50, 10, 30, 40, 20}
	var list []Sighting[string]
	for _, at := range times {
		list = Sight(list, "DE", at, 4)
	}
	require.Len(t, list, 1)
	assert.Equal(t, Sighting[string]{"DE", 10, 50}, list[0])
	assert.True(t, KnownBefore(list, "DE", 11))
	assert.False(t, KnownBefore(list, "DE", 10), "seen at 10 is not seen before 10")
	assert.False(t, KnownBefore(list, "FR", 100))
}

func TestSightGivesWayToTheStalest(t *testing.T) {
	var list []Sighting[string]
	list = Sight(list, "DE", 100, 2)
	list = Sight(list, "FR", 50, 2)
	list = Sight(list, "US", 70, 2) // full: FR, last seen at 50, gives way
	assert.ElementsMatch(t, []Sighting[string]{{"DE", 100, 100}, {"US", 70, 70}}, list)
	list = Sight(list, "NG", 10, 2) // older than everything kept: dropped
	assert.ElementsMatch(t, []Sighting[string]{{"DE", 100, 100}, {"US", 70, 70}}, list)
}

func TestKnownValuesAreCappedByKind(t *testing.T) {
	var h SignInHistory
	for i := 0; i < MaxKnown+3; i++ {
		h.Sight(ASNKnown(uint32(100+i)), Sec(10+i))
	}
	h.Sight(CountryKnown(CountryOf("DE")), 5) // a country still fits: the cap is per kind
	assert.Len(t, h.KindBefore(KnownASN, 1000), MaxKnown)
	assert.False(t, h.KnownBefore(ASNKnown(100), 1000), "the stalest ASN gave way")
	assert.True(t, h.KnownBefore(ASNKnown(100+MaxKnown+2), 1000))
	assert.True(t, h.KnownBefore(CountryKnown(CountryOf("DE")), 6))
	assert.Equal(t, CountryOf("DE"), h.KindBefore(KnownCountry, 6)[0].Country())
	assert.NotEqual(t, NetworkKnown(netip.MustParseAddr("198.51.100.7")).Kind(), ASNKnown(1).Kind())
}

func TestEarliestAnswersCountsBeforeAnyTime(t *testing.T) {
	// Whatever order the occurrences arrive in, the earliest n are kept.
	for seed := uint64(0); seed < 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 0))
		times := []Sec{5, 9, 1, 7, 3, 8, 2, 6, 4}
		r.Shuffle(len(times), func(i, j int) { times[i], times[j] = times[j], times[i] })
		var e Earliest
		for _, at := range times {
			e = e.Add(at, 4)
			e = e.Add(at, 4) // a record delivered twice counts once
		}
		assert.Equal(t, Earliest{1, 2, 3, 4}, e)
		assert.Equal(t, 0, e.CountBefore(1))
		assert.Equal(t, 2, e.CountBefore(3))
		assert.Equal(t, 4, e.CountBefore(100), "capped at the capacity")
		assert.Equal(t, Sec(1), e.First())
	}
}

func TestPlacesCountSightingsBefore(t *testing.T) {
	berlin, lagos := CellOf(52.52, 13.40), CellOf(6.45, 3.38)
	var places []Place
	for _, at := range []Sec{30, 10, 20} {
		places = SightPlace(places, berlin, at, MaxPlaces, 3)
	}
	places = SightPlace(places, lagos, 25, MaxPlaces, 3)
	assert.Equal(t, 3, SightingsBefore(places, berlin, 31))
	assert.Equal(t, 2, SightingsBefore(places, berlin, 30))
	assert.Equal(t, 1, SightingsBefore(places, lagos, 26))
	assert.Zero(t, SightingsBefore(places, CellOf(40, -74), 100))
}

func TestTimelineInsertsInEventOrderOnce(t *testing.T) {
	var h SignInHistory
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, step := range []struct {
		minute int
		added  bool
	}{{3, true}, {1, true}, {2, true}, {1, false}} { // the last is the same record again
		s := SignIn{At: At(base.Add(time.Duration(step.minute) * time.Minute)), ID: IDOf(fmt.Sprint("id-", step.minute)), City: TextOf("Berlin")}
		assert.Equal(t, step.added, h.AddSignIn(s))
	}
	require.Len(t, h.Recent, 3)
	for i := 1; i < 3; i++ {
		assert.Less(t, h.Recent[i-1].At, h.Recent[i].At)
	}
	assert.Equal(t, 1, FindSignIn(h.Recent, At(base.Add(2*time.Minute)), IDOf("id-2")))
	h.ForgetSignInsBefore(At(base.Add(2 * time.Minute)))
	assert.Len(t, h.Recent, 2)
}

func TestTimelineCapDropsTheOldest(t *testing.T) {
	var m MailHistory
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := 0; i < MaxRecentSends+10; i++ {
		m.AddSend(Send{At: At(base.Add(time.Duration(i) * time.Second)), ID: IDOf(netip.AddrFrom4([4]byte{byte(i >> 8), byte(i), 0, 1}).String())})
	}
	require.Len(t, m.Sends, MaxRecentSends)
	assert.Equal(t, At(base.Add(10*time.Second)), m.Sends[0].At)
	assert.False(t, m.AddSend(Send{At: At(base), ID: IDOf("older than all")}), "a full timeline refuses what is older than all it keeps")
}

func TestHourCountsRing(t *testing.T) {
	var c HourCounts
	c.Add(1000, 3)
	c.Add(1000, 2)
	c.Add(1005, 1)
	n, ok := c.Count(1000)
	assert.True(t, ok)
	assert.Equal(t, 5, n)
	n, ok = c.Count(1003)
	assert.True(t, ok)
	assert.Zero(t, n, "hours without a send are zero")
	c.Add(1000+BaselineHours, 1)
	_, ok = c.Count(1000)
	assert.False(t, ok, "older than the ring")
	n, _ = c.Count(1005)
	assert.Equal(t, 1, n)
	c.Add(900, 4) // older than the ring: ignored
	_, ok = c.Count(900)
	assert.False(t, ok)
	c.Add(2000, 300)
	n, _ = c.Count(2000)
	assert.Equal(t, 255, n, "saturates")
}

func TestRecordIDs(t *testing.T) {
	for _, s := range []string{"85d29e27-be28-4f2c-96c8-08dbbe33c473", "85D29E27-BE28-4F2C-96C8-08DBBE33C473", "-1234567890123",
		"-4839201755638290187", "007", "", "00000000-0000-0000-0000-000000000000", "85d29e27-be28-4f2c-96c8-08dbbe33c47g", "bob-1-198.51.100.7"} {
		id := IDOf(s)
		assert.Equal(t, s, id.String())
		assert.Equal(t, id, IDOf(s), "two conversions of one id compare equal")
		assert.Equal(t, s == "", id.IsZero())
		b, err := id.MarshalBinary()
		require.NoError(t, err)
		var back RecordID
		require.NoError(t, back.UnmarshalBinary(b))
		assert.Equal(t, id, back)
	}
	assert.NotEqual(t, IDOf("85d29e27-be28-4f2c-96c8-08dbbe33c473"), IDOf("85d29e27-be28-4f2c-96c8-08dbbe33c474"))
	assert.NotEqual(t, IDOf("85d29e27-be28-4f2c-96c8-08dbbe33c473").Hash(), IDOf("85d29e27-be28-4f2c-96c8-08dbbe33c474").Hash())
	assert.NotEqual(t, IDOf("12"), IDOf("13"))
	assert.Equal(t, 24, int(unsafe.Sizeof(RecordID{})), "GUIDs and decimal ids need no allocation")
}

func TestNetworkOf(t *testing.T) {
	assert.Equal(t, NetworkOf(netip.MustParseAddr("198.51.100.7")), NetworkOf(netip.MustParseAddr("198.51.100.200")), "one /24")
	assert.NotEqual(t, NetworkOf(netip.MustParseAddr("198.51.100.7")), NetworkOf(netip.MustParseAddr("198.51.101.7")))
	assert.Equal(t, NetworkOf(netip.MustParseAddr("2001:db8:1:2::1")), NetworkOf(netip.MustParseAddr("2001:db8:1:ffff::9")), "one /48")
	assert.Equal(t, NetworkOf(netip.MustParseAddr("198.51.100.7")), NetworkOf(netip.MustParseAddr("::ffff:198.51.100.9")))
	assert.Zero(t, NetworkOf(netip.Addr{}))
}

func TestInstantAndSecRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 123, time.UTC)
	assert.Equal(t, at, At(at).Time())
	assert.True(t, At(time.Time{}).IsZero())
	assert.True(t, Instant(0).Time().IsZero())
	assert.Equal(t, at.Truncate(time.Second), SecOf(at).Time())
	assert.Equal(t, Sec(0), SecOf(time.Time{}))
	assert.Equal(t, Sec(1), SecOf(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)), "before 2000: clamped")
	assert.Equal(t, SecOf(at), At(at).Sec())
}
