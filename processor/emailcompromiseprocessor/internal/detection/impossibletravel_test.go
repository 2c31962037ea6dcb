package detection

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

func TestDistanceKm(t *testing.T) {
	assert.InDelta(t, 878, DistanceKm(52.52, 13.405, 48.8566, 2.3522), 5, "Berlin-Paris")
	assert.InDelta(t, 5570, DistanceKm(51.5074, -0.1278, 40.7128, -74.006), 10, "London-New York")
	assert.Zero(t, DistanceKm(10, 10, 10, 10))
}

func TestImpossibleTravel(t *testing.T) {
	p := NewPolicy(PolicyOptions{
		TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		ServiceAccounts: []string{"svc-sync@contoso.com"},
		SharedMailboxes: []string{"info@contoso.com"},
	})
	d := NewImpossibleTravel(p, ImpossibleTravelOptions{MaxSpeedKmh: 900, MinDistanceKm: 500, VPNASNs: []uint32{9009}, MobileASNs: []uint32{21928}, FamiliarSignIns: 3})
	berlin := func(at time.Time) graphSignIn {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: "198.51.100.7", country: "DE", city: "Berlin", lat: 52.52, lon: 13.405}
	}
	lagos := func(at time.Time) graphSignIn {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: "192.0.2.66", country: "NG", city: "Lagos", lat: 6.455, lon: 3.384}
	}
	paris := func(at time.Time) graphSignIn {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: "192.0.2.77", country: "FR", city: "Paris", lat: 48.8566, lon: 2.3522}
	}
	h := func(x float64) time.Time { return t0.Add(time.Duration(x * float64(time.Hour))) }
	with := func(g graphSignIn, f func(*graphSignIn)) string { f(&g); return g.json() }

	tests := []struct {
		name    string
		records []string
		want    bool
	}{
		{"Berlin then Lagos an hour later", []string{berlin(h(0)).json(), lagos(h(1)).json()}, true},
		{"Azure Monitor shape", []string{azureMonitor("SignInLogs", berlin(h(0))), azureMonitor("SignInLogs", lagos(h(1)))}, true},
		{"Berlin then Lagos a day later", []string{berlin(h(0)).json(), lagos(h(24)).json()}, false},
		{"Berlin then Paris (878 km) in 30 min: fast but", []string{berlin(h(0)).json(), paris(h(0.5)).json()}, true},
		{"Berlin then Paris in two hours: a flight", []string{berlin(h(0)).json(), paris(h(2)).json()}, false},
		{"nearer than the minimum distance", []string{berlin(h(0)).json(), with(berlin(h(0.1)), func(g *graphSignIn) { g.ip, g.lat, g.lon = "192.0.2.9", 52.0, 17.0 })}, false},
		{"same second, far apart", []string{berlin(h(0)).json(), lagos(h(0)).json()}, true},
		{"an earlier sign-in arriving late completes the pair", []string{lagos(h(5)).json(), berlin(h(0)).json()}, true},
		{"a few seconds earlier, arriving later", []string{berlin(h(1)).json(), lagos(h(1).Add(-3 * time.Second)).json()}, true},
		{"too far apart in time for any speed to matter", []string{lagos(h(30)).json(), berlin(h(0)).json()}, false},
		{"either end on the corporate VPN egress", []string{with(berlin(h(0)), func(g *graphSignIn) { g.ip = "203.0.113.10" }), lagos(h(1)).json()}, false},
		{"second end on the corporate VPN egress", []string{berlin(h(0)).json(), with(lagos(h(1)), func(g *graphSignIn) { g.ip = "203.0.113.10" })}, false},
		{"same device", []string{with(berlin(h(0)), func(g *graphSignIn) { g.deviceID = "dev-1" }), with(lagos(h(1)), func(g *graphSignIn) { g.deviceID = "dev-1" })}, false},
		{"different devices", []string{with(berlin(h(0)), func(g *graphSignIn) { g.deviceID = "dev-1" }), with(lagos(h(1)), func(g *graphSignIn) { g.deviceID = "dev-2" })}, true},
		{"same IP (geolocation moved, user did not)", []string{berlin(h(0)).json(), with(lagos(h(1)), func(g *graphSignIn) { g.ip = "198.51.100.7" })}, false},
		{"VPN provider ASN", []string{berlin(h(0)).json(), with(lagos(h(1)), func(g *graphSignIn) { g.asn = 9009 })}, false},
		{"mobile carrier ASN", []string{with(berlin(h(0)), func(g *graphSignIn) { g.asn = 21928 }), lagos(h(1)).json()}, false},
		{"both places familiar (commuter between two offices)", []string{
			berlin(h(0)).json(), lagos(h(30)).json(), berlin(h(60)).json(), lagos(h(90)).json(), berlin(h(120)).json(), lagos(h(150)).json(),
			berlin(h(180)).json(), lagos(h(181)).json()}, false},
		{"shared mailbox", []string{with(berlin(h(0)), func(g *graphSignIn) { g.user = "info@contoso.com" }), with(lagos(h(1)), func(g *graphSignIn) { g.user = "info@contoso.com" })}, false},
		{"service account", []string{with(berlin(h(0)), func(g *graphSignIn) { g.user = "svc-sync@contoso.com" }), with(lagos(h(1)), func(g *graphSignIn) { g.user = "svc-sync@contoso.com" })}, false},
		{"failed sign-in does not end a pair", []string{berlin(h(0)).json(), with(lagos(h(1)), func(g *graphSignIn) { g.errorCode = 50126 })}, false},
		{"failed sign-in does not start a pair", []string{with(lagos(h(0)), func(g *graphSignIn) { g.errorCode = 50126 }), berlin(h(1)).json()}, false},
		{"non-interactive sign-in does not end a pair", []string{berlin(h(0)).json(), with(lagos(h(1)), func(g *graphSignIn) { g.interactive = boolPtr(false) })}, false},
		{"non-interactive category (Azure Monitor)", []string{berlin(h(0)).json(), azureMonitor("NonInteractiveUserSignInLogs", lagos(h(1)))}, false},
		{"missing coordinates", []string{berlin(h(0)).json(), with(lagos(h(1)), func(g *graphSignIn) { g.noGeo = true })}, false},
		{"impossible coordinates (lat 999)", []string{berlin(h(0)).json(), with(lagos(h(1)), func(g *graphSignIn) { g.lat = 999 })}, false},
		{"other users' sign-ins do not pair", []string{berlin(h(0)).json(), with(lagos(h(1)), func(g *graphSignIn) { g.user = "alice@contoso.com" })}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lastFindings(t, tt.records, d)
			if !tt.want {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, RuleImpossibleTravel, got[0].Rule)
				assert.Equal(t, SeverityHigh, got[0].Severity)
			}
		})
	}
	// 5203 km: haversine on a 6371 km sphere, computed independently (python math).
	got := lastFindings(t, []string{berlin(h(0)).json(), lagos(h(1)).json()}, d)
	assert.Equal(t, "bob@contoso.com signed in from Berlin, DE (198.51.100.7) at 2026-11-20T08:00:00Z and from Lagos, NG (192.0.2.66) at 2026-11-20T09:00:00Z: 5203 km apart in 1h0m0s, 5203 km/h (threshold 900 km/h).", got[0].Reason)
	assert.Equal(t, []string{"bob@contoso.com-1795161600000000000-198.51.100.7", "bob@contoso.com-1795165200000000000-192.0.2.66"}, evidenceIDs(got[0]))
	got = lastFindings(t, []string{berlin(h(0)).json(), lagos(h(0)).json()}, d)
	assert.Contains(t, got[0].Reason, "5203 km apart in 0s, at once")
	got = lastFindings(t, []string{lagos(h(1)).json(), berlin(h(0)).json()}, d)
	assert.Contains(t, got[0].Reason, "Completed late: this record of 2026-11-20T08:00:00Z arrived after the one of 2026-11-20T09:00:00Z.")
}

// TestImpossibleTravelEveryPair: a sign-in pairs with every sign-in around
// it in event time, not only with the newest, and the end that is the
// user's own (a network known before) is not a stage of a compromise.
func TestImpossibleTravelEveryPair(t *testing.T) {
	d := NewImpossibleTravel(NewPolicy(PolicyOptions{}), ImpossibleTravelOptions{MaxSpeedKmh: 900, MinDistanceKm: 500, FamiliarSignIns: 3})
	seattle := func(at time.Time) string {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: "198.51.100.7", country: "US", city: "Seattle", lat: 47.61, lon: -122.33}.json()
	}
	lagos := graphSignIn{user: "bob@contoso.com", at: t0.Add(48*time.Hour + 30*time.Minute), ip: "192.0.2.66", country: "NG", city: "Lagos", lat: 6.455, lon: 3.384}.json()
	records := []string{seattle(t0), seattle(t0.Add(48 * time.Hour)), lagos, seattle(t0.Add(57 * time.Hour))}
	all := run(t, records, d)
	require.Len(t, all[2], 1, "Lagos pairs with the Seattle sign-in 30 minutes before")
	require.Len(t, all[3], 1, "and with the one nine hours later")
	for _, f := range append(all[2], all[3]...) {
		require.Len(t, f.Anchors, 1)
		assert.Equal(t, "192.0.2.66", f.Anchors[0].IP.String(), "Seattle, known since two days, is the user's own end")
	}
}

func evidenceIDs(f Finding) []string {
	var ids []string
	for _, e := range f.Evidence {
		ids = append(ids, e.ID.String())
	}
	return ids
}

// TestImpossibleTravelAtScale checks a user with a flood of sign-ins from
// everywhere keeps bounded state and still pairs within it.
func TestImpossibleTravelAtScale(t *testing.T) {
	d := NewImpossibleTravel(NewPolicy(PolicyOptions{}), ImpossibleTravelOptions{MaxSpeedKmh: 900, MinDistanceKm: 500, FamiliarSignIns: 3})
	users := state.New[state.User](10, time.Hour)
	suite := NewSuite([]Detector{d}, testSuiteOptions)
	fired := 0
	for i := 0; i < 2000; i++ {
		r := parseRecord(t, graphSignIn{user: "bob@contoso.com", at: t0.Add(time.Duration(i) * time.Minute), ip: fmt.Sprintf("198.51.%d.%d", i/250, i%250),
			lat: float64(i%80) - 40, lon: float64(i%170) - 85}.json())
		ev := Event{Record: r, Now: time.Now(), Users: users.Get, User: users.Touch(r.User, time.Now())}
		if len(suite.Judge(&ev, nil)) > 0 {
			fired++
		}
	}
	u := users.Get("bob@contoso.com")
	assert.Len(t, u.SignIns.Recent, state.MaxRecentSignIns)
	assert.Len(t, u.SignIns.Places, state.MaxPlaces)
	assert.LessOrEqual(t, len(u.Found.Emitted.List), state.MaxEmitted)
	assert.Greater(t, fired, 1900, "a minute apart, every sign-in is thousands of km from its neighbours")
}
