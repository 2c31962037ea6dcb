package auditlogreceiver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// corpusCounts is what each real sample must yield: records passed on, and
// how many of them carry audit.parse_error. Counted by hand from the files
// (python json/csv), not from this receiver's output.
var corpusCounts = map[string]struct{ records, parseErrors int }{
	"azure_activity_mscs/splunk-security_content_azure_audit_create_or_update_an_azure_automation_account.json": {1, 0},
	"azure_activity_mscs/splunk-security_content_azure_audit_create_or_update_an_azure_automation_runbook.json": {1, 0},
	"azure_activity_mscs/splunk-security_content_azure_audit_create_or_update_an_azure_automation_webhook.json": {1, 0},

	// Azure Monitor export: {"records": [15 records]}.
	"entra_auditlogs_azuremonitor/DERIVED_eventhub_envelope_all-records.json":                                                       {15, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_add_app_role_assignment_to_service_principal.json": {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_add_member_to_role.json":                           {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_add_owner_to_application.json":                     {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_add_service_principal.json":                        {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_add_unverified_domain.json":                        {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_consent_to_application.json":                       {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_disable_strong_authentication.json":                {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_enable_account.json":                               {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_invite_external_user.json":                         {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_reset_password_(by_admin).json":                    {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_set_domain_authentication.json":                    {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_update_application.json":                           {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_update_authorization_policy.json":                  {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_update_user.json":                                  {1, 0},
	"entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_user_registered_security_info.json":                {1, 0},

	// {"records": [9 sign-ins of five categories]}.
	"entra_signin_azuremonitor/DERIVED_eventhub_envelope_all-records.json":                           {9, 0},
	"entra_signin_azuremonitor/elastic-integrations_test-non-interactive-user-signin.log":            {1, 0},
	"entra_signin_azuremonitor/elastic-integrations_test-service-principal.log":                      {1, 0},
	"entra_signin_azuremonitor/elastic-integrations_test-signinlogs-raw.log":                         {5, 0},
	"entra_signin_azuremonitor/entra-docs_reference-azure-monitor-sign-ins-log-schema_example.json":  {1, 0},
	"entra_signin_azuremonitor/splunk-security_content_azure_active_directory_sign_in_activity.json": {1, 0},

	// Graph pages {"@odata.context": ..., "value": [1 sign-in]}. The
	// verbatim copy of the v1.0 example has a trailing comma inside its only
	// record (appliedConditionalAccessPolicies), which is a parse error.
	"entra_signin_graph/graph-docs_beta_signin-list_example1_response.json":          {1, 0},
	"entra_signin_graph/graph-docs_v1.0_signin-list_example1_response.fixed.json":    {1, 0},
	"entra_signin_graph/graph-docs_v1.0_signin-list_example1_response.verbatim.json": {1, 1},

	// JSON lines.
	"google_workspace/elastic-integrations_test-admin-security.log":                {26, 0},
	"google_workspace/elastic-integrations_test-admin.log":                         {1, 0},
	"google_workspace/elastic-integrations_test-login.log":                         {17, 0},
	"google_workspace/elastic-integrations_test-user-accounts.log":                 {9, 0},
	"google_workspace/splunk-security_content_google_workspace_login_failure.json": {1, 0},
	"google_workspace/splunk-security_content_google_workspace_login_success.json": {1, 0},

	"o365/elastic-integrations_test-exchange-item.log":          {9, 0},
	"o365/msdocs-o365mgmtapi_AipDiscover_block6_AuditData.json": {1, 0},
	"o365/msdocs-o365mgmtapi_AipDiscover_block8_AuditData.json": {1, 0},
	// An invalid escape ("\c") inside a pretty-printed record.
	"o365/msdocs-o365mgmtapi_AipFileDeleted_block5_AuditData.INVALID-JSON.json": {1, 1},
	"o365/msdocs-o365mgmtapi_AipHeartBeat_block5_AuditData.json":                {1, 0},
	"o365/msdocs-o365mgmtapi_AipSensitivityLabelAction_block6_AuditData.json":   {1, 0},
	"o365/msdocs-o365mgmtapi_AipSensitivityLabelAction_block8_AuditData.json":   {1, 0},
	"o365/msdocs-o365mgmtapi_OMEPortal_block1_AuditData.json":                   {1, 0},
	"o365/msdocs-o365mgmtapi_OMEPortal_block3_AuditData.json":                   {1, 0},
	// A JSON array of 3 records.
	"o365/msdocs-o365mgmtapi_activity-api-reference_retrieve-content-blob_response.json":   {3, 0},
	"o365/msdocs-o365mgmtapi_aip-unified-audit-logs-best-practices_block2_AuditData.json":  {1, 0},
	"o365/splunk-security_content_o365_add_app_role_assignment_grant_to_user_.json":        {1, 0},
	"o365/splunk-security_content_o365_add_app_role_assignment_to_service_principal_.json": {1, 0},
	"o365/splunk-security_content_o365_add_mailboxpermission.json":                         {1, 0},
	"o365/splunk-security_content_o365_add_member_to_role_.json":                           {1, 0},
	"o365/splunk-security_content_o365_add_owner_to_application_.json":                     {1, 0},
	"o365/splunk-security_content_o365_add_service_principal_.json":                        {1, 0},
	"o365/splunk-security_content_o365_change_user_license_.json":                          {1, 0},
	"o365/splunk-security_content_o365_consent_to_application_.json":                       {1, 0},
	"o365/splunk-security_content_o365_disable_strong_authentication_.json":                {1, 0},
	"o365/splunk-security_content_o365_mailitemsaccessed.json":                             {1, 0},
	"o365/splunk-security_content_o365_modifyfolderpermissions.json":                       {1, 0},
	"o365/splunk-security_content_o365_set_company_information_.json":                      {1, 0},
	"o365/splunk-security_content_o365_set_mailbox.json":                                   {1, 0},
	"o365/splunk-security_content_o365_update_application_.json":                           {1, 0},
	"o365/splunk-security_content_o365_update_authorization_policy_.json":                  {1, 0},
	"o365/splunk-security_content_o365_update_user_.json":                                  {1, 0},
	"o365/splunk-security_content_o365_userloggedin.json":                                  {1, 0},
	// CreationTime 17:08:65 is read as 17:09:05, not rejected.
	"o365/splunk-security_content_o365_userloginfailed.json": {1, 0},

	// The same 219 AuditData objects, as NDJSON and as the Purview CSV
	// export (RecordId header, quoted multi-line cells).
	"purview_csv/DERIVED_huntress2023_purview_AuditData.ndjson":                 {219, 0},
	"purview_csv/infosecstreams-huntress2023_forensics_Rogue-Inbox_purview.csv": {219, 0},
}

// corpusGlobs select every data file of the corpus, leaving out the licence
// and notice texts beside them.
func corpusGlobs(dir string) []string {
	samples := filepath.Join(dir, "samples", "*")
	return []string{
		filepath.Join(samples, "*.json"),
		filepath.Join(samples, "*.log"),
		filepath.Join(samples, "*.ndjson"),
		filepath.Join(samples, "*.csv"),
	}
}

func TestCorpusCountsPerFile(t *testing.T) {
	dir := corpus.Dir(t)
	want := 0
	for _, c := range corpusCounts {
		want += c.records
	}

	cfg := testConfig(corpusGlobs(dir)...)
	host, storageID := storageHost(t.TempDir())
	cfg.StorageID = storageID
	sink := new(consumertest.LogsSink)
	r, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host))
	require.Eventually(t, func() bool { return sink.LogRecordCount() >= want }, 10*time.Second, 5*time.Millisecond)
	// A few more polls must add nothing.
	time.Sleep(5 * cfg.Files.PollInterval)
	require.NoError(t, r.Shutdown(context.Background()))

	got := map[string]struct{ records, parseErrors int }{}
	for _, lr := range recordtest.Records(sink.AllLogs()...) {
		rel, err := filepath.Rel(filepath.Join(dir, "samples"), recordtest.Attr(lr, filesource.AttrFilePath))
		require.NoError(t, err)
		c := got[filepath.ToSlash(rel)]
		c.records++
		if recordtest.Attr(lr, "audit.parse_error") != "" {
			c.parseErrors++
		}
		got[filepath.ToSlash(rel)] = c
	}
	assert.Equal(t, corpusCounts, got)
	assert.Equal(t, want, sink.LogRecordCount())
}
