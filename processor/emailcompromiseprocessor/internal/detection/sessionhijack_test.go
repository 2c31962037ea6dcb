package detection

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSessionHijack(t *testing.T) {
	p := NewPolicy(PolicyOptions{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	detector := func() Detector {
		return NewSessionHijack(p, SessionHijackOptions{Window: 2 * time.Hour, MobileASNs: []uint32{6805}})
	}
	// The victim signs in through the attacker's proxy in the Netherlands;
	// the attacker replays the session cookie from a US hosting provider.
	proxy := graphSignIn{user: "bob@contoso.com", at: t0, ip: "45.9.148.3", country: "NL", lat: 52.37, lon: 4.9, asn: 9009, session: "s-1", token: "t-1"}
	replay := func(after time.Duration, ip, country string, asn int) graphSignIn {
		return graphSignIn{user: "bob@contoso.com", at: t0.Add(after), ip: ip, country: country, noGeo: true, asn: asn,
			interactive: boolPtr(false), session: "s-1"}
	}
	home := graphSignIn{user: "bob@contoso.com", at: t0.Add(-72 * time.Hour), ip: "198.51.100.20", country: "DE", lat: 52.5, lon: 13.4, asn: 3320}
	tests := []struct {
		name    string
		records []string
		// fired is the index of the record carrying the detection, -1 for none.
		fired  int
		reason string
	}{
		{"replay from another country ten minutes later", []string{proxy.json(), replay(10*time.Minute, "104.248.1.9", "US", 14061).json()}, 1,
			"the same session was used 10m0s later from 104.248.1.9 (US, AS14061) (another country)"},
		{"the sign-in arrives after the replay: completed on it", []string{replay(10*time.Minute, "104.248.1.9", "US", 14061).json(), proxy.json()}, 1, "another country"},
		{"the token, not the session id, is reused", []string{proxy.json(), func() string {
			g := replay(5*time.Minute, "104.248.1.9", "US", 14061)
			g.session, g.token = "", "t-1"
			return g.json()
		}()}, 1, "the token it issued"},
		{"another network in the same country", []string{proxy.json(), replay(10*time.Minute, "185.107.56.1", "NL", 43350).json()}, 1, "another network, AS43350 after AS9009"},
		{"a phone moving from Wi-Fi to its carrier", []string{
			graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.20", country: "DE", asn: 3320, session: "s-1"}.json(),
			replay(10*time.Minute, "100.64.1.1", "DE", 6805).json()}, -1, ""},
		{"IPv4 and IPv6 of one provider", []string{
			graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.20", country: "DE", asn: 3320, session: "s-1"}.json(),
			replay(10*time.Minute, "2001:db8:3320::1", "DE", 3320).json()}, -1, ""},
		{"the office network (trusted)", []string{proxy.json(), replay(10*time.Minute, "203.0.113.8", "US", 14061).json()}, -1, ""},
		{"the user's own home network, used days before", []string{home.json(), proxy.json(), replay(10*time.Minute, "198.51.100.77", "DE", 3320).json()}, -1, ""},
		{"beyond the window: a laptop carried abroad", []string{proxy.json(), replay(5*time.Hour, "104.248.1.9", "US", 14061).json()}, -1, ""},
		{"another session", []string{proxy.json(), func() string {
			g := replay(10*time.Minute, "104.248.1.9", "US", 14061)
			g.session = "s-2"
			return g.json()
		}()}, -1, ""},
		{"a failed use is no use", []string{proxy.json(), func() string {
			g := replay(10*time.Minute, "104.248.1.9", "US", 14061)
			g.errorCode = 50126
			return g.json()
		}()}, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := run(t, tt.records, detector())
			for i, fs := range all {
				if i != tt.fired {
					assert.Empty(t, fs, "record %d", i)
					continue
				}
				if assert.Len(t, fs, 1, "record %d", i) {
					assert.Equal(t, RuleSessionReplay, fs[0].Rule)
					assert.Equal(t, SeverityHigh, fs[0].Severity)
					assert.Contains(t, fs[0].Reason, tt.reason)
					assert.Len(t, fs[0].Evidence, 2, "the sign-in and the use")
				}
			}
		})
	}
}
