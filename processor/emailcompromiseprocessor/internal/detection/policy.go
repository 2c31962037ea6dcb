package detection

import (
	"net/netip"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// ChangeWindow is an announced period in which the listed actors (admins or
// automation app ids) may change the listed targets' mailboxes: migrations,
// offboarding. A target "*" means any mailbox, "*@domain" any of that domain.
type ChangeWindow struct {
	// Actors are admin addresses or automation app ids.
	Actors []string
	// Targets are mailbox addresses or patterns ("*", "*@domain").
	Targets []string
	// Start and End bound the window, both included.
	Start, End time.Time
}

// PolicyOptions is the organisation's configuration, validated.
// Each field is the processor's top-level key of that name in snake case
// (organization_domains, ...).
type PolicyOptions struct {
	// OrganizationDomains are the mail domains that are the
	// organisation's; their subdomains and the tenant's onmicrosoft.com
	// domain are too.
	OrganizationDomains []string
	// TrustedNetworks are corporate egress and VPN ranges.
	TrustedNetworks []netip.Prefix
	// Admins are administrator addresses, beyond those O365 flags.
	Admins []string
	// ChangeWindows announce mailbox changes by admins or automation.
	ChangeWindows []ChangeWindow
	// AuthorizedSenders are addresses and app ids that may send in bulk.
	AuthorizedSenders []string
	// AutomationApps are app ids and service principals whose mailbox
	// changes are expected inside a change window.
	AutomationApps []string
	// ServiceAccounts are scanners, printers and integrations: legacy
	// authentication, bulk sending and impossible travel skip them.
	ServiceAccounts []string
	// SharedMailboxes are mailboxes many people use, from many places:
	// bulk sending and impossible travel skip them.
	SharedMailboxes []string
}

// Policy answers the questions every detector asks about the organisation:
// is this address ours, is this network ours, is this actor allowed to do
// this now. It is what turns the seed's false-positive classes into
// configuration.
type Policy struct {
	domains           []string
	trustedNetworks   []netip.Prefix
	admins            set
	changeWindows     []ChangeWindow
	authorizedSenders set
	automationApps    set
	serviceAccounts   set
	sharedMailboxes   set
}

type set map[string]struct{}

func newSet(values []string) set {
	s := make(set, len(values))
	for _, v := range values {
		s[strings.ToLower(strings.TrimSpace(v))] = struct{}{}
	}
	return s
}

func (s set) has(v string) bool {
	_, ok := s[v]
	return ok
}

// NewPolicy compiles opts. Addresses and app ids compare case-insensitively.
func NewPolicy(opts PolicyOptions) *Policy {
	p := &Policy{
		trustedNetworks:   opts.TrustedNetworks,
		admins:            newSet(opts.Admins),
		authorizedSenders: newSet(opts.AuthorizedSenders),
		automationApps:    newSet(opts.AutomationApps),
		serviceAccounts:   newSet(opts.ServiceAccounts),
		sharedMailboxes:   newSet(opts.SharedMailboxes),
	}
	for _, d := range opts.OrganizationDomains {
		d = strings.ToLower(strings.Trim(strings.TrimSpace(d), "."))
		if d == "" {
			continue
		}
		// Exactly what is configured (and its subdomains): a tenant's
		// onmicrosoft.com name cannot be guessed from its mail domains
		// (mail.fabrikam.co.uk's is not mail.onmicrosoft.com), so it is
		// listed, or read from the record's own tenant domain.
		p.domains = append(p.domains, d)
	}
	for _, w := range opts.ChangeWindows {
		p.changeWindows = append(p.changeWindows, ChangeWindow{
			Actors:  lowerAll(w.Actors),
			Targets: lowerAll(w.Targets),
			Start:   w.Start,
			End:     w.End,
		})
	}
	return p
}

func lowerAll(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.ToLower(strings.TrimSpace(v))
	}
	return out
}

// IsInternal reports whether a normalised recipient address stays inside the
// organisation: an organisation domain or its subdomain, the tenant domain
// the record itself names, an Exchange legacy DN, or a bare alias (a
// recipient object of the directory). Look-alike domains such as
// contoso-payments.com or contoso.com.evil.io are external.
func (p *Policy) IsInternal(addr string, r *auditrecord.Record) bool {
	if addr == "" || auditrecord.IsLegacyDN(addr) {
		return true
	}
	domain := auditrecord.Domain(addr)
	if domain == "" {
		return true
	}
	if r != nil && r.TenantDomain != "" && inDomain(domain, r.TenantDomain) {
		return true
	}
	for _, d := range p.domains {
		if inDomain(domain, d) {
			return true
		}
	}
	return false
}

// inDomain reports whether domain is d or a subdomain of d.
func inDomain(domain, d string) bool {
	return domain == d || (len(domain) > len(d) && strings.HasSuffix(domain, d) && domain[len(domain)-len(d)-1] == '.')
}

// IsTrustedNetwork reports whether ip is inside a configured corporate
// egress or VPN range.
func (p *Policy) IsTrustedNetwork(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	for _, n := range p.trustedNetworks {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the actor is an administrator: listed in admins,
// or flagged by O365 as Admin (UserType 2) or DcAdmin (3).
func (p *Policy) IsAdmin(r *auditrecord.Record) bool {
	return p.admins.has(r.Actor) || r.ActorUserType == 2 || r.ActorUserType == 3
}

// IsAutomation reports whether the action came through a listed automation
// app or service principal.
func (p *Policy) IsAutomation(r *auditrecord.Record) bool {
	return (r.AppID != "" && p.automationApps.has(strings.ToLower(r.AppID))) || p.automationApps.has(r.Actor)
}

// IsSystemActor reports whether Exchange itself acted (NT AUTHORITY\SYSTEM,
// the well-known SID S-1-5-18, O365 UserType 4 System), as when it applies
// organisation configuration to system mailboxes.
func (p *Policy) IsSystemActor(r *auditrecord.Record) bool {
	return strings.HasPrefix(r.Actor, `nt authority\`) || r.Actor == "s-1-5-18" || r.ActorUserType == 4
}

// InChangeWindow reports whether an announced change window covers this
// actor (address or app id) changing this target at the record's time.
func (p *Policy) InChangeWindow(r *auditrecord.Record) bool {
	for _, w := range p.changeWindows {
		if r.Time.Before(w.Start) || r.Time.After(w.End) {
			continue
		}
		if matchesAny(w.Actors, r.Actor) || (r.AppID != "" && matchesAny(w.Actors, strings.ToLower(r.AppID))) {
			if matchesAny(w.Targets, r.Target) {
				return true
			}
		}
	}
	return false
}

func matchesAny(patterns []string, v string) bool {
	for _, p := range patterns {
		switch {
		case p == "*", p == v:
			return true
		case strings.HasPrefix(p, "*@") && strings.HasSuffix(v, p[1:]):
			return true
		}
	}
	return false
}

// IsAuthorizedSender reports whether the mailbox or the sending app may send
// in bulk (marketing relays, notification tools).
func (p *Policy) IsAuthorizedSender(r *auditrecord.Record) bool {
	return p.authorizedSenders.has(r.User) || (r.AppID != "" && p.authorizedSenders.has(strings.ToLower(r.AppID)))
}

// IsServiceAccount reports whether user is a configured service account.
func (p *Policy) IsServiceAccount(user string) bool { return p.serviceAccounts.has(user) }

// IsSharedMailbox reports whether user is a configured shared mailbox.
func (p *Policy) IsSharedMailbox(user string) bool { return p.sharedMailboxes.has(user) }

// ChangeContext says who made a mailbox change to whose mailbox, and whether
// the actor's role makes the change expected when it keeps mail inside the
// organisation. Note is a clause for the reason ("" for self-service).
type ChangeContext struct {
	// Expected is true for a change by Exchange itself, or by an admin or
	// automation app inside a change window.
	Expected bool
	Note     string
}

// ClassifyChange applies the admin and automation rules: Exchange applying
// organisation configuration, or an admin or automation app changing another
// user's mailbox inside a change window covering both, is expected; outside
// a window such a change is evaluated like anyone's and the reason names
// both parties.
func (p *Policy) ClassifyChange(r *auditrecord.Record) ChangeContext {
	switch {
	case p.IsSystemActor(r):
		return ChangeContext{Expected: true, Note: "made by the Exchange system account " + r.Actor}
	case r.SelfService():
		return ChangeContext{}
	case p.IsAdmin(r) || p.IsAutomation(r):
		role := "admin"
		if p.IsAutomation(r) {
			role = "automation app"
		}
		if p.InChangeWindow(r) {
			return ChangeContext{Expected: true, Note: "made by " + role + " " + r.Actor + " on " + r.Target + " inside a change window"}
		}
		return ChangeContext{Note: "made by " + role + " " + r.Actor + " on " + r.Target + " outside any change window"}
	}
	return ChangeContext{Note: "made by " + r.Actor + " on another user's mailbox " + r.Target}
}
