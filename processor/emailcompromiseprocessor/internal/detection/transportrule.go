package detection

import (
	"fmt"
	"strings"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// RuleTransportRule is TransportRule's detection: a mail flow rule sending
// the organisation's mail to an external address.
var RuleTransportRule = &Rule{
	ID:         CategoryMailboxRule + "/transport_rule_external_copy",
	Category:   CategoryMailboxRule,
	Title:      "Transport rule copies or redirects the organisation's mail outside it",
	Techniques: []string{TechniqueEmailAccounts, "T1114.003", "T1020"},
	Reference:  "https://attack.mitre.org/techniques/T1114/003/",
}

// transportRuleRecipients are the New-/Set-TransportRule parameters that
// send mail to extra recipients.
var transportRuleRecipients = []string{"BlindCopyTo", "CopyTo", "RedirectMessageTo", "AddToRecipients", "AddManagerAsRecipientType"}

// TransportRule detects Exchange transport (mail flow) rules that blind-copy,
// copy or redirect mail to addresses outside the organisation: one compromised
// admin account then reads every mailbox. Admin or not, inside a change
// window or not, an external destination always fires.
type TransportRule struct {
	policy *Policy
}

// NewTransportRule returns the detector; p tells internal addresses.
func NewTransportRule(p *Policy) *TransportRule { return &TransportRule{policy: p} }

// Rules returns RuleTransportRule.
func (d *TransportRule) Rules() []*Rule { return []*Rule{RuleTransportRule} }

// Detect fires, critical, on a successful New-TransportRule or
// Set-TransportRule whose copy, blind-copy, redirect or add-recipient
// parameters name an external address.
func (d *TransportRule) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if r.Kind != auditrecord.KindMailboxChange || r.Source != auditrecord.SourceO365 || r.Result == auditrecord.ResultFailure {
		return out
	}
	if !strings.EqualFold(r.Operation, "New-TransportRule") && !strings.EqualFold(r.Operation, "Set-TransportRule") {
		return out
	}
	var external []string
	for _, name := range transportRuleRecipients {
		v, _ := r.Param(name)
		for _, a := range auditrecord.SplitAddresses(v) {
			if !d.policy.IsInternal(a, r) {
				external = append(external, name+" "+a)
			}
		}
	}
	if len(external) == 0 {
		return out
	}
	name, _ := r.Param("Name")
	if name == "" {
		name, _ = r.Param("Identity")
	}
	return append(out, Finding{
		Rule:     RuleTransportRule,
		Severity: SeverityCritical,
		Reason: fmt.Sprintf("%s transport rule %q by %s from %s sends mail outside the organisation: %s.",
			r.Operation, name, r.Actor, r.ClientAddress, strings.Join(external, ", ")),
	})
}
