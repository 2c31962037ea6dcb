package loadgen

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"
)

// The renderers below write each record in its vendor's real shape, key by
// key in the vendor's order, after the published samples in
// ../shared/corpus/samples: o365/splunk-security_content_o365_userloggedin.json
// and _userloginfailed.json (UserLoggedIn, UserLoginFailed),
// o365/elastic-integrations_test-exchange-item.log (Exchange mailbox items),
// o365/splunk-security_content_o365_mailitemsaccessed.json,
// purview_csv/DERIVED_huntress2023_purview_AuditData.ndjson and
// o365/splunk-security_content_o365_set_mailbox.json (Exchange cmdlets),
// entra_signin_graph/graph-docs_v1.0_signin-list_example1_response.fixed.json
// (Graph signIn), entra_signin_azuremonitor/elastic-integrations_test-*.log
// and entra-docs_reference-azure-monitor-sign-ins-log-schema_example.json
// (Azure Monitor SignInLogs / NonInteractiveUserSignInLogs), and
// google_workspace/splunk-security_content_google_workspace_login_*.json
// (Google login). ExchangeItemGroup deletes (AffectedItems, Folder,
// DestFolder) follow Microsoft's documented schema; UpdateInboxRules follows
// the mailbox-audit OperationProperties of the same schema.

// place is where the vendor located a client.
type place struct {
	city, state, country string
	lat, lon             float64
}

func (o *office) place() place { return place{o.city, o.state, o.country, o.lat, o.lon} }

// Lagos is where the attacker of the travel scenarios signs in from.
var lagos = place{"Lagos", "Lagos", "NG", 6.4550, 3.3841}

// signIn is an Entra sign-in, rendered as a Graph signIn resource or as the
// Azure Monitor record that wraps it.
type signIn struct {
	id, correlationID string
	at                time.Time
	u                 *user
	ip                netip.Addr
	where             place
	interactive       bool
	clientApp         string
	ua, os, browser   string
	appID, appName    string
	resource          string
	errorCode         int
	failureReason     string
	additionalDetails string
	riskDuring        string
	riskAggregated    string
	riskState         string
	riskEvents        []string
	deviceID          string
	// Written by the Azure Monitor record only, and only when set (Graph
	// v1.0 has no such fields): the Entra session and the token the
	// sign-in issued or refreshed, and the device code flow
	// (authenticationProtocol deviceCode on the sign-in,
	// originalTransferMethod deviceCodeFlow on its refreshes).
	sessionID, tokenID string
	authProtocol       string
	transferMethod     string
}

// signInResource writes the Graph v1.0 signIn properties (shared with the
// Azure Monitor "properties" object).
func signInResource(w *jw, s *signIn, azure bool) {
	w.str("id", s.id)
	w.str("createdDateTime", ts(s.at, graphTime))
	w.str("userDisplayName", s.u.display)
	w.str("userPrincipalName", s.u.upn)
	w.str("userId", s.u.objectID)
	w.str("appId", s.appID)
	w.str("appDisplayName", s.appName)
	w.str("ipAddress", s.ip.String())
	w.str("clientAppUsed", s.clientApp)
	if azure {
		w.str("userAgent", s.ua)
	}
	w.str("correlationId", s.correlationID)
	w.str("conditionalAccessStatus", "success")
	w.bool("isInteractive", s.interactive)
	w.str("riskDetail", "none")
	w.str("riskLevelAggregated", s.riskAggregated)
	w.str("riskLevelDuringSignIn", s.riskDuring)
	w.str("riskState", s.riskState)
	w.arr("riskEventTypes")
	for _, e := range s.riskEvents {
		w.strVal(e)
	}
	w.closeArr()
	if azure {
		w.arr("riskEventTypes_v2")
		for _, e := range s.riskEvents {
			w.strVal(e)
		}
		w.closeArr()
	}
	w.str("resourceDisplayName", s.resource)
	w.str("resourceId", "00000002-0000-0ff1-ce00-000000000000")
	w.obj("status")
	w.int("errorCode", int64(s.errorCode))
	if s.failureReason == "" {
		w.null("failureReason")
	} else {
		w.str("failureReason", s.failureReason)
	}
	if s.additionalDetails == "" {
		w.null("additionalDetails")
	} else {
		w.str("additionalDetails", s.additionalDetails)
	}
	w.close()
	w.obj("deviceDetail")
	w.str("deviceId", s.deviceID)
	w.str("displayName", "")
	w.str("operatingSystem", s.os)
	w.str("browser", s.browser)
	w.bool("isCompliant", s.deviceID != "")
	w.bool("isManaged", s.deviceID != "")
	w.str("trustType", map[bool]string{true: "Azure AD joined", false: ""}[s.deviceID != ""])
	w.close()
	w.obj("location")
	w.str("city", s.where.city)
	w.str("state", s.where.state)
	w.str("countryOrRegion", s.where.country)
	w.obj("geoCoordinates")
	w.null("altitude")
	w.float("latitude", round6(s.where.lat))
	w.float("longitude", round6(s.where.lon))
	w.close()
	w.close()
	w.arr("appliedConditionalAccessPolicies")
	for i, p := range [...]struct{ id, name, grant string }{
		{"9bc14439-0b78-4d1e-bb27-8fab658d0e83", "Require MFA for everyone", "Mfa"},
		{"f1938df8-77ab-445a-8cba-4e7be5d55dca", "Block Legacy Authentication", "Block"},
	} {
		w.open()
		w.str("id", p.id)
		w.str("displayName", p.name)
		w.arr("enforcedGrantControls")
		w.strVal(p.grant)
		w.closeArr()
		w.arr("enforcedSessionControls")
		w.closeArr()
		w.str("result", []string{"success", "notApplied"}[i])
		w.close()
	}
	w.closeArr()
	if azure {
		w.str("tokenIssuerType", "AzureAD")
		w.str("userType", "Member")
		w.str("homeTenantId", tenantID)
		w.str("resourceTenantId", tenantID)
		w.str("authenticationRequirement", "multiFactorAuthentication")
		w.int("processingTimeInMilliseconds", int64(80+int(s.at.UnixNano()%300)))
		optional(w, "authenticationProtocol", s.authProtocol)
		optional(w, "originalTransferMethod", s.transferMethod)
		optional(w, "sessionId", s.sessionID)
		optional(w, "uniqueTokenIdentifier", s.tokenID)
	}
}

// optional writes a string field only when it has a value.
func optional(w *jw, key, value string) {
	if value != "" {
		w.str(key, value)
	}
}

// appendGraphSignIn writes a Graph signIn resource as one JSON line.
func appendGraphSignIn(b []byte, s *signIn) []byte {
	w := jw{b: b}
	w.open()
	signInResource(&w, s, false)
	w.close()
	return w.b
}

// appendAzureSignIn writes the Azure Monitor diagnostic record of a sign-in
// (category SignInLogs or NonInteractiveUserSignInLogs).
func appendAzureSignIn(b []byte, s *signIn) []byte {
	category := "SignInLogs"
	if !s.interactive {
		category = "NonInteractiveUserSignInLogs"
	}
	w := jw{b: b}
	w.open()
	w.int("Level", 4)
	w.str("callerIpAddress", s.ip.String())
	w.str("category", category)
	w.str("correlationId", s.correlationID)
	w.int("durationMs", 0)
	w.str("identity", s.u.display)
	w.str("location", s.where.country)
	w.str("operationName", "Sign-in activity")
	w.str("operationVersion", "1.0")
	w.obj("properties")
	signInResource(&w, s, true)
	w.close()
	w.str("resourceId", "/tenants/"+tenantID+"/providers/Microsoft.aadiam")
	if s.errorCode != 0 {
		w.str("resultDescription", s.failureReason)
	}
	w.str("resultSignature", "None")
	w.str("resultType", strconv.Itoa(s.errorCode))
	w.str("tenantId", tenantID)
	w.str("time", ts(s.at, azureTime))
	w.close()
	return w.b
}

// o365Head is what every Management Activity API record opens with.
type o365Head struct {
	at              time.Time
	id, op          string
	recordType      int
	status, userKey string
	userType        int
	workload        string
}

// open starts the record and writes its common fields, in the API's order.
func (h o365Head) open(w *jw) {
	w.open()
	w.str("CreationTime", ts(h.at, o365Time))
	w.str("Id", h.id)
	w.str("Operation", h.op)
	w.str("OrganizationId", tenantID)
	w.int("RecordType", int64(h.recordType))
	w.str("ResultStatus", h.status)
	w.str("UserKey", h.userKey)
	w.int("UserType", int64(h.userType))
	w.int("Version", 1)
	w.str("Workload", h.workload)
}

// o365Login is an Azure AD sign-in as the Management Activity API reports
// it (RecordType 15).
type o365Login struct {
	id, sessionID string
	at            time.Time
	u             *user
	ip            netip.Addr
	ua, os, brw   string
	failed        bool
	requestType   string
	interSystems  string
}

func appendO365Login(b []byte, l *o365Login) []byte {
	op, status, detail, objectID := "UserLoggedIn", "Success", "Success", exchangeAppID
	if l.failed {
		op, status, detail, objectID = "UserLoginFailed", "Failed", "UserError", "Unknown"
	}
	w := jw{b: b}
	o365Head{at: l.at, id: l.id, op: op, recordType: 15, status: status, userKey: l.u.objectID, workload: "AzureActiveDirectory"}.open(&w)
	w.str("ClientIP", l.ip.String())
	w.str("ObjectId", objectID)
	w.str("UserId", l.u.upn)
	w.int("AzureActiveDirectoryEventType", 1)
	w.arr("ExtendedProperties")
	w.nameValue("ResultStatusDetail", detail)
	w.nameValue("KeepMeSignedIn", "false")
	w.nameValue("UserAgent", l.ua)
	w.nameValue("UserAuthenticationMethod", "1")
	w.nameValue("RequestType", l.requestType)
	w.closeArr()
	w.arr("ModifiedProperties")
	w.closeArr()
	w.arr("Actor")
	w.idType(l.u.objectID, 0)
	w.idType(l.u.upn, 5)
	w.closeArr()
	w.str("ActorContextId", tenantID)
	w.str("ActorIpAddress", l.ip.String())
	w.str("InterSystemsId", l.interSystems)
	w.str("IntraSystemId", l.id)
	w.str("SupportTicketId", "")
	w.arr("Target")
	w.idType(objectID, 0)
	w.closeArr()
	w.str("TargetContextId", tenantID)
	w.str("ApplicationId", officeAppID)
	w.arr("DeviceProperties")
	w.nameValue("OS", l.os)
	w.nameValue("BrowserType", l.brw)
	w.nameValue("IsCompliantAndManaged", "False")
	if !l.failed {
		w.nameValue("SessionId", l.sessionID)
	}
	w.closeArr()
	if l.failed {
		w.str("ErrorNumber", "50126")
		w.str("LogonError", "InvalidUserNameOrPassword")
	} else {
		w.str("ErrorNumber", "0")
	}
	w.close()
	return w.b
}

// mailItem is a mailbox audit record (Exchange item RecordType 2, item
// group RecordType 3, MailItemsAccessed RecordType 50).
type mailItem struct {
	id, sessionID string
	at            time.Time
	op            string
	// owner's mailbox, acted on by actor (the owner, or a delegate of a
	// shared mailbox).
	owner, actor *user
	ip           netip.Addr
	clientInfo   string
	appID        string
	subject      string
	msgID        string
	folder       string
	size         int
	// attachments is Item.Attachments of a Send ("name (bytes b); ..."),
	// empty when the message has none.
	attachments string
	// accessed lists the message ids a MailItemsAccessed bind read.
	accessed []string
	// sync makes a MailItemsAccessed record a Sync: a client downloaded
	// the folder (one operation), and the record names no items.
	sync bool
	// clientAppID is the OAuth client the access came through (empty for
	// Exchange's own clients).
	clientAppID string
}

func appendMailItem(b []byte, m *mailItem, r *rand.Rand) []byte {
	recordType := 2
	switch m.op {
	case "SoftDelete", "HardDelete", "MoveToDeletedItems":
		recordType = 3
	case "MailItemsAccessed":
		recordType = 50
	}
	logonType := 0
	if m.actor != m.owner {
		logonType = 2
	}
	status := "Succeeded"
	w := jw{b: b}
	o365Head{at: m.at, id: m.id, op: m.op, recordType: recordType, status: status, userKey: m.actor.puid, workload: "Exchange"}.open(&w)
	w.str("ClientIP", m.ip.String())
	w.str("UserId", m.actor.upn)
	w.str("AppId", m.appID)
	w.str("ClientAppId", m.clientAppID)
	w.str("ClientIPAddress", m.ip.String())
	w.str("ClientInfoString", m.clientInfo)
	w.bool("ExternalAccess", false)
	w.int("InternalLogonType", 0)
	w.int("LogonType", int64(logonType))
	w.str("LogonUserSid", m.actor.sid)
	w.str("MailboxGuid", m.owner.mailboxGUID)
	w.str("MailboxOwnerSid", m.owner.sid)
	w.str("MailboxOwnerUPN", m.owner.upn)
	if m.op == "MailItemsAccessed" {
		w.arr("OperationProperties")
		w.nameValue("MailAccessType", map[bool]string{false: "Bind", true: "Sync"}[m.sync])
		w.nameValue("IsThrottled", "False")
		w.closeArr()
	}
	w.str("OrganizationName", TenantDomain)
	w.str("OriginatingServer", "AM6PR01MB4535 (15.20.8158.010)")
	w.str("SessionId", m.sessionID)
	switch recordType {
	case 2:
		w.obj("Item")
		w.str("Id", "RgAAAACklF6sEsJgSK"+randHex(r, 10))
		w.str("InternetMessageId", m.msgID)
		folderObj(&w, "ParentFolder", m.folder)
		w.int("SizeInBytes", int64(m.size))
		w.str("Subject", m.subject)
		if m.attachments != "" {
			w.str("Attachments", m.attachments)
		}
		w.close()
	case 3:
		w.bool("CrossMailboxOperation", false)
		folderObj(&w, "Folder", m.folder)
		w.obj("DestFolder")
		w.str("Id", "LgAAAACklF6sEsJgSK/ulVd531/WAQCzgXIUnq3lQqXFeCmxHwmHAAAAAAELAAAB")
		w.str("Path", "\\Deleted Items")
		w.close()
		w.arr("AffectedItems")
		w.open()
		w.str("Id", "RgAAAACklF6sEsJgSK"+randHex(r, 10))
		w.str("InternetMessageId", m.msgID)
		folderObj(&w, "ParentFolder", m.folder)
		w.str("Subject", m.subject)
		w.close()
		w.closeArr()
	case 50:
		w.arr("Folders")
		w.open()
		if !m.sync { // a sync names the folder, not its items
			w.arr("FolderItems")
			for _, id := range m.accessed {
				w.open()
				w.str("InternetMessageId", id)
				w.int("SizeInBytes", int64(20000+r.IntN(200000)))
				w.close()
			}
			w.closeArr()
		}
		w.str("Id", "LgAAAAC0AxwgOj/BRq9Bs1bhMPw/AQDh+UNSDzeHSLWfq+fr83BDAAAAAAEMAAAB")
		w.str("Path", m.folder)
		w.close()
		w.closeArr()
		count := len(m.accessed)
		if m.sync {
			count = 1
		}
		w.int("OperationCount", int64(count))
	}
	w.close()
	return w.b
}

func folderObj(w *jw, key, path string) {
	w.obj(key)
	w.str("Id", "LgAAAACklF6sEsJgSK/ulVd531/WAQCzgXIUnq3lQqXFeCmxHwmHAAAAAAEMAAAB")
	w.str("Path", path)
	w.close()
}

// cmdlet is an Exchange admin audit record (RecordType 1): a cmdlet run in
// PowerShell, the admin center or Outlook on the web.
type cmdlet struct {
	id, sessionID string
	at            time.Time
	actor         *user
	userType      int
	op            string
	objectID      string
	ip            netip.Addr
	port          int
	params        [][2]string
}

func appendCmdlet(b []byte, c *cmdlet) []byte {
	w := jw{b: b}
	o365Head{at: c.at, id: c.id, op: c.op, recordType: 1, status: "True", userKey: c.actor.puid, userType: c.userType, workload: "Exchange"}.open(&w)
	w.str("ClientIP", netip.AddrPortFrom(c.ip, uint16(c.port)).String())
	w.str("ObjectId", c.objectID)
	w.str("UserId", c.actor.upn)
	w.str("AppId", "")
	w.str("ClientAppId", "")
	w.bool("ExternalAccess", false)
	w.str("OrganizationName", TenantDomain)
	w.str("OriginatingServer", "CH3PR10MB7864 (15.20.8158.010)")
	w.arr("Parameters")
	for _, p := range c.params {
		w.nameValue(p[0], p[1])
	}
	w.closeArr()
	w.str("SessionId", c.sessionID)
	w.close()
	return w.b
}

// outlookRule is a rule saved by desktop Outlook: the mailbox audit's
// UpdateInboxRules record, its rule in OperationProperties.
type outlookRule struct {
	id, sessionID          string
	at                     time.Time
	u                      *user
	ip                     netip.Addr
	name, condition, state string
	actions                string
	ruleID                 string
}

func appendOutlookRule(b []byte, o *outlookRule) []byte {
	w := jw{b: b}
	o365Head{at: o.at, id: o.id, op: "UpdateInboxRules", recordType: 2, status: "Succeeded", userKey: o.u.puid, workload: "Exchange"}.open(&w)
	w.str("ClientIP", o.ip.String())
	w.str("UserId", o.u.upn)
	w.str("AppId", "")
	w.str("ClientAppId", "")
	w.str("ClientIPAddress", o.ip.String())
	w.str("ClientInfoString", "Client=MSExchangeRPC")
	w.bool("ExternalAccess", false)
	w.int("InternalLogonType", 0)
	w.int("LogonType", 0)
	w.str("LogonUserSid", o.u.sid)
	w.str("MailboxGuid", o.u.mailboxGUID)
	w.str("MailboxOwnerSid", o.u.sid)
	w.str("MailboxOwnerUPN", o.u.upn)
	w.arr("OperationProperties")
	w.nameValue("RuleName", o.name)
	w.nameValue("RuleId", o.ruleID)
	w.nameValue("RuleState", o.state)
	w.nameValue("RuleCondition", o.condition)
	w.nameValue("RuleActions", o.actions)
	w.nameValue("RuleOperation", "AddMailboxRule")
	w.closeArr()
	w.str("OrganizationName", TenantDomain)
	w.str("OriginatingServer", "AM6PR01MB4535 (15.20.8158.010)")
	w.str("SessionId", o.sessionID)
	w.obj("Item")
	w.str("Id", "RgAAAAA5"+strconv.Itoa(len(o.ruleID)))
	folderObj(&w, "ParentFolder", "\\Inbox")
	w.close()
	w.close()
	return w.b
}

// googleActivity is one Admin SDK Reports API activity with one event.
type googleActivity struct {
	id          string
	at          time.Time
	u           *user
	ip          netip.Addr
	application string // login, user_accounts
	eventType   string
	eventName   string
	// params are name/value pairs; a value of "true"/"false" is written as
	// boolValue, as the API does for booleans.
	params [][2]string
	etag   string
}

func appendGoogle(b []byte, g *googleActivity) []byte {
	w := jw{b: b}
	w.open()
	w.str("kind", "admin#reports#activity")
	w.obj("id")
	w.str("time", ts(g.at, googleTime))
	w.str("uniqueQualifier", g.id)
	w.str("applicationName", g.application)
	w.str("customerId", googleCustomer)
	w.close()
	w.str("etag", g.etag)
	w.obj("actor")
	w.str("callerType", "USER")
	w.str("email", g.u.googleMail)
	w.str("profileId", g.u.profileID)
	w.close()
	w.str("ownerDomain", GoogleDomain)
	w.str("ipAddress", g.ip.String())
	w.arr("events")
	w.open()
	w.str("type", g.eventType)
	w.str("name", g.eventName)
	w.arr("parameters")
	for _, p := range g.params {
		w.open()
		w.str("name", p[0])
		switch {
		case p[1] == "true" || p[1] == "false":
			w.bool("boolValue", p[1] == "true")
		case p[0] == "login_challenge_method":
			w.arr("multiValue")
			w.strVal(p[1])
			w.closeArr()
		default:
			w.str("value", p[1])
		}
		w.close()
	}
	w.closeArr()
	w.close()
	w.closeArr()
	w.close()
	return w.b
}

func round6(f float64) float64 {
	const m = 1e6
	if f < 0 {
		return -float64(int64(-f*m+0.5)) / m
	}
	return float64(int64(f*m+0.5)) / m
}
