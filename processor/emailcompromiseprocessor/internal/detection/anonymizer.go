package detection

import (
	"fmt"
	"net/netip"
	"strings"
)

// RuleAnonymizer is Anonymizer's detection: a successful sign-in through
// an anonymizer or a hosting provider.
var RuleAnonymizer = &Rule{
	ID:         CategoryRiskySignIn + "/anonymizer_or_hosting",
	Category:   CategoryRiskySignIn,
	Title:      "Successful sign-in from an anonymizer or hosting network",
	Techniques: []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts, "T1090.003"},
	Reference:  "https://learn.microsoft.com/entra/id-protection/concept-identity-protection-risks#anonymous-ip-address",
}

// AnonymizerOptions list the networks that count as anonymizers or hosting.
type AnonymizerOptions struct {
	// Networks are CIDRs of Tor exits, commercial VPN and proxy services.
	Networks []netip.Prefix
	// HostingASNs are autonomous systems of hosting providers (needs
	// geoip.asn_database unless the record carries its ASN).
	HostingASNs []uint32
}

// Anonymizer detects successful sign-ins through anonymizing or hosting
// infrastructure, where employees rarely are and attackers usually are:
// Entra's anonymizedIPAddress risk events, and the networks and hosting
// ASNs the organisation lists.
type Anonymizer struct {
	opts    AnonymizerOptions
	hosting map[uint32]bool
}

// NewAnonymizer returns the detector; with no networks nor hosting ASNs it
// reads Entra's anonymized-address risk events only.
func NewAnonymizer(opts AnonymizerOptions) *Anonymizer {
	d := &Anonymizer{opts: opts, hosting: map[uint32]bool{}}
	for _, a := range opts.HostingASNs {
		d.hosting[a] = true
	}
	return d
}

// Rules returns RuleAnonymizer.
func (d *Anonymizer) Rules() []*Rule { return []*Rule{RuleAnonymizer} }

// Detect fires, medium, on a successful sign-in that Entra reported from an
// anonymous address or that came from a listed network or hosting ASN.
func (d *Anonymizer) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if !successfulSignIn(r) {
		return out
	}
	var why string
	for _, t := range r.SignIn.RiskEventTypes {
		if strings.EqualFold(t, "anonymizedIPAddress") || strings.EqualFold(t, "anonymousIPAddress") {
			why = "Entra reported risk event " + t
		}
	}
	if why == "" {
		for _, n := range d.opts.Networks {
			if r.ClientIP.IsValid() && n.Contains(r.ClientIP) {
				why = "the address is in listed anonymizer network " + n.String()
				break
			}
		}
	}
	if why == "" && d.hosting[r.SignIn.ASN] {
		why = fmt.Sprintf("the address belongs to listed hosting provider AS%d", r.SignIn.ASN)
	}
	if why == "" {
		return out
	}
	return append(out, Finding{
		Rule:     RuleAnonymizer,
		Severity: SeverityMedium,
		Reason:   fmt.Sprintf("%s signed in from %s: %s.", r.User, r.ClientAddress, why),
	})
}
