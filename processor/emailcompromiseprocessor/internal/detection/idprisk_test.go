package detection

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestIdPRisk(t *testing.T) {
	trusted := NewPolicy(PolicyOptions{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	downgrade := NewIdPRisk(trusted, IdPRiskOptions{})
	suppress := NewIdPRisk(trusted, IdPRiskOptions{TrustedNetworkAction: TrustedNetworkSuppress})
	user := "bob@contoso.com"
	tests := []struct {
		name       string
		d          *IdPRisk
		record     string
		wantSev    Severity // 0: no finding
		wantReason string
	}{
		{"Graph high risk during sign-in", downgrade,
			graphSignIn{user: user, at: t0, ip: "198.51.100.7", riskLevel: "high", riskState: "atRisk", riskEvents: []string{"unfamiliarFeatures"}}.json(),
			SeverityHigh, "riskLevelDuringSignIn=high, riskLevelAggregated=none, riskState=atRisk, risk events unfamiliarFeatures"},
		{"aggregated medium only", downgrade, graphSignIn{user: user, at: t0, ip: "198.51.100.7", riskAgg: "medium", riskState: "atRisk"}.json(), SeverityMedium, "riskLevelAggregated=medium"},
		{"risk events without a level (no P2 licence)", downgrade, graphSignIn{user: user, at: t0, ip: "198.51.100.7", riskLevel: "hidden", riskEvents: []string{"anonymizedIPAddress"}}.json(), SeverityMedium, "risk events anonymizedIPAddress"},
		{"confirmed compromised", downgrade, graphSignIn{user: user, at: t0, ip: "198.51.100.7", riskLevel: "high", riskState: "confirmedCompromised"}.json(), SeverityCritical, ""},
		{"dismissed by an admin", downgrade, graphSignIn{user: user, at: t0, ip: "198.51.100.7", riskLevel: "high", riskState: "dismissed"}.json(), 0, ""},
		{"remediated", downgrade, graphSignIn{user: user, at: t0, ip: "198.51.100.7", riskLevel: "medium", riskState: "remediated"}.json(), 0, ""},
		{"confirmed safe", downgrade, graphSignIn{user: user, at: t0, ip: "198.51.100.7", riskLevel: "high", riskState: "confirmedSafe"}.json(), 0, ""},
		{"no risk", downgrade, graphSignIn{user: user, at: t0, ip: "198.51.100.7"}.json(), 0, ""},
		{"Azure Monitor shape, failed sign-in", downgrade,
			azureMonitor("SignInLogs", graphSignIn{user: user, at: t0, ip: "198.51.100.7", errorCode: 50126, riskLevel: "medium", riskState: "atRisk"}),
			SeverityMedium, "failed sign-in of bob@contoso.com"},
		{"corporate egress not yet a named location: downgraded", downgrade,
			graphSignIn{user: user, at: t0, ip: "203.0.113.40", riskLevel: "high", riskState: "atRisk"}.json(), SeverityMedium, "a trusted network: severity lowered"},
		{"corporate egress, low risk: gone", downgrade, graphSignIn{user: user, at: t0, ip: "203.0.113.40", riskLevel: "low", riskState: "atRisk"}.json(), 0, ""},
		{"corporate egress, suppress", suppress, graphSignIn{user: user, at: t0, ip: "203.0.113.40", riskLevel: "high", riskState: "atRisk"}.json(), 0, ""},
		{"Google suspicious_login", downgrade,
			googleLogin("foo@contoso.com", t0, "67.43.156.13", "suspicious_login", `[{"name":"affected_email_address","value":"foo@contoso.com"}]`), SeverityMedium, "Google reported suspicious_login"},
		{"Google government-backed attack warning", downgrade, googleLogin("foo@contoso.com", t0, "67.43.156.13", "gov_attack_warning", ""), SeverityHigh, ""},
		{"Google leaked password", downgrade, googleLogin("foo@contoso.com", t0, "67.43.156.13", "account_disabled_password_leak", ""), SeverityHigh, ""},
		{"Google disabled a hijacked account", downgrade, googleLogin("foo@contoso.com", t0, "67.43.156.13", "account_disabled_hijacked", ""), SeverityHigh, "account_disabled_hijacked"},
		{"Google disabled a spamming account", downgrade, googleLogin("foo@contoso.com", t0, "67.43.156.13", "account_disabled_spamming_through_relay", ""), SeverityMedium, ""},
		{"Google disabled an account for other reasons", downgrade, googleLogin("foo@contoso.com", t0, "67.43.156.13", "account_disabled_generic", ""), 0, ""},
		{"Google login_success marked suspicious", downgrade,
			googleLogin("foo@contoso.com", t0, "67.43.156.13", "login_success", `[{"name":"is_suspicious","boolValue":true}]`), SeverityMedium, "is_suspicious"},
		{"Google ordinary login", downgrade,
			googleLogin("foo@contoso.com", t0, "67.43.156.13", "login_success", `[{"name":"is_suspicious","boolValue":false}]`), 0, ""},
		{"O365 records carry no risk", downgrade, o365SignIn(user, t0, "198.51.100.7", false, ""), 0, ""},
		{"Entra risk detection: anomalous token", downgrade, riskDetection("anomalousToken", "high", "atRisk", "104.248.1.9"), SeverityHigh,
			"flagged the activity (anomalousToken at 2026-11-20T08:00:00Z) of bob@contoso.com from 104.248.1.9: riskLevelDuringSignIn=high"},
		{"Entra risk detection confirmed compromised", downgrade, riskDetection("leakedCredentials", "high", "confirmedCompromised", ""), SeverityCritical, "leakedCredentials"},
		{"Entra risk detection dismissed", downgrade, riskDetection("unfamiliarFeatures", "medium", "dismissed", "104.248.1.9"), 0, ""},
		{"Entra risk detection from the office", downgrade, riskDetection("unfamiliarFeatures", "medium", "atRisk", "203.0.113.40"), SeverityLow, "severity lowered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(t, tt.d, tt.record)
			if tt.wantSev == 0 {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				rule := RuleIdPRisk
				if strings.HasPrefix(tt.name, "Entra risk detection") {
					rule = RuleRiskDetection
				}
				assert.Equal(t, rule, got[0].Rule)
				assert.Equal(t, tt.wantSev, got[0].Severity)
				assert.Contains(t, got[0].Reason, tt.wantReason)
			}
		})
	}
}

// riskDetection writes a Graph riskDetection (Entra ID Protection) for bob.
func riskDetection(eventType, level, state, ip string) string {
	return fmt.Sprintf(`{"id":"rd-%s","riskEventType":%q,"riskLevel":%q,"riskState":%q,"activity":"signin","ipAddress":%q,
		"activityDateTime":%q,"detectedDateTime":%q,"userPrincipalName":"bob@contoso.com"}`,
		eventType, eventType, level, state, ip, t0.Format("2006-01-02T15:04:05Z"), t0.Add(time.Hour).Format("2006-01-02T15:04:05Z"))
}
