package auditrecord_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// TestParseMessyInput covers what exports, collectors and hand-made
// pipelines do to vendor records: casing, numbers as strings, values of
// unexpected types. A recognised record with a malformed optional field must
// still parse; only what every record of its kind has is fatal.
func TestParseMessyInput(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, r *auditrecord.Record)
	}{
		{
			// Hand-built pipelines lowercase or uppercase keys.
			name: "o365 key casing",
			body: `{"CREATIONTIME":"2023-09-26T02:05:42","id":"x1","operation":"New-InboxRule","workload":"Exchange","recordtype":1,"resultstatus":"True","usertype":2,"clientip":"185.73.124.135:49567","userid":"DebraB@M365B132131.OnMicrosoft.com","organizationname":"M365B132131.onmicrosoft.com","parameters":[{"name":"From","value":"flag@ctf.com"}]}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				want := auditrecord.Record{
					Source: auditrecord.SourceO365, Kind: auditrecord.KindMailboxChange, ID: "x1",
					Time: ts("2023-09-26T02:05:42Z"), Operation: "New-InboxRule", Result: auditrecord.ResultSuccess,
					Actor: "debrab@m365b132131.onmicrosoft.com", Target: "debrab@m365b132131.onmicrosoft.com",
					User: "debrab@m365b132131.onmicrosoft.com", ActorUserType: 2,
					ClientAddress: "185.73.124.135", ClientIP: ip("185.73.124.135"),
					CloudProvider: "azure", TenantDomain: "m365b132131.onmicrosoft.com",
					Parameters: []auditrecord.Parameter{{Name: "From", Value: "flag@ctf.com"}},
					Mail:       noMail,
				}
				if diff := cmp.Diff(want, *r, recordOpts); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
		{
			// Some exports write every scalar as a string; RecordType "15"
			// still makes a sign-in even under an unknown operation name.
			name: "o365 numbers as strings",
			body: `{"CreationTime":"2023-09-26T01:51:13","Id":"x2","Operation":"UserLoginFailed","RecordType":"15","UserType":"2","Workload":"AzureActiveDirectory","UserId":"a@x.com","ErrorNumber":50126}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.ActorUserType != 2 || r.Kind != auditrecord.KindSignIn || r.ErrorCode != "50126" {
					t.Errorf("UserType %d, Kind %d, ErrorCode %q; want 2, sign-in, 50126", r.ActorUserType, r.Kind, r.ErrorCode)
				}
			},
		},
		{
			name: "o365 RecordType as string decides the kind",
			body: `{"CreationTime":"2015-06-29T20:03:19","Id":"x3","Operation":"PasswordLogonInitialAuthUsingPassword","RecordType":"9","ResultStatus":"Failed","UserId":"a@x.com","LoginStatus":"-2147217390"}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.Source != auditrecord.SourceO365 || r.Kind != auditrecord.KindSignIn ||
					r.Result != auditrecord.ResultFailure || r.ErrorCode != "-2147217390" {
					t.Errorf("got source %q kind %d result %v code %q", r.Source, r.Kind, r.Result, r.ErrorCode)
				}
			},
		},
		{
			name: "o365 UserType unreadable stays unknown",
			body: `{"CreationTime":"2023-09-26T02:05:42","Id":"x4","Operation":"Set-Mailbox","RecordType":1,"Workload":"Exchange","UserType":"admin","UserId":"a@x.com"}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.ActorUserType != -1 {
					t.Errorf("ActorUserType = %d, want -1", r.ActorUserType)
				}
			},
		},
		{
			// PowerShell switches and arrays arrive as JSON bools, numbers
			// and arrays; entries that are not {Name, Value} are skipped.
			name: "o365 parameter values of every type",
			body: `{"CreationTime":"2023-09-26T02:05:42","Id":"x5","Operation":"New-InboxRule","RecordType":1,"Workload":"Exchange","UserId":"a@x.com","Parameters":[{"Name":"Priority","Value":3},{"Name":"Enabled","Value":true},{"Name":"Ratio","Value":0.5},{"Name":"ForwardTo","Value":["b@y.com","c@z.com"]},{"Name":"Cleared","Value":null},{"Name":"Nested","Value":{"a":1}},"not a pair",{"Value":"no name"},42]}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				want := []auditrecord.Parameter{
					{Name: "Priority", Value: "3"},
					{Name: "Enabled", Value: "true"},
					{Name: "Ratio", Value: "0.5"},
					{Name: "ForwardTo", Value: "b@y.com;c@z.com"},
					{Name: "Cleared", Value: ""},
					{Name: "Nested", Value: ""},
				}
				if diff := cmp.Diff(want, r.Parameters); diff != "" {
					t.Errorf("Parameters (-want +got):\n%s", diff)
				}
				if v, ok := r.Param("forwardto"); !ok || v != "b@y.com;c@z.com" {
					t.Errorf("Param(forwardto) = %q, %v: PowerShell names are case-insensitive", v, ok)
				}
			},
		},
		{
			name: "o365 missing Parameters",
			body: `{"CreationTime":"2023-09-26T02:05:42","Id":"x6","Operation":"New-InboxRule","RecordType":1,"Workload":"Exchange","UserId":"a@x.com"}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if len(r.Parameters) != 0 || r.Target != "a@x.com" {
					t.Errorf("Parameters %v, Target %q; want none, a@x.com", r.Parameters, r.Target)
				}
			},
		},
		{
			name: "o365 Parameters of the wrong type",
			body: `{"CreationTime":"2023-09-26T02:05:42","Id":"x7","Operation":"Set-Mailbox","RecordType":1,"Workload":"Exchange","UserId":"a@x.com","Parameters":"-Identity bob -ForwardingSmtpAddress x@evil.example","OperationProperties":{"Name":"x"}}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if len(r.Parameters) != 0 || len(r.OperationProperties) != 0 {
					t.Errorf("Parameters %v, OperationProperties %v; want none", r.Parameters, r.OperationProperties)
				}
			},
		},
		{
			// Sign-ins without DeviceProperties or ExtendedProperties (or with
			// them of the wrong type) once crashed the parser.
			name: "o365 sign-in without extended or device properties",
			body: `{"CreationTime":"2023-09-26T01:51:13","Id":"x8","Operation":"UserLoggedIn","RecordType":15,"Workload":"AzureActiveDirectory","UserId":"a@x.com","ExtendedProperties":"oops"}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.Result != auditrecord.ResultSuccess || !r.SignIn.Interactive || r.UserAgent != "" {
					t.Errorf("Result %v Interactive %v UA %q", r.Result, r.SignIn.Interactive, r.UserAgent)
				}
			},
		},
		{
			name: "o365 bracketed IPv6 with port",
			body: `{"CreationTime":"2023-09-26T02:05:42","Id":"x9","Operation":"Set-Mailbox","RecordType":1,"Workload":"Exchange","UserId":"a@x.com","ClientIP":"[2001:DB8::5]:443"}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.ClientAddress != "2001:db8::5" || r.ClientIP != ip("2001:db8::5") {
					t.Errorf("ClientAddress %q ClientIP %v", r.ClientAddress, r.ClientIP)
				}
			},
		},
		{
			// A 1 MB subject must neither fail nor be cut: the view is not
			// the place to bound fields (the decoder's Limits are).
			name: "o365 huge subject",
			body: `{"CreationTime":"2024-03-05T14:21:07","Id":"x10","Operation":"Send","RecordType":2,"Workload":"Exchange","UserId":"bob@contoso.com","MailboxOwnerUPN":"bob@contoso.com","Item":{"Subject":"` + strings.Repeat("A", 1<<20) + `","ParentFolder":{"Path":"\\Sent Items"}}}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if len(r.Mail.Items) != 1 || len(r.Mail.Items[0].Subject) != 1<<20 || r.Mail.Items[0].Folder != `\Sent Items` {
					t.Errorf("items %d, subject length %d", len(r.Mail.Items), len(r.Mail.Items[0].Subject))
				}
			},
		},
		{
			// Collectors re-encode Graph numbers as strings.
			name: "graph errorCode as string",
			body: `{"id":"g1","createdDateTime":"2021-06-30T16:34:32Z","userPrincipalName":"a@x.com","status":{"errorCode":"50126"},"autonomousSystemNumber":"3598"}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.Result != auditrecord.ResultFailure || r.ErrorCode != "50126" || r.SignIn.ASN != 3598 {
					t.Errorf("Result %v ErrorCode %q ASN %d", r.Result, r.ErrorCode, r.SignIn.ASN)
				}
			},
		},
		{
			// Test data writes lat 999; a country is still a country.
			name: "graph impossible coordinates",
			body: `{"id":"g2","createdDateTime":"2021-06-30T16:34:32Z","userPrincipalName":"a@x.com","status":{"errorCode":0},"location":{"countryOrRegion":"us","city":"Nowhere","geoCoordinates":{"latitude":999,"longitude":10}}}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				want := auditrecord.Geo{CountryISO: "US", City: "Nowhere"}
				if r.Geo != want {
					t.Errorf("Geo = %+v, want %+v", r.Geo, want)
				}
			},
		},
		{
			// (0, 0) is the vendors' "no location" placeholder.
			name: "graph null island",
			body: `{"id":"g3","createdDateTime":"2021-06-30T16:34:32Z","userPrincipalName":"a@x.com","location":{"geoCoordinates":{"latitude":0,"longitude":0}}}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.Geo.HasCoordinates {
					t.Errorf("Geo = %+v, want no coordinates", r.Geo)
				}
			},
		},
		{
			name: "graph coordinates as strings",
			body: `{"id":"g4","createdDateTime":"2021-06-30T16:34:32Z","userPrincipalName":"a@x.com","location":{"geoCoordinates":{"latitude":"47.5","longitude":"-122.25"}}}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				want := auditrecord.Geo{Lat: 47.5, Lon: -122.25, HasCoordinates: true}
				if r.Geo != want {
					t.Errorf("Geo = %+v, want %+v", r.Geo, want)
				}
			},
		},
		{
			// No status at all: Result stays unknown rather than guessed.
			name: "graph without status",
			body: `{"id":"g5","createdDateTime":"2021-06-30T16:34:32Z","userPrincipalName":"a@x.com","signInEventTypes":["nonInteractiveUser"]}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.Result != auditrecord.ResultUnknown || r.SignIn.Interactive {
					t.Errorf("Result %v Interactive %v; want unknown, false", r.Result, r.SignIn.Interactive)
				}
			},
		},
		{
			// Azure Monitor's resultType is a string, "0" for success.
			name: "azure monitor string resultType success",
			body: `{"time":"2023-10-24T20:13:31Z","category":"SignInLogs","resultType":"0","callerIpAddress":"198.51.100.4","tenantId":"t1","correlationId":"c1","properties":{"userPrincipalName":"a@x.com"}}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.Result != auditrecord.ResultSuccess || r.ErrorCode != "" || r.ClientAddress != "198.51.100.4" ||
					r.TenantID != "t1" || r.ID != "c1" || !r.Time.Equal(ts("2023-10-24T20:13:31Z")) {
					t.Errorf("got %+v", r)
				}
			},
		},
		{
			name: "azure monitor string resultType failure",
			body: `{"time":"2023-10-24T20:13:31Z","category":"NonInteractiveUserSignInLogs","resultType":"50126","properties":{"userPrincipalName":"a@x.com","createdDateTime":"2023-10-24T20:01:11.9490387+00:00","isInteractive":true}}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.Result != auditrecord.ResultFailure || r.ErrorCode != "50126" || r.SignIn.Interactive ||
					!r.Time.Equal(ts("2023-10-24T20:01:11.9490387Z")) {
					t.Errorf("Result %v ErrorCode %q Interactive %v Time %v", r.Result, r.ErrorCode, r.SignIn.Interactive, r.Time)
				}
			},
		},
		{
			// The Reports API sends int64 parameters as strings; Elastic's
			// samples have them as JSON numbers: both read the same.
			name: "google intValue as string",
			body: `{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","uniqueQualifier":"7","applicationName":"login","customerId":"1"},"actor":{"email":"foo@bar.com"},"events":[{"type":"account_warning","name":"suspicious_login","parameters":[{"name":"login_timestamp","intValue":"1593695305123456"}]}]}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if v, _ := r.Events[0].Param("login_timestamp"); v != "1593695305123456" {
					t.Errorf("login_timestamp = %q", v)
				}
			},
		},
		{
			// The API's own shape: an activity with two events. The first
			// names the operation; every event feeds the sign-in view.
			name: "google events array of two",
			body: `{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","uniqueQualifier":"8","applicationName":"login","customerId":"1"},"actor":{"email":"Foo@Bar.com"},"ipAddress":"67.43.156.13","events":[{"type":"login","name":"login_verification","parameters":[{"name":"login_type","value":"google_password"}]},{"type":"login","name":"login_success","parameters":[{"name":"is_suspicious","boolValue":true},{"name":"login_type","value":"exchange"}]}]}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if len(r.Events) != 2 || r.Operation != "login_verification" || r.Result != auditrecord.ResultSuccess ||
					!r.SignIn.Suspicious || r.SignIn.ClientApp != "google_password" || r.Actor != "foo@bar.com" {
					t.Errorf("events %d op %q result %v suspicious %v app %q actor %q",
						len(r.Events), r.Operation, r.Result, r.SignIn.Suspicious, r.SignIn.ClientApp, r.Actor)
				}
			},
		},
		{
			name: "google login_failure reason",
			body: `{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","uniqueQualifier":"9","applicationName":"login","customerId":"1"},"actor":{"email":"foo@bar.com"},"events":{"type":"login","name":"login_failure","parameters":[{"name":"login_failure_type","value":"login_failure_invalid_password"}]}}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if r.Result != auditrecord.ResultFailure || r.ErrorCode != "login_failure_invalid_password" {
					t.Errorf("Result %v ErrorCode %q", r.Result, r.ErrorCode)
				}
			},
		},
		{
			name: "google events entries that are not objects",
			body: `{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","uniqueQualifier":"10","applicationName":"admin"},"actor":{"email":"foo@bar.com"},"events":["x",1,{"name":"CHANGE_PASSWORD","parameters":"nope"}]}`,
			check: func(t *testing.T, r *auditrecord.Record) {
				if len(r.Events) != 1 || r.Operation != "CHANGE_PASSWORD" || len(r.Events[0].Parameters) != 0 {
					t.Errorf("events %+v", r.Events)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r auditrecord.Record
			if err := auditrecord.Parse(decode(t, tt.body), &r); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, &r)
		})
	}
}

// TestParseGoogleEventShapes: the API's "events" array, Elastic's single
// "events" object and Splunk's "event" object give the same view.
func TestParseGoogleEventShapes(t *testing.T) {
	const (
		head  = `{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","uniqueQualifier":"1","applicationName":"login","customerId":"1"},"actor":{"email":"foo@bar.com"},"ipAddress":"67.43.156.13",`
		event = `{"type":"login","name":"login_success","parameters":[{"name":"is_suspicious","boolValue":true},{"name":"login_type","value":"google_password"}]}`
	)
	want := auditrecord.Record{
		Source: auditrecord.SourceGoogleWorkspace, Kind: auditrecord.KindSignIn, ID: "1",
		Time: ts("2020-10-02T15:00:00Z"), Operation: "login_success", Result: auditrecord.ResultSuccess,
		Actor: "foo@bar.com", Target: "foo@bar.com", User: "foo@bar.com", ActorUserType: -1,
		ClientAddress: "67.43.156.13", ClientIP: ip("67.43.156.13"),
		CloudProvider: "gcp", TenantID: "1",
		SignIn: auditrecord.SignIn{Interactive: true, ClientApp: "google_password", Suspicious: true},
		Mail:   noMail,
		Events: []auditrecord.Event{{Type: "login", Name: "login_success", Parameters: []auditrecord.Parameter{
			{Name: "is_suspicious", Value: "true"}, {Name: "login_type", Value: "google_password"},
		}}},
	}
	for name, body := range map[string]string{
		"events array":  head + `"events":[` + event + `]}`,
		"events object": head + `"events":` + event + `}`,
		"event object":  head + `"event":` + event + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			var r auditrecord.Record
			if err := auditrecord.Parse(decode(t, body), &r); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(want, r, recordOpts); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseErrors: foreign records are ErrUnrecognized; recognised records
// missing what every record of their kind has get an error naming the field,
// because the receiver stores that text as audit.parse_error.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		unrecognized bool
		wantInError  []string // substrings the message must contain
	}{
		{name: "application log", body: `{"level":"info","msg":"started","ts":"2024-01-01T00:00:00Z"}`, unrecognized: true},
		{name: "empty object", body: `{}`, unrecognized: true},
		{name: "google-like without kind or id map", body: `{"id":"1","events":[]}`, unrecognized: true},
		// RecordType alone is not enough: many schemas have a "type".
		{name: "RecordType without CreationTime", body: `{"RecordType":1,"Operation":"x"}`, unrecognized: true},
		{
			name:        "o365 Operation of the wrong type",
			body:        `{"CreationTime":"2023-09-26T02:05:42","Id":"e1","Operation":5,"Workload":"Exchange"}`,
			wantInError: []string{"o365", "Operation", "want a string"},
		},
		{
			name:        "o365 Operation missing",
			body:        `{"CreationTime":"2023-09-26T02:05:42","Id":"e2","Workload":"Exchange"}`,
			wantInError: []string{"o365", "Operation", "missing"},
		},
		{
			name:        "o365 CreationTime missing",
			body:        `{"Id":"e3","Operation":"Set-Mailbox","Workload":"Exchange"}`,
			wantInError: []string{"o365", "CreationTime", "missing"},
		},
		{
			// The bad value is quoted so the parse_error says what was wrong.
			name:        "o365 CreationTime unreadable",
			body:        `{"CreationTime":"last tuesday","Id":"e4","Operation":"Set-Mailbox","Workload":"Exchange"}`,
			wantInError: []string{"CreationTime", `"last tuesday"`},
		},
		{
			name:        "o365 CreationTime of the wrong type",
			body:        `{"CreationTime":{"t":1},"Id":"e5","Operation":"Set-Mailbox","Workload":"Exchange"}`,
			wantInError: []string{"CreationTime"},
		},
		{
			name:        "graph createdDateTime unreadable",
			body:        `{"id":"e6","createdDateTime":"soon","userPrincipalName":"a@x.com"}`,
			wantInError: []string{"entra_signin", "createdDateTime", `"soon"`},
		},
		{
			name:        "azure monitor sign-in without any time",
			body:        `{"category":"SignInLogs","properties":{"userPrincipalName":"a@x.com"}}`,
			wantInError: []string{"createdDateTime", "missing"},
		},
		{
			name:        "google without events",
			body:        `{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","applicationName":"login"}}`,
			wantInError: []string{"google_workspace", "events"},
		},
		{
			name:        "google with empty events",
			body:        `{"kind":"admin#reports#activity","id":{"time":"2020-10-02T15:00:00Z","applicationName":"login"},"events":[]}`,
			wantInError: []string{"events"},
		},
		{
			name:        "google without time",
			body:        `{"kind":"admin#reports#activity","id":{"applicationName":"login"},"events":[{"name":"login_success"}]}`,
			wantInError: []string{"id.time", "missing"},
		},
		{
			name:        "entra audit without time",
			body:        `{"category":"AuditLogs","properties":{"activityDisplayName":"Add member to role"}}`,
			wantInError: []string{"entra_audit", "activityDateTime"},
		},
		{
			name:        "azure activity with bad time",
			body:        `{"eventTimestamp":"nope","operationName":{"value":"x"}}`,
			wantInError: []string{"azure_activity", "eventTimestamp", `"nope"`},
		},
		{
			// A 1 MB bad value must not become a 1 MB error attribute.
			name:        "long bad value is cut in the message",
			body:        `{"CreationTime":"` + strings.Repeat("9", 1<<20) + `","Id":"e7","Operation":"Set-Mailbox","Workload":"Exchange"}`,
			wantInError: []string{"CreationTime", `..."`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := decode(t, tt.body)
			var r auditrecord.Record
			err := auditrecord.Parse(body, &r)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want an error", r)
			}
			if got := errors.Is(err, auditrecord.ErrUnrecognized); got != tt.unrecognized {
				t.Fatalf("errors.Is(%v, ErrUnrecognized) = %v, want %v", err, got, tt.unrecognized)
			}
			if tt.unrecognized && auditrecord.Detect(body) != auditrecord.SourceUnknown {
				t.Errorf("Detect = %q, want unknown", auditrecord.Detect(body))
			}
			for _, s := range tt.wantInError {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if len(err.Error()) > 300 {
				t.Errorf("error message is %d bytes long", len(err.Error()))
			}
		})
	}
}

// TestParseAs: the processor trusts audit.source from our receiver and skips
// detection; a wrong or unknown source must fail cleanly, never panic.
func TestParseAs(t *testing.T) {
	var r auditrecord.Record
	if err := auditrecord.ParseAs(decode(t, splunkSetMailbox), auditrecord.SourceO365, &r); err != nil || r.Target != "bpatel@rodsoto.onmicrosoft.com" {
		t.Errorf("ParseAs(o365) = %v, target %q", err, r.Target)
	}
	if err := auditrecord.ParseAs(decode(t, splunkSetMailbox), auditrecord.Source("syslog"), &r); !errors.Is(err, auditrecord.ErrUnrecognized) {
		t.Errorf("ParseAs(unknown source) = %v, want ErrUnrecognized", err)
	}
	for _, src := range []auditrecord.Source{
		auditrecord.SourceEntraSignIn, auditrecord.SourceGoogleWorkspace,
		auditrecord.SourceEntraAudit, auditrecord.SourceAzureActivity,
	} {
		if err := auditrecord.ParseAs(decode(t, splunkSetMailbox), src, &r); err == nil {
			t.Errorf("ParseAs(O365 body as %s) succeeded, want a field error", src)
		}
	}
}
