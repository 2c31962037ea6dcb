package auditrecord

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// parseEntraRiskDetection reads an Entra ID Protection riskDetection: the
// Graph resource (identityProtection/riskDetections), bare or inside an
// Azure Monitor UserRiskEvents record. The risk is read into the SignIn
// fields the sign-in's own risk uses: riskLevel, riskState and the
// riskEventType. Its event time is when the risky activity happened
// (activityDateTime), not when it was detected.
func parseEntraRiskDetection(body pcommon.Map, r *Record) error {
	r.Source = SourceEntraRiskDetection
	r.Kind = KindRiskDetection
	r.CloudProvider = "azure"
	risk := body
	envelope := readAzureEnvelope(body)
	if envelope.hasProperties {
		risk = envelope.properties
	} else {
		envelope = azureEnvelope{}
	}
	r.ID = firstNonEmpty(strField(risk, "id"), envelope.correlationID)
	r.Operation = strField(risk, "riskEventType")
	if r.Operation == "" {
		return fieldError(SourceEntraRiskDetection, "riskEventType", "is missing")
	}
	when := firstNonEmpty(strField(risk, "activityDateTime"), strField(risk, "detectedDateTime"), envelope.time)
	t, ok := ParseTime(when)
	if !ok {
		return fieldError(SourceEntraRiskDetection, "activityDateTime", "is missing or not a timestamp: "+quoteShort(when))
	}
	r.Time = t
	r.Result = ResultSuccess // the detection was made; its verdict is the risk
	r.Actor = NormalizeAddress(strField(risk, "userPrincipalName"))
	r.Target, r.User = r.Actor, r.Actor
	r.ClientAddress, r.ClientIP = CleanIP(firstNonEmpty(strField(risk, "ipAddress"), envelope.callerIP))
	r.TenantID = envelope.tenantID
	r.SignIn.RiskLevelDuringSignIn = strField(risk, "riskLevel")
	r.SignIn.RiskState = strField(risk, "riskState")
	r.SignIn.RiskEventTypes = append(r.SignIn.RiskEventTypes, r.Operation)
	r.SignIn.Interactive = asciifold.Equal(strField(risk, "activity"), "signin")
	if loc, ok := getFold(risk, "location"); ok {
		readGraphLocation(loc, r)
	}
	return nil
}
