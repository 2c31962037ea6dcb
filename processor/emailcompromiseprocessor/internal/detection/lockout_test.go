package detection

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAccountLockout(t *testing.T) {
	p := NewPolicy(PolicyOptions{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	detector := func() Detector { return NewLockout(p, LockoutOptions{MinLockouts: 3, Window: 30 * time.Minute}) }
	lock := func(ip string, d time.Duration) string {
		return graphSignIn{user: "bob@contoso.com", at: t0.Add(d), ip: ip, asn: 9009, errorCode: 50053}.json()
	}
	home := graphSignIn{user: "bob@contoso.com", at: t0.Add(-72 * time.Hour), ip: "198.51.100.20", asn: 3320}.json()
	tests := []struct {
		name    string
		records []string
		fired   []int // indexes of the records carrying a lockout detection
	}{
		{"three lockouts from a foreign address: the third and later", []string{home, lock("45.9.148.3", 0), lock("45.9.148.3", time.Minute),
			lock("45.9.148.3", 2*time.Minute), lock("45.9.148.3", 3*time.Minute)}, []int{3, 4}},
		{"two lockouts are no burst", []string{home, lock("45.9.148.3", 0), lock("45.9.148.3", time.Minute)}, nil},
		{"lockouts spread beyond the window", []string{home, lock("45.9.148.3", 0), lock("45.9.148.3", 20*time.Minute), lock("45.9.148.3", 40*time.Minute)}, nil},
		{"at the office (trusted)", []string{home, lock("203.0.113.5", 0), lock("203.0.113.5", time.Minute), lock("203.0.113.5", 2*time.Minute)}, nil},
		{"the user at home, mistyping", []string{home, lock("198.51.100.20", 0), lock("198.51.100.20", time.Minute), lock("198.51.100.20", 2*time.Minute)}, nil},
		{"wrong passwords, then a success", []string{home,
			graphSignIn{user: "bob@contoso.com", at: t0, ip: "45.9.148.3", errorCode: 50126}.json(),
			graphSignIn{user: "bob@contoso.com", at: t0.Add(time.Minute), ip: "45.9.148.3", errorCode: 50126}.json(),
			graphSignIn{user: "bob@contoso.com", at: t0.Add(2 * time.Minute), ip: "45.9.148.3"}.json()}, nil},
		{"the first lockout arrives last and completes the third", []string{home, lock("45.9.148.3", time.Minute), lock("45.9.148.3", 2*time.Minute), lock("45.9.148.3", 0)}, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fired []int
			for i, fs := range run(t, tt.records, detector()) {
				for _, f := range fs {
					assert.Equal(t, RuleAccountLockout, f.Rule)
					assert.Equal(t, SeverityMedium, f.Severity)
					fired = append(fired, i)
				}
			}
			assert.Equal(t, tt.fired, fired)
		})
	}
}
