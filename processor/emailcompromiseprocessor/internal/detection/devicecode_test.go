package detection

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDeviceCode(t *testing.T) {
	p := NewPolicy(PolicyOptions{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	detector := func() Detector { return NewDeviceCode(p, DeviceCodeOptions{HostingASNs: []uint32{14061}}) }
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	code := func(ip string, asn int, d time.Duration) graphSignIn {
		return graphSignIn{user: "bob@contoso.com", at: at(d), ip: ip, asn: asn, protocol: "deviceCode"}
	}
	home := graphSignIn{user: "bob@contoso.com", at: at(-72 * time.Hour), ip: "198.51.100.20", asn: 3320}.json()
	tests := []struct {
		name    string
		records []string
		reason  string // "" when silent
	}{
		{"first device code, from a network the user never used", []string{home, code("45.9.148.3", 9009, 0).json()}, "signed in with a device code at 45.9.148.3 from a network the user had not signed in from"},
		{"from a hosting provider", []string{home, code("104.248.1.9", 14061, 0).json()}, "from hosting provider AS14061"},
		{"the tokens refreshed from the attacker's server", []string{home, func() string {
			g := code("45.9.148.3", 9009, time.Hour)
			g.protocol, g.transfer, g.interactive = "none", "deviceCodeFlow", boolPtr(false)
			return g.json()
		}()}, "refreshed a token issued to a device code"},
		{"an admin's CLI login at the office (trusted)", []string{home, code("203.0.113.7", 0, 0).json()}, ""},
		{"from the user's own network", []string{home, code("198.51.100.33", 3320, 0).json()}, ""},
		{"a user who signs in with device codes (a meeting-room device)", []string{code("198.51.100.40", 0, -48*time.Hour).json(), code("45.9.148.3", 9009, 0).json()}, ""},
		{"the device code flow refused", []string{home, func() string {
			g := code("45.9.148.3", 9009, 0)
			g.errorCode = 50126
			return g.json()
		}()}, ""},
		{"a browser sign-in", []string{home, graphSignIn{user: "bob@contoso.com", at: t0, ip: "45.9.148.3", asn: 9009}.json()}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lastFindings(t, tt.records, detector())
			if tt.reason == "" {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, RuleDeviceCode, got[0].Rule)
				assert.Equal(t, SeverityHigh, got[0].Severity)
				assert.Contains(t, got[0].Reason, tt.reason)
			}
		})
	}
}
