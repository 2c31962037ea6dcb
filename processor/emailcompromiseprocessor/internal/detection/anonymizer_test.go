package detection

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAnonymizer(t *testing.T) {
	d := NewAnonymizer(AnonymizerOptions{
		Networks:    []netip.Prefix{netip.MustParsePrefix("185.220.100.0/22")},
		HostingASNs: []uint32{14061},
	})
	tests := []struct {
		name   string
		record string
		want   string
	}{
		{"Entra anonymizedIPAddress risk event", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", riskEvents: []string{"anonymizedIPAddress"}}.json(), "Entra reported risk event anonymizedIPAddress"},
		{"listed Tor exit network (O365)", o365SignIn("bob@contoso.com", t0, "185.220.101.4", false, ""), "listed anonymizer network 185.220.100.0/22"},
		{"listed Tor exit network (Google)", googleLogin("bob@contoso.com", t0, "185.220.101.4", "login_success", ""), "185.220.100.0/22"},
		{"hosting ASN the record carries (Graph beta)", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", asn: 14061}.json(), "listed hosting provider AS14061"},
		{"ordinary network", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", asn: 3320}.json(), ""},
		{"failed attempt from Tor", graphSignIn{user: "bob@contoso.com", at: t0, ip: "185.220.101.4", errorCode: 50126}.json(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(t, d, tt.record)
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, RuleAnonymizer, got[0].Rule)
				assert.Contains(t, got[0].Reason, tt.want)
			}
		})
	}
}
