package detection

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// googleEvent writes a Reports API activity as the API returns it.
func googleEvent(application, actor, event, params string) string {
	return `{"kind":"admin#reports#activity","id":{"time":"2026-11-20T09:00:00.000Z","uniqueQualifier":"-4821","applicationName":"` + application +
		`","customerId":"C03az79cb"},"actor":{"callerType":"USER","email":"` + actor + `","profileId":"1"},"ownerDomain":"contoso.com","ipAddress":"198.51.100.7",` +
		`"events":[{"type":"email_forwarding_change","name":"` + event + `","parameters":` + params + `}]}`
}

func TestMailboxForwarding(t *testing.T) {
	d := NewMailboxForwarding(testPolicy())
	tests := []struct {
		name       string
		record     string
		wantRules  []string
		wantSev    Severity
		wantReason []string
	}{
		{
			name:       "self-service forwarding to an external address",
			record:     cmdlet("Set-Mailbox", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com", "ForwardingSmtpAddress", "smtp:attacker@evil.io"),
			wantRules:  []string{"mailbox_rule/mailbox_forwarding_external"},
			wantSev:    SeverityHigh,
			wantReason: []string{"Set-Mailbox on bob@contoso.com forwards all mail to external attacker@evil.io keeping a copy", "185.73.124.135"},
		},
		{
			name:       "no copy kept raises severity",
			record:     cmdlet("Set-Mailbox", "bob@contoso.com", 0, outWindow, "Identity", "bob", "ForwardingSmtpAddress", "SMTP:Attacker@Evil.io", "DeliverToMailboxAndForward", "False"),
			wantRules:  []string{"mailbox_rule/mailbox_forwarding_external"},
			wantSev:    SeverityCritical,
			wantReason: []string{"without keeping a copy (DeliverToMailboxAndForward=False)"},
		},
		{
			name:      "forwarding removed (Splunk sample shape)",
			record:    cmdlet("Set-Mailbox", "pbareiss@contoso.com", 2, outWindow, "ForwardingAddress", "", "Identity", "bpatel@contoso.com"),
			wantRules: []string{},
		},
		{
			name:      "forwarding to a colleague",
			record:    cmdlet("Set-Mailbox", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com", "ForwardingSmtpAddress", "smtp:alice@contoso.com"),
			wantRules: []string{},
		},
		{
			name:      "forwarding to a recipient object by alias",
			record:    cmdlet("Set-Mailbox", "it-admin@contoso.com", 0, outWindow, "Identity", "leaver@contoso.com", "ForwardingAddress", "Team Lead"),
			wantRules: []string{},
		},
		{
			name:       "admin in a change window forwarding outside still fires",
			record:     cmdlet("Set-Mailbox", "it-admin@contoso.com", 0, inWindow, "Identity", "leaver@contoso.com", "ForwardingSmtpAddress", "smtp:leaver@gmail.com"),
			wantRules:  []string{"mailbox_rule/mailbox_forwarding_external"},
			wantReason: []string{"made by admin it-admin@contoso.com on leaver@contoso.com inside a change window"},
		},
		{
			name:      "Set-Mailbox without forwarding parameters",
			record:    cmdlet("Set-Mailbox", `NT AUTHORITY\SYSTEM (Microsoft.Exchange.ServiceHost)`, 3, outWindow, "Identity", "SystemMailbox{bb558c35}", "Arbitration", "True"),
			wantRules: []string{},
		},
		{
			name:       "Gmail forwarding out of domain (Elastic sample value form)",
			record:     googleEvent("user_accounts", "foo@contoso.com", "email_forwarding_out_of_domain", `[{"name":"email_forwarding_destination_address","value":"[user@email.com](mailto:user@email.com)"}]`),
			wantRules:  []string{"mailbox_rule/mailbox_forwarding_external"},
			wantSev:    SeverityHigh,
			wantReason: []string{"Gmail forwarding on foo@contoso.com set to out-of-domain address user@email.com", "198.51.100.7"},
		},
		{
			name:      "other Google account events",
			record:    googleEvent("user_accounts", "foo@contoso.com", "2sv_disable", `[]`),
			wantRules: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(t, d, tt.record)
			assert.Equal(t, tt.wantRules, ruleIDs(got))
			if len(got) == 0 {
				return
			}
			if tt.wantSev != 0 {
				assert.Equal(t, tt.wantSev, got[0].Severity)
			}
			for _, s := range tt.wantReason {
				assert.Contains(t, got[0].Reason, s)
			}
		})
	}
}
