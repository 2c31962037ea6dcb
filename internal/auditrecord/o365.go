package auditrecord

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

const (
	o365CreationTime = iota + 1
	o365ID
	o365Operation
	o365OrganizationID
	o365OrganizationName
	o365UserDomain
	o365RecordType
	o365ResultStatus
	o365UserType
	o365ClientIP
	o365ClientIPAddress
	o365ActorIPAddress
	o365ObjectID
	o365UserID
	o365Parameters
	o365OperationProperties
	o365ExtendedProperties
	o365DeviceProperties
	o365ErrorNumber
	o365LogonError
	o365LoginStatus
	o365ApplicationID
	o365AppID
	o365ClientAppID
	o365MailboxOwnerUPN
	o365Item
	o365AffectedItems
	o365Folder
	o365DestFolder
	o365ClientInfoString
	o365LogonType
	o365AppAccessContext
	o365ModifiedProperties
	o365Target
	o365Folders
	o365OperationCount
)

// o365Fields lists, in the order of the constants above, the Management
// Activity API keys the parser reads.
var o365Fields = newFieldTable(
	"CreationTime", "Id", "Operation", "OrganizationId", "OrganizationName", "UserDomain",
	"RecordType", "ResultStatus", "UserType", "ClientIP", "ClientIPAddress", "ActorIpAddress",
	"ObjectId", "UserId", "Parameters", "OperationProperties", "ExtendedProperties",
	"DeviceProperties", "ErrorNumber", "LogonError", "LoginStatus", "ApplicationId", "AppId",
	"ClientAppId", "MailboxOwnerUPN", "Item", "AffectedItems", "Folder",
	"DestFolder", "ClientInfoString", "LogonType", "AppAccessContext", "ModifiedProperties",
	"Target", "Folders", "OperationCount",
)

// O365 record types (Microsoft's AuditLogRecordType) the parser tells apart.
const (
	recordTypeExchangeAdmin      = 1
	recordTypeExchangeItem       = 2
	recordTypeExchangeItemGroup  = 3
	recordTypeAzureADAccountLgon = 9
	recordTypeAzureADStsLogon    = 15
)

// o365Scratch holds the fields resolved after the single pass over the keys.
type o365Scratch struct {
	creationTime, resultStatus, objectID, userID, mailboxOwner string
	clientIP, clientIPAddress, actorIP                         string
	errorNumber, loginStatus, logonError                       string
	appID, clientAppID, applicationID                          string
	aadSessionID, targetApp                                    string
	recordType, operationCount                                 int64
	folders                                                    pcommon.Value
	hasFolders                                                 bool
	// extended and device are valid only when the has flags say so: a zero
	// pcommon.Value panics on any use, and sign-ins without DeviceProperties
	// (RecordType 9) or ExtendedProperties exist.
	extended, device       pcommon.Value
	hasExtended, hasDevice bool
}

// parseO365 reads an Office 365 Management Activity API record (the same JSON
// as the AuditData column of a Purview export) in one pass over its keys.
func parseO365(body pcommon.Map, r *Record) error {
	r.Source = SourceO365
	r.CloudProvider = "azure"
	var s o365Scratch
	var badOperation string
	body.Range(func(k string, v pcommon.Value) bool {
		switch o365Fields.lookup(k) {
		case o365CreationTime:
			s.creationTime = str(v)
		case o365ID:
			r.ID = str(v)
		case o365Operation:
			if v.Type() != pcommon.ValueTypeStr {
				badOperation = "is a " + v.Type().String() + ", want a string"
			}
			r.Operation = v.Str()
		case o365OrganizationID:
			r.TenantID = str(v)
		case o365OrganizationName:
			r.TenantDomain = asciifold.ToLower(str(v))
		case o365UserDomain:
			if r.TenantDomain == "" {
				r.TenantDomain = asciifold.ToLower(str(v))
			}
		case o365RecordType:
			s.recordType, _ = integer(v)
		case o365ResultStatus:
			s.resultStatus = str(v)
		case o365UserType:
			if n, ok := integer(v); ok {
				r.ActorUserType = int(n)
			}
		case o365ClientIP:
			s.clientIP = str(v)
		case o365ClientIPAddress:
			s.clientIPAddress = str(v)
		case o365ActorIPAddress:
			s.actorIP = str(v)
		case o365ObjectID:
			s.objectID = str(v)
		case o365UserID:
			s.userID = str(v)
		case o365Parameters:
			r.Parameters = appendNameValues(r.Parameters, v)
		case o365OperationProperties:
			r.OperationProperties = appendNameValues(r.OperationProperties, v)
		case o365ExtendedProperties:
			s.extended, s.hasExtended = v, true
		case o365DeviceProperties:
			s.device, s.hasDevice = v, true
		case o365ErrorNumber:
			s.errorNumber = str(v)
		case o365LogonError:
			s.logonError = str(v)
		case o365LoginStatus:
			s.loginStatus = str(v)
		case o365ApplicationID:
			s.applicationID = str(v)
		case o365AppID:
			s.appID = str(v)
		case o365ClientAppID:
			s.clientAppID = str(v)
		case o365MailboxOwnerUPN:
			s.mailboxOwner = str(v)
		case o365Item:
			if v.Type() == pcommon.ValueTypeMap {
				r.Mail.Items = append(r.Mail.Items, mailItem(v.Map()))
			}
		case o365AffectedItems:
			if v.Type() == pcommon.ValueTypeSlice {
				items := v.Slice()
				for i := 0; i < items.Len(); i++ {
					if items.At(i).Type() == pcommon.ValueTypeMap {
						r.Mail.Items = append(r.Mail.Items, mailItem(items.At(i).Map()))
					}
				}
			}
		case o365Folder:
			r.Mail.Folder = folderPath(v)
		case o365DestFolder:
			r.Mail.DestFolder = folderPath(v)
		case o365ClientInfoString:
			r.Mail.ClientInfo = str(v)
		case o365LogonType:
			if n, ok := integer(v); ok {
				r.Mail.LogonType = int(n)
			}
		case o365AppAccessContext:
			if v.Type() == pcommon.ValueTypeMap {
				s.aadSessionID = strField(v.Map(), "AADSessionId")
				r.TokenID = strField(v.Map(), "UniqueTokenId")
			}
		case o365ModifiedProperties:
			r.Modified = appendModified(r.Modified, v, "Name", "NewValue")
		case o365Target:
			s.targetApp = firstTargetID(v)
		case o365Folders:
			s.folders, s.hasFolders = v, true
		case o365OperationCount:
			s.operationCount, _ = integer(v)
		}
		return true
	})

	if badOperation != "" {
		return fieldError(SourceO365, "Operation", badOperation)
	}
	if r.Operation == "" {
		return fieldError(SourceO365, "Operation", "is missing")
	}
	t, ok := ParseTime(s.creationTime)
	if !ok {
		if s.creationTime == "" {
			return fieldError(SourceO365, "CreationTime", "is missing")
		}
		return fieldError(SourceO365, "CreationTime", "is not a timestamp: "+quoteShort(s.creationTime))
	}
	r.Time = t
	r.Kind = o365Kind(r.Operation, s.recordType)
	if r.Kind == KindOther && changeKindOf(r) != 0 {
		r.Kind = KindAccountChange
	}
	r.Actor = NormalizeAddress(s.userID)
	r.AppID = firstNonEmpty(s.appID, s.clientAppID, s.applicationID)
	// The Entra session ties a mailbox operation to its sign-in; Exchange's
	// own SessionId (one per client connection, in another namespace) ties
	// it to nothing the detectors read, and stays in the body.
	if r.Kind != KindSignIn {
		r.SessionID = s.aadSessionID
	}
	r.ClientAddress, r.ClientIP = CleanIP(firstNonEmpty(s.clientIP, s.clientIPAddress, s.actorIP))
	r.Result = o365Result(r.Operation, s.resultStatus)
	if r.Result == ResultFailure {
		r.ErrorCode = firstNonEmpty(nonZero(s.errorNumber), nonZero(s.loginStatus))
	}
	switch r.Kind {
	case KindSignIn:
		r.Target = r.Actor
		readO365SignIn(r, &s)
	case KindMailItem:
		r.Target = firstNonEmpty(NormalizeAddress(s.mailboxOwner), r.Actor)
		if asciifold.Equal(r.Operation, "MailItemsAccessed") {
			readMailAccess(r, &s)
		}
	case KindAccountChange:
		r.Target = r.Actor
		if strings.IndexByte(s.objectID, '@') > 0 { // an admin changing another user
			r.Target = NormalizeAddress(s.objectID)
		}
		r.TargetApp = firstNonEmpty(s.targetApp, s.objectID)
	case KindMailboxChange:
		if s.mailboxOwner != "" { // UpdateInboxRules and other mailbox audit changes
			r.Target = NormalizeAddress(s.mailboxOwner)
		} else {
			r.Target = cmdletTarget(r, s.objectID)
		}
	default:
		r.Target = r.Actor
		if strings.IndexByte(s.objectID, '@') > 0 {
			r.Target = NormalizeAddress(s.objectID)
		}
	}
	r.User = r.Target
	return nil
}

// o365Kind classifies an operation by what the detectors care about.
func o365Kind(op string, recordType int64) Kind {
	switch {
	case recordType == recordTypeAzureADStsLogon || recordType == recordTypeAzureADAccountLgon,
		asciifold.Equal(op, "UserLoggedIn"), asciifold.Equal(op, "UserLoginFailed"):
		return KindSignIn
	case recordType == recordTypeExchangeAdmin, asciifold.Equal(op, "UpdateInboxRules"),
		isFolderPermissionOperation(op):
		return KindMailboxChange
	case recordType == recordTypeExchangeItem || recordType == recordTypeExchangeItemGroup,
		isMailItemOperation(op):
		return KindMailItem
	}
	return KindOther
}

// isFolderPermissionOperation reports the mailbox audit's folder delegation
// changes, which arrive as mailbox item records (RecordType 2) but change
// who can read the mailbox.
func isFolderPermissionOperation(op string) bool {
	return asciifold.Equal(op, "AddFolderPermissions") || asciifold.Equal(op, "ModifyFolderPermissions") ||
		asciifold.Equal(op, "RemoveFolderPermissions")
}

func isMailItemOperation(op string) bool {
	for _, name := range [...]string{"Send", "SendAs", "SendOnBehalf", "SoftDelete", "HardDelete",
		"MoveToDeletedItems", "Move", "Create", "Update", "MailItemsAccessed"} {
		if asciifold.Equal(op, name) {
			return true
		}
	}
	return false
}

// o365Result reads the outcome. UserLoginFailed records carry ResultStatus
// "Success" (the audit write succeeded), so the operation name wins there.
func o365Result(op, status string) Result {
	switch {
	case asciifold.Equal(op, "UserLoginFailed"):
		return ResultFailure
	case asciifold.Equal(op, "UserLoggedIn"):
		return ResultSuccess
	}
	status = strings.TrimSpace(status)
	// Compared without lowercasing: ToLower allocated a string per record
	// for the usual "Succeeded".
	for _, s := range [...]string{"success", "succeeded", "true", "partiallysucceeded"} {
		if asciifold.Equal(status, s) {
			return ResultSuccess
		}
	}
	for _, s := range [...]string{"failed", "failure", "false", "error"} {
		if asciifold.Equal(status, s) {
			return ResultFailure
		}
	}
	return ResultUnknown
}

// readO365SignIn fills the sign-in details from ExtendedProperties and
// DeviceProperties.
func readO365SignIn(r *Record, s *o365Scratch) {
	r.SignIn.Interactive = true
	r.SignIn.FailureDetail = s.logonError
	// The pairs are read in place: collecting them into a slice first cost
	// an allocation per sign-in.
	if s.hasExtended {
		eachNameValue(s.extended, func(name, value string) {
			switch {
			case asciifold.Equal(name, "UserAgent"):
				r.UserAgent = value
			case asciifold.Equal(name, "RequestType"):
				r.SignIn.ClientApp = value
				// Token redemptions are the non-interactive sign-ins of O365.
				if asciifold.HasPrefix(value, "OAuth2:Token") {
					r.SignIn.Interactive = false
				}
			case asciifold.Equal(name, "LoginError") && r.SignIn.FailureDetail == "":
				r.SignIn.FailureDetail = value
			}
		})
	}
	if s.hasDevice {
		eachNameValue(s.device, func(name, value string) {
			switch {
			case asciifold.Equal(name, "SessionId"):
				r.SessionID = value
			case asciifold.Equal(name, "Id"):
				r.SignIn.DeviceID = value
			}
		})
	}
}

// cmdletTarget names the mailbox an Exchange cmdlet acted on. Mailbox-scoped
// cmdlets name it in -Mailbox or -Identity ("bob", "bob@x.com",
// "bob@x.com\RuleName", "bob:\Inbox"); a cmdlet without one acts on the
// caller's own mailbox (New-InboxRule from Outlook on the web). Organisation
// cmdlets (transport rules, policies) are attributed to their actor, whose
// account is the one that is compromised if they are malicious.
func cmdletTarget(r *Record, objectID string) string {
	if !mailboxScoped(r.Operation) {
		return r.Actor
	}
	if m, ok := r.Param("Mailbox"); ok && strings.TrimSpace(m) != "" {
		return NormalizeAddress(m)
	}
	if id, ok := r.Param("Identity"); ok && strings.TrimSpace(id) != "" {
		if strings.HasSuffix(r.Operation, "InboxRule") && strings.IndexByte(id, '\\') < 0 {
			// -Identity names just the rule: the caller's own mailbox.
			return r.Actor
		}
		return sameMailbox(NormalizeAddress(mailboxOfIdentity(id)), r.Actor)
	}
	if strings.HasSuffix(r.Operation, "InboxRule") || objectID == "" {
		return r.Actor
	}
	return NormalizeAddress(objectID)
}

// sameMailbox returns actor when target is the actor's own alias (Exchange
// accepts "bob" for bob@contoso.com), so that self-service stays
// recognisable and per-user state keys on one name.
func sameMailbox(target, actor string) string {
	if local, _, ok := strings.Cut(actor, "@"); ok && target == local {
		return actor
	}
	return target
}

// mailboxScoped reports whether a cmdlet acts on one mailbox. Mailbox
// policies and plans (Set-OwaMailboxPolicy, Set-MailboxPlan) are
// organisation objects despite their names.
func mailboxScoped(op string) bool {
	if strings.HasSuffix(op, "Policy") || strings.HasSuffix(op, "Plan") {
		return false
	}
	return strings.Contains(op, "Mailbox") || strings.HasSuffix(op, "InboxRule") ||
		strings.HasSuffix(op, "RecipientPermission")
}

// mailboxOfIdentity strips the folder ("bob:\Inbox") or rule ("bob\Rule")
// part of an Exchange identity.
func mailboxOfIdentity(id string) string {
	if i := strings.Index(id, ":\\"); i > 0 {
		return id[:i]
	}
	if i := strings.LastIndexByte(id, '\\'); i > 0 && !strings.HasPrefix(id, "NT AUTHORITY") {
		return id[:i]
	}
	return id
}

const (
	itemSubject = iota + 1
	itemInternetMessageID
	itemParentFolder
	itemSizeInBytes
)

var itemFields = newFieldTable("Subject", "InternetMessageId", "ParentFolder", "SizeInBytes")

func mailItem(m pcommon.Map) MailItem {
	var it MailItem
	m.Range(func(k string, v pcommon.Value) bool {
		switch itemFields.lookup(k) {
		case itemSubject:
			it.Subject = str(v)
		case itemInternetMessageID:
			it.InternetMessageID = str(v)
		case itemParentFolder:
			it.Folder = folderPath(v)
		case itemSizeInBytes:
			it.Size, _ = integer(v)
		}
		return true
	})
	return it
}

// folderPath reads {"Path": "\\Sent Items", ...} or a bare path string.
func folderPath(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeMap {
		return strField(v.Map(), "Path")
	}
	return str(v)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// nonZero drops the "0" error codes successful records carry.
func nonZero(code string) string {
	if code == "0" {
		return ""
	}
	return code
}

// quoteShort quotes s for an error message, cut so that a 10 MB field cannot
// make a 10 MB attribute.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "\"" + strings.ToValidUTF8(s, "?") + "\""
}

// readMailAccess reads what a MailItemsAccessed record covers: Bind records
// list the items opened (OperationCount says how many, also when throttled
// aggregation cut the list), Sync records the folders downloaded.
func readMailAccess(r *Record, s *o365Scratch) {
	r.Mail.AccessType, _ = r.OperationProperty("MailAccessType")
	if s.operationCount > 0 {
		r.Mail.Accessed = int(s.operationCount)
		return
	}
	if !s.hasFolders || s.folders.Type() != pcommon.ValueTypeSlice {
		return
	}
	folders := s.folders.Slice()
	for i := 0; i < folders.Len(); i++ {
		n := 1 // a folder synced
		if folders.At(i).Type() == pcommon.ValueTypeMap {
			if items, ok := getFold(folders.At(i).Map(), "FolderItems"); ok && items.Type() == pcommon.ValueTypeSlice && items.Slice().Len() > 0 {
				n = items.Slice().Len()
			}
		}
		r.Mail.Accessed += n
	}
}

// appendModified appends the name and new value of each entry of a
// modified-properties array (O365 {Name, NewValue}, Entra {displayName,
// newValue}).
func appendModified(dst []Parameter, v pcommon.Value, nameKey, valueKey string) []Parameter {
	if v.Type() != pcommon.ValueTypeSlice {
		return dst
	}
	list := v.Slice()
	for i := 0; i < list.Len(); i++ {
		if list.At(i).Type() != pcommon.ValueTypeMap {
			continue
		}
		m := list.At(i).Map()
		if name := strField(m, nameKey); name != "" {
			dst = append(dst, Parameter{Name: name, Value: strField(m, valueKey)})
		}
	}
	return dst
}

// firstTargetID returns the first ID of an O365 Target array.
func firstTargetID(v pcommon.Value) string {
	if v.Type() != pcommon.ValueTypeSlice {
		return ""
	}
	list := v.Slice()
	for i := 0; i < list.Len(); i++ {
		if list.At(i).Type() == pcommon.ValueTypeMap {
			if id := strField(list.At(i).Map(), "ID"); id != "" {
				return id
			}
		}
	}
	return ""
}
