package auditrecord

import (
	"errors"
	"fmt"
	"github.com/otelsec/emailcompromise/internal/asciifold"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// ErrUnrecognized is returned for a body that is not a vendor record this
// package knows. The processor passes such records on untouched.
var ErrUnrecognized = errors.New("not a recognised audit record: no Office 365, Entra ID, Azure or Google Workspace shape matched")

// fieldError says which vendor field made a recognised record unusable.
func fieldError(src Source, field, problem string) error {
	return fmt.Errorf("%s record: %s %s", src, field, problem)
}

// Parse detects the vendor shape of body and fills r (which it resets first).
// It returns ErrUnrecognized for foreign records, or an error naming the field
// when a recognised record lacks what every record of its kind has (event
// time, operation). Other malformed fields are skipped, never fatal: the body
// keeps them for whoever reads it later.
func Parse(body pcommon.Map, r *Record) error {
	return ParseAs(body, Detect(body), r)
}

// ParseAs fills r from body known to be of shape src, as the audit.source
// attribute of a record from our receiver says; it skips the detection.
func ParseAs(body pcommon.Map, src Source, r *Record) error {
	r.Reset()
	switch src {
	case SourceO365:
		return parseO365(body, r)
	case SourceEntraSignIn:
		return parseEntraSignIn(body, r)
	case SourceGoogleWorkspace:
		return parseGoogle(body, r)
	case SourceEntraAudit:
		return parseEntraAudit(body, r)
	case SourceAzureActivity:
		return parseAzureActivity(body, r)
	case SourceEntraRiskDetection:
		return parseEntraRiskDetection(body, r)
	}
	return ErrUnrecognized
}

// Keys that tell the vendor shapes apart, for Detect.
const (
	detectKind = iota + 1
	detectID
	detectWorkload
	detectRecordType
	detectCreationTime
	detectProperties
	detectCategory
	detectCreatedDateTime
	detectActivityDateTime
	detectEventTimestamp
	detectOperationName
	detectRiskEventType
)

var detectFields = newFieldTable("kind", "id", "Workload", "RecordType", "CreationTime", "properties",
	"category", "createdDateTime", "activityDateTime", "eventTimestamp", "operationName", "riskEventType")

// Detect names the vendor shape of body from a few distinguishing keys, in
// one pass over its top-level keys.
func Detect(body pcommon.Map) Source {
	var seen [detectRiskEventType + 1]bool
	var kind, category string
	var googleID, propertiesMap bool
	body.Range(func(k string, v pcommon.Value) bool {
		f := detectFields.lookup(k)
		seen[f] = true
		switch f {
		case detectKind:
			kind = str(v)
		case detectID:
			if v.Type() == pcommon.ValueTypeMap {
				_, googleID = getFold(v.Map(), "applicationName")
			}
		case detectProperties:
			propertiesMap = v.Type() == pcommon.ValueTypeMap
		case detectCategory:
			category = str(v)
		}
		return true
	})
	switch {
	case kind == "admin#reports#activity", googleID:
		return SourceGoogleWorkspace
	case seen[detectWorkload], seen[detectRecordType] && seen[detectCreationTime]:
		return SourceO365
	case propertiesMap && category != "":
		return azureMonitorSource(category)
	case seen[detectRiskEventType]:
		return SourceEntraRiskDetection
	case seen[detectCreatedDateTime]:
		return SourceEntraSignIn
	case seen[detectActivityDateTime]:
		return SourceEntraAudit
	case seen[detectEventTimestamp] && seen[detectOperationName]:
		return SourceAzureActivity
	}
	return SourceUnknown
}

// azureMonitorSource maps an Azure Monitor diagnostic category to our source.
func azureMonitorSource(category string) Source {
	switch {
	case asciifold.HasSuffix(category, "SignInLogs"):
		return SourceEntraSignIn
	case asciifold.Equal(category, "AuditLogs"):
		return SourceEntraAudit
	case asciifold.HasSuffix(category, "RiskEvents"):
		return SourceEntraRiskDetection
	}
	return SourceAzureActivity
}
