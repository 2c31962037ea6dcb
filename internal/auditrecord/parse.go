package auditrecord

import (
	"errors"
	"fmt"

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
	}
	return ErrUnrecognized
}

// Detect names the vendor shape of body from a few distinguishing keys.
func Detect(body pcommon.Map) Source {
	if v, ok := body.Get("kind"); ok && v.Str() == "admin#reports#activity" {
		return SourceGoogleWorkspace
	}
	if id, ok := mapField(body, "id"); ok {
		if _, ok := getFold(id, "applicationName"); ok {
			return SourceGoogleWorkspace
		}
	}
	if _, ok := getFold(body, "Workload"); ok {
		return SourceO365
	}
	if _, ok := getFold(body, "RecordType"); ok {
		if _, ok := getFold(body, "CreationTime"); ok {
			return SourceO365
		}
	}
	if _, ok := mapField(body, "properties"); ok {
		if cat := strField(body, "category"); cat != "" {
			return azureMonitorSource(cat)
		}
	}
	if _, ok := getFold(body, "createdDateTime"); ok {
		return SourceEntraSignIn
	}
	if _, ok := getFold(body, "activityDateTime"); ok {
		return SourceEntraAudit
	}
	if _, ok := getFold(body, "eventTimestamp"); ok {
		if _, ok := getFold(body, "operationName"); ok {
			return SourceAzureActivity
		}
	}
	return SourceUnknown
}

// azureMonitorSource maps an Azure Monitor diagnostic category to our source.
func azureMonitorSource(category string) Source {
	switch {
	case hasSuffixFold(category, "SignInLogs"):
		return SourceEntraSignIn
	case equalFoldASCII(category, "AuditLogs"):
		return SourceEntraAudit
	}
	return SourceAzureActivity
}
