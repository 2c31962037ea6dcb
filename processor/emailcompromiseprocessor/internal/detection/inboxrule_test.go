package detection

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// cmdlet writes an O365 ExchangeAdmin record as the Management Activity API
// does (shape of the Huntress Purview export's New-InboxRule records).
func cmdlet(op, actor string, userType int, when string, params ...string) string {
	var ps []map[string]string
	for i := 0; i+1 < len(params); i += 2 {
		ps = append(ps, map[string]string{"Name": params[i], "Value": params[i+1]})
	}
	p, _ := json.Marshal(ps)
	return fmt.Sprintf(`{"CreationTime":%q,"Id":"c0ffee00-0000-4000-8000-000000000001","Operation":%q,
		"OrganizationId":"df233d94-fed3-4436-bf9a-a799fb85a159","RecordType":1,"ResultStatus":"True",
		"UserType":%d,"Workload":"Exchange","ClientIP":"185.73.124.135:19823","UserId":%q,
		"OrganizationName":"contoso.onmicrosoft.com","Parameters":%s}`, when, op, userType, actor, p)
}

// mailboxAuditRule writes an UpdateInboxRules mailbox audit record.
func mailboxAuditRule(owner string, props ...string) string {
	var ps []map[string]string
	for i := 0; i+1 < len(props); i += 2 {
		ps = append(ps, map[string]string{"Name": props[i], "Value": props[i+1]})
	}
	p, _ := json.Marshal(ps)
	return fmt.Sprintf(`{"CreationTime":"2026-11-20T10:00:00","Id":"c0ffee00-0000-4000-8000-000000000002",
		"Operation":"UpdateInboxRules","RecordType":2,"ResultStatus":"Succeeded","UserType":0,"Workload":"Exchange",
		"ClientIP":"203.0.113.9","UserId":%q,"MailboxOwnerUPN":%q,"ClientInfoString":"Client=MSExchangeRPC",
		"OperationProperties":%s}`, owner, owner, p)
}

const (
	inWindow  = "2026-11-03T12:00:00"
	outWindow = "2026-11-20T12:00:00"
)

func TestInboxRule(t *testing.T) {
	d := NewInboxRule(testPolicy(), InboxRuleOptions{})
	tests := []struct {
		name       string
		record     string
		wantRules  []string
		wantSev    Severity // of the last finding
		wantReason []string // substrings of the last finding's reason
	}{
		{
			name: "Huntress rogue-inbox rule: one-letter name, Conversation History, read, stop",
			record: cmdlet("New-InboxRule", "DebraB@Contoso.com", 2, outWindow,
				"From", "flag@ctf.com", "MoveToFolder", "Conversation History", "Name", "f", "MarkAsRead", "True", "StopProcessingRules", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantSev:    SeverityHigh,
			wantReason: []string{`inbox rule "f" on debrab@contoso.com`, "moves mail to Conversation History", "marks it as read", "stops processing other rules", "has a 1-character name", "(4 hiding traits)", "185.73.124.135"},
		},
		{
			name:       "forward to an external address",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Sync", "ForwardTo", "attacker@evil.io"),
			wantRules:  []string{"mailbox_rule/inbox_rule_external_forward"},
			wantSev:    SeverityHigh,
			wantReason: []string{"forwards mail to external attacker@evil.io"},
		},
		{
			name:      "forward to a colleague",
			record:    cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Holiday cover", "ForwardTo", "alice@contoso.com"),
			wantRules: []string{},
		},
		{
			name:      "forward to an organisation subdomain",
			record:    cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "EU sales", "ForwardTo", "sales@eu.contoso.com"),
			wantRules: []string{},
		},
		{
			name:      "forward to the tenant's onmicrosoft.com domain",
			record:    cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Ops", "RedirectTo", "ops@contoso.onmicrosoft.com"),
			wantRules: []string{},
		},
		{
			name:       "look-alike domain with a hyphen",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Pay", "ForwardTo", "ap@contoso-payments.com"),
			wantRules:  []string{"mailbox_rule/inbox_rule_external_forward"},
			wantReason: []string{"ap@contoso-payments.com"},
		},
		{
			name:      "look-alike domain with a prefix",
			record:    cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Pay", "ForwardTo", "ap@mycontoso.com"),
			wantRules: []string{"mailbox_rule/inbox_rule_external_forward"},
		},
		{
			name:      "organisation domain as a subdomain of an attacker's",
			record:    cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Pay", "ForwardTo", "ap@contoso.com.evil.io"),
			wantRules: []string{"mailbox_rule/inbox_rule_external_forward"},
		},
		{
			name:      "legacy DN recipient is internal",
			record:    cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Boss", "RedirectTo", "[EX:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=4a1b-alice]"),
			wantRules: []string{},
		},
		{
			name:       "multi-valued list with SMTP prefixes keeps only the external one",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Copy", "ForwardAsAttachmentTo", "SMTP:Attacker@Evil.io;smtp:alice@contoso.com"),
			wantRules:  []string{"mailbox_rule/inbox_rule_external_forward"},
			wantReason: []string{"external attacker@evil.io."},
		},
		{
			name:      "ordinary filing rule: one weak trait does not fire",
			record:    cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Newsletters", "From", "news@vendor.example", "MoveToFolder", "Archive"),
			wantRules: []string{},
		},
		{
			name:       "two weak traits: medium",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Newsletters", "MoveToFolder", "bob@contoso.com:\\Archive", "MarkAsRead", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantSev:    SeverityMedium,
			wantReason: []string{"moves mail to Archive", "marks it as read", "(2 hiding traits)"},
		},
		{
			name:       "deletes invoice mail",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Cleanup", "SubjectOrBodyContainsWords", "Invoice;wire transfer", "DeleteMessage", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantSev:    SeverityMedium,
			wantReason: []string{"deletes mail", "matches invoice, wire"},
		},
		{
			name:       "soft delete alone is strong enough",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Tidy up", "SoftDeleteMessage", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantSev:    SeverityLow,
			wantReason: []string{"deletes mail (1 hiding traits)"},
		},
		{
			name:       "punctuation-only name",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "...", "MarkAsRead", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantSev:    SeverityMedium,
			wantReason: []string{"name of only punctuation or spaces"},
		},
		{
			name:       "repeated-character name and RSS Feeds",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "zzzz", "MoveToFolder", "RSS Feeds"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantSev:    SeverityMedium,
			wantReason: []string{"one repeated character", "moves mail to RSS Feeds"},
		},
		{
			name:       "invisible characters as body words",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Filter", "BodyContainsWords", "\u200b", "MarkAsRead", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantReason: []string{"invisible or control characters"},
		},
		{
			name:       "tiny size range",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Short ones", "WithinSizeRangeMaximum", "5 KB (5,120 bytes)", "MarkAsRead", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantReason: []string{"up to 5120 bytes"},
		},
		{
			name:       "tiny size range written without the byte count",
			record:     cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Short ones", "WithinSizeRangeMaximum", "5 KB", "MarkAsRead", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantReason: []string{"up to 5120 bytes"},
		},
		{
			name:      "rename only: nothing hidden",
			record:    cmdlet("Set-InboxRule", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com\\Newsletters", "Name", "x"),
			wantRules: []string{},
		},
		{
			name:       "Set-InboxRule adds deletion to a rule named in Identity",
			record:     cmdlet("Set-InboxRule", "bob@contoso.com", 0, outWindow, "Identity", "bob@contoso.com\\x", "DeleteMessage", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantReason: []string{`inbox rule "x" on bob@contoso.com`, "has a 1-character name"},
		},
		{
			name:      "admin inside a change window, internal destinations: silent",
			record:    cmdlet("New-InboxRule", "it-admin@contoso.com", 0, inWindow, "Mailbox", "leaver@contoso.com", "Name", "x", "MoveToFolder", "Deleted Items", "ForwardTo", "manager@contoso.com"),
			wantRules: []string{},
		},
		{
			name:       "admin inside a change window, external destination: fires",
			record:     cmdlet("New-InboxRule", "it-admin@contoso.com", 0, inWindow, "Mailbox", "leaver@contoso.com", "Name", "Leaver", "ForwardTo", "leaver@gmail.com"),
			wantRules:  []string{"mailbox_rule/inbox_rule_external_forward"},
			wantReason: []string{"made by admin it-admin@contoso.com on leaver@contoso.com inside a change window"},
		},
		{
			name:       "admin outside any window: fires naming admin and target",
			record:     cmdlet("New-InboxRule", "it-admin@contoso.com", 0, outWindow, "Mailbox", "cfo@contoso.com", "Name", ".", "MoveToFolder", "RSS Subscriptions"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantReason: []string{"on cfo@contoso.com", "made by admin it-admin@contoso.com on cfo@contoso.com outside any change window"},
		},
		{
			name:       "O365 UserType 2 counts as admin without being listed",
			record:     cmdlet("New-InboxRule", "helpdesk@contoso.com", 2, outWindow, "Mailbox", "cfo@contoso.com", "Name", "a", "DeleteMessage", "True"),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantReason: []string{"made by admin helpdesk@contoso.com on cfo@contoso.com outside any change window"},
		},
		{
			name: "automation app inside its window: silent",
			record: strings.Replace(cmdlet("New-InboxRule", "svc-migrate@contoso.com", 0, inWindow, "Mailbox", "bob@contoso.com", "Name", "m", "MoveToFolder", "Archive", "MarkAsRead", "True"),
				`"Workload"`, `"AppId":"5B0A6D52-1C8E-4B4A-9F0E-3F1F2D0C0A11","Workload"`, 1),
			wantRules: []string{},
		},
		{
			name: "failed cmdlet: nothing happened",
			record: strings.Replace(cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "f", "DeleteMessage", "True"),
				`"ResultStatus":"True"`, `"ResultStatus":"False"`, 1),
			wantRules: []string{},
		},
		{
			name:       "Outlook desktop rule, JSON actions, external forward",
			record:     mailboxAuditRule("bob@contoso.com", "RuleOperation", "AddMailboxRule", "RuleName", "Sync", "RuleActions", `[{"ActionType":"Forward","Recipients":["attacker@evil.io"]}]`),
			wantRules:  []string{"mailbox_rule/inbox_rule_external_forward"},
			wantReason: []string{"attacker@evil.io"},
		},
		{
			name:      "Outlook desktop rule, free-text actions",
			record:    mailboxAuditRule("bob@contoso.com", "RuleName", "Updates", "RuleActions", "Forward to evil@example.com", "RuleOperation", "AddMailboxRule"),
			wantRules: []string{"mailbox_rule/inbox_rule_external_forward"},
		},
		{
			name:       "Outlook desktop rule: delete, ExitAfterExecution, dot name",
			record:     mailboxAuditRule("bob@contoso.com", "RuleOperation", "AddMailboxRule", "RuleName", ".", "RuleState", "Enabled, ExitAfterExecution", "RuleCondition", "{(Subject Contains payment)}", "RuleActions", `[{"ActionType":"Delete"}]`),
			wantRules:  []string{"mailbox_rule/inbox_rule_hiding"},
			wantSev:    SeverityHigh,
			wantReason: []string{"deletes mail", "stops processing other rules", "matches payment"},
		},
		{
			name:      "Outlook removing a rule",
			record:    mailboxAuditRule("bob@contoso.com", "RuleOperation", "RemoveMailboxRule", "RuleName", "f", "RuleActions", `[{"ActionType":"Delete"}]`),
			wantRules: []string{},
		},
		{
			name:      "Outlook re-stamping a blank rule that only moves",
			record:    mailboxAuditRule("bob@contoso.com", "RuleOperation", "ModifyMailboxRule", "RuleId", "-4412630970188955647", "RuleActions", `[{"ActionType":"Move","DestinationFolderId":"LgAAAAC","FolderIsInThisStore":"True"}]`),
			wantRules: []string{},
		},
		{
			name:      "rule actions that are not JSON despite the bracket",
			record:    mailboxAuditRule("bob@contoso.com", "RuleName", "Sync", "RuleActions", `[{"ActionType":"Forward","Recipients":["x@evil.io"`),
			wantRules: []string{"mailbox_rule/inbox_rule_external_forward"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(t, d, tt.record)
			assert.Equal(t, tt.wantRules, ruleIDs(got))
			if len(got) == 0 {
				return
			}
			last := got[len(got)-1]
			if tt.wantSev != 0 {
				assert.Equal(t, tt.wantSev, last.Severity)
			}
			for _, s := range tt.wantReason {
				assert.Contains(t, last.Reason, s)
			}
		})
	}
}

func TestInboxRuleConfiguredKeywords(t *testing.T) {
	d := NewInboxRule(testPolicy(), InboxRuleOptions{Keywords: []string{"Rechnung"}, HidingFolders: []string{"Notes"}})
	got := detect(t, d, cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Buchhaltung", "SubjectContainsWords", "rechnung", "MoveToFolder", "Notes"))
	assert.Equal(t, []string{"mailbox_rule/inbox_rule_hiding"}, ruleIDs(got))
	assert.Contains(t, got[0].Reason, "matches rechnung")
	assert.Empty(t, detect(t, d, cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "Invoices", "SubjectContainsWords", "invoice", "MoveToFolder", "Archive")))
}
