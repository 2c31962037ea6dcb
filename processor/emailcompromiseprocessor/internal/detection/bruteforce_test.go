package detection

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

func TestBruteForce(t *testing.T) {
	p := NewPolicy(PolicyOptions{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	d := NewBruteForce(p, BruteForceOptions{MinFailures: 5, Window: 30 * time.Minute})
	failures := func(n int, at func(i int) time.Time, rec func(at time.Time) string) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, rec(at(i)))
		}
		return out
	}
	everyMinute := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	graphFail := func(at time.Time) string {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: "198.51.100.7", errorCode: 50126}.json()
	}
	graphOK := func(at time.Time, ip string) string {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: ip}.json()
	}

	tests := []struct {
		name    string
		records []string
		want    string // reason substring of the last record's finding; "" none
	}{
		{"five Graph failures then success", append(failures(5, everyMinute, graphFail), graphOK(t0.Add(6*time.Minute), "198.51.100.7")), "after 5 failed password attempts within 30m0s"},
		{"O365 UserLoginFailed then UserLoggedIn", append(failures(6, everyMinute, func(at time.Time) string { return o365SignIn("bob@contoso.com", at, "198.51.100.7", true, "") }),
			o365SignIn("bob@contoso.com", t0.Add(7*time.Minute), "198.51.100.7", false, "")), "after 6 failed"},
		{"Google login_failure then login_success", append(failures(5, everyMinute, func(at time.Time) string {
			return googleLogin("bob@contoso.com", at, "198.51.100.7", "login_failure", `[{"name":"login_failure_type","value":"login_failure_invalid_password"}]`)
		}), googleLogin("bob@contoso.com", t0.Add(6*time.Minute), "198.51.100.7", "login_success", "")), "after 5 failed"},
		{"locked-out (50053) and expired (50055) count", []string{
			graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", errorCode: 50053}.json(),
			graphSignIn{user: "bob@contoso.com", at: t0.Add(time.Minute), ip: "198.51.100.7", errorCode: 50055}.json(),
			graphFail(t0.Add(2 * time.Minute)), graphFail(t0.Add(3 * time.Minute)), graphFail(t0.Add(4 * time.Minute)),
			graphOK(t0.Add(5*time.Minute), "198.51.100.7")}, "after 5"},
		{"too few failures", append(failures(4, everyMinute, graphFail), graphOK(t0.Add(5*time.Minute), "198.51.100.7")), ""},
		{"failures spread beyond the window", append(failures(5, func(i int) time.Time { return t0.Add(time.Duration(i) * 10 * time.Minute) }, graphFail),
			graphOK(t0.Add(45*time.Minute), "198.51.100.7")), ""},
		{"other failure codes (MFA interrupt 50074) do not count", append(failures(6, everyMinute, func(at time.Time) string {
			return graphSignIn{user: "bob@contoso.com", at: at, ip: "198.51.100.7", errorCode: 50074}.json()
		}), graphOK(t0.Add(7*time.Minute), "198.51.100.7")), ""},
		{"success from the office network", append(failures(6, everyMinute, graphFail), graphOK(t0.Add(7*time.Minute), "203.0.113.9")), ""},
		{"each success within the window after the burst is one", append(append(failures(5, everyMinute, graphFail), graphOK(t0.Add(6*time.Minute), "198.51.100.7")),
			graphOK(t0.Add(7*time.Minute), "198.51.100.9")), "from 198.51.100.9 at 2026-11-20T08:07:00Z after 5 failed"},
		{"failures of another user do not count", append(failures(5, everyMinute, func(at time.Time) string {
			return graphSignIn{user: "alice@contoso.com", at: at, ip: "198.51.100.7", errorCode: 50126}.json()
		}), graphOK(t0.Add(6*time.Minute), "198.51.100.7")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lastFindings(t, tt.records, d)
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, RuleBruteForce, got[0].Rule)
				assert.Contains(t, got[0].Reason, tt.want)
			}
		})
	}
}

func TestBruteForceStateIsBounded(t *testing.T) {
	d := NewBruteForce(NewPolicy(PolicyOptions{}), BruteForceOptions{MinFailures: 10, Window: time.Hour})
	var records []string
	for i := 0; i < 1000; i++ {
		records = append(records, graphSignIn{user: "bob@contoso.com", at: t0.Add(time.Duration(i) * time.Second), ip: fmt.Sprintf("198.51.100.%d", i%250), errorCode: 50126}.json())
	}
	records = append(records, graphSignIn{user: "bob@contoso.com", at: t0.Add(1001 * time.Second), ip: "198.51.100.7"}.json())
	got := lastFindings(t, records, d)
	if assert.Len(t, got, 1) {
		assert.Contains(t, got[0].Reason, fmt.Sprintf("after %d failed password attempts", state.MaxRecentSignIns-1), "the timeline keeps the newest, the success among them")
	}
}
