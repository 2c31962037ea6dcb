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
