package detection

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// graphSignIn describes a Microsoft Graph signIn resource for the tests.
type graphSignIn struct {
	user        string
	at          time.Time
	ip          string
	errorCode   int
	detail      string // status.additionalDetails
	clientApp   string
	interactive *bool
	lat, lon    float64
	noGeo       bool
	country     string
	city        string
	deviceID    string
	riskLevel   string // riskLevelDuringSignIn
	riskAgg     string
	riskState   string
	riskEvents  []string
	userAgent   string
	asn         int
	session     string // sessionId
	token       string // uniqueTokenIdentifier
	protocol    string // authenticationProtocol
	transfer    string // originalTransferMethod
}

func (g graphSignIn) json() string {
	m := map[string]any{
		"id":                    fmt.Sprintf("%s-%d-%s", g.user, g.at.UnixNano(), g.ip),
		"createdDateTime":       g.at.UTC().Format(time.RFC3339Nano),
		"userPrincipalName":     g.user,
		"ipAddress":             g.ip,
		"clientAppUsed":         orDefault(g.clientApp, "Browser"),
		"isInteractive":         g.interactive == nil || *g.interactive,
		"riskLevelDuringSignIn": orDefault(g.riskLevel, "none"),
		"riskLevelAggregated":   orDefault(g.riskAgg, "none"),
		"riskState":             orDefault(g.riskState, "none"),
		"riskEventTypes_v2":     g.riskEvents,
		"status":                map[string]any{"errorCode": g.errorCode, "additionalDetails": g.detail},
		"deviceDetail":          map[string]any{"deviceId": g.deviceID},
		"userAgent":             g.userAgent,
	}
	if g.asn != 0 {
		m["autonomousSystemNumber"] = g.asn
	}
	for key, v := range map[string]string{"sessionId": g.session, "uniqueTokenIdentifier": g.token,
		"authenticationProtocol": g.protocol, "originalTransferMethod": g.transfer} {
		if v != "" {
			m[key] = v
		}
	}
	loc := map[string]any{"countryOrRegion": g.country, "city": g.city}
	if !g.noGeo {
		loc["geoCoordinates"] = map[string]any{"latitude": g.lat, "longitude": g.lon}
	}
	m["location"] = loc
	b, _ := json.Marshal(m)
	return string(b)
}

// azureMonitor wraps a Graph signIn as the Azure Monitor diagnostic export does.
func azureMonitor(category string, g graphSignIn) string {
	return fmt.Sprintf(`{"time":%q,"category":%q,"operationName":"Sign-in activity","resultType":"%d","callerIpAddress":%q,"properties":%s}`,
		g.at.UTC().Format(time.RFC3339Nano), category, g.errorCode, g.ip, g.json())
}

// o365SignIn writes an O365 UserLoggedIn / UserLoginFailed record.
func o365SignIn(user string, at time.Time, ip string, failed bool, userAgent string) string {
	op, errNo, status := "UserLoggedIn", "0", "Success"
	if failed {
		op, errNo = "UserLoginFailed", "50126"
	}
	return fmt.Sprintf(`{"CreationTime":%q,"Id":"%d","Operation":%q,"OrganizationId":"0e8108b1","RecordType":15,"ResultStatus":%q,
		"UserType":0,"Workload":"AzureActiveDirectory","ClientIP":%q,"UserId":%q,
		"ExtendedProperties":[{"Name":"UserAgent","Value":%q},{"Name":"RequestType","Value":"Login:login"}],"ErrorNumber":%q}`,
		at.UTC().Format("2006-01-02T15:04:05"), at.UnixNano(), op, status, ip, user, orDefault(userAgent, "Mozilla/5.0"), errNo)
}

// googleLogin writes a Reports API login activity.
func googleLogin(user string, at time.Time, ip, event string, params string) string {
	return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":"%d","applicationName":"login","customerId":"C0"},
		"actor":{"email":%q},"ipAddress":%q,"events":[{"type":"login","name":%q,"parameters":%s}]}`,
		at.UTC().Format(time.RFC3339), at.UnixNano(), user, ip, event, orDefault(params, "[]"))
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func boolPtr(b bool) *bool { return &b }

// run passes records, in the order given, through a suite of the
// detectors as the processor does, and returns the findings tagged on each.
func run(t *testing.T, records []string, detectors ...Detector) [][]Finding {
	t.Helper()
	return runWith(t, testSuiteOptions, records, detectors...)
}

// runWith is run with suite options of the test's own.
func runWith(t *testing.T, opts SuiteOptions, records []string, detectors ...Detector) [][]Finding {
	t.Helper()
	users := state.New[state.User](1000, time.Hour)
	suite := NewSuite(detectors, opts)
	var out [][]Finding
	for _, rec := range records {
		r := parseRecord(t, rec)
		ev := Event{Record: r, Now: time.Now(), Users: users.Get}
		if r.User != "" {
			ev.User = users.Touch(r.User, ev.Now)
		}
		out = append(out, suite.Judge(&ev, nil))
	}
	return out
}

// testSuiteOptions are the processor's defaults.
var testSuiteOptions = SuiteOptions{
	Lateness: 24 * time.Hour, Retention: 24 * time.Hour, KeepSends: 30 * time.Minute,
	LearningSignIns: 10, FamiliarSignIns: 3,
}

// stream returns the rule ids fired on each record.
func stream(t *testing.T, records []string, detectors ...Detector) [][]string {
	t.Helper()
	var ids [][]string
	for _, fs := range run(t, records, detectors...) {
		ids = append(ids, ruleIDs(fs))
	}
	return ids
}

// lastFindings returns the findings of the stream's last record.
func lastFindings(t *testing.T, records []string, detectors ...Detector) []Finding {
	t.Helper()
	all := run(t, records, detectors...)
	return all[len(all)-1]
}

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
