package detection

import (
	"fmt"
	"strings"
	"time"
)

// Synthetic account-change and mail-access records written from the
// vendors' schemas: Graph directoryAudit, the O365 Management Activity API
// (Audit.AzureActiveDirectory, ExchangeItem), Google Reports user_accounts.

// entraAudit writes a Graph directoryAudit record initiated by a user.
func entraAudit(activity, actor, target, ip string, at time.Time, modified string) string {
	return fmt.Sprintf(`{"id":"Directory_%d","category":"UserManagement","activityDisplayName":%q,"activityDateTime":%q,"result":"success",
		"loggedByService":"Authentication Methods","operationType":"Add",
		"initiatedBy":{"user":{"userPrincipalName":%q,"ipAddress":%q}},
		"targetResources":[{"type":"User","userPrincipalName":%q,"modifiedProperties":%s}]}`,
		at.UnixNano(), activity, at.UTC().Format(time.RFC3339Nano), actor, ip, target, orDefault(modified, "[]"))
}

// o365Consent writes an O365 "Consent to application." record granting scopes.
func o365Consent(user, ip, app string, at time.Time, scopes ...string) string {
	return fmt.Sprintf(`{"CreationTime":%q,"Id":"consent-%d","Operation":"Consent to application.","RecordType":8,"ResultStatus":"Success",
		"UserType":0,"Workload":"AzureActiveDirectory","ClientIP":%q,"ObjectId":"ServicePrincipal_1","UserId":%q,
		"ModifiedProperties":[{"Name":"ConsentContext.IsAdminConsent","NewValue":"False"},
		{"Name":"ConsentAction.Permissions","NewValue":"[] => [[Id: x, ClientId: y, ConsentType: Principal, Scope: %s, CreatedDateTime: ]]; "}],
		"Target":[{"ID":%q,"Type":1}]}`,
		at.UTC().Format("2006-01-02T15:04:05"), at.UnixNano(), ip, user, strings.Join(scopes, " "), app)
}

// googleAccountEvent writes a Reports API user_accounts activity.
func googleAccountEvent(user, ip, event string, at time.Time) string {
	return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":"%d","applicationName":"user_accounts","customerId":"C0"},
		"actor":{"email":%q},"ipAddress":%q,"events":[{"type":"2sv_change","name":%q}]}`,
		at.UTC().Format(time.RFC3339), at.UnixNano(), user, ip, event)
}

// mailItemsAccessed writes an O365 MailItemsAccessed record of count items
// (Bind) or folders (Sync) through an app, in an Entra session.
func mailItemsAccessed(user, ip, accessType, app, session string, count int, at time.Time) string {
	return fmt.Sprintf(`{"CreationTime":%q,"Id":"mia-%d-%s","Operation":"MailItemsAccessed","RecordType":50,"ResultStatus":"Succeeded",
		"UserType":0,"Workload":"Exchange","UserId":%q,"MailboxOwnerUPN":%q,"ClientIPAddress":%q,"ClientAppId":%q,"AppId":%q,
		"AppAccessContext":{"AADSessionId":%q},"OperationProperties":[{"Name":"MailAccessType","Value":%q}],"OperationCount":%d}`,
		at.UTC().Format("2006-01-02T15:04:05"), at.UnixNano(), ip, user, user, ip, app, app, session, accessType, count)
}
