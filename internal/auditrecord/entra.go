package auditrecord

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

const (
	graphID = iota + 1
	graphCreatedDateTime
	graphUserPrincipalName
	graphServicePrincipalName
	graphServicePrincipalID
	graphAppID
	graphIPAddress
	graphClientAppUsed
	graphSessionID
	graphIsInteractive
	graphSignInEventTypes
	graphRiskLevelAggregated
	graphRiskLevelDuringSignIn
	graphRiskState
	graphRiskEventTypes
	graphRiskEventTypesV2
	graphStatus
	graphDeviceDetail
	graphLocation
	graphUserAgent
	graphASN
	graphResourceTenantID
	graphHomeTenantID
	graphAuthenticationDetails
	graphUniqueTokenIdentifier
	graphAuthenticationProtocol
	graphOriginalTransferMethod
	graphIncomingTokenType
	graphAuthenticationRequirement
)

var graphFields = newFieldTable(
	"id", "createdDateTime", "userPrincipalName", "servicePrincipalName", "servicePrincipalId",
	"appId", "ipAddress", "clientAppUsed", "sessionId", "isInteractive",
	"signInEventTypes", "riskLevelAggregated", "riskLevelDuringSignIn", "riskState",
	"riskEventTypes", "riskEventTypes_v2", "status", "deviceDetail", "location", "userAgent",
	"autonomousSystemNumber", "resourceTenantId", "homeTenantId", "authenticationDetails",
	"uniqueTokenIdentifier", "authenticationProtocol", "originalTransferMethod", "incomingTokenType",
	"authenticationRequirement",
)

// parseEntraSignIn reads a Microsoft Graph signIn resource, or the Azure
// Monitor diagnostic record that wraps the same resource in "properties"
// (SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs...).
func parseEntraSignIn(body pcommon.Map, r *Record) error {
	r.Source = SourceEntraSignIn
	r.Kind = KindSignIn
	r.CloudProvider = "azure"
	signIn := body
	envelope := readAzureEnvelope(body)
	if envelope.hasProperties {
		signIn = envelope.properties
	} else {
		envelope = azureEnvelope{} // a bare Graph record: its keys are not an envelope's
	}
	created, interactiveSet, errorCode, err := readGraphSignIn(signIn, r)
	if err != nil {
		return err
	}
	if created == "" {
		created = envelope.time
	}
	t, ok := ParseTime(created)
	if !ok {
		if created == "" {
			return fieldError(SourceEntraSignIn, "createdDateTime", "is missing")
		}
		return fieldError(SourceEntraSignIn, "createdDateTime", "is not a timestamp: "+quoteShort(created))
	}
	r.Time = t
	if envelope.category != "" {
		r.SignIn.Category = envelope.category
		// The category is authoritative: exports of non-interactive sign-ins
		// do not always carry isInteractive.
		r.SignIn.Interactive = asciifold.Equal(envelope.category, "SignInLogs")
	} else if !interactiveSet {
		r.SignIn.Interactive = true
	}
	if errorCode == "" {
		errorCode = envelope.resultType
	}
	if r.ClientAddress == "" {
		r.ClientAddress, r.ClientIP = CleanIP(envelope.callerIP)
	}
	if r.TenantID == "" {
		r.TenantID = envelope.tenantID
	}
	if r.ID == "" {
		r.ID = envelope.correlationID
	}
	if r.Operation == "" {
		r.Operation = firstNonEmpty(envelope.operationName, "Sign-in activity")
	}
	switch errorCode {
	case "":
		r.Result = ResultUnknown
	case "0":
		r.Result = ResultSuccess
	default:
		r.Result = ResultFailure
		r.ErrorCode = errorCode
	}
	r.Target = r.Actor
	r.User = r.Actor
	return nil
}

// readGraphSignIn reads the signIn resource itself. It returns the creation
// time text, whether isInteractive/signInEventTypes said anything, and the
// status error code as text.
func readGraphSignIn(m pcommon.Map, r *Record) (created string, interactiveSet bool, errorCode string, err error) {
	var spName, spID string
	m.Range(func(k string, v pcommon.Value) bool {
		switch graphFields.lookup(k) {
		case graphID:
			r.ID = str(v)
		case graphCreatedDateTime:
			created = str(v)
		case graphUserPrincipalName:
			r.Actor = NormalizeAddress(str(v))
		case graphServicePrincipalName:
			spName = str(v)
		case graphServicePrincipalID:
			spID = str(v)
		case graphAppID:
			r.AppID = str(v)
		case graphIPAddress:
			r.ClientAddress, r.ClientIP = CleanIP(str(v))
		case graphClientAppUsed:
			r.SignIn.ClientApp = str(v)
		case graphSessionID:
			r.SessionID = str(v)
		case graphIsInteractive:
			if v.Type() == pcommon.ValueTypeBool || v.Type() == pcommon.ValueTypeStr {
				r.SignIn.Interactive, interactiveSet = boolean(v), true
			}
		case graphSignInEventTypes:
			if t := valueText(v); t != "" && !interactiveSet {
				r.SignIn.Interactive, interactiveSet = strings.Contains(t, "interactiveUser") && !strings.Contains(t, "nonInteractiveUser"), true
			}
		case graphRiskLevelAggregated:
			r.SignIn.RiskLevelAggregated = str(v)
		case graphRiskLevelDuringSignIn:
			r.SignIn.RiskLevelDuringSignIn = str(v)
		case graphRiskState:
			r.SignIn.RiskState = str(v)
		case graphRiskEventTypes, graphRiskEventTypesV2:
			// Graph carries both lists, mostly with the same values.
			r.SignIn.RiskEventTypes = appendNewStrings(r.SignIn.RiskEventTypes, v)
		case graphStatus:
			errorCode = readGraphStatus(v, r)
		case graphDeviceDetail:
			if v.Type() == pcommon.ValueTypeMap {
				r.SignIn.DeviceID = strField(v.Map(), "deviceId")
			}
		case graphLocation:
			readGraphLocation(v, r)
		case graphUserAgent:
			r.UserAgent = str(v)
		case graphASN:
			if n, ok := integer(v); ok && n > 0 && n <= 1<<32-1 {
				r.SignIn.ASN = uint32(n)
			}
		case graphResourceTenantID, graphHomeTenantID:
			if r.TenantID == "" {
				r.TenantID = str(v)
			}
		case graphAuthenticationDetails:
			readAuthenticationDetails(v, r)
		case graphUniqueTokenIdentifier:
			r.TokenID = str(v)
		case graphAuthenticationProtocol, graphOriginalTransferMethod:
			// deviceCode / deviceCodeFlow; both are flags lists in Graph
			// ("deviceCode, ..."), plain values in Azure Monitor.
			if asciifold.ContainsLower(valueText(v), "devicecode") {
				r.SignIn.DeviceCode = true
			}
		case graphIncomingTokenType:
			r.SignIn.IncomingTokenType = str(v)
		case graphAuthenticationRequirement:
			r.SignIn.AuthenticationRequirement = str(v)
		}
		return true
	})
	if r.Actor == "" {
		// Service principal and managed identity sign-ins have no user.
		r.Actor = asciifold.ToLower(firstNonEmpty(spName, spID))
	}
	return created, interactiveSet, errorCode, nil
}

func readGraphStatus(v pcommon.Value, r *Record) string {
	if v.Type() != pcommon.ValueTypeMap {
		return ""
	}
	var code string
	var details []string
	v.Map().Range(func(k string, sv pcommon.Value) bool {
		switch {
		case asciifold.Equal(k, "errorCode"):
			code = str(sv)
		case asciifold.Equal(k, "failureReason"), asciifold.Equal(k, "additionalDetails"):
			if t := str(sv); t != "" {
				details = append(details, t)
			}
		}
		return true
	})
	if len(details) > 0 {
		r.SignIn.FailureDetail = joinDetail(r.SignIn.FailureDetail, strings.Join(details, " "))
	}
	return code
}

// readAuthenticationDetails keeps the MFA step results ("MFA denied; user
// declined the authentication") that tell MFA fatigue from an MFA prompt.
func readAuthenticationDetails(v pcommon.Value, r *Record) {
	if v.Type() != pcommon.ValueTypeSlice {
		return
	}
	s := v.Slice()
	for i := 0; i < s.Len(); i++ {
		if s.At(i).Type() != pcommon.ValueTypeMap {
			continue
		}
		if d := strField(s.At(i).Map(), "authenticationStepResultDetail"); d != "" {
			r.SignIn.FailureDetail = joinDetail(r.SignIn.FailureDetail, d)
		}
	}
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// readGraphLocation reads location.countryOrRegion, city and geoCoordinates,
// refusing coordinates outside the globe (lat 999 appears in test data).
func readGraphLocation(v pcommon.Value, r *Record) {
	if v.Type() != pcommon.ValueTypeMap {
		return
	}
	loc := v.Map()
	r.Geo.CountryISO = strings.ToUpper(strField(loc, "countryOrRegion"))
	r.Geo.City = strField(loc, "city")
	geo, ok := mapField(loc, "geoCoordinates")
	if !ok {
		return
	}
	latV, okLat := getFold(geo, "latitude")
	lonV, okLon := getFold(geo, "longitude")
	if !okLat || !okLon {
		return
	}
	lat, okLat := float(latV)
	lon, okLon := float(lonV)
	if okLat && okLon && ValidCoordinates(lat, lon) {
		r.Geo.Lat, r.Geo.Lon, r.Geo.HasCoordinates = lat, lon, true
	}
}

// ValidCoordinates reports whether lat/lon are on the globe and not the
// (0, 0) placeholder vendors write when they have no location.
func ValidCoordinates(lat, lon float64) bool {
	return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 && (lat != 0 || lon != 0)
}

// appendNewStrings is appendStrings without repeating values already in dst.
func appendNewStrings(dst []string, v pcommon.Value) []string {
	n := len(dst)
	for _, s := range appendStrings(nil, v) {
		if !slices.Contains(dst[:n], s) {
			dst = append(dst, s)
		}
	}
	return dst
}

func appendStrings(dst []string, v pcommon.Value) []string {
	if v.Type() != pcommon.ValueTypeSlice {
		if s := str(v); s != "" {
			dst = append(dst, s)
		}
		return dst
	}
	s := v.Slice()
	for i := 0; i < s.Len(); i++ {
		if t := str(s.At(i)); t != "" {
			dst = append(dst, t)
		}
	}
	return dst
}

// azureEnvelope is the Azure Monitor diagnostic-settings wrapper around a
// resource: its own time, category, caller IP and string-typed resultType,
// and the resource itself under "properties".
type azureEnvelope struct {
	time, category, resultType, callerIP, tenantID, correlationID, operationName string
	properties                                                                   pcommon.Map
	hasProperties                                                                bool
}

const (
	envTime = iota + 1
	envCategory
	envResultType
	envCallerIP
	envTenantID
	envCorrelationID
	envOperationName
	envProperties
)

var envelopeFields = newFieldTable("time", "category", "resultType", "callerIpAddress", "tenantId",
	"correlationId", "operationName", "properties")

// readAzureEnvelope reads the envelope's fields and finds "properties" (a
// map) in one pass over the top-level keys.
func readAzureEnvelope(body pcommon.Map) azureEnvelope {
	var e azureEnvelope
	body.Range(func(k string, v pcommon.Value) bool {
		switch envelopeFields.lookup(k) {
		case envTime:
			e.time = str(v)
		case envCategory:
			e.category = str(v)
		case envResultType:
			e.resultType = str(v)
		case envCallerIP:
			e.callerIP = str(v)
		case envTenantID:
			e.tenantID = str(v)
		case envCorrelationID:
			e.correlationID = str(v)
		case envOperationName:
			e.operationName = str(v)
		case envProperties:
			if v.Type() == pcommon.ValueTypeMap && !e.hasProperties {
				e.properties, e.hasProperties = v.Map(), true
			}
		}
		return true
	})
	return e
}
