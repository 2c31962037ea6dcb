package auditrecord_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/testing/corpus"
)

// Account changes written from the vendors' schemas (synthetic: the corpus
// has no O365 directory record or Google token activity).
const (
	// O365 Audit.AzureActiveDirectory consent (Office 365 Management
	// Activity API schema: ModifiedProperties {Name, NewValue}, Target {ID,
	// Type}).
	o365Consent = `{"CreationTime":"2026-11-21T09:14:02","Id":"4b8c1f6e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","Operation":"Consent to application.",
		"OrganizationId":"0e8108b1-18e9-41a4-961b-dfcddf92ef08","RecordType":8,"ResultStatus":"Success","UserKey":"10032001A1B2C3D4","UserType":0,
		"Workload":"AzureActiveDirectory","ClientIP":"185.220.101.7","ObjectId":"ServicePrincipal_7f3c2a10-3b4d-4e5f-9a8b-7c6d5e4f3a2b","UserId":"Bob@Contoso.com",
		"ModifiedProperties":[{"Name":"ConsentContext.IsAdminConsent","NewValue":"False","OldValue":""},
		{"Name":"ConsentAction.Permissions","NewValue":"[] => [[Id: AbC, ClientId: 7f3c2a10-3b4d-4e5f-9a8b-7c6d5e4f3a2b, PrincipalId: 1a2b, ResourceId: 00000003-0000-0000-c000-000000000000, ConsentType: Principal, Scope:  Mail.ReadWrite Mail.Send offline_access User.Read, CreatedDateTime: , LastModifiedDateTime ]]; ","OldValue":""}],
		"Target":[{"ID":"Mail Sync Pro","Type":1},{"ID":"7f3c2a10-3b4d-4e5f-9a8b-7c6d5e4f3a2b","Type":2}]}`
	// O365 "Update user." that registers a phone app: the MFA methods live
	// in the StrongAuthentication* properties.
	o365UpdateUserMFA = `{"CreationTime":"2026-11-21T09:20:41","Id":"5c9d2a7f-2d3e-4f6a-9b0c-1d2e3f4a5b6c","Operation":"Update user.",
		"OrganizationId":"0e8108b1-18e9-41a4-961b-dfcddf92ef08","RecordType":8,"ResultStatus":"Success","UserType":0,"Workload":"AzureActiveDirectory",
		"ClientIP":"185.220.101.7","ObjectId":"bob@contoso.com","UserId":"bob@contoso.com",
		"ModifiedProperties":[{"Name":"StrongAuthenticationPhoneAppDetail","NewValue":"[{\"DeviceName\":\"Pixel 7\",\"DeviceTag\":\"SoftwareTokenActivated\"}]","OldValue":"[]"},
		{"Name":"Included Updated Properties","NewValue":"StrongAuthenticationPhoneAppDetail","OldValue":""}]}`
	// O365 "Update user." of a display name: not an account change.
	o365UpdateUserName = `{"CreationTime":"2026-11-21T09:22:00","Id":"6d0e3b8a-3e4f-4a7b-8c1d-2e3f4a5b6c7d","Operation":"Update user.",
		"RecordType":8,"ResultStatus":"Success","UserType":0,"Workload":"AzureActiveDirectory","ObjectId":"bob@contoso.com","UserId":"it-admin@contoso.com",
		"ModifiedProperties":[{"Name":"DisplayName","NewValue":"[\"Bob B.\"]","OldValue":"[\"Bob\"]"}]}`
	// Google Reports API, application token: an OAuth grant with Gmail's
	// full scope (multiValue).
	googleTokenAuthorize = `{"kind":"admin#reports#activity","id":{"time":"2026-11-21T10:02:11.204Z","uniqueQualifier":"-3123456789012345678","applicationName":"token","customerId":"C03az79cb"},
		"actor":{"email":"dana@contoso.com","profileId":"1045"},"ipAddress":"185.220.101.7",
		"events":[{"type":"auth","name":"authorize","parameters":[{"name":"client_id","value":"1234567890-abc.apps.googleusercontent.com"},
		{"name":"app_name","value":"Mail Sync Pro"},{"name":"client_type","value":"WEB"},
		{"name":"scope","multiValue":["https://mail.google.com/","openid","https://www.googleapis.com/auth/userinfo.email"]}]}]}`
	// Google user_accounts: 2-step verification turned off.
	googleDisable2SV = `{"kind":"admin#reports#activity","id":{"time":"2026-11-21T10:05:00Z","uniqueQualifier":"-4123","applicationName":"user_accounts","customerId":"C03az79cb"},
		"actor":{"email":"dana@contoso.com"},"ipAddress":"185.220.101.7","events":[{"type":"2sv_change","name":"2sv_disable"}]}`
)

func TestAccountChange(t *testing.T) {
	tests := []struct {
		name string
		body string
		want auditrecord.AccountChange
		user string
		ok   bool
	}{
		{"O365 consent with mail scopes", o365Consent, auditrecord.AccountChange{Kind: auditrecord.ChangeConsent, What: "Consent to application.",
			App: "Mail Sync Pro", Scopes: []string{"Mail.ReadWrite", "Mail.Send", "offline_access", "User.Read"}}, "bob@contoso.com", true},
		{"O365 MFA phone app registered through Update user", o365UpdateUserMFA, auditrecord.AccountChange{Kind: auditrecord.ChangeSecurityInfo, What: "Update user."},
			"bob@contoso.com", true},
		{"O365 Update user of a display name", o365UpdateUserName, auditrecord.AccountChange{}, "bob@contoso.com", false},
		{"Google OAuth grant with the Gmail scope", googleTokenAuthorize, auditrecord.AccountChange{Kind: auditrecord.ChangeConsent, What: "authorize",
			App: "Mail Sync Pro", Scopes: []string{"https://mail.google.com/", "openid", "https://www.googleapis.com/auth/userinfo.email"}}, "dana@contoso.com", true},
		{"Google 2-step verification disabled", googleDisable2SV, auditrecord.AccountChange{Kind: auditrecord.ChangeSecurityInfo, What: "2sv_disable"}, "dana@contoso.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r auditrecord.Record
			if err := auditrecord.Parse(decode(t, tt.body), &r); err != nil {
				t.Fatal(err)
			}
			got, ok := r.AccountChange()
			if ok != tt.ok {
				t.Fatalf("AccountChange ok = %v, want %v (kind %d)", ok, tt.ok, r.Kind)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AccountChange mismatch (-want +got):\n%s", diff)
			}
			if r.User != tt.user {
				t.Errorf("User = %q, want %q", r.User, tt.user)
			}
		})
	}
}

// TestAccountChangeCorpus reads the Entra directory audit samples of the
// corpus: a consent blocked as risky (a failure, with mail scopes) and a
// user registering an App Password.
func TestAccountChangeCorpus(t *testing.T) {
	dir := filepath.Join(corpus.Dir(t), "samples", "entra_auditlogs_azuremonitor")
	tests := []struct {
		file   string
		want   auditrecord.AccountChange
		result auditrecord.Result
	}{
		{"splunk-security_content_azure_active_directory_consent_to_application.json", auditrecord.AccountChange{
			Kind: auditrecord.ChangeConsent, What: "Consent to application", App: "Bad App 1",
			Scopes: []string{"Mail.Read", "Mail.Read.Shared", "Mail.ReadBasic", "Mail.ReadBasic.Shared", "Mail.ReadWrite",
				"Mail.ReadWrite.Shared", "Mail.Send", "Mail.Send.Shared", "User.Read"},
		}, auditrecord.ResultFailure},
		{"splunk-security_content_azure_active_directory_user_registered_security_info.json", auditrecord.AccountChange{
			Kind: auditrecord.ChangeSecurityInfo, What: "User registered security info",
		}, auditrecord.ResultSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var r auditrecord.Record
			if err := auditrecord.Parse(decode(t, string(raw)), &r); err != nil {
				t.Fatal(err)
			}
			got, ok := r.AccountChange()
			if !ok {
				t.Fatalf("not an account change (kind %d)", r.Kind)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AccountChange mismatch (-want +got):\n%s", diff)
			}
			if r.Result != tt.result {
				t.Errorf("Result = %v, want %v", r.Result, tt.result)
			}
		})
	}
}

// TestDeviceRegisteredByTheService: the Device Registration Service
// registers a user's device; the record names the user only in
// additionalDetails (AccountUpn), and the change is the user's (synthetic,
// from the Graph directoryAudit schema).
func TestDeviceRegisteredByTheService(t *testing.T) {
	body := `{"id":"Directory_dev1","category":"Device","activityDisplayName":"Register device","activityDateTime":"2026-11-21T09:30:00Z","result":"success",
		"initiatedBy":{"app":{"displayName":"Device Registration Service","servicePrincipalId":"9f5e1c2a"}},
		"targetResources":[{"type":"Device","displayName":"DESKTOP-7Q2","id":"4c1d"}],
		"additionalDetails":[{"key":"Device Id","value":"4c1d"},{"key":"AccountUpn","value":"Bob@Contoso.com"},{"key":"Device OS","value":"Windows"}]}`
	var r auditrecord.Record
	if err := auditrecord.Parse(decode(t, body), &r); err != nil {
		t.Fatal(err)
	}
	c, ok := r.AccountChange()
	if !ok || c.Kind != auditrecord.ChangeDevice {
		t.Fatalf("change = %+v, %v", c, ok)
	}
	if r.User != "bob@contoso.com" || r.Actor != "device registration service" {
		t.Errorf("user %q, actor %q", r.User, r.Actor)
	}
}
