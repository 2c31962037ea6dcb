package detection

import (
	"fmt"
	"strings"
)

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
// password-spray and mailbox-harvest tools use.
const ropcUserAgent = "BAV2ROPC"

// LegacyAuthOptions tune the legacy-authentication detector.
type LegacyAuthOptions struct {
	ClientApps []string
}

// LegacyAuth detects successful sign-ins over legacy protocols (IMAP, POP,
// SMTP AUTH, ActiveSync...) and the ROPC flow. Scanners and printers that
// must use them are listed as service accounts and stay silent.
type LegacyAuth struct {
	policy     *Policy
	clientApps foldSet
}

func NewLegacyAuth(p *Policy, opts LegacyAuthOptions) *LegacyAuth {
	apps := defaultLegacyClientApps
	if len(opts.ClientApps) > 0 {
		apps = newFoldSet(opts.ClientApps)
	}
	return &LegacyAuth{policy: p, clientApps: apps}
}

func (d *LegacyAuth) Rules() []*Rule { return []*Rule{RuleLegacyAuth} }

func (d *LegacyAuth) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if !successfulSignIn(r) || d.policy.IsServiceAccount(r.User) {
		return out
	}
	var how string
	switch {
	case d.clientApps.has(r.SignIn.ClientApp):
		how = "legacy protocol " + r.SignIn.ClientApp
	case containsFold(r.UserAgent, ropcUserAgent):
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

// containsFold reports whether substr (ASCII) is in s, ignoring case,
// without lowercasing a copy of s: only where the first byte matches is the
// rest compared.
func containsFold(s, substr string) bool {
	if substr == "" {
		return true
	}
	first := substr[0] | 0x20
	for i := 0; i+len(substr) <= len(s); i++ {
		if s[i]|0x20 == first && strings.EqualFold(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}

// foldSet is a set of ASCII names matched case-insensitively without an
// allocation per lookup.
type foldSet map[string]struct{}

func newFoldSet(names []string) foldSet {
	s := foldSet{}
	for _, n := range names {
		s[strings.ToLower(n)] = struct{}{}
	}
	return s
}

func (s foldSet) has(name string) bool {
	var buf [64]byte
	if len(name) > len(buf) {
		_, ok := s[strings.ToLower(name)]
		return ok
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	_, ok := s[string(buf[:len(name)])]
	return ok
}

// defaultLegacyClientApps is DefaultLegacyClientApps as a set.
var defaultLegacyClientApps = newFoldSet(DefaultLegacyClientApps)
