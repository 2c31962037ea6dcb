// Package auditrecord is the normalised view of one vendor audit record.
//
// The receiver and the processor both turn a vendor record (Office 365
// Management Activity, Microsoft Graph or Azure Monitor sign-ins, Google
// Workspace Reports activities) into a Record, exactly once per record, with
// the same parsers. Detectors read only the Record; the vendor body stays
// untouched in the log record so that nothing the vendor wrote is lost.
package auditrecord // import "github.com/otelsec/emailcompromise/internal/auditrecord"

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"net/netip"
	"time"
)

// Source names the vendor feed a record came from; it is the value of the
// audit.source attribute.
type Source string

const (
	SourceUnknown         Source = ""
	SourceO365            Source = "o365"
	SourceEntraSignIn     Source = "entra_signin"
	SourceGoogleWorkspace Source = "google_workspace"
	// SourceEntraAudit is the Entra ID directory audit log (Azure Monitor
	// category AuditLogs): no built-in detector reads it, Sigma rules do.
	SourceEntraAudit Source = "entra_audit"
	// SourceAzureActivity is the Azure Activity Log: read for Sigma rules.
	SourceAzureActivity Source = "azure_activity"
	// SourceEntraRiskDetection is Entra ID Protection's risk detections
	// (Graph identityProtection/riskDetections, Azure Monitor
	// UserRiskEvents).
	SourceEntraRiskDetection Source = "entra_risk_detection"
)

// Result is the outcome the vendor reported.
type Result uint8

const (
	ResultUnknown Result = iota
	ResultSuccess
	ResultFailure
)

// String gives the audit.result attribute value ("" when unknown).
func (r Result) String() string {
	switch r {
	case ResultSuccess:
		return "success"
	case ResultFailure:
		return "failure"
	}
	return ""
}

// Kind says which detectors a record can concern, so each detector skips the
// rest with one comparison.
type Kind uint8

const (
	KindOther Kind = iota
	// KindSignIn is an authentication attempt (success or failure).
	KindSignIn
	// KindMailboxChange is a change to mailbox or account configuration: an
	// Exchange cmdlet, a client-side rule update, a Google settings event.
	KindMailboxChange
	// KindMailItem is an operation on messages: Send, SoftDelete, HardDelete,
	// MailItemsAccessed...
	KindMailItem
	// KindRiskDetection is an identity provider's verdict on a sign-in or a
	// user, reported apart from the sign-in (Entra ID Protection).
	KindRiskDetection
	// KindAccountChange is a change to how an account can be reached:
	// security info (MFA methods) and 2-step verification, devices, OAuth
	// consents (see Record.AccountChange).
	KindAccountChange
)

// Parameter is one Name/Value pair of an Exchange cmdlet's Parameters or of
// a mailbox audit record's OperationProperties.
type Parameter struct {
	Name  string
	Value string
}

// Geo is where the vendor located the client, when it did.
type Geo struct {
	Lat, Lon float64
	// HasCoordinates is false when the vendor gave none or gave impossible ones.
	HasCoordinates bool
	CountryISO     string
	City           string
}

// SignIn holds what an authentication record adds.
type SignIn struct {
	// Interactive is false for token refreshes and other non-interactive
	// sign-ins, which never start or end an impossible-travel pair.
	Interactive bool
	// ClientApp is the client protocol as the vendor names it: Graph
	// clientAppUsed ("IMAP4", "Exchange ActiveSync"...), the O365 RequestType,
	// or the Google login_type.
	ClientApp string
	// RiskLevelDuringSignIn and RiskLevelAggregated are Entra's none, low,
	// medium, high, hidden; RiskState is none, atRisk, confirmedCompromised,
	// dismissed, remediated, confirmedSafe...
	RiskLevelDuringSignIn string
	RiskLevelAggregated   string
	RiskState             string
	RiskEventTypes        []string
	// Suspicious is the vendor's own flag (Google is_suspicious).
	Suspicious bool
	DeviceID   string
	// FailureDetail is the vendor's words about the outcome (Graph
	// status.failureReason and additionalDetails, O365 LogonError), used to
	// tell an MFA denial from an MFA prompt.
	FailureDetail string
	// ASN is the autonomous system the vendor reported (Graph beta), 0 if none.
	ASN uint32
	// Category is the Azure Monitor category (SignInLogs,
	// NonInteractiveUserSignInLogs...) when the record came in that shape.
	Category string
	// DeviceCode: the device code flow issued the token (Graph
	// authenticationProtocol deviceCode, or originalTransferMethod
	// deviceCodeFlow on the sign-ins that refresh it).
	DeviceCode bool
	// IncomingTokenType (primaryRefreshToken, refreshToken...) and
	// AuthenticationRequirement (singleFactorAuthentication,
	// multiFactorAuthentication) say how a session was continued.
	IncomingTokenType         string
	AuthenticationRequirement string
}

// MailItem is one message a mailbox audit record names.
type MailItem struct {
	Subject           string
	InternetMessageID string
	// Folder is the folder path as Exchange writes it, e.g. `\Sent Items`.
	Folder string
	Size   int64
}

// Mail holds what a mailbox item operation adds.
type Mail struct {
	// Items are the messages operated on (Item for Send, AffectedItems for
	// deletes and moves).
	Items []MailItem
	// Folder and DestFolder are the source and destination of a move/delete.
	Folder     string
	DestFolder string
	ClientInfo string
	// LogonType is Exchange's: 0 owner, 1 admin, 2 delegate; -1 unknown.
	LogonType int
	// Recipients counts recipients where a source says (0: unknown).
	Recipients int
	// AccessType is a MailItemsAccessed record's MailAccessType: Bind (items
	// opened) or Sync (folders downloaded by a client).
	AccessType string
	// Accessed counts what a MailItemsAccessed record covers: its
	// OperationCount, else the items or folders it lists.
	Accessed int
}

// Event is one Google Workspace activity event. An activity can carry several.
type Event struct {
	Type       string
	Name       string
	Parameters []Parameter
}

// Record is the normalised view of one vendor record. The zero value is an
// empty, unrecognised record; Reset makes a used one reusable without
// releasing its slices, so the hot path allocates nothing for them.
type Record struct {
	Source Source
	Kind   Kind
	// ID is the vendor's native id: audit.record.id.
	ID string
	// Time is the vendor's event time in UTC; zero when absent or unreadable.
	Time      time.Time
	Operation string
	Result    Result
	ErrorCode string
	// Actor is who acted, Target whose mailbox or account was acted on; both
	// lowercased addresses (or the vendor's identity string when the actor is
	// not a user, e.g. `nt authority\system (microsoft.exchange.servicehost)`).
	Actor  string
	Target string
	// User is the affected user: the key per-user state uses (user.name).
	User string
	// ActorUserType is the O365 UserType (0 regular, 2 admin, 3 DC admin,
	// 4 system...), -1 when the source has none.
	ActorUserType int
	// ClientAddress is the client IP as text without port or brackets;
	// ClientIP is its parsed form (invalid when the vendor gave no usable IP).
	ClientAddress string
	ClientIP      netip.Addr
	UserAgent     string
	Geo           Geo
	CloudProvider string
	TenantID      string
	// TenantDomain is the domain the record itself says the tenant owns
	// (O365 OrganizationName, Google ownerDomain); it always counts as internal.
	TenantDomain string
	// AppID is the application the action came through (O365 AppId or
	// ClientAppId, Graph appId), used for automation and authorised senders.
	AppID string
	// SessionID is the Entra session: Graph sessionId, the O365 sign-in's
	// DeviceProperties SessionId, Exchange's AppAccessContext.AADSessionId
	// (which ties a mailbox operation to the sign-in that started it); ""
	// when the record names none. TokenID is the token: Graph
	// uniqueTokenIdentifier, Exchange AppAccessContext.UniqueTokenId.
	SessionID string
	TokenID   string

	// Parameters are an Exchange cmdlet's parameters (ExchangeAdmin records).
	Parameters []Parameter
	// OperationProperties are a mailbox audit record's (e.g. UpdateInboxRules).
	OperationProperties []Parameter
	// Modified are the properties a directory change set, with their new
	// values (Entra audit targetResources[].modifiedProperties, O365
	// ModifiedProperties). TargetApp is the application a directory change
	// acted on (a consent's app).
	Modified  []Parameter
	TargetApp string

	SignIn SignIn
	Mail   Mail
	Events []Event
}

// Reset empties r for reuse, keeping the capacity of its slices.
func (r *Record) Reset() {
	params, props, events, modified := r.Parameters[:0], r.OperationProperties[:0], r.Events[:0], r.Modified[:0]
	items, risks := r.Mail.Items[:0], r.SignIn.RiskEventTypes[:0]
	*r = Record{}
	r.Parameters, r.OperationProperties, r.Events, r.Modified = params, props, events, modified
	r.Mail.Items, r.SignIn.RiskEventTypes = items, risks
	r.ActorUserType = -1
	r.Mail.LogonType = -1
}

// Param returns the value of the cmdlet parameter named name (case-insensitive,
// as PowerShell is) and whether it was present.
func (r *Record) Param(name string) (string, bool) {
	return lookup(r.Parameters, name)
}

// OperationProperty returns the named OperationProperties value.
func (r *Record) OperationProperty(name string) (string, bool) {
	return lookup(r.OperationProperties, name)
}

func lookup(params []Parameter, name string) (string, bool) {
	for i := range params {
		if asciifold.Equal(params[i].Name, name) {
			return params[i].Value, true
		}
	}
	return "", false
}

// SelfService reports whether the actor acted on their own mailbox or account.
func (r *Record) SelfService() bool {
	return r.Actor == r.Target
}
