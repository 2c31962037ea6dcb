package emailcompromisefindingsconnector

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the connector's output (review the diff by hand)")

// ocsfRequired are the attributes OCSF 1.3.0 marks "required" for a
// Detection Finding (class_uid 2004) and for the objects it contains as we
// fill them, written down by hand from the schema's documentation:
//
//   - class: https://schema.ocsf.io/1.3.0/classes/detection_finding (also
//     docs.tenzir.com/reference/ocsf/1-3-0/classes/detection_finding):
//     activity_id, category_uid, class_uid, finding_info, metadata,
//     severity_id, time, type_uid.
//   - finding_info: https://schema.ocsf.io/1.3.0/objects/finding_info:
//     title, uid (title became "recommended" only in 1.5.0).
//   - metadata: https://schema.ocsf.io/1.3.0/objects/metadata: product,
//     version.
//   - analytic (finding_info.analytic, when present):
//     https://schema.ocsf.io/1.3.0/objects/analytic: type_id, and at
//     least one of name, uid.
//   - related_event (finding_info.related_events[]):
//     https://schema.ocsf.io/1.3.0/objects/related_event: uid.
//   - attack (finding_info.attacks[]): https://schema.ocsf.io/1.3.0/objects/attack:
//     at least one of tactic, technique, sub_technique; technique.uid.
//   - evidences[] (Evidence Artifacts): https://schema.ocsf.io/1.3.0/objects/evidences:
//     at least one of its artifacts (actor, api, src_endpoint, data, ...).
var ocsfRequired = []string{
	"activity_id", "category_uid", "class_uid", "finding_info", "metadata", "severity_id", "time", "type_uid",
	"finding_info.title", "finding_info.uid", "metadata.product", "metadata.version",
}

// ocsfEnums are the values the schema allows for the enumerated attributes
// we write (same pages as above): activity_id of a finding, severity_id,
// status_id of a finding, analytic.type_id.
var ocsfEnums = map[string][]int64{
	"activity_id":                   {0, 1, 2, 3, 99},
	"severity_id":                   {0, 1, 2, 3, 4, 5, 6, 99},
	"status_id":                     {0, 1, 2, 3, 4, 99},
	"finding_info.analytic.type_id": {0, 1, 2, 3, 4, 99},
}

// validateOCSF checks a finding body against ocsfRequired and ocsfEnums
// and the fixed values of the class.
func validateOCSF(t *testing.T, body map[string]any) {
	t.Helper()
	for _, path := range ocsfRequired {
		v, ok := lookup(body, path)
		if !assert.Truef(t, ok, "required %s missing", path) {
			continue
		}
		if s, isStr := v.(string); isStr {
			assert.NotEmptyf(t, s, "required %s empty", path)
		}
	}
	for path, allowed := range ocsfEnums {
		if v, ok := lookup(body, path); ok {
			assert.Containsf(t, allowed, v, "%s", path)
		}
	}
	assert.EqualValues(t, 2004, body["class_uid"])
	assert.EqualValues(t, 2, body["category_uid"])
	assert.EqualValues(t, 2004*100+body["activity_id"].(int64), body["type_uid"], "type_uid is class_uid * 100 + activity_id")
	info := body["finding_info"].(map[string]any)
	if a, ok := info["analytic"].(map[string]any); ok {
		assert.Contains(t, a, "type_id")
		assert.True(t, a["name"] != nil || a["uid"] != nil, "analytic: at least one of name, uid")
	}
	for _, r := range sliceOf(info["related_events"]) {
		assert.NotEmpty(t, r.(map[string]any)["uid"], "related_event.uid")
	}
	for _, a := range sliceOf(info["attacks"]) {
		tech, ok := a.(map[string]any)["technique"].(map[string]any)
		if assert.True(t, ok, "attack: at least one of tactic, technique, sub_technique") {
			assert.NotEmpty(t, tech["uid"])
		}
	}
	for _, e := range sliceOf(body["evidences"]) {
		assert.NotEmpty(t, e.(map[string]any), "evidence: at least one artifact")
	}
}

func lookup(m map[string]any, path string) (any, bool) {
	var v any = m
	for _, part := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = mm[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

func sliceOf(v any) []any {
	s, _ := v.([]any)
	return s
}

// megan is the demo's account takeover of Megan Bowen as the processor
// tags it: a risky sign-in from Lagos (also impossible travel), two failed
// attempts before it, an inbox rule that hides mail, forwarding, a reply
// into a supplier's thread and its deletion; the last three complete the
// chain.
func megan() []tag {
	const user, addr = "megan.bowen@contoso.com", "198.51.100.77"
	signin := tag{id: "b5e83a17-04c9-4f2b-9d6e-7c1a2f3e5b00", user: user, at: 11*time.Minute + 40*time.Second,
		rules: []string{"risky_sign_in/identity_provider_risk", "impossible_travel/impossible_travel"}, severities: []string{"medium", "high"},
		reason:     "risky_sign_in/identity_provider_risk: Entra ID rated the sign-in medium risk (atRisk). impossible_travel/impossible_travel: 11,006 km from Redmond in 9h32m (1,155 km/h).",
		techniques: []string{"T1586.002", "T1078.004"}, evidence: []string{"9a1c7e52-6b0d-4f83-a2e4-5d9c3b1f0700", "b5e83a17-04c9-4f2b-9d6e-7c1a2f3e5b00"},
		title: "Impossible travel between two successful sign-ins", reference: "https://attack.mitre.org/techniques/T1078/004/",
		operation: "Sign-in activity", source: "entra_signin", address: addr, country: "NG"}
	attempt := tag{id: "2d7f4b90-c61a-4e5d-8f37-a91b6e2c0d00", user: user, at: 10*time.Minute + 10*time.Second,
		rules: []string{"risky_sign_in/identity_provider_risk"}, severities: []string{"medium"},
		reason:     "Entra ID rated the sign-in medium risk (atRisk).",
		techniques: []string{"T1586.002", "T1078.004"}, title: "Sign-in the identity provider rated risky",
		operation: "Sign-in activity", source: "entra_signin", address: addr, country: "NG"}
	const chain = "chain-5f0c2a7e9b1d4c36"
	hiding := tag{id: "7c3f9a12-5e4b-4d2a-9c81-08dd2d41b7a3", user: user, at: 18 * time.Minute,
		rules: []string{"mailbox_rule/inbox_rule_hiding", "chain/account_takeover"}, severities: []string{"medium", "critical"},
		reason:     "mailbox_rule/inbox_rule_hiding: Inbox rule \".\" moves mail to RSS Feeds, marks it read and stops other rules. chain/account_takeover: Account takeover of megan.bowen@contoso.com: 09:11 risky sign-in; 09:18 hiding rule; 09:52 reply.",
		techniques: []string{"T1586.002", "T1564.008", "T1078.004", "T1114.003", "T1534"},
		evidence:   []string{"b5e83a17-04c9-4f2b-9d6e-7c1a2f3e5b00", "7c3f9a12-5e4b-4d2a-9c81-08dd2d41b7a3", "c8e41f27-5a93-4d06-b1e2-08dd2d45f1a8"},
		chain:      chain, title: "Compromised mailbox: risky sign-in, then mailbox manipulation, then abuse of the mailbox",
		reference: "https://attack.mitre.org/techniques/T1586/002/", operation: "New-InboxRule", source: "o365", address: addr}
	forwarding := tag{id: "4f8d2c61-0b7e-4f39-8e14-08dd2d42a0f6", user: user, at: 26 * time.Minute,
		rules: []string{"mailbox_rule/mailbox_forwarding_external"}, severities: []string{"critical"},
		reason:     "Set-Mailbox forwards all mail to m.bowen.contoso@example.net without keeping a copy.",
		techniques: []string{"T1586.002", "T1114.003"}, title: "Mailbox forwarding to an external address",
		operation: "Set-Mailbox", source: "o365", address: addr}
	reply := tag{id: "c8e41f27-5a93-4d06-b1e2-08dd2d45f1a8", user: user, at: 52 * time.Minute,
		rules: []string{"thread_hijack/reply_from_risky_session", "chain/account_takeover"}, severities: []string{"critical", "critical"},
		reason:     "thread_hijack/reply_from_risky_session: Reply into \"Fabrikam invoice 20431\" from 198.51.100.77, 39 minutes after a risky sign-in from it. chain/account_takeover: Account takeover of megan.bowen@contoso.com: 09:11 risky sign-in; 09:18 hiding rule; 09:52 reply.",
		techniques: []string{"T1586.002", "T1534", "T1566.002", "T1078.004", "T1114.003", "T1564.008"},
		evidence:   []string{"b5e83a17-04c9-4f2b-9d6e-7c1a2f3e5b00", "7c3f9a12-5e4b-4d2a-9c81-08dd2d41b7a3", "c8e41f27-5a93-4d06-b1e2-08dd2d45f1a8"},
		chain:      chain, title: "Reply into an existing thread from the attacker's session",
		operation: "Send", source: "o365", address: addr}
	return []tag{attempt, signin, hiding, forwarding, reply}
}

// TestGoldenOCSF checks the findings of the demo's takeover against the
// committed OCSF output and the schema's required fields.
func TestGoldenOCSF(t *testing.T) {
	c, sink := newTestConnector(t, testConfig(), componenttest.NewNopHost())
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(megan()...)))
	c.flush(context.Background())
	out := findings(sink)
	require.Len(t, out, 6, "identity-provider risk, travel, hiding rule, forwarding, reply, chain")
	var got []map[string]any
	for _, lr := range out {
		body := lr.Body().Map().AsRaw()
		validateOCSF(t, body)
		got = append(got, map[string]any{"attributes": lr.Attributes().AsRaw(), "body": body, "severity_text": lr.SeverityText()})
	}
	text, err := json.MarshalIndent(got, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "golden", "megan.json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, append(text, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(text))
}

// TestChainLinksItsStages: the chain is one finding whose related events
// are the findings of its three stages.
func TestChainLinksItsStages(t *testing.T) {
	c, sink := newTestConnector(t, testConfig(), componenttest.NewNopHost())
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(megan()...)))
	c.flush(context.Background())
	uidOf := map[string]string{}
	var chain plog.LogRecord
	for _, lr := range findings(sink) {
		rule := lr.Attributes().AsRaw()["detection.rules"].([]any)[0].(string)
		uidOf[rule] = attrStr(lr, AttrFindingUID)
		if rule == "chain/account_takeover" {
			chain = lr
		}
	}
	require.NotEmpty(t, uidOf["chain/account_takeover"])
	var related []string
	for _, r := range chain.Body().Map().AsRaw()["finding_info"].(map[string]any)["related_events"].([]any) {
		related = append(related, r.(map[string]any)["uid"].(string))
	}
	// The chain's evidence: the sign-in (identity-provider risk and travel
	// findings), the hiding rule, the reply.
	want := []string{uidOf["risky_sign_in/identity_provider_risk"], uidOf["impossible_travel/impossible_travel"],
		uidOf["mailbox_rule/inbox_rule_hiding"], uidOf["thread_hijack/reply_from_risky_session"]}
	slices.Sort(want)
	assert.Equal(t, want, related)
	assert.Equal(t, "chain-5f0c2a7e9b1d4c36", attrStr(chain, "detection.chain.id"))
	assert.EqualValues(t, 2, attrInt(chain, AttrFindingRecords), "two records carried the chain")
}

// TestSendBurstIsOneFinding: 250 tagged sends in five batches, flushed
// after each, are one finding revised five times; the batches delivered
// again change nothing; when event time moves past the quiet period and
// the lateness the finding closes.
func TestSendBurstIsOneFinding(t *testing.T) {
	c, sink := newTestConnector(t, testConfig(), componenttest.NewNopHost())
	ctx := context.Background()
	burst := func(batch int) plog.Logs {
		var tags []tag
		for i := batch * 50; i < (batch+1)*50; i++ {
			tags = append(tags, tag{id: fmt.Sprintf("send-%03d", i), user: "isaiah.langer@contoso.com", at: 3*time.Hour + time.Duration(i)*7*time.Second,
				rules: []string{"bulk_send/send_rate_anomaly"}, severities: []string{"high"}, reason: fmt.Sprintf("Send %d of the hour.", i+1),
				techniques: []string{"T1586.002", "T1534"}, title: "Mailbox sending far above its usual rate", operation: "Send", source: "o365", address: "198.51.100.160"})
		}
		return logsOf(tags...)
	}
	for batch := 0; batch < 5; batch++ {
		require.NoError(t, c.ConsumeLogs(ctx, burst(batch)))
		c.flush(ctx)
	}
	for batch := 0; batch < 5; batch++ {
		require.NoError(t, c.ConsumeLogs(ctx, burst(batch)))
	}
	c.flush(ctx)
	out := findings(sink)
	require.Len(t, out, 5)
	uid := attrStr(out[0], AttrFindingUID)
	for i, lr := range out {
		assert.Equal(t, uid, attrStr(lr, AttrFindingUID))
		assert.EqualValues(t, i+1, attrInt(lr, AttrFindingRevision))
		assert.EqualValues(t, 50*(i+1), attrInt(lr, AttrFindingRecords))
		assert.Equal(t, "open", attrStr(lr, AttrFindingStatus))
	}
	assert.EqualValues(t, 1, out[0].Body().Map().AsRaw()["activity_id"])
	assert.EqualValues(t, 2, out[4].Body().Map().AsRaw()["activity_id"])
	evidences := out[4].Body().Map().AsRaw()["evidences"].([]any)
	assert.Len(t, evidences, 32, "max_evidence")
	assert.Equal(t, "send-000", evidences[0].(map[string]any)["data"].(map[string]any)["audit.record.id"])

	// A sign-in of someone else 25 hours later moves event time on.
	require.NoError(t, c.ConsumeLogs(ctx, logsOf(tag{id: "later", user: "someone@contoso.com", at: 28 * time.Hour,
		rules: []string{"risky_sign_in/legacy_authentication"}, severities: []string{"medium"}})))
	c.flush(ctx)
	out = findings(sink)
	require.Len(t, out, 7)
	closed := out[5]
	assert.Equal(t, uid, attrStr(closed, AttrFindingUID))
	assert.Equal(t, "closed", attrStr(closed, AttrFindingStatus))
	assert.EqualValues(t, 3, closed.Body().Map().AsRaw()["activity_id"])
	assert.EqualValues(t, 250, closed.Body().Map().AsRaw()["count"])
}

// TestIgnoredRecords: untagged records and tagged records without a time
// are counted and ignored; nothing panics on odd attribute types.
func TestIgnoredRecords(t *testing.T) {
	c, sink := newTestConnector(t, testConfig(), componenttest.NewNopHost())
	ld := logsOf(tag{id: "plain", user: "a@contoso.com"})
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	noTime := lrs.AppendEmpty()
	noTime.Attributes().PutEmptySlice("detection.rules").AppendEmpty().SetStr("risky_sign_in/legacy_authentication")
	odd := lrs.AppendEmpty()
	odd.SetTimestamp(1)
	odd.Attributes().PutStr("detection.rules", "not a slice")
	future := lrs.AppendEmpty()
	future.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)))
	future.Attributes().PutEmptySlice("detection.rules").AppendEmpty().SetStr("risky_sign_in/legacy_authentication")
	weird := lrs.AppendEmpty()
	weird.SetTimestamp(pcommon.NewTimestampFromTime(story))
	rules := weird.Attributes().PutEmptySlice("detection.rules")
	rules.AppendEmpty().SetInt(7)
	rules.AppendEmpty().SetStr("sigma/odd_rule")
	weird.Attributes().PutInt("detection.severity", 3)
	weird.Attributes().PutInt("user.name", 5)
	weird.Attributes().PutEmptySlice("detection.severities").AppendEmpty().SetStr("bogus")
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	assert.Equal(t, 1, c.tracker.Len(), "only the sigma rule of the odd record is a finding")
	assert.Equal(t, story.UnixNano(), c.tracker.Watermark(), "a record dated in 2099 does not move event time")
	c.flush(context.Background())
	assert.Empty(t, findings(sink), "an unknown severity opens no finding")
}

// TestEveryActivityIsValidOCSF: created, updated, closed and superseded
// findings all carry the required fields; a superseded one is status
// Other "Superseded", activity Close, and names its successor.
func TestEveryActivityIsValidOCSF(t *testing.T) {
	c, sink := newTestConnector(t, testConfig(), componenttest.NewNopHost())
	ctx := context.Background()
	signIn := func(id string, at time.Duration) tag {
		return tag{id: id, user: "lidia.holloway@contoso.com", at: at, rules: []string{"risky_sign_in/legacy_authentication"},
			severities: []string{"medium"}, reason: "IMAP4 sign-in.", operation: "UserLoggedIn", address: "192.0.2.44"}
	}
	require.NoError(t, c.ConsumeLogs(ctx, logsOf(signIn("b", time.Hour), signIn("d", 110*time.Minute))))
	c.flush(ctx) // two created
	require.NoError(t, c.ConsumeLogs(ctx, logsOf(signIn("c", 85*time.Minute))))
	c.flush(ctx) // bridged: the later superseded, the earlier updated
	require.NoError(t, c.ConsumeLogs(ctx, logsOf(signIn("later", 30*time.Hour))))
	c.flush(ctx) // closed, and the later record's own opened

	activities := map[string]int{}
	var superseded, merged plog.LogRecord
	for _, lr := range findings(sink) {
		body := lr.Body().Map().AsRaw()
		validateOCSF(t, body)
		activities[fmt.Sprint(body["activity_name"], "/", attrStr(lr, AttrFindingStatus))]++
		if attrStr(lr, AttrFindingStatus) == "superseded" {
			superseded = lr
		} else if attrInt(lr, AttrFindingRecords) == 3 {
			merged = lr
		}
	}
	require.Equal(t, map[string]int{"Create/open": 3, "Update/open": 1, "Close/superseded": 1, "Close/closed": 1}, activities)
	body := superseded.Body().Map().AsRaw()
	assert.EqualValues(t, 99, body["status_id"])
	assert.Equal(t, "Superseded", body["status"])
	related := body["finding_info"].(map[string]any)["related_events"].([]any)
	assert.Equal(t, []any{map[string]any{"uid": attrStr(merged, AttrFindingUID), "type": "superseded_by"}}, related)
}
