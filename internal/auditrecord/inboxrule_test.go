package auditrecord

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestExchangeSize(t *testing.T) {
	for in, want := range map[string]int64{
		"10 KB (10,240 bytes)":       10240,
		"5 KB":                       5120,
		"5KB":                        5120,
		"1.5 MB":                     1572864,
		"10240":                      10240,
		"10,240 B":                   10240,
		"2 GB (2,147,483,648 bytes)": 2147483648,
		"":                           0,
		"unlimited":                  0,
		"5 parsecs":                  0,
		"-3 KB":                      0,
		"1 KB 2 MB 3":                0,
	} {
		assert.Equal(t, want, ExchangeSize(in), in)
	}
}

func TestInboxRuleFromEitherRecord(t *testing.T) {
	cmdlet := &Record{Source: SourceO365, Kind: KindMailboxChange, Operation: "New-InboxRule", Parameters: []Parameter{
		{"Name", "."}, {"ForwardTo", "x@evil.example;SMTP:Y@Evil.Example"}, {"MoveToFolder", `bob@contoso.com:\RSS Feeds`},
		{"MarkAsRead", "True"}, {"StopProcessingRules", "true"}, {"SubjectContainsWords", "invoice"}, {"WithinSizeRangeMaximum", "5 KB"},
	}}
	rule, ok := cmdlet.InboxRule()
	assert.True(t, ok)
	assert.Equal(t, InboxRule{Name: ".", ForwardTo: []string{"x@evil.example", "y@evil.example"}, MoveTo: "RSS Feeds", MarkAsRead: true,
		StopsOthers: true, Conditions: []string{"invoice"}, SizeMax: 5120}, rule)

	outlook := &Record{Source: SourceO365, Kind: KindMailboxChange, Operation: "UpdateInboxRules", OperationProperties: []Parameter{
		{"RuleName", " "}, {"RuleState", "Enabled;ExitAfterExecution"},
		{"RuleActions", `[{"ActionType":"MoveToFolder","FolderName":"Conversation History"},{"ActionType":"Forward","Recipients":[{"Address":"a@evil.example"}]},{"ActionType":"MarkAsRead"}]`},
	}}
	rule, ok = outlook.InboxRule()
	assert.True(t, ok)
	assert.Equal(t, InboxRule{Name: " ", ForwardTo: []string{"a@evil.example"}, MoveTo: "Conversation History", MarkAsRead: true, StopsOthers: true}, rule)

	outlook.OperationProperties = append(outlook.OperationProperties, Parameter{"RuleOperation", "RemoveMailboxRule"})
	_, ok = outlook.InboxRule()
	assert.False(t, ok, "removing a rule hides nothing")
	_, ok = (&Record{Source: SourceO365, Kind: KindMailboxChange, Operation: "Set-Mailbox"}).InboxRule()
	assert.False(t, ok)
}
