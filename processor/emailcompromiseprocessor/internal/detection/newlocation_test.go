package detection

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNewLocation(t *testing.T) {
	p := NewPolicy(PolicyOptions{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	d := NewNewLocation(p, NewLocationOptions{LearningPeriod: 14 * 24 * time.Hour, LearningSignIns: 10})
	home := func(n int, asn int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, graphSignIn{user: "bob@contoso.com", at: t0.Add(time.Duration(i) * time.Hour), ip: "198.51.100.7", country: "DE", city: "Berlin", lat: 52.5, lon: 13.4, asn: asn}.json())
		}
		return out
	}
	abroad := func(at time.Time, ip string, asn int) string {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: ip, country: "NG", city: "Lagos", lat: 6.45, lon: 3.38, asn: asn}.json()
	}
	// The baseline is read as it stood a day (the allowed lateness) before
	// each sign-in: the home sign-ins of the first ten hours are history
	// for a sign-in 35 hours in.
	at := func(hours float64) time.Time { return t0.Add(time.Duration(hours * float64(time.Hour))) }
	tests := []struct {
		name    string
		records []string
		want    []string
	}{
		{"new country after ten sign-ins", append(home(10, 0), abroad(at(35), "198.51.100.99", 0)), []string{"risky_sign_in/new_country"}},
		{"new country and new ASN", append(home(10, 3320), abroad(at(35), "198.51.100.99", 37148)), []string{"risky_sign_in/new_country", "risky_sign_in/new_asn"}},
		{"still learning: nine sign-ins before the allowed lateness", append(home(9, 0), abroad(at(34), "198.51.100.99", 0)), []string{}},
		{"still learning: the ten sign-ins are within the allowed lateness", append(home(10, 0), abroad(at(11), "198.51.100.99", 0)), []string{}},
		{"learned by time: two sign-ins fifteen days apart", []string{home(1, 0)[0], abroad(t0.Add(15*24*time.Hour), "198.51.100.99", 0)}, []string{"risky_sign_in/new_country"}},
		{"known country", append(home(10, 0), graphSignIn{user: "bob@contoso.com", at: at(35), ip: "198.51.100.8", country: "DE", lat: 48.1, lon: 11.6}.json()), []string{}},
		{"a country first used within the allowed lateness is still new", append(home(10, 0), abroad(at(30), "198.51.100.99", 0), abroad(at(40), "198.51.100.99", 0)), []string{"risky_sign_in/new_country"}},
		{"and known once older than that", append(home(10, 0), abroad(at(12), "198.51.100.99", 0), abroad(at(40), "198.51.100.99", 0)), []string{}},
		{"from the office network", append(home(10, 0), abroad(at(35), "203.0.113.9", 0)), []string{}},
		{"a failed sign-in from abroad", append(home(10, 0), graphSignIn{user: "bob@contoso.com", at: at(35), ip: "198.51.100.99", country: "NG", errorCode: 50126}.json()), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lastFindings(t, tt.records, d)
			assert.Equal(t, tt.want, ruleIDs(got))
			for _, f := range got {
				assert.Equal(t, SeverityLow, f.Severity)
			}
		})
	}
	// The reason says what was known, and when.
	got := lastFindings(t, append(home(10, 0), abroad(at(35), "198.51.100.99", 0)), d)
	assert.Equal(t, "bob@contoso.com signed in from Lagos, NG (198.51.100.99), a country not used before 2026-11-20T19:00:00Z (known: DE).", got[0].Reason)
}
