package detection

import (
	"fmt"

	"github.com/otelsec/emailcompromise/internal/asciifold"
)

// RuleLegacyAuth is LegacyAuth's detection: a successful sign-in over a
// protocol that bypasses MFA.
var RuleLegacyAuth = &Rule{
	ID:         CategoryRiskySignIn + "/legacy_authentication",
	Category:   CategoryRiskySignIn,
	Title:      "Successful sign-in with a legacy authentication protocol",
	Techniques: []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts},
	Reference:  "https://learn.microsoft.com/entra/identity/conditional-access/policy-block-legacy-authentication",
}

// DefaultLegacyClientApps are the clientAppUsed values Entra reports for
// protocols that cannot do MFA, so a stolen password alone opens the mailbox.
var DefaultLegacyClientApps = []string{
	"IMAP4", "POP3", "Authenticated SMTP", "Exchange ActiveSync", "Other clients",
	"Exchange Web Services", "MAPI Over HTTP", "Outlook Anywhere (RPC over HTTP)",
	"Offline Address Book", "AutoDiscover", "Exchange Online PowerShell", "Reporting Web Services",
}

// ropcUserAgent is the user agent of the resource-owner password flow that
// password-spray and mailbox-harvest tools use (BAV2ROPC), lowercased for
// asciifold.ContainsLower.
const ropcUserAgent = "bav2ropc"

// LegacyAuthOptions tune the legacy-authentication detector.
type LegacyAuthOptions struct {
	// ClientApps replace DefaultLegacyClientApps (compared ignoring ASCII
	// case).
	ClientApps []string
}

// LegacyAuth detects successful sign-ins over legacy protocols (IMAP, POP,
// SMTP AUTH, ActiveSync...) and the ROPC flow. Scanners and printers that
// must use them are listed as service accounts and stay silent.
type LegacyAuth struct {
	policy     *Policy
	clientApps asciifold.Set
}

// NewLegacyAuth returns the detector; p's service accounts never fire.
func NewLegacyAuth(p *Policy, opts LegacyAuthOptions) *LegacyAuth {
	apps := defaultLegacyClientApps
	if len(opts.ClientApps) > 0 {
		apps = asciifold.NewSet(opts.ClientApps)
	}
	return &LegacyAuth{policy: p, clientApps: apps}
}

// Rules returns RuleLegacyAuth.
func (d *LegacyAuth) Rules() []*Rule { return []*Rule{RuleLegacyAuth} }

// Detect fires, medium, on a successful sign-in whose client app is a
// legacy protocol or whose user agent is the ROPC flow's.
func (d *LegacyAuth) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if !successfulSignIn(r) || d.policy.IsServiceAccount(r.User) {
		return out
	}
	var how string
	switch {
	case d.clientApps.Has(r.SignIn.ClientApp):
		how = "legacy protocol " + r.SignIn.ClientApp
	case asciifold.ContainsLower(r.UserAgent, ropcUserAgent):
		how = "the password-only ROPC flow (user agent " + r.UserAgent + ")"
	default:
		return out
	}
	return append(out, Finding{
		Rule:     RuleLegacyAuth,
		Severity: SeverityMedium,
		Reason:   fmt.Sprintf("%s signed in from %s with %s, which bypasses MFA.", r.User, r.ClientAddress, how),
	})
}

// defaultLegacyClientApps is DefaultLegacyClientApps as a set.
var defaultLegacyClientApps = asciifold.NewSet(DefaultLegacyClientApps)
