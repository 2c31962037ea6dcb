package auditrecord

import (
	"strings"

	"github.com/otelsec/emailcompromise/internal/asciifold"
)

// ChangeKind is what an account change does to how the account can be
// reached.
type ChangeKind uint8

const (
	// ChangeSecurityInfo registers, changes or removes an MFA method or a
	// recovery factor, or turns 2-step verification on or off.
	ChangeSecurityInfo ChangeKind = iota + 1
	// ChangeDevice registers a device or adds an owner or user to one.
	ChangeDevice
	// ChangeConsent grants an application delegated access (OAuth consent).
	ChangeConsent
)

func (k ChangeKind) String() string {
	switch k {
	case ChangeSecurityInfo:
		return "security info"
	case ChangeDevice:
		return "device"
	case ChangeConsent:
		return "OAuth consent"
	}
	return ""
}

// AccountChange is what an account change record did, whichever vendor
// wrote it: the Entra directory audit (Graph or Azure Monitor), the O365
// Audit.AzureActiveDirectory feed, or Google's user_accounts and token
// activities.
type AccountChange struct {
	Kind ChangeKind
	// What names the change as the vendor did ("User registered security
	// info", "2sv_disable").
	What string
	// App is the application a consent was given to (name or id); Scopes
	// are the scopes it was granted; AdminConsent says an administrator
	// consented (for all users or on a user's behalf).
	App          string
	Scopes       []string
	AdminConsent bool
}

// AccountChange reads the account change a record describes. It is read on
// demand, not by Parse: few records are account changes.
func (r *Record) AccountChange() (AccountChange, bool) {
	if r.Kind != KindAccountChange {
		return AccountChange{}, false
	}
	c := AccountChange{Kind: changeKindOf(r), What: r.Operation}
	switch c.Kind {
	case ChangeConsent:
		c.App = r.TargetApp
		if r.Source == SourceGoogleWorkspace {
			readGoogleConsent(r, &c)
			break
		}
		for _, p := range r.Modified {
			switch {
			case asciifold.Equal(p.Name, "ConsentAction.Permissions"):
				c.Scopes = appendScopes(c.Scopes, p.Value)
			case asciifold.Equal(p.Name, "DelegatedPermissionGrant.Scope"):
				c.Scopes = appendScopeList(c.Scopes, p.Value)
			case asciifold.Equal(p.Name, "ConsentContext.IsAdminConsent"):
				c.AdminConsent = asciifold.Equal(unquote(p.Value), "true")
			}
		}
	case 0:
		return AccountChange{}, false
	}
	return c, true
}

// changeKindOf classifies a record's operation. Entra's names appear with
// a final period in the O365 feed ("Consent to application.") and without
// one in the directory audit; "Update user" counts only when it touched the
// strong-authentication properties, which hold the MFA methods.
func changeKindOf(r *Record) ChangeKind {
	if r.Source == SourceGoogleWorkspace {
		return googleChangeKind(r)
	}
	op := strings.TrimSuffix(strings.TrimSpace(r.Operation), ".")
	for _, name := range securityInfoOperations {
		if asciifold.Equal(op, name) {
			return ChangeSecurityInfo
		}
	}
	for _, name := range deviceOperations {
		if asciifold.Equal(op, name) {
			return ChangeDevice
		}
	}
	for _, name := range consentOperations {
		if asciifold.Equal(op, name) {
			return ChangeConsent
		}
	}
	if asciifold.Equal(op, "Update user") {
		for _, p := range r.Modified {
			if asciifold.HasPrefix(p.Name, "StrongAuthentication") {
				return ChangeSecurityInfo
			}
		}
	}
	return 0
}

var (
	securityInfoOperations = []string{
		"User registered security info", "User changed default security info", "User deleted security info",
		"User registered all required security info", "Admin registered security info",
		"Admin updated security info", "Admin deleted security info",
		// Per-user MFA switched off or on by an administrator.
		"Disable Strong Authentication", "Enable Strong Authentication",
	}
	deviceOperations = []string{
		"Register device", "Add device", "Add registered owner to device", "Add registered users to device",
	}
	consentOperations = []string{
		"Consent to application", "Add delegated permission grant", "Add OAuth2PermissionGrant",
	}
	// googleSecurityEvents are the user_accounts events that change how the
	// account proves who signs in (2-step verification, Advanced
	// Protection, recovery factors).
	googleSecurityEvents = []string{
		"2sv_enroll", "2sv_disable", "titanium_enroll", "titanium_unenroll",
		"recovery_email_edit", "recovery_phone_edit", "recovery_secret_qa_edit",
	}
)

// googleChangeKind classifies Google user_accounts and token activities.
func googleChangeKind(r *Record) ChangeKind {
	for _, e := range r.Events {
		if asciifold.Equal(e.Name, "authorize") {
			if _, ok := e.Param("client_id"); ok {
				return ChangeConsent
			}
			if _, ok := e.Param("app_name"); ok {
				return ChangeConsent
			}
		}
		for _, name := range googleSecurityEvents {
			if asciifold.Equal(e.Name, name) {
				return ChangeSecurityInfo
			}
		}
	}
	return 0
}

// readGoogleConsent reads a token "authorize" event: the app and its scopes.
func readGoogleConsent(r *Record, c *AccountChange) {
	for _, e := range r.Events {
		if !asciifold.Equal(e.Name, "authorize") {
			continue
		}
		name, _ := e.Param("app_name")
		id, _ := e.Param("client_id")
		c.App = firstNonEmpty(name, id)
		for _, p := range e.Parameters {
			if asciifold.Equal(p.Name, "scope") {
				c.Scopes = appendScopeList(c.Scopes, strings.ReplaceAll(p.Value, ";", " "))
			}
		}
		return
	}
}

// appendScopes reads the scopes of Entra's ConsentAction.Permissions text:
// "[] => [[Id: ..., ConsentType: Principal, Scope: Mail.Read Mail.Send, CreatedDateTime: ...]]",
// one "Scope:" per grant.
func appendScopes(dst []string, text string) []string {
	for {
		i := strings.Index(text, "Scope:")
		if i < 0 {
			return dst
		}
		text = text[i+len("Scope:"):]
		end := strings.IndexAny(text, ",]")
		if end < 0 {
			end = len(text)
		}
		dst = appendScopeList(dst, text[:end])
		text = text[end:]
	}
}

// appendScopeList appends the space-separated scopes of s, without quotes
// and without repeating one.
func appendScopeList(dst []string, s string) []string {
	for _, scope := range strings.Fields(unquote(s)) {
		if !containsFold(dst, scope) {
			dst = append(dst, scope)
		}
	}
	return dst
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if asciifold.Equal(v, s) {
			return true
		}
	}
	return false
}

// unquote strips the JSON quotes Entra puts around modified-property values.
func unquote(s string) string {
	return strings.Trim(strings.TrimSpace(s), `"`)
}
