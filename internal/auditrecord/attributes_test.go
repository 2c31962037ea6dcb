package auditrecord_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// TestPutAttributes checks that exactly the docs/contract.md keys are
// written, with the expected values and types, and that empty fields are left
// out rather than written as "".
func TestPutAttributes(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]any
	}{
		{
			// A failed sign-in with coordinates: geo as doubles, the error
			// code, the tenant. It has no user agent, so none is written.
			name: "azure monitor sign-in with geo",
			body: azureMonitorSignIn,
			want: map[string]any{
				"audit.record.id":      "8a4de8b5-095c-47d0-a96f-a75130c61d53",
				"audit.source":         "entra_signin",
				"audit.operation":      "Sign-in activity",
				"audit.result":         "failure",
				"audit.error_code":     "50140",
				"audit.actor":          "test@elastic.co",
				"audit.target":         "test@elastic.co",
				"user.name":            "test@elastic.co",
				"client.address":       "81.2.69.144",
				"geo.location.lat":     48.12341234,
				"geo.location.lon":     2.12341234,
				"geo.country.iso_code": "FR",
				"cloud.provider":       "azure",
				"cloud.account.id":     "8a4de8b5-095c-47d0-a96f-a75130c61d53",
			},
		},
		{
			// A successful mailbox change: no error code, no geo, no agent.
			name: "o365 Set-Mailbox on another user",
			body: splunkSetMailbox,
			want: map[string]any{
				"audit.record.id":  "a6a52406-0912-448d-36eb-08d8a1bea6be",
				"audit.source":     "o365",
				"audit.operation":  "Set-Mailbox",
				"audit.result":     "success",
				"audit.actor":      "pbareiss@rodsoto.onmicrosoft.com",
				"audit.target":     "bpatel@rodsoto.onmicrosoft.com",
				"user.name":        "bpatel@rodsoto.onmicrosoft.com",
				"client.address":   "18.192.200.190",
				"cloud.provider":   "azure",
				"cloud.account.id": "0e8108b1-18e9-41a4-961b-dfcddf92ef08",
			},
		},
		{
			// An account warning has no outcome: audit.result must be
			// absent, not "".
			name: "google account warning",
			body: googleSuspiciousLogin,
			want: map[string]any{
				"audit.record.id":  "1",
				"audit.source":     "google_workspace",
				"audit.operation":  "suspicious_login",
				"audit.actor":      "foo@bar.com",
				"audit.target":     "foo@elastic.co",
				"user.name":        "foo@elastic.co",
				"client.address":   "67.43.156.13",
				"cloud.provider":   "gcp",
				"cloud.account.id": "1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r auditrecord.Record
			if err := auditrecord.Parse(decode(t, tt.body), &r); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			attrs := pcommon.NewMap()
			// An attribute the receiver set before must survive.
			attrs.PutStr("log.file.name", "audit.json")
			r.PutAttributes(attrs)

			tt.want["log.file.name"] = "audit.json"
			if diff := cmp.Diff(tt.want, attrs.AsRaw()); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
			for _, k := range []string{"geo.location.lat", "geo.location.lon"} {
				if v, ok := attrs.Get(k); ok && v.Type() != pcommon.ValueTypeDouble {
					t.Errorf("%s is %s, want Double", k, v.Type())
				}
			}
		})
	}
}

// TestPutAttributesUserAgent: the one contract key the cases above lack.
func TestPutAttributesUserAgent(t *testing.T) {
	var r auditrecord.Record
	if err := auditrecord.Parse(decode(t, huntressUserLoggedIn), &r); err != nil {
		t.Fatal(err)
	}
	attrs := pcommon.NewMap()
	r.PutAttributes(attrs)
	v, ok := attrs.Get("user_agent.original")
	if want := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:109.0) Gecko/20100101 Firefox/114.0"; !ok || v.Str() != want {
		t.Errorf("user_agent.original = %q, %v; want %q", v.Str(), ok, want)
	}
	// No error code on a success, even though the record has ErrorNumber 50140.
	if _, ok := attrs.Get("audit.error_code"); ok {
		t.Error("audit.error_code written for a successful sign-in")
	}
}

// TestPutAttributesEmptyRecord: a zero record writes nothing at all.
func TestPutAttributesEmptyRecord(t *testing.T) {
	var r auditrecord.Record
	r.Reset()
	attrs := pcommon.NewMap()
	r.PutAttributes(attrs)
	if attrs.Len() != 0 {
		t.Errorf("empty record wrote %v", attrs.AsRaw())
	}
}

// TestAttributeNames pins the frozen contract names of docs/contract.md: renaming
// one would silently break every pipeline that routes on it.
func TestAttributeNames(t *testing.T) {
	got := map[string]string{
		"AttrRecordID": auditrecord.AttrRecordID, "AttrSource": auditrecord.AttrSource,
		"AttrOperation": auditrecord.AttrOperation, "AttrResult": auditrecord.AttrResult,
		"AttrErrorCode": auditrecord.AttrErrorCode, "AttrActor": auditrecord.AttrActor,
		"AttrTarget": auditrecord.AttrTarget, "AttrParseError": auditrecord.AttrParseError,
		"AttrUserName": auditrecord.AttrUserName, "AttrClientAddress": auditrecord.AttrClientAddress,
		"AttrUserAgent": auditrecord.AttrUserAgent, "AttrGeoLat": auditrecord.AttrGeoLat,
		"AttrGeoLon": auditrecord.AttrGeoLon, "AttrGeoCountry": auditrecord.AttrGeoCountry,
		"AttrCloudProvider": auditrecord.AttrCloudProvider, "AttrCloudAccount": auditrecord.AttrCloudAccount,
	}
	want := map[string]string{
		"AttrRecordID": "audit.record.id", "AttrSource": "audit.source",
		"AttrOperation": "audit.operation", "AttrResult": "audit.result",
		"AttrErrorCode": "audit.error_code", "AttrActor": "audit.actor",
		"AttrTarget": "audit.target", "AttrParseError": "audit.parse_error",
		"AttrUserName": "user.name", "AttrClientAddress": "client.address",
		"AttrUserAgent": "user_agent.original", "AttrGeoLat": "geo.location.lat",
		"AttrGeoLon": "geo.location.lon", "AttrGeoCountry": "geo.country.iso_code",
		"AttrCloudProvider": "cloud.provider", "AttrCloudAccount": "cloud.account.id",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contract names (-want +got):\n%s", diff)
	}
}

func TestSourceOf(t *testing.T) {
	tests := []struct {
		name           string
		attrs          map[string]any
		wantSource     auditrecord.Source
		wantParseError bool
	}{
		{"none", map[string]any{}, auditrecord.SourceUnknown, false},
		{"foreign attributes only", map[string]any{"service.name": "app"}, auditrecord.SourceUnknown, false},
		{"o365", map[string]any{"audit.source": "o365", "audit.operation": "Set-Mailbox"}, auditrecord.SourceO365, false},
		{"google", map[string]any{"audit.source": "google_workspace"}, auditrecord.SourceGoogleWorkspace, false},
		// The receiver knew the source but could not parse the record.
		{"parse error", map[string]any{"audit.source": "entra_signin", "audit.parse_error": "entra_signin record: createdDateTime is missing"}, auditrecord.SourceEntraSignIn, true},
		{"parse error without source", map[string]any{"audit.parse_error": "jsonpdata: unexpected end"}, auditrecord.SourceUnknown, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := pcommon.NewMap()
			if err := attrs.FromRaw(tt.attrs); err != nil {
				t.Fatal(err)
			}
			src, parseErr := auditrecord.SourceOf(attrs)
			if src != tt.wantSource || parseErr != tt.wantParseError {
				t.Errorf("SourceOf = %q, %v; want %q, %v", src, parseErr, tt.wantSource, tt.wantParseError)
			}
		})
	}
}

// TestSourceOfRoundTrip: what PutAttributes writes, SourceOf reads back.
func TestSourceOfRoundTrip(t *testing.T) {
	for _, body := range []string{huntressNewInboxRule, graphV1SignIn, googleLoginSuccess, entraAuditAddMemberToRole, azureActivityAutomationAccount} {
		var r auditrecord.Record
		if err := auditrecord.Parse(decode(t, body), &r); err != nil {
			t.Fatal(err)
		}
		attrs := pcommon.NewMap()
		r.PutAttributes(attrs)
		if src, parseErr := auditrecord.SourceOf(attrs); src != r.Source || parseErr {
			t.Errorf("SourceOf = %q, %v; want %q, false", src, parseErr, r.Source)
		}
	}
}
