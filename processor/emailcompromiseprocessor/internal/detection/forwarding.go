package detection

import (
	"fmt"
	"strings"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// RuleMailboxForwarding is MailboxForwarding's detection: mailbox-level
// forwarding to an address outside the organisation.
var RuleMailboxForwarding = &Rule{
	ID:         CategoryMailboxRule + "/mailbox_forwarding_external",
	Category:   CategoryMailboxRule,
	Title:      "Mailbox forwarding set to an address outside the organisation",
	Techniques: []string{TechniqueEmailAccounts, TechniqueEmailForwarding},
	Reference:  "https://attack.mitre.org/techniques/T1114/003/",
}

// MailboxForwarding detects mailbox-level forwarding out of the
// organisation: Exchange Set-Mailbox -ForwardingSmtpAddress/-ForwardingAddress
// and Google Workspace email_forwarding_out_of_domain. Unlike an inbox rule it
// copies every message, and with DeliverToMailboxAndForward=False the owner
// no longer sees them at all.
type MailboxForwarding struct {
	policy *Policy
}

// NewMailboxForwarding returns the detector; p tells internal addresses.
func NewMailboxForwarding(p *Policy) *MailboxForwarding { return &MailboxForwarding{policy: p} }

// Rules returns RuleMailboxForwarding.
func (d *MailboxForwarding) Rules() []*Rule { return []*Rule{RuleMailboxForwarding} }

// Detect fires on a successful Set-Mailbox that forwards to an external
// address (high; critical without a copy kept in the mailbox), whoever made
// it, and on Gmail's out-of-domain forwarding (high).
func (d *MailboxForwarding) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if r.Kind != auditrecord.KindMailboxChange || r.Result == auditrecord.ResultFailure {
		return out
	}
	switch r.Source {
	case auditrecord.SourceO365:
		if strings.EqualFold(r.Operation, "Set-Mailbox") {
			return d.setMailbox(r, out)
		}
	case auditrecord.SourceGoogleWorkspace:
		return d.googleForwarding(r, out)
	}
	return out
}

func (d *MailboxForwarding) setMailbox(r *auditrecord.Record, out []Finding) []Finding {
	var external []string
	for _, name := range [...]string{"ForwardingSmtpAddress", "ForwardingAddress"} {
		v, _ := r.Param(name)
		for _, a := range auditrecord.SplitAddresses(v) { // empty: forwarding removed
			if !d.policy.IsInternal(a, r) {
				external = append(external, a)
			}
		}
	}
	if len(external) == 0 {
		return out
	}
	severity, keeps := SeverityHigh, "keeping a copy in the mailbox"
	if v, ok := r.Param("DeliverToMailboxAndForward"); ok && strings.EqualFold(strings.TrimSpace(v), "false") {
		severity, keeps = SeverityCritical, "without keeping a copy (DeliverToMailboxAndForward=False)"
	}
	reason := fmt.Sprintf("Set-Mailbox on %s forwards all mail to external %s %s", r.Target, strings.Join(external, ", "), keeps)
	if note := d.policy.ClassifyChange(r).Note; note != "" {
		reason += ", " + note
	}
	if r.ClientAddress != "" {
		reason += ", from " + r.ClientAddress
	}
	return append(out, Finding{Rule: RuleMailboxForwarding, Severity: severity, Reason: reason + "."})
}

// googleForwarding reads email_forwarding_out_of_domain: Google has already
// judged the destination to be outside the customer's domains.
func (d *MailboxForwarding) googleForwarding(r *auditrecord.Record, out []Finding) []Finding {
	for _, e := range r.Events {
		if e.Name != "email_forwarding_out_of_domain" {
			continue
		}
		dest, _ := e.Param("email_forwarding_destination_address")
		reason := fmt.Sprintf("Gmail forwarding on %s set to out-of-domain address %s", r.Target, auditrecord.NormalizeAddress(dest))
		if r.ClientAddress != "" {
			reason += ", from " + r.ClientAddress
		}
		return append(out, Finding{Rule: RuleMailboxForwarding, Severity: SeverityHigh, Reason: reason + "."})
	}
	return out
}
