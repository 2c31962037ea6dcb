package apitest // import "github.com/otelsec/emailcompromise/internal/testing/apitest"

import (
	"fmt"
	"time"
)

// The fictional Contoso tenant and its app registrations.
const (
	TenantID     = "0d2f5e1c-7c4a-4b8e-9f1d-3a6b2c8e4f70"
	ClientID     = "6a1f3c9e-2b7d-4e0a-9c5f-8d1e4b7a2c60"
	ClientSecret = "Zq8~Qv.xL2-s3cr3t-n0t-f0r-l0gs~AbCdEfGh"
	// PublisherID is the tenant of whoever runs the collector, sent as
	// PublisherIdentifier.
	PublisherID = "46b472a7-c68e-4adf-8ade-3db49497518e"
	// Admin is the Google Workspace administrator the service account
	// acts as.
	Admin = "admin@contosolabs.com"
)

// Vendor records at a given time, written from the vendors' schemas.

// O365SignIn is an Entra ID sign-in as the Management Activity API reports
// it (Audit.AzureActiveDirectory, UserLoggedIn).
func O365SignIn(id string, at time.Time) string {
	return fmt.Sprintf(`{"CreationTime":%q,"Id":%q,"Operation":"UserLoggedIn","OrganizationId":"%s","RecordType":15,"ResultStatus":"Success","UserKey":"10037FFE8F2B1A4C","UserType":0,"Version":1,"Workload":"AzureActiveDirectory","ClientIP":"203.0.113.7","ObjectId":"00000002-0000-0ff1-ce00-000000000000","UserId":"alice@contoso.com"}`,
		at.UTC().Format("2006-01-02T15:04:05"), id, TenantID)
}

// O365ForwardingRule is an inbox rule forwarding a mailbox's mail to an
// outside address, made by the mailbox itself (Audit.Exchange,
// New-InboxRule): what an attacker does after a takeover.
func O365ForwardingRule(id string, at time.Time) string {
	return fmt.Sprintf(`{"CreationTime":%q,"Id":%q,"Operation":"New-InboxRule","OrganizationId":"%s","RecordType":1,"ResultStatus":"True","UserKey":"10032002C9D0E1F2","UserType":0,"Version":1,"Workload":"Exchange","ClientIP":"198.51.100.77:50123","ObjectId":"megan.bowen@contoso.com\\Sync","UserId":"megan.bowen@contoso.com","AppId":"","ClientAppId":"","ExternalAccess":false,"OrganizationName":"contoso.onmicrosoft.com","OriginatingServer":"AM0PR01MB1234 (15.20.7316.000)","Parameters":[{"Name":"Mailbox","Value":"megan.bowen@contoso.com"},{"Name":"Name","Value":"Sync"},{"Name":"ForwardTo","Value":"m.bowen.contoso@example.net"},{"Name":"StopProcessingRules","Value":"True"}],"SessionId":"3a5f7b9d-1c2e-4a6b-8d0f-6e7f8a9b0c1d"}`,
		at.UTC().Format("2006-01-02T15:04:05"), id, TenantID)
}

// GraphSignIn is an interactive Graph sign-in of Bob with the given
// riskLevelDuringSignIn (none, low, medium, high).
func GraphSignIn(id string, at time.Time, risk string) string {
	return fmt.Sprintf(`{"id":%q,"createdDateTime":%q,"userDisplayName":"Bob Kelly","userPrincipalName":"bob@contoso.com","userId":"d1f0c2a4-1b3e-4c5d-8e9f-0a1b2c3d4e5f","appId":"00000002-0000-0ff1-ce00-000000000000","appDisplayName":"Office 365 Exchange Online","ipAddress":"198.51.100.1","clientAppUsed":"Browser","correlationId":"c0ffee00-0000-4000-8000-000000000001","conditionalAccessStatus":"notApplied","isInteractive":true,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":%q,"riskState":"none","riskEventTypes":[],"resourceDisplayName":"Office 365 Exchange Online","resourceId":"00000002-0000-0ff1-ce00-000000000000","status":{"errorCode":0,"failureReason":null,"additionalDetails":null},"deviceDetail":{"deviceId":"","displayName":"","operatingSystem":"Windows10","browser":"Edge 131.0.0","isCompliant":false,"isManaged":false,"trustType":""},"location":{"city":"Redmond","state":"Washington","countryOrRegion":"US","geoCoordinates":{"altitude":null,"latitude":47.674,"longitude":-122.122}}}`,
		id, at.UTC().Format("2006-01-02T15:04:05Z"), risk)
}

// GoogleLogin is a successful Google Workspace login of Carol.
func GoogleLogin(uniqueQualifier string, at time.Time) string {
	return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":%q,"applicationName":"login","customerId":"C03az79cb"},"etag":"\"JDMC8884sebSctZ17CIssbQ/1b4wH-eRt6w5mTwmCrhrMmrvZ2o\"","actor":{"email":"carol@contosolabs.com","profileId":"114411111111111111111"},"ipAddress":"192.0.2.5","events":[{"type":"login","name":"login_success","parameters":[{"name":"login_type","value":"google_password"},{"name":"is_suspicious","boolValue":false}]}]}`,
		at.UTC().Format("2006-01-02T15:04:05.000Z"), uniqueQualifier)
}
