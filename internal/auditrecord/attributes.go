package auditrecord

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Attribute names of the record contract in docs/contract.md (frozen: add, never rename).
const (
	AttrRecordID      = "audit.record.id"
	AttrSource        = "audit.source"
	AttrOperation     = "audit.operation"
	AttrResult        = "audit.result"
	AttrErrorCode     = "audit.error_code"
	AttrActor         = "audit.actor"
	AttrTarget        = "audit.target"
	AttrParseError    = "audit.parse_error"
	AttrUserName      = "user.name"
	AttrClientAddress = "client.address"
	AttrUserAgent     = "user_agent.original"
	AttrGeoLat        = "geo.location.lat"
	AttrGeoLon        = "geo.location.lon"
	AttrGeoCountry    = "geo.country.iso_code"
	AttrCloudProvider = "cloud.provider"
	AttrCloudAccount  = "cloud.account.id"
	// AttrTenantName is the configured name of the tenant a record came
	// from, written by audit_log when it reads several tenants.
	AttrTenantName = "tenant.name"
)

// PutAttributes writes the record contract's attributes for r onto attrs.
// Empty fields are left out rather than written as empty strings.
func (r *Record) PutAttributes(attrs pcommon.Map) {
	attrs.EnsureCapacity(attrs.Len() + 14)
	putStr(attrs, AttrRecordID, r.ID)
	putStr(attrs, AttrSource, string(r.Source))
	putStr(attrs, AttrOperation, r.Operation)
	putStr(attrs, AttrResult, r.Result.String())
	putStr(attrs, AttrErrorCode, r.ErrorCode)
	putStr(attrs, AttrActor, r.Actor)
	putStr(attrs, AttrTarget, r.Target)
	putStr(attrs, AttrUserName, r.User)
	putStr(attrs, AttrClientAddress, r.ClientAddress)
	putStr(attrs, AttrUserAgent, r.UserAgent)
	if r.Geo.HasCoordinates {
		attrs.PutDouble(AttrGeoLat, r.Geo.Lat)
		attrs.PutDouble(AttrGeoLon, r.Geo.Lon)
	}
	putStr(attrs, AttrGeoCountry, r.Geo.CountryISO)
	putStr(attrs, AttrCloudProvider, r.CloudProvider)
	putStr(attrs, AttrCloudAccount, r.TenantID)
}

func putStr(attrs pcommon.Map, key, value string) {
	if value != "" {
		attrs.PutStr(key, value)
	}
}

// SourceOf returns the audit.source attribute of a record our receiver (or
// an earlier collector of ours) wrote, SourceUnknown when absent, and whether
// the receiver marked the record with audit.parse_error.
func SourceOf(attrs pcommon.Map) (src Source, parseError bool) {
	attrs.Range(func(k string, v pcommon.Value) bool {
		switch k {
		case AttrSource:
			src = Source(v.Str())
		case AttrParseError:
			parseError = true
		}
		return true
	})
	return src, parseError
}
