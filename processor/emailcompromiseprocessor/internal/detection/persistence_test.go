package detection

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPersistence(t *testing.T) {
	windowStart := t0.Add(-time.Hour)
	p := NewPolicy(PolicyOptions{
		TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		Admins:          []string{"it-admin@contoso.com"},
		ChangeWindows:   []ChangeWindow{{Actors: []string{"it-admin@contoso.com"}, Targets: []string{"*@contoso.com"}, Start: windowStart, End: t0.Add(time.Hour)}},
	})
	detectors := func() []Detector {
		return []Detector{NewIdPRisk(p, IdPRiskOptions{TrustedNetworkAction: TrustedNetworkDowngrade}), NewPersistence(p, PersistenceOptions{RiskWindow: 24 * time.Hour, MinKnownIPs: 3})}
	}
	const bob = "bob@contoso.com"
	// Three networks learned days before: enough history to call an
	// address new.
	history := []string{
		graphSignIn{user: bob, at: t0.Add(-96 * time.Hour), ip: "198.51.100.20"}.json(),
		graphSignIn{user: bob, at: t0.Add(-95 * time.Hour), ip: "198.51.101.20"}.json(),
		graphSignIn{user: bob, at: t0.Add(-94 * time.Hour), ip: "198.51.102.20"}.json(),
	}
	risky := graphSignIn{user: bob, at: t0.Add(-2 * time.Hour), ip: "45.9.148.3", riskLevel: "high", riskState: "atRisk"}.json()
	mfa := func(ip string) string {
		return entraAudit("User registered security info", bob, bob, ip, t0, "")
	}
	withHistory := func(records ...string) []string { return append(append([]string{}, history...), records...) }
	type want struct {
		rule     *Rule
		severity Severity
		evidence int
		reason   string
	}
	tests := []struct {
		name    string
		records []string
		want    []want // the findings of the persistence rules on the last record
	}{
		{"MFA method registered from a new address", withHistory(mfa("45.9.148.3")),
			[]want{{RuleSecurityInfo, SeverityMedium, 1, "User registered security info at 2026-11-20T08:00:00Z from an address the user had not signed in from 45.9.148.3"}}},
		{"from a new address with little history: low", []string{mfa("45.9.148.3")},
			[]want{{RuleSecurityInfo, SeverityLow, 1, "little history"}}},
		{"a new phone from a known address, no prior risk", withHistory(mfa("198.51.101.44")), nil},
		{"at the office (trusted)", withHistory(mfa("203.0.113.9")), nil},
		{"from a known address two hours after a risky sign-in", withHistory(risky, mfa("198.51.101.44")),
			[]want{{RuleSecurityInfo, SeverityHigh, 2, "2h0m0s after a risky sign-in (risky_sign_in/identity_provider_risk"}}},
		{"the risky sign-in arrives after the change and completes it", withHistory(mfa("198.51.101.44"), risky),
			[]want{{RuleSecurityInfo, SeverityHigh, 2, "after a risky sign-in"}}},
		{"Google 2-step verification turned off from a new address", withHistory(googleAccountEvent(bob, "45.9.148.3", "2sv_disable", t0)),
			[]want{{RuleSecurityInfo, SeverityMedium, 1, "2sv_disable"}}},
		{"a device registered from a new address", withHistory(entraAudit("Register device", bob, bob, "45.9.148.3", t0, "")),
			[]want{{RuleDeviceRegistered, SeverityMedium, 1, "Register device"}}},
		{"consent to a mail app from a new address", withHistory(o365Consent(bob, "45.9.148.3", "Mail Sync Pro", t0, "Mail.ReadWrite", "offline_access")),
			[]want{{RuleMailAppConsent, SeverityHigh, 1, "consent to Mail Sync Pro for Mail.ReadWrite offline_access"}}},
		{"consent to a mail app after a risky sign-in: critical", withHistory(risky, o365Consent(bob, "198.51.101.44", "Mail Sync Pro", t0, "Mail.Read")),
			[]want{{RuleMailAppConsent, SeverityCritical, 2, "after a risky sign-in"}}},
		{"consent without mail scopes", withHistory(o365Consent(bob, "45.9.148.3", "Calendar Helper", t0, "User.Read", "Calendars.Read", "offline_access")), nil},
		{"an admin resetting MFA inside a change window", withHistory(risky, entraAudit("Admin registered security info", "it-admin@contoso.com", bob, "45.9.148.3", t0, "")), nil},
		{"a failed change", withHistory(func() string {
			return `{"id":"Directory_f","activityDisplayName":"User registered security info","activityDateTime":"2026-11-20T08:00:00Z","result":"failure",
				"initiatedBy":{"user":{"userPrincipalName":"bob@contoso.com","ipAddress":"45.9.148.3"}},"targetResources":[{"userPrincipalName":"bob@contoso.com"}]}`
		}()), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testSuiteOptions
			opts.Policy = p
			all := runWith(t, opts, tt.records, detectors()...)
			var got []Finding
			for _, f := range all[len(all)-1] {
				if f.Rule.Category == CategoryPersistence {
					got = append(got, f)
				}
			}
			if !assert.Len(t, got, len(tt.want)) {
				for _, f := range got {
					t.Log(f.Rule.ID, f.Severity, f.Reason)
				}
				return
			}
			for i, w := range tt.want {
				assert.Equal(t, w.rule, got[i].Rule)
				assert.Equal(t, w.severity, got[i].Severity)
				assert.Len(t, got[i].Evidence, w.evidence)
				assert.Contains(t, got[i].Reason, w.reason)
			}
		})
	}
}
