package detection

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"
)

// sigmaDetector compiles rule files written in the test.
func sigmaDetector(t *testing.T, rules ...string) *SigmaRules {
	t.Helper()
	var files []sigma.File
	for i, r := range rules {
		files = append(files, sigma.File{Name: "rules" + string(rune('1'+i)) + ".yml", Data: []byte(r)})
	}
	e, rep, err := sigma.Compile(files, sigma.Config{})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	return NewSigmaRules(e)
}

// shippedSigma loads the Sigma examples shipped in testdata/sigma.
func shippedSigma(t *testing.T) *SigmaRules {
	t.Helper()
	e, rep, err := sigma.Load(sigma.Config{Rules: []string{filepath.Join(corpus.RepoRoot(t), "testdata", "sigma")}})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	require.Empty(t, rep.Inactive)
	return NewSigmaRules(e)
}

// sigmaStream runs vendor records, in order, through the real parsers and
// the Sigma detector, with the body as the processor passes it, and returns
// each record's findings.
func sigmaStream(t *testing.T, d *SigmaRules, records ...string) [][]Finding {
	t.Helper()
	var out [][]Finding
	for _, rec := range records {
		body := pcommon.NewMap()
		require.NoError(t, jsonpdata.DecodeMap([]byte(rec), body, jsonpdata.Limits{}))
		var r auditrecord.Record
		require.NoError(t, auditrecord.Parse(body, &r))
		attrs := pcommon.NewMap()
		r.PutAttributes(attrs)
		out = append(out, d.Detect(&Event{Record: &r, Body: body, Attributes: attrs, Now: r.Time}, nil))
	}
	return out
}

func firedIDs(all [][]Finding) [][]string {
	var out [][]string
	for _, fs := range all {
		out = append(out, ruleIDs(fs))
	}
	return out
}

// A Sigma match becomes a finding with the rule's own identity: id
// sigma/<id or name>, title, ATT&CK technique tags, first reference,
// severity from the level.
func TestSigmaFindings(t *testing.T) {
	d := sigmaDetector(t, `title: Inbox rule forwarding outside
id: 11111111-2222-4333-8444-555555555555
references:
    - https://example.com/first
    - https://example.com/second
tags:
    - attack.collection
    - attack.t1114.003
    - attack.T1564.008
    - car.2016-04-002
logsource: {product: m365, service: audit}
detection:
    selection:
        Operation: New-InboxRule
        Parameters.ForwardTo|contains: '@'
    condition: selection
level: high
---
title: No id
name: named_rule
detection:
    selection: {audit.operation: Set-Mailbox}
    condition: selection
`)
	require.Len(t, d.Rules(), 2)
	r := d.Rules()[0]
	assert.Equal(t, &Rule{
		ID: "sigma/11111111-2222-4333-8444-555555555555", Category: CategorySigma, Title: "Inbox rule forwarding outside",
		Techniques: []string{"T1114.003", "T1564.008"}, Reference: "https://example.com/first", Ruleset: "sigma",
	}, r)
	assert.Equal(t, "sigma/named_rule", d.Rules()[1].ID)

	fs := sigmaStream(t, d,
		cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "x", "ForwardTo", "eve@evil.io"),
		cmdlet("Set-Mailbox", "bob@contoso.com", 0, outWindow, "Identity", "bob"),
	)
	require.Len(t, fs[0], 1)
	assert.Same(t, r, fs[0][0].Rule)
	assert.Equal(t, SeverityHigh, fs[0][0].Severity)
	assert.Equal(t, `Sigma rule "Inbox rule forwarding outside" matched selection.`, fs[0][0].Reason)
	require.Len(t, fs[1], 1)
	assert.Equal(t, SeverityMedium, fs[1][0].Severity, "no level: medium")
}

func TestSigmaSeverity(t *testing.T) {
	for level, want := range map[string]Severity{
		"informational": SeverityLow, "low": SeverityLow, "medium": SeverityMedium,
		"high": SeverityHigh, "critical": SeverityCritical, "": SeverityMedium,
	} {
		assert.Equal(t, want, sigmaSeverity(level), level)
	}
}

// risky_sign_in.yml: identity-provider risk, Google's suspicious logins and
// legacy protocols.
func TestShippedRiskySignIn(t *testing.T) {
	d := shippedSigma(t)
	const (
		risky  = "sigma/6f0c3a52-2b8e-4f4d-9a51-7c1d3e0f9a01"
		google = "sigma/6f0c3a52-2b8e-4f4d-9a51-7c1d3e0f9a02"
		legacy = "sigma/6f0c3a52-2b8e-4f4d-9a51-7c1d3e0f9a03"
	)
	tests := []struct {
		name   string
		record string
		want   []string
	}{
		{"high risk, at risk", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", riskLevel: "high", riskState: "atRisk"}.json(), []string{risky}},
		{"medium risk in the Azure Monitor shape", azureMonitor("SignInLogs", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", riskLevel: "medium", riskState: "atRisk"}), []string{risky}},
		{"risk dismissed", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", riskLevel: "high", riskState: "dismissed"}.json(), []string{}},
		{"low risk", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", riskLevel: "low", riskState: "atRisk"}.json(), []string{}},
		{"Google suspicious login", googleLogin("bob@contoso.com", t0, "198.51.100.7", "suspicious_login", ""), []string{google}},
		{"Google success flagged suspicious", googleLogin("bob@contoso.com", t0, "198.51.100.7", "login_success", `[{"name":"is_suspicious","boolValue":true}]`), []string{google}},
		{"Google success not flagged", googleLogin("bob@contoso.com", t0, "198.51.100.7", "login_success", `[{"name":"is_suspicious","boolValue":false}]`), []string{}},
		{"IMAP success", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "IMAP4"}.json(), []string{legacy}},
		{"IMAP failure", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", clientApp: "IMAP4", errorCode: 50126}.json(), []string{}},
		{"ROPC user agent", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", userAgent: "BAV2ROPC"}.json(), []string{legacy}},
		{"browser", graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7"}.json(), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, [][]string{tt.want}, firedIDs(sigmaStream(t, d, tt.record)))
		})
	}
}

// brute_force_then_success.yml: five failures of one user within ten
// minutes, then a success, across sources.
func TestShippedBruteForceThenSuccess(t *testing.T) {
	const id = "sigma/0b5cf1a6-43e7-4c2b-8f20-5d6a3c9e7b10"
	failEntra := func(i int) string {
		return graphSignIn{user: "bob@contoso.com", at: t0.Add(time.Duration(i) * time.Minute), ip: "203.0.113.9", errorCode: 50126}.json()
	}
	t.Run("five Entra failures then an O365 success", func(t *testing.T) {
		d := shippedSigma(t)
		records := []string{failEntra(0), failEntra(1), failEntra(2),
			o365SignIn("Bob@Contoso.com", t0.Add(3*time.Minute), "203.0.113.9", true, ""),
			googleLogin("bob@contoso.com", t0.Add(4*time.Minute), "203.0.113.9", "login_failure", ""),
			o365SignIn("bob@contoso.com", t0.Add(6*time.Minute), "203.0.113.9", false, "")}
		fs := sigmaStream(t, d, records...)
		assert.Equal(t, [][]string{{}, {}, {}, {}, {}, {id}}, firedIDs(fs))
		last := fs[5][0]
		assert.Equal(t, SeverityHigh, last.Severity)
		assert.Equal(t, "Sigma correlation \"Many Failed Sign-Ins Followed By A Successful One\" (temporal_ordered): "+
			"many_failed_sign_ins then sign_in_succeeded matched in order for user.name=bob@contoso.com within 10m up to 2026-11-20T08:06:00Z (condition gte 2).", last.Reason)
		assert.Equal(t, []string{"T1110", "T1586.002"}, last.Rule.Techniques)
	})
	t.Run("four failures then a success", func(t *testing.T) {
		d := shippedSigma(t)
		fs := sigmaStream(t, d, failEntra(0), failEntra(1), failEntra(2), failEntra(3),
			graphSignIn{user: "bob@contoso.com", at: t0.Add(5 * time.Minute), ip: "203.0.113.9"}.json())
		assert.Equal(t, [][]string{{}, {}, {}, {}, {}}, firedIDs(fs))
	})
	t.Run("failures of several users", func(t *testing.T) {
		d := shippedSigma(t)
		var records []string
		for i, u := range []string{"a", "b", "c", "d", "e"} {
			records = append(records, graphSignIn{user: u + "@contoso.com", at: t0.Add(time.Duration(i) * time.Minute), ip: "203.0.113.9", errorCode: 50126}.json())
		}
		records = append(records, graphSignIn{user: "e@contoso.com", at: t0.Add(6 * time.Minute), ip: "203.0.113.9"}.json())
		assert.Equal(t, []string{}, firedIDs(sigmaStream(t, d, records...))[5])
	})
}

// impossible_travel.yml: successful sign-ins of one user from two countries
// within an hour.
func TestShippedImpossibleTravel(t *testing.T) {
	const id = "sigma/9d3e1f27-6a84-4b0c-b5d2-1e7f8a9c0d20"
	d := shippedSigma(t)
	fs := sigmaStream(t, d,
		graphSignIn{user: "bob@contoso.com", at: t0, ip: "198.51.100.7", country: "US"}.json(),
		graphSignIn{user: "alice@contoso.com", at: t0.Add(10 * time.Minute), ip: "203.0.113.9", country: "NG"}.json(),
		graphSignIn{user: "bob@contoso.com", at: t0.Add(20 * time.Minute), ip: "198.51.100.8", country: "US"}.json(),
		graphSignIn{user: "bob@contoso.com", at: t0.Add(40 * time.Minute), ip: "203.0.113.9", country: "NG"}.json(),
		graphSignIn{user: "alice@contoso.com", at: t0.Add(2 * time.Hour), ip: "203.0.113.9", country: "FR"}.json(),
	)
	assert.Equal(t, [][]string{{}, {}, {}, {id}, {}}, firedIDs(fs))
	assert.Contains(t, fs[3][0].Reason, "2 distinct geo.country.iso_code (ng; us) over 3 events for user.name=bob@contoso.com within 1h")
}

// mailbox_manipulation.yml: forwarding and hiding inbox rules, mailbox
// forwarding, Gmail forwarding out of the domain.
func TestShippedMailboxManipulation(t *testing.T) {
	const id = "sigma/3a7e5c19-8b2d-4f60-a1c4-6d9e0f1b2c30"
	tests := []struct {
		name   string
		record string
		want   []string
	}{
		{"rule forwarding out", cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "x", "ForwardTo", "eve@evil.io"), []string{id}},
		{"rule burying mail in RSS Feeds", cmdlet("Set-InboxRule", "bob@contoso.com", 0, outWindow, "Identity", "x", "MoveToFolder", "RSS Feeds"), []string{id}},
		{"rule marking read (Huntress shape)", cmdlet("New-InboxRule", "DebraB@Contoso.com", 2, outWindow, "From", "flag@ctf.com", "MarkAsRead", "True"), []string{id}},
		{"rule filing into a project folder", cmdlet("New-InboxRule", "bob@contoso.com", 0, outWindow, "Name", "x", "MoveToFolder", "Projects"), []string{}},
		{"mailbox forwarding", cmdlet("Set-Mailbox", "bob@contoso.com", 0, outWindow, "Identity", "bob", "ForwardingSmtpAddress", "smtp:eve@evil.io"), []string{id}},
		{"mailbox forwarding removed", cmdlet("Set-Mailbox", "bob@contoso.com", 0, outWindow, "Identity", "bob", "ForwardingSmtpAddress", ""), []string{}},
		{"Gmail forwarding out of the domain", googleEvent("user_accounts", "bob@contoso.com", "email_forwarding_out_of_domain", `[{"name":"email_forwarding_destination_address","value":"eve@evil.io"}]`), []string{id}},
	}
	d := shippedSigma(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, [][]string{tt.want}, firedIDs(sigmaStream(t, d, tt.record)))
		})
	}
}

// bulk_send.yml: a hundred sends from one mailbox within an hour.
func TestShippedBulkSend(t *testing.T) {
	const id = "sigma/5c2b8d41-7e93-4a15-9f06-2b3c4d5e6f40"
	d := shippedSigma(t)
	var records []string
	for i := 0; i < 100; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		records = append(records, o365Send("bob@contoso.com", at, "Offer", "<m"+at.Format("150405")+"@contoso.com>", "198.51.100.7", ""))
		if i < 99 {
			records = append(records, o365Send("alice@contoso.com", at, "Hi", "<a"+at.Format("150405")+"@contoso.com>", "198.51.100.7", ""))
		}
	}
	fs := sigmaStream(t, d, records...)
	var fired []int
	for i, ids := range firedIDs(fs) {
		if len(ids) > 0 {
			assert.Equal(t, []string{id}, ids)
			fired = append(fired, i)
		}
	}
	assert.Equal(t, []int{198}, fired, "bob's hundredth send; alice sent 99")
	assert.Contains(t, fs[198][0].Reason, "100 events of mail_sent for user.name=bob@contoso.com within 1h")
}

// thread_hijack.yml: a reply sent, then deleted from Sent Items.
func TestShippedThreadHijack(t *testing.T) {
	const id = "sigma/8e4f2a63-1c57-4d98-b0e2-3f4a5b6c7d50"
	send := func(at time.Time, subject string) string {
		return o365Send("bob@contoso.com", at, subject, "<r1@contoso.com>", "203.0.113.9", "")
	}
	del := func(at time.Time, op string) string {
		return o365Delete("bob@contoso.com", at, op, `\Sent Items`, "RE: Invoice 4711", "<r1@contoso.com>")
	}
	tests := []struct {
		name    string
		records []string
		want    [][]string
	}{
		{"reply then soft delete", []string{send(t0, "RE: Invoice 4711"), del(t0.Add(3*time.Minute), "SoftDelete")}, [][]string{{}, {id}}},
		{"forward then hard delete", []string{send(t0, "FW: payment details"), del(t0.Add(time.Minute), "HardDelete")}, [][]string{{}, {id}}},
		{"deleted too late", []string{send(t0, "RE: Invoice 4711"), del(t0.Add(20*time.Minute), "SoftDelete")}, [][]string{{}, {}}},
		{"new message then delete", []string{send(t0, "Invoice 4711"), del(t0.Add(time.Minute), "SoftDelete")}, [][]string{{}, {}}},
		{"delete before the send", []string{del(t0, "SoftDelete"), send(t0.Add(time.Minute), "RE: Invoice 4711")}, [][]string{{}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, firedIDs(sigmaStream(t, shippedSigma(t), tt.records...)))
		})
	}
}

// takeover_chain.yml: brute force then success, then mailbox manipulation
// of the same user within the hour; the stages report on their own too.
func TestShippedTakeoverChain(t *testing.T) {
	const (
		chain      = "sigma/2d6a9b74-5e18-4c3f-8a27-4b5c6d7e8f60"
		bruteForce = "sigma/0b5cf1a6-43e7-4c2b-8f20-5d6a3c9e7b10"
		mailbox    = "sigma/3a7e5c19-8b2d-4f60-a1c4-6d9e0f1b2c30"
	)
	signIns := func(user string) []string {
		var out []string
		for i := 0; i < 5; i++ {
			out = append(out, graphSignIn{user: user, at: t0.Add(time.Duration(i) * time.Minute), ip: "203.0.113.9", errorCode: 50126}.json())
		}
		return append(out, graphSignIn{user: user, at: t0.Add(6 * time.Minute), ip: "203.0.113.9"}.json())
	}
	rule := func(user string, after time.Duration) string {
		return cmdlet("New-InboxRule", user, 0, t0.Add(after).Format("2006-01-02T15:04:05"), "Name", ".", "ForwardTo", "eve@evil.io")
	}
	t.Run("same user within the hour", func(t *testing.T) {
		fs := sigmaStream(t, shippedSigma(t), append(signIns("bob@contoso.com"), rule("bob@contoso.com", 30*time.Minute))...)
		ids := firedIDs(fs)
		assert.Equal(t, []string{bruteForce}, ids[5])
		assert.Equal(t, []string{mailbox, chain}, ids[6])
		assert.Equal(t, SeverityCritical, fs[6][1].Severity)
		assert.True(t, strings.HasPrefix(fs[6][1].Reason, `Sigma correlation "Account Takeover Chain`), fs[6][1].Reason)
	})
	t.Run("another user's mailbox", func(t *testing.T) {
		ids := firedIDs(sigmaStream(t, shippedSigma(t), append(signIns("bob@contoso.com"), rule("alice@contoso.com", 30*time.Minute))...))
		assert.Equal(t, []string{mailbox}, ids[6])
	})
	t.Run("two hours later", func(t *testing.T) {
		ids := firedIDs(sigmaStream(t, shippedSigma(t), append(signIns("bob@contoso.com"), rule("bob@contoso.com", 2*time.Hour))...))
		assert.Equal(t, []string{mailbox}, ids[6])
	})
}
