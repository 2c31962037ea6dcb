package emailcompromiseprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
)

// TestUpstreamTagsAreKeptAndChained: in a scale-out, tier 1 tags password
// spray (it alone sees every source address) and tier 2, with spray off,
// tags the same records again. Tier 1's tag must survive tier 2's, and count
// as the first stage of a chain tier 2 completes.
func TestUpstreamTagsAreKeptAndChained(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Detectors.PasswordSpray.Enabled = false
	p, sink := newTestProcessor(t, cfg, componenttest.NewTelemetry())

	user := "joni.sherman@contoso.com"
	at := time.Date(2026, 11, 24, 2, 16, 39, 0, time.UTC)
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	sprayed := records.AppendEmpty()
	require.NoError(t, jsonpdata.DecodeMap([]byte(o365Login(user, at, "198.51.100.150")), sprayed.Body().SetEmptyMap(), jsonpdata.Limits{}))
	sprayed.Attributes().PutEmptySlice(AttrDetectionRules).AppendEmpty().SetStr("risky_sign_in/password_spray_success")
	sprayed.Attributes().PutStr(AttrDetectionSeverity, "high")
	sprayed.Attributes().PutStr(AttrDetectionReason, "joni.sherman@contoso.com signed in from 198.51.100.150, which failed 12 sign-ins for 12 distinct users within 30m0s (password spray).")
	records.AppendEmpty().Body().SetStr(huntressRuleFor(user, at.Add(9*time.Minute))) // the set-up stage
	for _, rec := range []string{
		o365Mail("Send", user, at.Add(20*time.Minute), "198.51.100.150", `"Item":{"Subject":"Payment details","InternetMessageId":"<u1@contoso.com>","ParentFolder":{"Path":"\\Sent Items"}}`),
		o365Mail("SoftDelete", user, at.Add(22*time.Minute), "198.51.100.150", `"Folder":{"Path":"\\Sent Items"},"AffectedItems":[{"Subject":"Payment details","InternetMessageId":"<u1@contoso.com>","ParentFolder":{"Path":"\\Sent Items"}}]`),
	} {
		require.NoError(t, jsonpdata.DecodeMap([]byte(rec), records.AppendEmpty().Body().SetEmptyMap(), jsonpdata.Limits{}))
	}

	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	rules := func(i int) []any {
		v, _ := out.At(i).Attributes().Get(AttrDetectionRules)
		return v.Slice().AsRaw()
	}
	assert.Equal(t, []any{"risky_sign_in/password_spray_success"}, rules(0), "tier 1's tag survives")
	reason, _ := out.At(0).Attributes().Get(AttrDetectionReason)
	assert.Contains(t, reason.Str(), "password spray")
	assert.Equal(t, []any{"mailbox_rule/inbox_rule_hiding"}, rules(1))
	assert.Equal(t, []any{"thread_hijack/sent_item_deleted", "chain/account_takeover"}, rules(3), "the upstream stage starts the chain")
}

// huntressRuleFor is the Huntress hiding rule, made by user at t.
func huntressRuleFor(user string, t time.Time) string {
	return `{"CreationTime":"` + t.UTC().Format("2006-01-02T15:04:05") + `","Id":"85d29e27-0000-4f2c-96c8-08dbbe33c473","Operation":"New-InboxRule","RecordType":1,"ResultStatus":"True","UserType":0,"Workload":"Exchange","ClientIP":"198.51.100.150:19823","UserId":"` + user + `","Parameters":[{"Name":"MoveToFolder","Value":"Conversation History"},{"Name":"Name","Value":"f"},{"Name":"MarkAsRead","Value":"True"}]}`
}

// TestBuiltinRulesCoverEveryDetector: the catalogue upstream tags are looked
// up in holds every rule a built-in detector can report.
func TestBuiltinRulesCoverEveryDetector(t *testing.T) {
	known := map[*detection.Rule]bool{}
	for _, r := range detection.BuiltinRules() {
		known[r] = true
	}
	for _, d := range buildSuite(createDefaultConfig().(*Config), PolicyConfig{}, nil, nil).Detectors() {
		for _, r := range d.Rules() {
			assert.True(t, known[r], "rule %s is missing from detection.BuiltinRules", r.ID)
		}
	}
}
