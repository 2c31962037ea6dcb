package detection

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestMFAFatigue(t *testing.T) {
	d := NewMFAFatigue(MFAFatigueOptions{MinPrompts: 3, Window: 10 * time.Minute})
	denied := func(at time.Time) string {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: "198.51.100.7", errorCode: 500121, detail: "MFA denied; user declined the authentication"}.json()
	}
	interrupt := func(at time.Time, code int) string {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: "198.51.100.7", errorCode: code}.json()
	}
	ok := func(at time.Time) string {
		return graphSignIn{user: "bob@contoso.com", at: at, ip: "198.51.100.7"}.json()
	}
	m := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	tests := []struct {
		name    string
		records []string
		want    string
	}{
		{"three denials then approval", []string{denied(m(0)), denied(m(1)), denied(m(2)), ok(m(3))}, "after 3 MFA denials or repeated MFA prompts within 10m0s"},
		{"50074/50076 loop then approval (Azure Monitor)", []string{
			azureMonitor("SignInLogs", graphSignIn{user: "bob@contoso.com", at: m(0), ip: "198.51.100.7", errorCode: 50074}),
			azureMonitor("SignInLogs", graphSignIn{user: "bob@contoso.com", at: m(1), ip: "198.51.100.7", errorCode: 50076}),
			azureMonitor("SignInLogs", graphSignIn{user: "bob@contoso.com", at: m(2), ip: "198.51.100.7", errorCode: 50074}),
			azureMonitor("SignInLogs", graphSignIn{user: "bob@contoso.com", at: m(3), ip: "198.51.100.7"})}, "after 3"},
		{"one prompt then success is ordinary MFA", []string{interrupt(m(0), 50074), ok(m(1))}, ""},
		{"500121 without a denial (timeout) does not count", []string{
			graphSignIn{user: "bob@contoso.com", at: m(0), ip: "198.51.100.7", errorCode: 500121, detail: "Authentication failed during strong authentication request."}.json(),
			graphSignIn{user: "bob@contoso.com", at: m(1), ip: "198.51.100.7", errorCode: 500121, detail: "Authentication failed during strong authentication request."}.json(),
			interrupt(m(2), 50074), ok(m(3))}, ""},
		{"prompts spread over an hour", []string{denied(m(0)), denied(m(20)), denied(m(40)), ok(m(45))}, ""},
		{"denials without a success", []string{denied(m(0)), denied(m(1)), denied(m(2)), denied(m(3))}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lastFindings(t, tt.records, d)
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, RuleMFAFatigue, got[0].Rule)
				assert.Equal(t, SeverityHigh, got[0].Severity)
				assert.Contains(t, got[0].Reason, tt.want)
			}
		})
	}
}
