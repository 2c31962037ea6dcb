package detection

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// historyRule fires on every record, and needs history: the warm-up holds
// it back.
type historyRule struct{ rule *Rule }

func (d historyRule) Rules() []*Rule { return []*Rule{d.rule} }

func (d historyRule) Detect(ev *Event, out []Finding) []Finding {
	return append(out, Finding{Rule: d.rule, Severity: SeverityHigh, Reason: ev.Record.Operation})
}

// A detection the warm-up holds back keeps copies of the record's strings:
// the record's user (and here its reason) are slices of the record's whole
// body text, which the held detection would keep alive until it is released
// or expires.
func TestHeldDetectionDoesNotPinTheRecord(t *testing.T) {
	text := strings.Repeat("x", 2000) + "alice@contoso.com|Send" + strings.Repeat("y", 2000)
	rule := &Rule{ID: "bulk_send/test", Category: "bulk_send", NeedsHistory: true}
	s := NewSuite([]Detector{historyRule{rule}}, SuiteOptions{Warmup: 24 * time.Hour, Retention: time.Hour, Lateness: time.Hour})
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rec := &auditrecord.Record{Source: auditrecord.SourceO365, ID: "r1", Time: at, User: text[2000:2017], Operation: text[2018:2022]}
	u := &state.User{}
	out := s.Judge(&Event{Record: rec, User: u, Now: at}, nil)
	assert.Empty(t, out, "held back: the user's state spans no warm-up")
	require.NotNil(t, u.Found)
	require.Len(t, u.Found.Held, 1)
	held := u.Found.Held[0]
	assert.Equal(t, "alice@contoso.com", held.User)
	assert.Equal(t, "Send", held.Reason)
	assert.False(t, recordtest.Within(held.User, text), "the held user is the record's own memory")
	assert.False(t, recordtest.Within(held.Reason, text), "the held reason is the record's own memory")
}

// A user's state keeps a sign-in's city and a deleted sent item's folder
// at most maxKeptName bytes (and the ellipsis), whatever the record says.
func TestStateKeepsNamesShort(t *testing.T) {
	long := strings.Repeat("Llanfairpwllgwyngyll", 1000)
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	u := &state.User{}
	signIn := &auditrecord.Record{Source: auditrecord.SourceEntraSignIn, Kind: auditrecord.KindSignIn, Result: auditrecord.ResultSuccess,
		ID: "s1", Time: at, User: "alice@contoso.com", SignIn: auditrecord.SignIn{Interactive: true},
		Geo: auditrecord.Geo{Lat: 53.2, Lon: -4.2, HasCoordinates: true, CountryISO: "GB", City: long}}
	learnSignIn(&Event{Record: signIn, User: u, Now: at}, SuiteOptions{Lateness: time.Hour, Retention: time.Hour})
	require.Len(t, u.SignIns.Recent, 1)
	assert.LessOrEqual(t, len(u.SignIns.Recent[0].City.String()), maxKeptName+len("…"))

	d := NewThreadHijack(ThreadHijackOptions{RiskWindow: time.Hour, DeleteWindow: 30 * time.Minute, MinKnownIPs: 3})
	del := &auditrecord.Record{Source: auditrecord.SourceO365, Kind: auditrecord.KindMailItem, Result: auditrecord.ResultSuccess,
		ID: "d1", Time: at, User: "alice@contoso.com", Operation: "SoftDelete",
		Mail: auditrecord.Mail{Items: []auditrecord.MailItem{{Subject: "Invoice", InternetMessageID: "<m1@contoso.com>", Folder: `\Sent Items\` + long}}}}
	d.Learn(&Event{Record: del, User: u, Now: at, Lateness: time.Hour})
	require.NotNil(t, u.Mail)
	require.Len(t, u.Mail.SentDeletes, 1)
	assert.LessOrEqual(t, len(u.Mail.SentDeletes[0].Folder.String()), maxKeptName+len("…"))
}
