// Package recordtest holds what the tests of the audit_log receiver and of
// its sources share: reading the records out of delivered batches, small
// vendor records, files written for a test. It is imported by tests only and
// is not in the distribution.
package recordtest // import "github.com/otelsec/emailcompromise/internal/testing/recordtest"

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// Records returns the log records of batches, in order.
func Records(batches ...plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for _, logs := range batches {
		for i := 0; i < logs.ResourceLogs().Len(); i++ {
			sls := logs.ResourceLogs().At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					out = append(out, lrs.At(k))
				}
			}
		}
	}
	return out
}

// Attr is the attribute key of lr as a string, "" when it is not set.
func Attr(lr plog.LogRecord, key string) string {
	v, ok := lr.Attributes().Get(key)
	if !ok {
		return ""
	}
	return v.AsString()
}

// ParseErrors returns the audit.parse_error of the records that have one.
func ParseErrors(records []plog.LogRecord) []string {
	var out []string
	for _, lr := range records {
		if msg := Attr(lr, auditrecord.AttrParseError); msg != "" {
			out = append(out, msg)
		}
	}
	return out
}

// IDs returns the audit.record.id of each record ("" where there is none).
func IDs(records []plog.LogRecord) []string {
	ids := make([]string, 0, len(records))
	for _, lr := range records {
		ids = append(ids, Attr(lr, auditrecord.AttrRecordID))
	}
	return ids
}

// WriteFile writes data to path, creating its directory, and returns path.
func WriteFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// O365Record is a small O365 sign-in record with the given Id, written from
// the vendor's schema.
func O365Record(id string) string {
	return fmt.Sprintf(`{"CreationTime":"2024-02-01T16:07:34","Id":%q,"Operation":"UserLoggedIn","OrganizationId":"t-1","RecordType":15,"ResultStatus":"Success","UserId":"Alice@Contoso.com","Workload":"AzureActiveDirectory","ClientIP":"203.0.113.7"}`, id)
}

// JSONLines writes records one a line.
func JSONLines(records ...string) string {
	return strings.Join(records, "\n") + "\n"
}

// Within reports whether s lies in the memory of text: a string kept in
// long-lived state that is a slice of a record's text keeps the whole text
// alive (the receiver's decoder slices every string of a record out of one).
func Within(s, text string) bool {
	p, b := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(text)))
	return len(s) > 0 && p >= b && p < b+uintptr(len(text))
}
