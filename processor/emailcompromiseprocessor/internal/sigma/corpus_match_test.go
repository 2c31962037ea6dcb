package sigma

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// corpusMatch is one hand-written expectation: a SigmaHQ rule (relative to
// the corpus's sigma/), a vendor sample (relative to samples/, and which
// record of it), an optional adaptation of a copy of that record, and
// whether the rule fires through the default field mapping.
type corpusMatch struct {
	rule   string
	sample string
	// index is the line of an NDJSON file or the element of a Graph "value"
	// array; 0 for a file holding one record.
	index int
	adapt func(b pcommon.Map)
	want  bool
}

func TestCorpusRulesFireOnSamples(t *testing.T) {
	dir := corpus.Dir(t)
	const (
		disableMFA      = "o365/splunk-security_content_o365_disable_strong_authentication_.json"
		setMailbox      = "o365/splunk-security_content_o365_set_mailbox.json"
		userLoggedIn    = "o365/splunk-security_content_o365_userloggedin.json"
		companyInfo     = "o365/splunk-security_content_o365_set_company_information_.json"
		mailboxPerm     = "o365/splunk-security_content_o365_add_mailboxpermission.json"
		huntress        = "purview_csv/DERIVED_huntress2023_purview_AuditData.ndjson"
		azSignIn        = "entra_signin_azuremonitor/splunk-security_content_azure_active_directory_sign_in_activity.json"
		azRaw           = "entra_signin_azuremonitor/elastic-integrations_test-signinlogs-raw.log"
		azNonInter      = "entra_signin_azuremonitor/elastic-integrations_test-non-interactive-user-signin.log"
		graphBeta       = "entra_signin_graph/graph-docs_beta_signin-list_example1_response.json"
		graphV1         = "entra_signin_graph/graph-docs_v1.0_signin-list_example1_response.fixed.json"
		gwAdmin         = "google_workspace/elastic-integrations_test-admin-security.log"
		gwLogin         = "google_workspace/elastic-integrations_test-login.log"
		gwAccounts      = "google_workspace/elastic-integrations_test-user-accounts.log"
		gwSplunkSuccess = "google_workspace/splunk-security_content_google_workspace_login_success.json"
		addMember       = "entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_add_member_to_role.json"
	)
	tests := []corpusMatch{
		// m365 audit: raw O365 names.
		{rule: "rules/cloud/m365/audit/microsoft365_disabling_mfa.yml", sample: disableMFA, want: true},
		{rule: "rules/cloud/m365/audit/microsoft365_disabling_mfa.yml", sample: companyInfo, want: false},
		// The sample is a plain Exchange Online sign-in; the rule wants the
		// Intune Company Portal app and a Cmsi request, which RequestType in
		// ExtendedProperties carries.
		{rule: "rules/cloud/m365/audit/microsoft365_bypass_conditional_access.yml", sample: userLoggedIn, want: false},
		{rule: "rules/cloud/m365/audit/microsoft365_bypass_conditional_access.yml", sample: userLoggedIn, want: true, adapt: func(b pcommon.Map) {
			b.PutStr("ApplicationId", "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223")
			setPair(b, "ExtendedProperties", "RequestType", "Cmsi:Cmsi")
		}},
		// ...unless the target is Intune itself (device enrolment): the filter.
		{rule: "rules/cloud/m365/audit/microsoft365_bypass_conditional_access.yml", sample: userLoggedIn, want: false, adapt: func(b pcommon.Map) {
			b.PutStr("ApplicationId", "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223")
			setPair(b, "ExtendedProperties", "RequestType", "Cmsi:Cmsi")
			b.PutStr("ObjectId", "0000000a-0000-0000-c000-000000000000")
		}},
		{rule: "rules/cloud/m365/audit/microsoft365_new_federated_domain_added_audit.yml", sample: companyInfo, want: false},
		// The directory operation that adds a domain, on the company sample.
		{rule: "rules/cloud/m365/audit/microsoft365_new_federated_domain_added_audit.yml", sample: companyInfo, want: true, adapt: func(b pcommon.Map) {
			b.PutStr("Operation", "Add domain to company.")
		}},
		{rule: "rules-threat-hunting/cloud/m365/audit/microsoft365_susp_email_forwarding_activity.yml", sample: setMailbox, want: true},
		{rule: "rules-threat-hunting/cloud/m365/audit/microsoft365_susp_email_forwarding_activity.yml", sample: mailboxPerm, want: false},
		{rule: "rules-threat-hunting/cloud/m365/audit/microsoft365_susp_email_forwarding_activity.yml", sample: huntress, index: 143, want: false},
		{rule: "rules-threat-hunting/cloud/m365/audit/microsoft365_susp_inbox_rule_creation_or_update_activity.yml", sample: huntress, index: 143, want: true},
		{rule: "rules-threat-hunting/cloud/m365/audit/microsoft365_susp_inbox_rule_creation_or_update_activity.yml", sample: setMailbox, want: false},
		// m365 exchange: eventSource/eventName/status are Workload/Operation/result.
		{rule: "rules/cloud/m365/exchange/microsoft365_new_federated_domain_added_exchange.yml", sample: setMailbox, want: false},
		{rule: "rules/cloud/m365/exchange/microsoft365_new_federated_domain_added_exchange.yml", sample: setMailbox, want: true, adapt: func(b pcommon.Map) {
			b.PutStr("Operation", "Add-FederatedDomain")
		}},
		// m365 threat_management: a Security & Compliance alert (RecordType
		// 40) names itself in Name; the corpus has no alert record, so the
		// Set-Mailbox record is turned into one.
		{rule: "rules/cloud/m365/threat_management/microsoft365_susp_inbox_forwarding.yml", sample: setMailbox, want: true, adapt: func(b pcommon.Map) {
			b.PutInt("RecordType", 40)
			b.PutStr("Workload", "SecurityComplianceCenter")
			b.PutStr("Operation", "AlertTriggered")
			b.PutStr("Name", "Suspicious inbox forwarding")
			b.PutStr("ResultStatus", "Succeeded")
		}},
		{rule: "rules/cloud/m365/threat_management/microsoft365_susp_inbox_forwarding.yml", sample: setMailbox, want: false},

		// azure signinlogs: Sentinel column names over Azure Monitor and Graph shapes.
		{rule: "rules/cloud/azure/signin_logs/azure_account_lockout.yml", sample: azSignIn, want: false},
		{rule: "rules/cloud/azure/signin_logs/azure_account_lockout.yml", sample: azSignIn, want: true, adapt: func(b pcommon.Map) {
			b.PutStr("resultType", "50053")
			setPath(b, "properties.status.errorCode", int64(50053))
		}},
		// Graph shape: ResultType is status.errorCode.
		{rule: "rules/cloud/azure/signin_logs/azure_user_login_blocked_by_conditional_access.yml", sample: graphBeta, want: false},
		{rule: "rules/cloud/azure/signin_logs/azure_user_login_blocked_by_conditional_access.yml", sample: graphBeta, want: true, adapt: func(b pcommon.Map) {
			setPath(b, "status.errorCode", int64(53003))
		}},
		// The beta sample's device is not compliant (isCompliant: false).
		{rule: "rules/cloud/azure/signin_logs/azure_ad_sign_ins_from_noncompliant_devices.yml", sample: graphBeta, want: true},
		{rule: "rules/cloud/azure/signin_logs/azure_ad_sign_ins_from_noncompliant_devices.yml", sample: azNonInter, want: false},
		// Single factor on the beta sample, but it failed (50126).
		{rule: "rules/cloud/azure/signin_logs/azure_ad_only_single_factor_auth_required.yml", sample: graphBeta, want: false},
		{rule: "rules/cloud/azure/signin_logs/azure_ad_only_single_factor_auth_required.yml", sample: graphBeta, want: true, adapt: func(b pcommon.Map) {
			setPath(b, "status.errorCode", int64(0))
		}},
		// Successful, single factor, at risk, from a device with no trust type.
		{rule: "rules/cloud/azure/signin_logs/azure_ad_risky_sign_ins_with_singlefactorauth_from_unknown_devices.yml", sample: graphBeta, want: true, adapt: func(b pcommon.Map) {
			setPath(b, "status.errorCode", int64(0))
			b.PutStr("riskState", "atRisk")
		}},
		{rule: "rules/cloud/azure/signin_logs/azure_ad_risky_sign_ins_with_singlefactorauth_from_unknown_devices.yml", sample: graphBeta, want: false, adapt: func(b pcommon.Map) {
			setPath(b, "status.errorCode", int64(0))
		}},
		// Azure Monitor shape, with the description Sentinel gives 50074.
		{rule: "rules/cloud/azure/signin_logs/azure_mfa_interrupted.yml", sample: azSignIn, want: true, adapt: func(b pcommon.Map) {
			b.PutStr("resultType", "50074")
			b.PutStr("resultDescription", "Strong Auth required")
			setPath(b, "properties.status.errorCode", int64(50074))
		}},
		{rule: "rules/cloud/azure/signin_logs/azure_mfa_interrupted.yml", sample: azSignIn, want: false},
		// Status reads the outcome and the status details.
		{rule: "rules/cloud/azure/signin_logs/azure_mfa_denies.yml", sample: azNonInter, want: false},
		{rule: "rules/cloud/azure/signin_logs/azure_mfa_denies.yml", sample: azNonInter, want: true, adapt: func(b pcommon.Map) {
			setPath(b, "properties.status.errorCode", int64(500121))
			setPath(b, "properties.status.additionalDetails", "MFA denied; user declined the authentication")
		}},
		{rule: "rules/cloud/azure/signin_logs/azure_ad_azurehound_discovery.yml", sample: azRaw, want: false},
		{rule: "rules/cloud/azure/signin_logs/azure_ad_azurehound_discovery.yml", sample: azRaw, want: true, adapt: func(b pcommon.Map) {
			b.PutStr("resultType", "0")
			setPath(b, "properties.status.errorCode", int64(0))
			setPath(b, "properties.userAgent", "azurehound/v2.1.0")
		}},
		{rule: "rules-threat-hunting/cloud/azure/signin_logs/azure_ad_signin_axios_user_agent.yml", sample: graphV1, want: false},
		{rule: "rules-threat-hunting/cloud/azure/signin_logs/azure_ad_signin_axios_user_agent.yml", sample: graphBeta, want: true, adapt: func(b pcommon.Map) {
			b.PutStr("userAgent", "axios/1.6.8")
		}},
		// Username: 'UPN' is a literal the rule's author left in: nothing matches.
		{rule: "rules/cloud/azure/signin_logs/azure_legacy_authentication_protocols.yml", sample: graphV1, want: false, adapt: func(b pcommon.Map) {
			b.PutStr("clientAppUsed", "IMAP")
		}},

		// azure auditlogs: the activity is the operation.
		{rule: "rules/cloud/azure/audit_logs/azure_ad_user_added_to_admin_role.yml", sample: addMember, want: true},
		{rule: "rules/cloud/azure/audit_logs/azure_service_principal_created.yml", sample: addMember, want: false},

		// gworkspace: Cloud Logging names over Reports API records.
		{rule: "rules/cloud/gcp/gworkspace/login/gcp_gworkspace_suspicious_login.yml", sample: gwLogin, index: 1, want: true},
		{rule: "rules/cloud/gcp/gworkspace/login/gcp_gworkspace_suspicious_login.yml", sample: gwSplunkSuccess, want: false},
		// The login rules read login and user_accounts records, not admin ones.
		{rule: "rules/cloud/gcp/gworkspace/login/gcp_gworkspace_suspicious_login.yml", sample: gwAdmin, want: false, adapt: func(b pcommon.Map) {
			setPath(b, "events.name", "suspicious_login")
		}},
		{rule: "rules/cloud/gcp/gworkspace/login/gcp_gworkspace_govattack.yml", sample: gwLogin, index: 8, want: true},
		{rule: "rules/cloud/gcp/gworkspace/login/gcp_gworkspace_govattack.yml", sample: gwLogin, index: 1, want: false},
		{rule: "rules/cloud/gcp/gworkspace/login/gcp_gworkspace_out_of_domain_email_forwarding.yml", sample: gwAccounts, index: 8, want: true},
		{rule: "rules/cloud/gcp/gworkspace/login/gcp_gworkspace_out_of_domain_email_forwarding.yml", sample: gwAccounts, index: 0, want: false},
		// new_value is the NEW_VALUE event parameter; the sample's is "new".
		{rule: "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_mfa_disabled.yml", sample: gwAdmin, index: 0, want: false},
		{rule: "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_mfa_disabled.yml", sample: gwAdmin, index: 0, want: true, adapt: func(b pcommon.Map) {
			setPair(b, "events.parameters", "NEW_VALUE", "false")
		}},
		{rule: "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_mfa_disabled.yml", sample: gwAdmin, index: 18, want: true, adapt: func(b pcommon.Map) {
			setPair(b, "events.parameters", "NEW_VALUE", "false")
		}},
		// setting_name is SETTING_NAME; the sample's event and setting are others.
		{rule: "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_application_access_levels_modified.yml", sample: gwAdmin, index: 3, want: false},
		{rule: "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_application_access_levels_modified.yml", sample: gwAdmin, index: 3, want: true, adapt: func(b pcommon.Map) {
			setPath(b, "events.name", "CHANGE_APPLICATION_SETTING")
			setPair(b, "events.parameters", "SETTING_NAME", "ContextAwareAccess.AccessLevels")
		}},
		{rule: "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_user_granted_admin_privileges.yml", sample: gwAdmin, index: 0, want: true, adapt: func(b pcommon.Map) {
			setPath(b, "events.name", "GRANT_ADMIN_PRIVILEGE")
		}},
		// An admin rule does not read login records.
		{rule: "rules/cloud/gcp/gworkspace/admin/gcp_gworkspace_user_granted_admin_privileges.yml", sample: gwLogin, index: 0, want: false, adapt: func(b pcommon.Map) {
			setPath(b, "events.name", "GRANT_ADMIN_PRIVILEGE")
		}},
	}
	for _, tt := range tests {
		name := filepath.Base(tt.rule) + " on " + filepath.Base(tt.sample)
		if tt.adapt != nil {
			name += " (adapted)"
		}
		t.Run(name, func(t *testing.T) {
			e, rep, err := Load(Config{Rules: []string{filepath.Join(dir, "sigma", tt.rule)}})
			require.NoError(t, err)
			require.Empty(t, rep.Errors)
			b := sampleRecord(t, filepath.Join(dir, "samples", tt.sample), tt.index)
			if tt.adapt != nil {
				tt.adapt(b)
			}
			var r auditrecord.Record
			require.NoError(t, auditrecord.Parse(b, &r))
			ms := e.Evaluate(&Event{Record: &r, Body: b, Now: r.Time}, nil)
			assert.Equal(t, tt.want, len(ms) > 0, "matches: %v", ms)
		})
	}
}

// sampleRecord decodes one record of a sample file: the index-th line of
// NDJSON, the index-th element of a Graph "value" page, or the file's one
// record.
func sampleRecord(t *testing.T, path string, index int) pcommon.Map {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if strings.HasSuffix(path, ".log") || strings.HasSuffix(path, ".ndjson") {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		for i := 0; sc.Scan(); i++ {
			if i == index {
				return body(t, sc.Text())
			}
		}
		t.Fatalf("%s has no line %d", path, index)
	}
	b := pcommon.NewMap()
	require.NoError(t, jsonpdata.DecodeMap(data, b, jsonpdata.Limits{}))
	if page, ok := b.Get("value"); ok && page.Type() == pcommon.ValueTypeSlice {
		out := pcommon.NewMap()
		page.Slice().At(index).Map().CopyTo(out)
		return out
	}
	return b
}

// setPath sets a value at a dotted path of maps, creating them as needed;
// a path through an object-valued "events" of a Google record goes in it.
func setPath(m pcommon.Map, path string, value any) {
	segs := strings.Split(path, ".")
	for _, s := range segs[:len(segs)-1] {
		v, ok := m.Get(s)
		if !ok || v.Type() != pcommon.ValueTypeMap {
			m = m.PutEmptyMap(s)
			continue
		}
		m = v.Map()
	}
	switch v := value.(type) {
	case string:
		m.PutStr(segs[len(segs)-1], v)
	case int64:
		m.PutInt(segs[len(segs)-1], v)
	}
}

// setPair sets the value of the {Name, Value} element called name in the
// array at path (O365 writes "Name"/"Value", Google "name"/"value"), adding
// the element if absent.
func setPair(m pcommon.Map, path, name, value string) {
	segs := strings.Split(path, ".")
	for _, s := range segs[:len(segs)-1] {
		v, _ := m.Get(s)
		m = v.Map()
	}
	key := segs[len(segs)-1]
	nameKey, valueKey := "Name", "Value"
	if key == "parameters" {
		nameKey, valueKey = "name", "value"
	}
	arr, ok := m.Get(key)
	if !ok {
		arr = m.PutEmpty(key)
		arr.SetEmptySlice()
	}
	s := arr.Slice()
	for i := 0; i < s.Len(); i++ {
		e := s.At(i).Map()
		if n, ok := e.Get(nameKey); ok && n.Str() == name {
			e.PutStr(valueKey, value)
			return
		}
	}
	e := s.AppendEmpty().SetEmptyMap()
	e.PutStr(nameKey, name)
	e.PutStr(valueKey, value)
}

// TestRiskDetectionRulesFire evaluates SigmaHQ's Identity Protection rules
// (logsource azure/riskdetection) on an Entra risk detection. The corpus
// has no riskDetection sample: the record is synthetic, from the Graph
// riskDetection schema.
func TestRiskDetectionRulesFire(t *testing.T) {
	dir := corpus.Dir(t)
	e, rep, err := Load(Config{Rules: []string{filepath.Join(dir, "sigma", "rules/cloud/azure/identity_protection")}})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	require.Empty(t, rep.Inactive, "every Identity Protection rule reads a feed we receive")
	detection := func(eventType string) pcommon.Map {
		return body(t, `{"id":"6a0ee2f9b5d1a3e8","riskEventType":"`+eventType+`","riskState":"atRisk","riskLevel":"high",
			"source":"IdentityProtection","detectionTimingType":"offline","activity":"signin","ipAddress":"104.248.1.9",
			"activityDateTime":"2026-11-21T09:05:00Z","detectedDateTime":"2026-11-21T09:40:00Z","userPrincipalName":"bob@contoso.com"}`)
	}
	for eventType, want := range map[string]string{"anomalousToken": "Anomalous Token", "tokenIssuerAnomaly": "SAML Token Issuer Anomaly", "generic": ""} {
		t.Run(eventType, func(t *testing.T) {
			b := detection(eventType)
			var r auditrecord.Record
			require.NoError(t, auditrecord.Parse(b, &r))
			ms := e.Evaluate(&Event{Record: &r, Body: b, Now: r.Time}, nil)
			var titles []string
			for _, m := range ms {
				titles = append(titles, m.Rule.Title)
			}
			if want == "" {
				assert.Empty(t, titles)
				return
			}
			assert.Equal(t, []string{want}, titles)
		})
	}
}
