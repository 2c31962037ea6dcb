package detection

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
		{"late record (older than the last) never fires", []string{lagos(h(5)).json(), berlin(h(0)).json()}, false},
		{"clock skew: a few seconds earlier is still older", []string{berlin(h(1)).json(), lagos(h(1).Add(-3 * time.Second)).json()}, false},
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
	assert.Equal(t, "bob@contoso.com signed in from Lagos, NG (192.0.2.66) 1h0m0s after Berlin, DE (198.51.100.7): 5203 km apart, 5203 km/h (threshold 900 km/h).", got[0].Reason)
	got = lastFindings(t, []string{berlin(h(0)).json(), lagos(h(0)).json()}, d)
	assert.Contains(t, got[0].Reason, "0s after Berlin, DE (198.51.100.7): 5203 km apart, at once")
}

// TestImpossibleTravelAtScale checks a user with a flood of sign-ins keeps
// bounded state.
func TestImpossibleTravelAtScale(t *testing.T) {
	d := NewImpossibleTravel(NewPolicy(PolicyOptions{}), ImpossibleTravelOptions{MaxSpeedKmh: 900, MinDistanceKm: 500, FamiliarSignIns: 3})
	var records []string
	for i := 0; i < 2000; i++ {
		records = append(records, graphSignIn{user: "bob@contoso.com", at: t0.Add(time.Duration(i) * time.Minute), ip: "198.51.100.7",
			lat: float64(i%80) - 40, lon: float64(i%170) - 85}.json())
	}
	run(t, records, d)
}
