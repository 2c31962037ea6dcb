package detection

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChain(t *testing.T) {
	p := testPolicy()
	detectors := func() []Detector {
		return []Detector{
			NewIdPRisk(p, IdPRiskOptions{}),
			NewInboxRule(p, InboxRuleOptions{}),
			NewMailboxForwarding(p),
			NewThreadHijack(ThreadHijackOptions{RiskWindow: 24 * time.Hour, DeleteWindow: 30 * time.Minute, MinKnownIPs: 3}),
			NewChain(ChainOptions{StageTwoWindow: time.Hour, Window: 24 * time.Hour}),
		}
	}
	user := "bob@contoso.com"
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	risky := graphSignIn{user: user, at: at(0), ip: "192.0.2.66", riskLevel: "high", riskState: "atRisk"}.json()
	rule := cmdlet("New-InboxRule", user, 0, at(12).Format("2006-01-02T15:04:05"), "Name", ".", "MoveToFolder", "RSS Feeds", "MarkAsRead", "True")
	sent := o365Send(user, at(30), "Updated bank details", "<s1@contoso.com>", "192.0.2.66", "")
	deleted := o365Delete(user, at(33), "SoftDelete", `\Sent Items`, "Updated bank details", "<s1@contoso.com>")
	sent2 := o365Send(user, at(40), "Payment run", "<s2@contoso.com>", "192.0.2.66", "")
	deleted2 := o365Delete(user, at(41), "HardDelete", `\Sent Items`, "Payment run", "<s2@contoso.com>")

	t.Run("access, set-up, abuse: a critical chain on each abuse record", func(t *testing.T) {
		all := run(t, []string{risky, rule, sent, deleted, sent2, deleted2}, detectors()...)
		assert.Equal(t, []string{"risky_sign_in/identity_provider_risk"}, ruleIDs(all[0]))
		assert.Equal(t, []string{"mailbox_rule/inbox_rule_hiding"}, ruleIDs(all[1]))
		assert.Empty(t, all[2])
		require.Equal(t, []string{"thread_hijack/sent_item_deleted", "chain/account_takeover"}, ruleIDs(all[3]))
		chain := all[3][1]
		assert.Equal(t, SeverityCritical, chain.Severity)
		assert.Regexp(t, `^chain-[0-9a-f]{16}$`, chain.ChainID)
		assert.Equal(t, chain.ChainID, all[3][0].ChainID, "every finding of the completing record carries the id")
		assert.Contains(t, chain.Reason, "Account takeover of bob@contoso.com: 2026-11-20T08:00:00Z risky_sign_in/identity_provider_risk (")
		assert.Contains(t, chain.Reason, "; 2026-11-20T08:12:00Z mailbox_rule/inbox_rule_hiding (")
		assert.Contains(t, chain.Reason, "; 2026-11-20T08:33:00Z thread_hijack/sent_item_deleted (")
		assert.Len(t, chain.Evidence, 3, "access, set-up and abuse records")
		// A later abuse record is a chain of its own, with the same access
		// record and so the same chain id.
		require.Equal(t, []string{"thread_hijack/sent_item_deleted", "chain/account_takeover"}, ruleIDs(all[5]))
		assert.Equal(t, chain.ChainID, all[5][1].ChainID)
		assert.NotEqual(t, Identity(&chain), Identity(&all[5][1]))
	})
	t.Run("the sign-in feed lags: the access record completes the chains late", func(t *testing.T) {
		all := run(t, []string{rule, sent, deleted, sent2, deleted2, risky}, detectors()...)
		assert.Empty(t, ruleIDs(all[1]))
		require.Equal(t, []string{"risky_sign_in/identity_provider_risk", "chain/account_takeover", "chain/account_takeover"}, ruleIDs(all[5]))
		assert.Contains(t, all[5][1].Reason, "Completed late: this record of 2026-11-20T08:00:00Z arrived after the one of 2026-11-20T08:33:00Z.")
	})
	t.Run("no access stage", func(t *testing.T) {
		all := run(t, []string{rule, sent, deleted}, detectors()...)
		assert.Equal(t, []string{"thread_hijack/sent_item_deleted"}, ruleIDs(all[2]))
	})
	t.Run("set-up more than an hour after the access", func(t *testing.T) {
		late := cmdlet("New-InboxRule", user, 0, at(75).Format("2006-01-02T15:04:05"), "Name", ".", "MoveToFolder", "RSS Feeds", "MarkAsRead", "True")
		all := run(t, []string{risky, late, o365Send(user, at(80), "x", "<s9@contoso.com>", "192.0.2.66", ""), o365Delete(user, at(81), "SoftDelete", `\Sent Items`, "x", "<s9@contoso.com>")}, detectors()...)
		assert.Equal(t, []string{"thread_hijack/sent_item_deleted"}, ruleIDs(all[3]))
	})
	t.Run("abuse before the set-up does not complete a chain", func(t *testing.T) {
		early := cmdlet("New-InboxRule", user, 0, at(35).Format("2006-01-02T15:04:05"), "Name", ".", "MoveToFolder", "RSS Feeds", "MarkAsRead", "True")
		all := run(t, []string{risky, sent, deleted, early}, detectors()...)
		assert.Equal(t, []string{"thread_hijack/sent_item_deleted"}, ruleIDs(all[2]))
		assert.Equal(t, []string{"mailbox_rule/inbox_rule_hiding"}, ruleIDs(all[3]))
	})
	t.Run("a set-up arriving after the abuse, but before it in event time, completes the chain", func(t *testing.T) {
		all := run(t, []string{risky, sent, deleted, rule}, detectors()...)
		assert.Equal(t, []string{"thread_hijack/sent_item_deleted"}, ruleIDs(all[2]))
		assert.Equal(t, []string{"mailbox_rule/inbox_rule_hiding", "chain/account_takeover"}, ruleIDs(all[3]))
	})
	t.Run("another user's stages do not combine", func(t *testing.T) {
		other := cmdlet("New-InboxRule", "alice@contoso.com", 0, at(12).Format("2006-01-02T15:04:05"), "Name", ".", "MoveToFolder", "RSS Feeds", "MarkAsRead", "True")
		all := run(t, []string{risky, other, sent, deleted}, detectors()...)
		assert.Equal(t, []string{"thread_hijack/sent_item_deleted"}, ruleIDs(all[3]))
	})
}

// TestChainOfTodaysTradecraft checks the new stages: a session replay is
// the access, a mail consent the set-up, the sync by the consented app the
// abuse; failed attempts are no access.
func TestChainOfTodaysTradecraft(t *testing.T) {
	p := testPolicy()
	detectors := func() []Detector {
		return []Detector{
			NewPasswordSpray(p, PasswordSprayOptions{MinUsers: 3, Window: 30 * time.Minute, MaxSources: 100, Lateness: 24 * time.Hour}),
			NewSessionHijack(p, SessionHijackOptions{Window: 2 * time.Hour}),
			NewPersistence(p, PersistenceOptions{RiskWindow: 24 * time.Hour, MinKnownIPs: 3}),
			NewMailCollection(p, MailCollectionOptions{Factor: 3, Floor: 200, Window: time.Hour, LearningHours: 72, ConsentWindow: 24 * time.Hour}),
			NewChain(ChainOptions{StageTwoWindow: time.Hour, Window: 24 * time.Hour}),
		}
	}
	const bob = "bob@contoso.com"
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	proxy := graphSignIn{user: bob, at: at(0), ip: "45.9.148.3", country: "NL", asn: 9009, session: "s-1"}.json()
	replay := graphSignIn{user: bob, at: at(5), ip: "104.248.1.9", country: "US", noGeo: true, asn: 14061, interactive: boolPtr(false), session: "s-1"}.json()
	consent := o365Consent(bob, "104.248.1.9", "Mail Sync Pro", at(9), "Mail.ReadWrite", "offline_access")
	sync := mailItemsAccessed(bob, "104.248.1.9", "Sync", "7f3c2a10-3b4d-4e5f-9a8b-7c6d5e4f3a2b", "s-1", 30, at(20))

	for name, order := range map[string][]string{
		"in event order":         {proxy, replay, consent, sync},
		"the sign-in feed lags":  {consent, sync, replay, proxy},
		"the mailbox audit lags": {proxy, replay, sync, consent},
	} {
		t.Run(name, func(t *testing.T) {
			var chains []Finding
			for _, fs := range run(t, order, detectors()...) {
				for _, f := range withRule(fs, RuleChain) {
					if f.Status == StatusNew {
						chains = append(chains, f)
					}
				}
			}
			require.Len(t, chains, 1)
			assert.Contains(t, chains[0].Reason, "session_hijack/session_replay")
			assert.Contains(t, chains[0].Reason, "persistence/mail_app_consent")
			assert.Contains(t, chains[0].Reason, "mail_collection/sync_by_new_app")
		})
	}
	t.Run("a password spray with no success is no access", func(t *testing.T) {
		var records []string
		for i, u := range []string{"a@contoso.com", "b@contoso.com", bob} {
			records = append(records, graphSignIn{user: u, at: at(i - 10), ip: "104.248.1.9", errorCode: 50126}.json())
		}
		records = append(records, consent, sync)
		all := run(t, records, detectors()...)
		assert.Equal(t, []string{"risky_sign_in/password_spray_attempt"}, ruleIDs(all[2]))
		assert.Empty(t, withRule(all[4], RuleChain))
	})
}
