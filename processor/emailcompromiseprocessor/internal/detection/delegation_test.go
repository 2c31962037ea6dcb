package detection

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDelegation(t *testing.T) {
	d := NewDelegation(testPolicy())
	tests := []struct {
		name    string
		record  string
		rule    *Rule
		sev     Severity
		reasons []string
	}{
		{"user grants FullAccess on own mailbox to a colleague", cmdlet("Add-MailboxPermission", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com", "User", "eve@contoso.com", "AccessRights", "FullAccess"),
			RuleDelegation, SeverityMedium, []string{"Add-MailboxPermission grants FullAccess on bob@contoso.com to eve@contoso.com"}},
		{"FullAccess to an external guest", cmdlet("Add-MailboxPermission", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com", "User", "eve@evil.io", "AccessRights", "FullAccess"),
			RuleDelegation, SeverityHigh, []string{"to eve@evil.io (outside the organisation)"}},
		{"admin in a change window (offboarding hand-over): silent", cmdlet("Add-MailboxPermission", "it-admin@contoso.com", 2, inWindow, "Identity", "leaver@contoso.com", "User", "manager@contoso.com", "AccessRights", "FullAccess"), nil, 0, nil},
		{"admin outside any window (Splunk sample shape)", cmdlet("Add-MailboxPermission", "pbareiss@contoso.com", 2, outWindow, "Identity", "jhernan", "User", "Patrick Bareiss", "AccessRights", "FullAccess", "InheritanceType", "All"),
			RuleDelegation, SeverityMedium, []string{"on jhernan to patrick bareiss", "made by admin pbareiss@contoso.com on jhernan outside any change window"}},
		{"Exchange system account (Huntress sample shape): silent", cmdlet("Add-MailboxPermission", `NT AUTHORITY\SYSTEM (Microsoft.Exchange.ServiceHost)`, 3, outWindow, "Identity", "DiscoverySearchMailbox{D919BA05}", "User", "Discovery Management", "AccessRights", "FullAccess"), nil, 0, nil},
		{"ReadPermission is not access to mail", cmdlet("Add-MailboxPermission", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com", "User", "eve@contoso.com", "AccessRights", "ReadPermission"), nil, 0, nil},
		{"SendAs", cmdlet("Add-RecipientPermission", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com", "Trustee", "eve@contoso.com", "AccessRights", "SendAs"),
			RuleDelegation, SeverityMedium, []string{"grants SendAs on bob@contoso.com to eve@contoso.com"}},
		{"GrantSendOnBehalfTo", cmdlet("Set-Mailbox", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com", "GrantSendOnBehalfTo", "eve@contoso.com"),
			RuleDelegation, SeverityMedium, []string{"grants SendOnBehalf"}},
		{"GrantSendOnBehalfTo cleared", cmdlet("Set-Mailbox", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com", "GrantSendOnBehalfTo", ""), nil, 0, nil},
		{"Inbox folder permission", cmdlet("Add-MailboxFolderPermission", "bob@contoso.com", 0, outWindow, "Identity", `bob@contoso.com:\Inbox`, "User", "eve@contoso.com", "AccessRights", "Reviewer"),
			RuleDelegation, SeverityMedium, []string{`grants Reviewer on \Inbox on bob@contoso.com to eve@contoso.com`}},
		{"Calendar folder permission is not mail", cmdlet("Add-MailboxFolderPermission", "bob@contoso.com", 0, outWindow, "Identity", `bob@contoso.com:\Calendar`, "User", "eve@contoso.com", "AccessRights", "Reviewer"), nil, 0, nil},
		{"Google email monitor", googleAdmin("admin@contoso.com", "CREATE_EMAIL_MONITOR", `[{"name":"USER_EMAIL","value":"cfo@contoso.com"},{"name":"EMAIL_MONITOR_DEST_EMAIL","value":"watch@evil.io"}]`),
			RuleEmailMonitor, SeverityHigh, []string{"admin@contoso.com created an email monitor on cfo@contoso.com copying its mail to watch@evil.io"}},
		{"Gmail delegation added", googleAdmin("admin@contoso.com", "ADD_GMAIL_DELEGATE", `[{"name":"USER_EMAIL","value":"cfo@contoso.com"}]`),
			RuleGmailSettings, SeverityMedium, []string{"changed Gmail setting ADD_GMAIL_DELEGATE for cfo@contoso.com"}},
		{"Gmail routing setting", googleAdmin("admin@contoso.com", "CHANGE_EMAIL_SETTING", `[{"name":"SETTING_NAME","value":"MESSAGE_ROUTING"}]`),
			RuleGmailSettings, SeverityMedium, []string{"CHANGE_EMAIL_SETTING (MESSAGE_ROUTING)"}},
		{"Gmail default routing rule (Panther's test event)", googleAdmin("admin@contoso.com", "CREATE_GMAIL_SETTING", `[{"name":"SETTING_NAME","value":"MESSAGE_SECURITY_RULE"},{"name":"USER_DEFINED_SETTING_NAME","value":"Copy to archive"}]`),
			RuleGmailSettings, SeverityMedium, []string{"CREATE_GMAIL_SETTING (MESSAGE_SECURITY_RULE)"}},
		{"Gmail email route (Elastic's rule)", googleAdmin("admin@contoso.com", "CHANGE_GMAIL_SETTING", `[{"name":"SETTING_NAME","value":"EMAIL_ROUTE"}]`),
			RuleGmailSettings, SeverityMedium, []string{"(EMAIL_ROUTE)"}},
		{"Gmail setting that is no mail flow: Marketplace", googleAdmin("admin@contoso.com", "CHANGE_EMAIL_SETTING", `[{"name":"SETTING_NAME","value":"ENABLE_G_SUITE_MARKETPLACE"},{"name":"NEW_VALUE","value":"true"}]`), nil, 0, nil},
		{"Gmail setting that is no mail flow: spam filter", googleAdmin("admin@contoso.com", "CREATE_GMAIL_SETTING", `[{"name":"SETTING_NAME","value":"SPAM_CONTROL"}]`), nil, 0, nil},
		{"unrelated admin event", googleAdmin("admin@contoso.com", "CHANGE_PASSWORD", `[{"name":"USER_EMAIL","value":"cfo@contoso.com"}]`), nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(t, d, tt.record)
			if tt.rule == nil {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, tt.rule, got[0].Rule)
				assert.Equal(t, tt.sev, got[0].Severity)
				for _, r := range tt.reasons {
					assert.Contains(t, got[0].Reason, r)
				}
			}
		})
	}
}

// googleAdmin writes an Admin console audit activity.
func googleAdmin(actor, event, params string) string {
	return `{"kind":"admin#reports#activity","id":{"time":"2026-11-20T09:00:00Z","uniqueQualifier":"77","applicationName":"admin","customerId":"C0"},` +
		`"actor":{"email":"` + actor + `"},"ipAddress":"198.51.100.4","events":[{"type":"EMAIL_SETTINGS","name":"` + event + `","parameters":` + params + `}]}`
}
