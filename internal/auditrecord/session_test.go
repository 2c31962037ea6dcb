package auditrecord_test

import (
	"testing"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// TestSessionAndFlow checks the fields that tie records to one session and
// say how its token was issued (synthetic records written from the Graph
// beta signIn schema and the O365 ExchangeItem schema).
func TestSessionAndFlow(t *testing.T) {
	tests := []struct {
		name           string
		body           string
		session, token string
		deviceCode     bool
		accessType     string
		accessed       int
	}{
		{
			name: "Graph device code sign-in",
			body: `{"id":"d1","createdDateTime":"2026-11-21T09:00:00Z","userPrincipalName":"bob@contoso.com","ipAddress":"203.0.113.9",
				"status":{"errorCode":0},"isInteractive":true,"authenticationProtocol":"deviceCode","sessionId":"s-1","uniqueTokenIdentifier":"t-1"}`,
			session: "s-1", token: "t-1", deviceCode: true,
		},
		{
			name: "Graph token refresh of a device code grant",
			body: `{"id":"d2","createdDateTime":"2026-11-21T09:10:00Z","userPrincipalName":"bob@contoso.com","ipAddress":"45.9.148.3",
				"status":{"errorCode":0},"isInteractive":false,"signInEventTypes":["nonInteractiveUser"],"authenticationProtocol":"none",
				"originalTransferMethod":"deviceCodeFlow","incomingTokenType":"refreshToken","sessionId":"s-1"}`,
			session: "s-1", deviceCode: true,
		},
		{
			name: "Graph browser sign-in",
			body: `{"id":"d3","createdDateTime":"2026-11-21T09:00:00Z","userPrincipalName":"bob@contoso.com","ipAddress":"203.0.113.9",
				"status":{"errorCode":0},"isInteractive":true,"authenticationProtocol":"none","originalTransferMethod":"none","sessionId":"s-2"}`,
			session: "s-2",
		},
		{
			name: "Exchange sync with the Entra session",
			body: `{"CreationTime":"2026-11-21T09:12:00","Id":"m1","Operation":"MailItemsAccessed","RecordType":50,"ResultStatus":"Succeeded",
				"UserType":0,"Workload":"Exchange","UserId":"bob@contoso.com","MailboxOwnerUPN":"bob@contoso.com","ClientIPAddress":"45.9.148.3",
				"SessionId":"exchange-session","AppAccessContext":{"AADSessionId":"s-1","UniqueTokenId":"t-9","IssuedAtTime":"2026-11-21T09:10:00"},
				"OperationProperties":[{"Name":"MailAccessType","Value":"Sync"}],"Folders":[{"Path":"\\Inbox"},{"Path":"\\Sent Items"}]}`,
			session: "s-1", token: "t-9", accessType: "Sync", accessed: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r auditrecord.Record
			if err := auditrecord.Parse(decode(t, tt.body), &r); err != nil {
				t.Fatal(err)
			}
			if r.SessionID != tt.session || r.TokenID != tt.token {
				t.Errorf("session, token = %q, %q; want %q, %q", r.SessionID, r.TokenID, tt.session, tt.token)
			}
			if r.SignIn.DeviceCode != tt.deviceCode {
				t.Errorf("DeviceCode = %v, want %v", r.SignIn.DeviceCode, tt.deviceCode)
			}
			if r.Mail.AccessType != tt.accessType || r.Mail.Accessed != tt.accessed {
				t.Errorf("access = %q %d, want %q %d", r.Mail.AccessType, r.Mail.Accessed, tt.accessType, tt.accessed)
			}
		})
	}
}

// TestRiskDetection reads Entra ID Protection risk detections (synthetic,
// from the Graph riskDetection schema and the Azure Monitor UserRiskEvents
// export that wraps it).
func TestRiskDetection(t *testing.T) {
	const graph = `{"id":"6a0ee2f9b5d1a3e8","requestId":"1691d37b-8579-43a7-966a-0f35583c1300","correlationId":"5d295068-919b-4017-85d8-44be2f5f5483",
		"riskEventType":"anomalousToken","riskState":"atRisk","riskLevel":"high","riskDetail":"none","source":"IdentityProtection",
		"detectionTimingType":"offline","activity":"signin","tokenIssuerType":"AzureAD","ipAddress":"104.248.1.9",
		"location":{"city":"New York","state":"New York","countryOrRegion":"US","geoCoordinates":{"latitude":40.71,"longitude":-74.0}},
		"activityDateTime":"2026-11-21T09:05:00Z","detectedDateTime":"2026-11-21T09:40:00Z","lastUpdatedDateTime":"2026-11-21T09:41:00Z",
		"userId":"e3f1","userDisplayName":"Bob","userPrincipalName":"Bob@Contoso.com","additionalInfo":"[]"}`
	monitor := `{"time":"2026-11-21T09:40:00Z","category":"UserRiskEvents","operationName":"User Risk Detection","tenantId":"0e8108b1",` +
		`"properties":` + graph + `}`
	for name, body := range map[string]string{"Graph": graph, "Azure Monitor": monitor} {
		t.Run(name, func(t *testing.T) {
			var r auditrecord.Record
			if err := auditrecord.Parse(decode(t, body), &r); err != nil {
				t.Fatal(err)
			}
			if r.Source != auditrecord.SourceEntraRiskDetection || r.Kind != auditrecord.KindRiskDetection {
				t.Fatalf("source, kind = %q, %d", r.Source, r.Kind)
			}
			if r.User != "bob@contoso.com" || r.Operation != "anomalousToken" || !r.Time.Equal(ts("2026-11-21T09:05:00Z")) {
				t.Errorf("user %q, operation %q, time %v", r.User, r.Operation, r.Time)
			}
			if r.SignIn.RiskLevelDuringSignIn != "high" || r.SignIn.RiskState != "atRisk" || r.Geo.CountryISO != "US" || r.ClientAddress != "104.248.1.9" {
				t.Errorf("risk %+v, geo %+v, address %q", r.SignIn, r.Geo, r.ClientAddress)
			}
		})
	}
}
