package sigma

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// How rule field names find record values: body paths, {Name,Value} arrays,
// arrays of scalars, containers, normalised attributes, log attributes and
// the field mapping.
func TestFieldResolution(t *testing.T) {
	const o365 = `{"Operation":"New-InboxRule","Workload":"Exchange","UserId":"Bob@Contoso.com",
		"Parameters":[{"Name":"ForwardTo","Value":"eve@evil.io"},{"Name":"Name","Value":"x"}],
		"ExtendedProperties":[{"Name":"RequestType","Value":"Cmsi:Cmsi"}],
		"Nested":{"Deeper":{"Leaf":"found"}},"Tags":["a","b"],"Empty":[],"Dotted.Key":"yes"}`
	tests := []struct {
		name      string
		detection string
		source    string
		body      string
		want      bool
	}{
		{"dotted path into nested maps", "sel:\n  Nested.Deeper.Leaf: found\ncondition: sel", "test", o365, true},
		{"keys match case-insensitively", "sel:\n  nested.deeper.LEAF: found\ncondition: sel", "test", o365, true},
		{"a key containing a dot", "sel:\n  Dotted.Key: 'yes'\ncondition: sel", "test", o365, true},
		{"{Name,Value} pair by name", "sel:\n  Parameters.ForwardTo|endswith: '@evil.io'\ncondition: sel", "test", o365, true},
		{"{Name,Value} pair name is case-insensitive", "sel:\n  parameters.forwardto|exists: true\ncondition: sel", "test", o365, true},
		{"absent pair name", "sel:\n  Parameters.RedirectTo|exists: true\ncondition: sel", "test", o365, false},
		{"container matches any scalar inside", "sel:\n  Parameters|contains: ForwardTo\ncondition: sel", "test", o365, true},
		{"array of scalars matches any element", "sel:\n  Tags: b\ncondition: sel", "test", o365, true},
		{"empty array reads []", "sel:\n  Empty: '[]'\ncondition: sel", "test", o365, true},
		{"mapped name: RequestType inside ExtendedProperties (o365)", "sel:\n  RequestType: 'Cmsi:Cmsi'\ncondition: sel", "o365", o365, true},
		{"mapping is per source: entra_signin has no RequestType mapping", "sel:\n  RequestType: 'Cmsi:Cmsi'\ncondition: sel", "entra_signin", o365, false},
		{"eventSource is Workload (o365)", "sel:\n  eventSource: Exchange\ncondition: sel", "o365", o365, true},
		{"google parameters by bare name", "sel:\n  setting_name|startswith: ContextAwareAccess\ncondition: sel", "google_workspace",
			`{"id":{"applicationName":"admin"},"events":[{"name":"CHANGE_APPLICATION_SETTING","parameters":[{"name":"SETTING_NAME","value":"ContextAwareAccess.Level"}]}]}`, true},
		{"google intValue parameter", "sel:\n  events.parameters.login_timestamp|gt: 1000\ncondition: sel", "google_workspace",
			`{"id":{"applicationName":"login"},"events":[{"name":"x","parameters":[{"name":"login_timestamp","intValue":"1593695305123456"}]}]}`, true},
		{"google multiValue parameter", "sel:\n  events.parameters.login_challenge_method: password\ncondition: sel", "google_workspace",
			`{"id":{"applicationName":"login"},"events":{"name":"login_success","parameters":[{"name":"login_challenge_method","multiValue":["idv_preregistered_phone","password"]}]}}`, true},
		{"google service for a login application", "sel:\n  protoPayload.serviceName: login.googleapis.com\ncondition: sel", "google_workspace",
			`{"id":{"applicationName":"user_accounts"},"events":[{"name":"email_forwarding_out_of_domain"}]}`, true},
		{"logsource where: a Workspace application no service names", "sel:\n  eventName: x\ncondition: sel", "google_workspace",
			`{"id":{"applicationName":"drive"},"events":[{"name":"x"}]}`, false},
		{"google service for admin", "sel:\n  eventService: admin.googleapis.com\ncondition: sel", "google_workspace",
			`{"id":{"applicationName":"admin"},"events":[{"name":"x"}]}`, true},
		{"azure monitor envelope: unmapped names also under properties", "sel:\n  AuthenticationRequirement: singleFactorAuthentication\ncondition: sel", "entra_signin",
			`{"category":"SignInLogs","properties":{"authenticationRequirement":"singleFactorAuthentication"}}`, true},
		{"ResultType from the Graph status", "sel:\n  ResultType: 50126\ncondition: sel", "entra_signin",
			`{"createdDateTime":"2026-11-20T09:00:00Z","status":{"errorCode":50126}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The rule's logsource selects the record's source, so that the
			// source's own field mapping applies.
			rule := ruleWith(tt.detection)
			if ls, ok := testLogsources[tt.source]; ok {
				rule = "logsource:\n" + indent(ls, "    ") + rule
			}
			e := mustCompile(t, Config{}, rule)
			got := len(e.Evaluate(testEvent(t, tt.source, tt.body, testTime), nil)) > 0
			assert.Equal(t, tt.want, got)
		})
	}
}

// testLogsources are SigmaHQ logsources of our sources.
var testLogsources = map[string]string{
	"o365":             "product: m365\nservice: audit",
	"entra_signin":     "product: azure\nservice: signinlogs",
	"google_workspace": "product: gcp", // both Workspace services
}

// The normalised attributes come from the view the parsers built, whatever
// the log attributes say; other attributes are read from the log record.
func TestNormalisedAndLogAttributes(t *testing.T) {
	e := mustCompile(t, Config{},
		ruleWith("sel:\n  user.name: bob@contoso.com\n  audit.result: failure\n  audit.source: entra_signin\ncondition: sel"),
		"title: attr\nid: attr\ndetection:\n    sel:\n        deployment.environment: prod\n    condition: sel\n")
	attrs := pcommon.NewMap()
	attrs.PutStr("deployment.environment", "prod")
	attrs.PutStr("user.name", "someone-else") // the view wins
	ev := &Event{
		Record:     &auditrecord.Record{Source: auditrecord.SourceEntraSignIn, User: "bob@contoso.com", Result: auditrecord.ResultFailure, Time: testTime},
		Body:       body(t, `{}`),
		Attributes: attrs,
	}
	assert.Equal(t, []string{"test-rule", "attr"}, matchedKeys(e.Evaluate(ev, nil)))
}

// A configured mapping replaces the default for its source and name.
func TestConfiguredFieldMapping(t *testing.T) {
	cfg := Config{FieldMapping: []FieldMapping{{Sources: []string{"o365"}, Fields: map[string][]string{"eventName": {"Workload"}}}}}
	e := mustCompile(t, cfg, ruleWith("sel:\n  eventName: Exchange\ncondition: sel"))
	assert.Len(t, e.Evaluate(testEvent(t, "o365", `{"Operation":"Send","Workload":"Exchange"}`, testTime), nil), 1)
	assert.Empty(t, e.Evaluate(testEvent(t, "o365", `{"Operation":"Exchange","Workload":"SharePoint"}`, testTime), nil))
}

// A hostile body (a huge array) costs a bounded amount per field.
func TestFieldLeafBudget(t *testing.T) {
	e := mustCompile(t, Config{}, ruleWith("sel:\n  big: needle\ncondition: sel"))
	b := pcommon.NewMap()
	s := b.PutEmptySlice("big")
	for i := 0; i < maxFieldLeaves+10; i++ {
		s.AppendEmpty().SetStr("hay")
	}
	s.AppendEmpty().SetStr("needle")
	assert.Empty(t, e.Evaluate(&Event{Record: &auditrecord.Record{Source: "test"}, Body: b}, nil), "values past the budget are not read")
}
