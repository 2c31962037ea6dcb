package auditrecord

import (
	"strings"

	"github.com/otelsec/emailcompromise/internal/asciifold"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// parseEntraAudit reads an Entra ID directory audit record: the Graph
// directoryAudit resource, bare or inside an Azure Monitor AuditLogs record.
// The view carries the common fields, and for account changes (security
// info, devices, consents: see AccountChange) the modified properties and
// the application acted on; Sigma rules read the rest from the body.
func parseEntraAudit(body pcommon.Map, r *Record) error {
	r.Source = SourceEntraAudit
	r.CloudProvider = "azure"
	audit := body
	envelope := readAzureEnvelope(body)
	if envelope.hasProperties {
		audit = envelope.properties
	} else {
		envelope = azureEnvelope{}
	}
	r.ID = firstNonEmpty(strField(audit, "id"), envelope.correlationID)
	r.Operation = firstNonEmpty(strField(audit, "activityDisplayName"), envelope.operationName)
	when := firstNonEmpty(strField(audit, "activityDateTime"), envelope.time)
	t, ok := ParseTime(when)
	if !ok {
		return fieldError(SourceEntraAudit, "activityDateTime", "is missing or not a timestamp: "+quoteShort(when))
	}
	r.Time = t
	switch result := strField(audit, "result"); {
	case asciifold.Equal(result, "success"):
		r.Result = ResultSuccess
	case asciifold.Equal(result, "failure"):
		r.Result = ResultFailure
		r.ErrorCode = strField(audit, "resultReason")
	}
	ip := envelope.callerIP
	if by, ok := mapField(audit, "initiatedBy"); ok {
		if user, ok := mapField(by, "user"); ok {
			r.Actor = NormalizeAddress(strField(user, "userPrincipalName"))
			ip = firstNonEmpty(strField(user, "ipAddress"), ip)
		} else if app, ok := mapField(by, "app"); ok {
			r.Actor = asciifold.ToLower(firstNonEmpty(strField(app, "servicePrincipalName"), strField(app, "displayName"), strField(app, "appId")))
			r.AppID = strField(app, "appId")
		}
	}
	r.ClientAddress, r.ClientIP = CleanIP(ip)
	r.TenantID = envelope.tenantID
	r.Target = r.Actor
	if targets, ok := getFold(audit, "targetResources"); ok && targets.Type() == pcommon.ValueTypeSlice {
		readTargetResources(targets, r)
	}
	if r.Target == r.Actor && !strings.Contains(r.Actor, "@") {
		// A service acting for a user (the Device Registration Service
		// registering the user's device) names the user only in its
		// details: the account changed is theirs, not the service's.
		if upn := additionalDetail(audit, "AccountUpn", "UserPrincipalName"); upn != "" {
			r.Target = NormalizeAddress(upn)
		}
	}
	r.User = r.Target
	if changeKindOf(r) != 0 {
		r.Kind = KindAccountChange
	}
	return nil
}

// additionalDetail returns the value of the first of keys among a directory
// audit record's additionalDetails ({key, value} pairs).
func additionalDetail(audit pcommon.Map, keys ...string) string {
	details, ok := getFold(audit, "additionalDetails")
	if !ok || details.Type() != pcommon.ValueTypeSlice {
		return ""
	}
	for _, want := range keys {
		for i := 0; i < details.Slice().Len(); i++ {
			d := details.Slice().At(i)
			if d.Type() == pcommon.ValueTypeMap && asciifold.Equal(strField(d.Map(), "key"), want) {
				if v := strField(d.Map(), "value"); v != "" {
					return v
				}
			}
		}
	}
	return ""
}

// readTargetResources reads the user acted on (the first with a user
// principal name), the application acted on, and every modified property.
func readTargetResources(targets pcommon.Value, r *Record) {
	s := targets.Slice()
	userFound := false
	for i := 0; i < s.Len(); i++ {
		if s.At(i).Type() != pcommon.ValueTypeMap {
			continue
		}
		t := s.At(i).Map()
		if upn := strField(t, "userPrincipalName"); upn != "" && !userFound {
			r.Target, userFound = NormalizeAddress(upn), true
		}
		if kind := strField(t, "type"); r.TargetApp == "" && (asciifold.Equal(kind, "Application") || asciifold.Equal(kind, "ServicePrincipal")) {
			r.TargetApp = firstNonEmpty(strField(t, "displayName"), strField(t, "id"))
		}
		if modified, ok := getFold(t, "modifiedProperties"); ok {
			r.Modified = appendModified(r.Modified, modified, "displayName", "newValue")
		}
	}
}

// parseAzureActivity reads an Azure Activity Log event, in the REST shape
// (operationName {value}, eventTimestamp, caller) or the diagnostic-settings
// shape (time, operationName text, category Administrative...).
func parseAzureActivity(body pcommon.Map, r *Record) error {
	r.Source = SourceAzureActivity
	r.CloudProvider = "azure"
	r.ID = firstNonEmpty(strField(body, "eventDataId"), strField(body, "id"), strField(body, "correlationId"))
	r.Operation = localizedValue(body, "operationName")
	when := firstNonEmpty(strField(body, "eventTimestamp"), strField(body, "time"))
	t, ok := ParseTime(when)
	if !ok {
		return fieldError(SourceAzureActivity, "eventTimestamp", "is missing or not a timestamp: "+quoteShort(when))
	}
	r.Time = t
	status := firstNonEmpty(localizedValue(body, "status"), strField(body, "resultType"))
	switch {
	case asciifold.Equal(status, "Succeeded"), asciifold.Equal(status, "Success"), asciifold.Equal(status, "Started"), asciifold.Equal(status, "Accepted"):
		r.Result = ResultSuccess
	case asciifold.Equal(status, "Failed"), asciifold.Equal(status, "Failure"):
		r.Result = ResultFailure
	}
	r.Actor = NormalizeAddress(firstNonEmpty(strField(body, "caller"), strField(body, "identity")))
	ip := strField(body, "callerIpAddress")
	if req, ok := mapField(body, "httpRequest"); ok && ip == "" {
		ip = strField(req, "clientIpAddress")
	}
	if claims, ok := mapField(body, "claims"); ok {
		if ip == "" {
			ip = strField(claims, "ipaddr")
		}
		r.AppID = strField(claims, "appid")
		r.TenantID = strField(claims, "http://schemas.microsoft.com/identity/claims/tenantid")
	}
	if r.TenantID == "" {
		r.TenantID = strField(body, "tenantId")
	}
	r.ClientAddress, r.ClientIP = CleanIP(ip)
	r.Target, r.User = r.Actor, r.Actor
	return nil
}

// localizedValue reads {"value": ..., "localizedValue": ...} or plain text.
func localizedValue(m pcommon.Map, key string) string {
	v, ok := getFold(m, key)
	if !ok {
		return ""
	}
	if v.Type() == pcommon.ValueTypeMap {
		return strField(v.Map(), "value")
	}
	return str(v)
}
