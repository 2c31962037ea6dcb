package detection

import (
	"fmt"
	"strings"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// Delegation's detections.
var (
	// RuleDelegation is an Exchange grant of read or send rights on a
	// mailbox to another account.
	RuleDelegation = &Rule{
		ID:         CategoryMailboxRule + "/mailbox_delegation",
		Category:   CategoryMailboxRule,
		Title:      "Mailbox access or send rights granted to another account",
		Techniques: []string{TechniqueEmailAccounts, TechniqueAdditionalEmailDel},
		Reference:  "https://attack.mitre.org/techniques/T1098/002/",
	}
	// RuleEmailMonitor is a Google Workspace email monitor, which copies a
	// user's mail to another address.
	RuleEmailMonitor = &Rule{
		ID:         CategoryMailboxRule + "/email_monitor",
		Category:   CategoryMailboxRule,
		Title:      "Google Workspace email monitor copies a user's mail to another address",
		Techniques: []string{TechniqueEmailAccounts, "T1114.002"},
		Reference:  "https://support.google.com/a/answer/4579696",
	}
	// RuleGmailSettings is a change of Gmail routing, alias or delegation
	// settings.
	RuleGmailSettings = &Rule{
		ID:         CategoryMailboxRule + "/gmail_routing_or_delegation",
		Category:   CategoryMailboxRule,
		Title:      "Gmail routing, alias or delegation setting changed",
		Techniques: []string{TechniqueEmailAccounts, TechniqueAdditionalEmailDel},
		Reference:  "https://attack.mitre.org/techniques/T1098/002/",
	}
)

// Delegation detects grants that let another account read or send as a
// mailbox: Add-MailboxPermission FullAccess, Add-RecipientPermission SendAs,
// Set-Mailbox -GrantSendOnBehalfTo, Add-MailboxFolderPermission on the Inbox
// or the top of the mailbox; and Google's email monitors and Gmail routing,
// alias and delegation settings. Admins and automation inside a change
// window granting internal accounts are silent; an external grantee always
// fires.
type Delegation struct {
	policy *Policy
}

// NewDelegation returns the detector; p tells internal grantees, admins,
// automation and change windows.
func NewDelegation(p *Policy) *Delegation { return &Delegation{policy: p} }

// Rules returns RuleDelegation, RuleEmailMonitor and RuleGmailSettings.
func (d *Delegation) Rules() []*Rule {
	return []*Rule{RuleDelegation, RuleEmailMonitor, RuleGmailSettings}
}

// Detect fires on a successful Exchange delegation cmdlet (medium; high for
// an external grantee) unless it is an expected change to internal
// grantees, and on Google's email monitor (high) and Gmail settings
// (medium) events.
func (d *Delegation) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if r.Kind != auditrecord.KindMailboxChange || r.Result == auditrecord.ResultFailure {
		return out
	}
	switch r.Source {
	case auditrecord.SourceO365:
		return d.exchange(r, out)
	case auditrecord.SourceGoogleWorkspace:
		return d.google(r, out)
	}
	return out
}

// exchange reads the Exchange delegation cmdlets.
func (d *Delegation) exchange(r *auditrecord.Record, out []Finding) []Finding {
	var right, grantee string
	rights, _ := r.Param("AccessRights")
	switch strings.ToLower(r.Operation) {
	case "add-mailboxpermission":
		if !strings.Contains(strings.ToLower(rights), "fullaccess") {
			return out
		}
		right, grantee = "FullAccess", param(r, "User")
	case "add-recipientpermission":
		if !strings.Contains(strings.ToLower(rights), "sendas") {
			return out
		}
		right, grantee = "SendAs", param(r, "Trustee")
	case "set-mailbox":
		grantee = param(r, "GrantSendOnBehalfTo")
		right = "SendOnBehalf"
	case "add-mailboxfolderpermission", "set-mailboxfolderpermission":
		id := param(r, "Identity")
		folder := strings.ToLower(strings.TrimSpace(id[strings.LastIndex(id, ":")+1:]))
		if folder != `\inbox` && folder != `\` && folder != `\top of information store` {
			return out
		}
		right, grantee = rights+" on "+strings.TrimSpace(id[strings.LastIndex(id, ":")+1:]), param(r, "User")
	default:
		return out
	}
	grantees := auditrecord.SplitAddresses(grantee)
	if len(grantees) == 0 {
		return out // e.g. GrantSendOnBehalfTo cleared
	}
	external := false
	for _, g := range grantees {
		external = external || !d.policy.IsInternal(g, r)
	}
	change := d.policy.ClassifyChange(r)
	if change.Expected && !external {
		return out
	}
	severity, where := SeverityMedium, ""
	if external {
		severity, where = SeverityHigh, " (outside the organisation)"
	}
	reason := fmt.Sprintf("%s grants %s on %s to %s%s", r.Operation, right, r.Target, strings.Join(grantees, ", "), where)
	if change.Note != "" {
		reason += ", " + change.Note
	}
	if r.ClientAddress != "" {
		reason += ", from " + r.ClientAddress
	}
	return append(out, Finding{Rule: RuleDelegation, Severity: severity, Reason: reason + "."})
}

func param(r *auditrecord.Record, name string) string {
	v, _ := r.Param(name)
	return v
}

// google reads the Admin console's email monitor and Gmail settings events.
// Their destinations were judged by the admin console, not by us: a monitor
// always fires high; routing, alias and delegation changes fire medium.
func (d *Delegation) google(r *auditrecord.Record, out []Finding) []Finding {
	for _, e := range r.Events {
		name := strings.ToUpper(e.Name)
		switch {
		case name == "CREATE_EMAIL_MONITOR":
			dest, _ := e.Param("EMAIL_MONITOR_DEST_EMAIL")
			out = append(out, Finding{
				Rule:     RuleEmailMonitor,
				Severity: SeverityHigh,
				Reason:   fmt.Sprintf("%s created an email monitor on %s copying its mail to %s.", r.Actor, r.Target, auditrecord.NormalizeAddress(dest)),
			})
		case gmailMailFlowSetting(name, e):
			setting, _ := e.Param("SETTING_NAME")
			detail := e.Name
			if setting != "" {
				detail += " (" + setting + ")"
			}
			out = append(out, Finding{
				Rule:     RuleGmailSettings,
				Severity: SeverityMedium,
				Reason:   fmt.Sprintf("%s changed Gmail setting %s for %s from %s.", r.Actor, detail, r.Target, r.ClientAddress),
			})
		}
	}
	return out
}

// gmailMailFlowSetting reports whether a Google admin event changes where a
// user's mail goes or who may read or send it: delegation, aliases and
// routing events, or a generic Gmail settings event (CHANGE_EMAIL_SETTING,
// CREATE_GMAIL_SETTING...) whose SETTING_NAME is a routing, forwarding,
// relay, delegation or content-compliance setting (as Panther's and Elastic's
// Gmail routing rules read it). Other Gmail settings, such as
// ENABLE_G_SUITE_MARKETPLACE, are not mail flow.
func gmailMailFlowSetting(name string, e auditrecord.Event) bool {
	if strings.Contains(name, "DELEGAT") || strings.Contains(name, "ROUTING") || strings.Contains(name, "ALIAS") {
		return true
	}
	if !strings.Contains(name, "EMAIL_SETTING") && !strings.Contains(name, "GMAIL_SETTING") {
		return false
	}
	setting, _ := e.Param("SETTING_NAME")
	setting = strings.ToUpper(setting)
	for _, part := range mailFlowSettingParts {
		if strings.Contains(setting, part) {
			return true
		}
	}
	return false
}

// mailFlowSettingParts are the words of Gmail setting names that route,
// forward, relay or delegate mail (EMAIL_ROUTE, MESSAGE_ROUTING,
// MESSAGE_SECURITY_RULE content compliance, recipient address maps...).
var mailFlowSettingParts = []string{"ROUT", "FORWARD", "RELAY", "DELEGAT", "ALIAS", "ADDRESS_MAP", "MESSAGE_SECURITY_RULE", "COMPLIANCE"}
