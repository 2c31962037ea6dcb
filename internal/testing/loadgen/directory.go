package loadgen

import (
	"net/netip"
	"time"
)

// Directory changes to an account (MFA methods, devices, OAuth consents),
// after the published samples in ../shared/corpus/samples:
// entra_auditlogs_azuremonitor/splunk-security_content_azure_active_directory_user_registered_security_info.json,
// _consent_to_application.json and _add_app_role_assignment_to_service_principal.json
// (the Entra directory audit as Azure Monitor exports it, category
// AuditLogs: initiated by a user with an address, or by an application
// without one), and o365/splunk-security_content_o365_update_user_.json
// (the same change as the Management Activity API's
// Audit.AzureActiveDirectory feed reports it, without a client address).

// auditTarget is one of a directory audit record's targetResources.
type auditTarget struct {
	id, displayName, kind, upn string
	// modified are the properties the change set: name, old and new value
	// (values as Entra writes them, JSON-quoted).
	modified [][3]string
}

// directoryAudit is an Entra directory audit record.
type directoryAudit struct {
	// id is the record id (properties.id: "IAMUX_" or "Directory_" and the
	// correlation id, as Entra names them).
	id, correlationID string
	at                time.Time
	activity          string // activityDisplayName and operationName
	category          string // UserManagement, ApplicationManagement, Device
	service           string // loggedByService
	operationType     string // Add, Assign, Update
	resultReason      string
	// by is the user who made the change, from ip; when nil the change was
	// made by the application app (its service principal spID), and the
	// record has no address.
	by         *user
	ip         netip.Addr
	app, spID  string
	targets    []auditTarget
	additional [][2]string
}

// appendAzureAuditLog writes the Azure Monitor AuditLogs record of a
// directory change.
func appendAzureAuditLog(b []byte, a *directoryAudit) []byte {
	w := jw{b: b}
	w.open()
	w.str("time", ts(a.at, azureTime))
	w.str("resourceId", "/tenants/"+tenantID+"/providers/Microsoft.aadiam")
	w.str("operationName", a.activity)
	w.str("operationVersion", "1.0")
	w.str("category", "AuditLogs")
	w.str("tenantId", tenantID)
	w.str("resultSignature", "None")
	optional(&w, "resultDescription", a.resultReason)
	w.int("durationMs", 0)
	if a.by != nil {
		w.str("callerIpAddress", a.ip.String())
	}
	w.str("correlationId", a.correlationID)
	if a.by == nil {
		w.str("identity", a.app)
	}
	w.int("Level", 4)
	w.obj("properties")
	w.str("id", a.id)
	w.str("category", a.category)
	w.str("correlationId", a.correlationID)
	w.str("result", "success")
	w.str("resultReason", a.resultReason)
	w.str("activityDisplayName", a.activity)
	w.str("activityDateTime", a.at.UTC().Format("2006-01-02T15:04:05.0000000+00:00"))
	w.str("loggedByService", a.service)
	w.str("operationType", a.operationType)
	w.null("userAgent")
	w.obj("initiatedBy")
	if a.by != nil {
		w.obj("user")
		w.str("id", a.by.objectID)
		w.null("displayName")
		w.str("userPrincipalName", a.by.upn)
		w.str("ipAddress", a.ip.String())
		w.arr("roles")
		w.closeArr()
		w.close()
	} else {
		w.obj("app")
		w.null("appId")
		w.str("displayName", a.app)
		w.str("servicePrincipalId", a.spID)
		w.null("servicePrincipalName")
		w.close()
	}
	w.close()
	w.arr("targetResources")
	for _, t := range a.targets {
		w.open()
		w.str("id", t.id)
		if t.displayName == "" {
			w.null("displayName")
		} else {
			w.str("displayName", t.displayName)
		}
		w.str("type", t.kind)
		optional(&w, "userPrincipalName", t.upn)
		w.arr("modifiedProperties")
		for _, m := range t.modified {
			w.open()
			w.str("displayName", m[0])
			if m[1] == "" {
				w.null("oldValue")
			} else {
				w.str("oldValue", m[1])
			}
			w.str("newValue", m[2])
			w.close()
		}
		w.closeArr()
		w.arr("administrativeUnits")
		w.closeArr()
		w.close()
	}
	w.closeArr()
	w.arr("additionalDetails")
	for _, d := range a.additional {
		w.open()
		w.str("key", d[0])
		w.str("value", d[1])
		w.close()
	}
	w.closeArr()
	w.close()
	w.close()
	return w.b
}

// userTarget is the user a change was made to, as a target resource.
func userTarget(u *user, modified ...[3]string) auditTarget {
	return auditTarget{id: u.objectID, kind: "User", upn: u.upn, modified: modified}
}

// o365UpdateUser is the Audit.AzureActiveDirectory "Update user." record of
// a user's own change to their strong-authentication (MFA) properties.
type o365UpdateUser struct {
	id           string
	at           time.Time
	u            *user
	interSystems string
	// modified are name, old and new value of each property changed.
	modified [][3]string
}

func appendO365UpdateUser(b []byte, o *o365UpdateUser) []byte {
	w := jw{b: b}
	o365Head{at: o.at, id: o.id, op: "Update user.", recordType: 8, status: "Success", userKey: o.u.puid + "@" + TenantDomain,
		workload: "AzureActiveDirectory"}.open(&w)
	w.str("ObjectId", o.u.upn)
	w.str("UserId", o.u.upn)
	w.int("AzureActiveDirectoryEventType", 1)
	w.arr("ExtendedProperties")
	w.nameValue("additionalDetails", `{"UserType":"Member"}`)
	w.nameValue("extendedAuditEventCategory", "User")
	w.closeArr()
	w.arr("ModifiedProperties")
	included := ""
	for _, m := range o.modified {
		w.open()
		w.str("Name", m[0])
		w.str("NewValue", m[2])
		w.str("OldValue", m[1])
		w.close()
		if included != "" {
			included += ", "
		}
		included += m[0]
	}
	w.open()
	w.str("Name", "Included Updated Properties")
	w.str("NewValue", included)
	w.str("OldValue", "")
	w.close()
	w.closeArr()
	w.arr("Actor")
	w.idType(o.u.upn, 5)
	w.idType(o.u.puid, 3)
	w.idType("User_"+o.u.objectID, 2)
	w.closeArr()
	w.str("ActorContextId", tenantID)
	w.str("InterSystemsId", o.interSystems)
	w.str("IntraSystemId", o.id)
	w.str("SupportTicketId", "")
	w.arr("Target")
	w.idType("User_"+o.u.objectID, 2)
	w.idType(o.u.upn, 5)
	w.closeArr()
	w.str("TargetContextId", tenantID)
	w.close()
	return w.b
}
