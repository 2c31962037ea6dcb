package detection

import (
	"fmt"
	"strings"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// RuleIdPRisk is IdPRisk's detection: a sign-in the identity provider
// itself judged risky.
var RuleIdPRisk = &Rule{
	ID:         CategoryRiskySignIn + "/identity_provider_risk",
	Category:   CategoryRiskySignIn,
	Title:      "Identity provider flagged the sign-in as risky",
	Techniques: []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts},
	Reference:  "https://learn.microsoft.com/entra/id-protection/concept-identity-protection-risks",
}

// RuleRiskDetection is an Entra ID Protection risk detection reported on
// its own (the riskDetections feed), an access stage like the sign-in's own
// risk.
var RuleRiskDetection = &Rule{
	ID:         CategoryRiskySignIn + "/risk_detection",
	Category:   CategoryRiskySignIn,
	Title:      "Entra ID Protection detected a risk on the user's sign-in or account",
	Techniques: []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts},
	Reference:  "https://learn.microsoft.com/graph/api/resources/riskdetection",
}

// TechniqueValidCloudAccounts is Valid Accounts: Cloud Accounts, the
// technique a sign-in with stolen credentials is.
const TechniqueValidCloudAccounts = "T1078.004"

// Trusted-network actions for identity-provider risk.
const (
	// TrustedNetworkDowngrade lowers the severity one level; low risk
	// is dropped. The default.
	TrustedNetworkDowngrade = "downgrade"
	// TrustedNetworkSuppress drops the risk.
	TrustedNetworkSuppress = "suppress"
)

// IdPRiskOptions tune the identity-provider risk passthrough.
type IdPRiskOptions struct {
	// TrustedNetworkAction is what happens to risk raised from a trusted
	// network: "downgrade" (one level, low disappears) or "suppress".
	TrustedNetworkAction string
}

// IdPRisk passes on the risk the identity provider itself computed: Entra
// ID Protection's riskLevelDuringSignIn / riskLevelAggregated and risk event
// types, Google's suspicious-login and account warnings. Corporate egress
// that is not yet a named location makes Entra flag employees; risk from a
// trusted network is therefore downgraded or suppressed.
type IdPRisk struct {
	policy *Policy
	opts   IdPRiskOptions
}

// NewIdPRisk returns the detector; p tells the trusted networks, and an
// empty TrustedNetworkAction is TrustedNetworkDowngrade.
func NewIdPRisk(p *Policy, opts IdPRiskOptions) *IdPRisk {
	if opts.TrustedNetworkAction == "" {
		opts.TrustedNetworkAction = TrustedNetworkDowngrade
	}
	return &IdPRisk{policy: p, opts: opts}
}

// Rules returns RuleIdPRisk and RuleRiskDetection.
func (d *IdPRisk) Rules() []*Rule { return []*Rule{RuleIdPRisk, RuleRiskDetection} }

// Detect fires on an Entra or Google sign-in, successful or not, that the
// provider flagged, and on an Entra risk detection, at the provider's risk
// level (critical for an account Entra confirmed compromised), lowered or
// dropped from a trusted network.
func (d *IdPRisk) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	rule := RuleIdPRisk
	var sev Severity
	var evidence string
	switch {
	case r.Kind == auditrecord.KindRiskDetection:
		rule = RuleRiskDetection
		sev, evidence = entraRisk(r)
	case r.Kind != auditrecord.KindSignIn:
		return out
	case r.Source == auditrecord.SourceEntraSignIn:
		sev, evidence = entraRisk(r)
	case r.Source == auditrecord.SourceGoogleWorkspace:
		sev, evidence = googleRisk(r)
	}
	if sev == 0 {
		return out
	}
	from := r.ClientAddress
	if d.policy.IsTrustedNetwork(r.ClientIP) {
		if d.opts.TrustedNetworkAction == TrustedNetworkSuppress || sev == SeverityLow {
			return out
		}
		sev--
		from += " (a trusted network: severity lowered)"
	}
	outcome := "sign-in"
	switch {
	case rule == RuleRiskDetection:
		outcome = "activity (" + r.Operation + " at " + stamp(r.Time) + ")"
	case r.Result == auditrecord.ResultFailure:
		outcome = "failed sign-in"
	}
	return append(out, Finding{
		Rule:     rule,
		Severity: sev,
		Reason:   fmt.Sprintf("The identity provider flagged the %s of %s from %s: %s.", outcome, r.User, from, evidence),
	})
}

// entraRisk reads Entra ID Protection's verdict. Risk that an admin
// dismissed, that was remediated or confirmed safe is over; "hidden" means
// no licence to see it and says nothing.
func entraRisk(r *auditrecord.Record) (Severity, string) {
	s := &r.SignIn
	switch strings.ToLower(s.RiskState) {
	case "dismissed", "remediated", "confirmedsafe":
		return 0, ""
	}
	sev := max(riskLevel(s.RiskLevelDuringSignIn), riskLevel(s.RiskLevelAggregated))
	var types []string
	for _, t := range s.RiskEventTypes {
		if t != "" && !strings.EqualFold(t, "none") {
			types = append(types, t)
		}
	}
	if sev == 0 && len(types) > 0 {
		sev = SeverityMedium
	}
	if strings.EqualFold(s.RiskState, "confirmedCompromised") && sev > 0 {
		sev = SeverityCritical
	}
	if sev == 0 {
		return 0, ""
	}
	evidence := fmt.Sprintf("riskLevelDuringSignIn=%s, riskLevelAggregated=%s, riskState=%s", orNone(s.RiskLevelDuringSignIn), orNone(s.RiskLevelAggregated), orNone(s.RiskState))
	if len(types) > 0 {
		evidence += ", risk events " + strings.Join(types, ", ")
	}
	return sev, evidence
}

func riskLevel(level string) Severity {
	switch strings.ToLower(level) {
	case "low":
		return SeverityLow
	case "medium":
		return SeverityMedium
	case "high":
		return SeverityHigh
	}
	return 0
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// googleRisk reads Google's login warnings: suspicious_login*,
// gov_attack_warning (government-backed attacker), an account disabled after
// a password leak or because Google judged it hijacked or spamming, or a
// login Google marked is_suspicious.
func googleRisk(r *auditrecord.Record) (Severity, string) {
	for _, e := range r.Events {
		switch {
		case e.Name == "gov_attack_warning", e.Name == "account_disabled_password_leak", e.Name == "account_disabled_hijacked":
			return SeverityHigh, "Google reported " + e.Name
		case e.Name == "account_disabled_spamming", e.Name == "account_disabled_spamming_through_relay":
			return SeverityMedium, "Google reported " + e.Name
		case strings.HasPrefix(e.Name, "suspicious_login"), e.Name == "suspicious_programmatic_login":
			return SeverityMedium, "Google reported " + e.Name
		}
	}
	if r.SignIn.Suspicious {
		return SeverityMedium, "Google marked the login is_suspicious"
	}
	return 0, ""
}
