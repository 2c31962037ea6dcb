package detection

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestStripReplyPrefixes(t *testing.T) {
	tests := []struct {
		subject, rest string
		reply         bool
	}{
		{"RE: Invoice 4432", "Invoice 4432", true},
		{"AW: WG: Rechnung 77", "Rechnung 77", true},
		{"[EXT] RE: Payment", "Payment", true},
		{"SV: Faktura", "Faktura", true},
		{"Re[2]: status", "status", true},
		{"RE：全角", "全角", true},
		{"Invoice 4432", "Invoice 4432", false},
		{"Meeting: Tuesday", "Meeting: Tuesday", false},
		// The colon as late as a marker's can come (maxMarker), ASCII and
		// full-width, and a word just past it.
		{"Doorst: offerte", "offerte", true},
		{"Re[123]: status", "status", true},
		{"Re[123]：全角", "全角", true},
		{"Antwort: bitte", "Antwort: bitte", false},
		{"Status update without any colon at all in it", "Status update without any colon at all in it", false},
		{"", "", false},
	}
	for _, tt := range tests {
		rest, reply := stripReplyPrefixes(tt.subject)
		assert.Equal(t, tt.rest, rest, tt.subject)
		assert.Equal(t, tt.reply, reply, tt.subject)
	}
	assert.Equal(t, conversationKey("RE: Invoice  4432"), conversationKey("invoice 4432"))
}

func TestThreadHijack(t *testing.T) {
	d := NewThreadHijack(ThreadHijackOptions{RiskWindow: 24 * time.Hour, DeleteWindow: 30 * time.Minute, MinKnownIPs: 3})
	user := "ap@contoso.com"
	// The user's usual sign-ins teach three networks, more than the allowed
	// lateness (a day) before the mail.
	known := func() []string {
		var out []string
		for i, ip := range []string{"198.51.100.7", "198.18.0.8", "100.64.0.9"} {
			out = append(out, graphSignIn{user: user, at: t0.Add(time.Duration(i) * time.Hour), ip: ip}.json())
		}
		return out
	}
	received := o365Received(user, t0.Add(28*time.Hour), "Invoice 4432 - March delivery")
	nl := NewNewLocation(NewPolicy(PolicyOptions{}), NewLocationOptions{LearningPeriod: time.Hour, LearningSignIns: 1})
	m := func(min int) time.Time { return t0.Add(29*time.Hour + time.Duration(min)*time.Minute) }
	tests := []struct {
		name    string
		records []string
		rule    *Rule
		sev     Severity
		reason  string
	}{
		{"reply into an invoice thread from a never-seen address", append(known(), received, o365Send(user, m(0), "RE: Invoice 4432 - March delivery", "<r1@contoso.com>", "192.0.2.66", "")),
			RuleThreadReply, SeverityCritical, `ap@contoso.com replied at 2026-11-21T13:00:00Z into its existing conversation "RE: Invoice 4432 - March delivery" about "invoice" from a new address 192.0.2.66 never used to sign in.`},
		{"forward of a non-payment thread over IMAP", append(known(), o365Received(user, t0.Add(28*time.Hour), "Team offsite"), o365Send(user, m(0), "FW: Team offsite", "<r2@contoso.com>", "198.51.100.7", "Client=IMAP4")),
			RuleThreadReply, SeverityHigh, "from a legacy client (Client=IMAP4)"},
		{"reply from a known address", append(known(), received, o365Send(user, m(0), "RE: Invoice 4432 - March delivery", "<r3@contoso.com>", "198.51.100.8", "")), nil, 0, ""},
		{"new thread (no reply marker) from a new address", append(known(), received, o365Send(user, m(0), "Invoice 4432 - March delivery", "<r4@contoso.com>", "192.0.2.66", "")), nil, 0, ""},
		{"reply to an unknown conversation", append(known(), o365Send(user, m(0), "RE: Something else", "<r5@contoso.com>", "192.0.2.66", "")), nil, 0, ""},
		{"user still being learned (fewer known addresses)", []string{graphSignIn{user: user, at: t0, ip: "198.51.100.7"}.json(), received, o365Send(user, m(0), "RE: Invoice 4432 - March delivery", "<r6@contoso.com>", "192.0.2.66", "")}, nil, 0, ""},
		{"sent then soft-deleted from Sent Items four minutes later", append(known(), o365Send(user, m(0), "Updated bank details", "<s1@contoso.com>", "198.51.100.7", ""), o365Delete(user, m(4), "SoftDelete", `\Sent Items`, "Updated bank details", "<s1@contoso.com>")),
			RuleSentDeleted, SeverityCritical, `ap@contoso.com: SoftDelete of its sent message "Updated bank details" about "bank" from \Sent Items at 2026-11-21T13:04:00Z, 4m0s after sending it.`},
		{"hard delete from Recoverable Items", append(known(), o365Send(user, m(0), "Lunch?", "<s2@contoso.com>", "198.51.100.7", ""), o365Delete(user, m(10), "HardDelete", `\Recoverable Items\Deletions`, "Lunch?", "<s2@contoso.com>")),
			RuleSentDeleted, SeverityHigh, "HardDelete"},
		{"deleted a day later: housekeeping", append(known(), o365Send(user, m(0), "Lunch?", "<s3@contoso.com>", "198.51.100.7", ""), o365Delete(user, m(24*60), "MoveToDeletedItems", `\Sent Items`, "Lunch?", "<s3@contoso.com>")), nil, 0, ""},
		{"deleting received mail", append(known(), received, o365Delete(user, m(1), "SoftDelete", `\Inbox`, "Invoice 4432 - March delivery", "<in@partner.example>")), nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lastFindings(t, tt.records, nl, d)
			if tt.rule == nil {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, tt.rule, got[0].Rule)
				assert.Equal(t, tt.sev, got[0].Severity)
				assert.Contains(t, got[0].Reason, tt.reason)
			}
		})
	}
	t.Run("a 10,000-character subject is cut in the reason", func(t *testing.T) {
		long := "RE: Invoice " + strings.Repeat("x", 10_000)
		got := lastFindings(t, append(known(), o365Received(user, t0.Add(28*time.Hour), long), o365Send(user, m(0), long, "<l@contoso.com>", "192.0.2.66", "")), nl, d)
		if assert.Len(t, got, 1) {
			assert.Less(t, len(got[0].Reason), 400)
		}
	})
}
