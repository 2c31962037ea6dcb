package detection

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestMailCollection(t *testing.T) {
	const bob, outlook, syncApp = "bob@contoso.com", "d3590ed6-52b3-4102-aeff-aad2292ab01c", "7f3c2a10-3b4d-4e5f-9a8b-7c6d5e4f3a2b"
	detectors := func() []Detector {
		return []Detector{NewPersistence(NewPolicy(PolicyOptions{}), PersistenceOptions{RiskWindow: 24 * time.Hour, MinKnownIPs: 3}),
			NewMailCollection(NewPolicy(PolicyOptions{}), MailCollectionOptions{Factor: 3, Floor: 200, Window: time.Hour, LearningHours: 72, ConsentWindow: 24 * time.Hour})}
	}
	// Five days of the user reading about 300 items a day in Outlook from
	// home, where they also sign in.
	var baseline []string
	for day := 5; day >= 1; day-- {
		at := t0.Add(-time.Duration(day) * 24 * time.Hour)
		baseline = append(baseline, graphSignIn{user: bob, at: at, ip: "198.51.100.20"}.json())
		for k := 0; k < 3; k++ {
			baseline = append(baseline, mailItemsAccessed(bob, "198.51.100.20", "Bind", outlook, "s-home", 100, at.Add(time.Duration(k)*time.Hour)))
		}
	}
	with := func(records ...string) []string { return append(append([]string{}, baseline...), records...) }
	bind := func(ip string, n int, d time.Duration) string {
		return mailItemsAccessed(bob, ip, "Bind", outlook, "s-x", n, t0.Add(d))
	}
	tests := []struct {
		name    string
		records []string
		rule    *Rule // on the last record; nil: none
		reason  string
	}{
		{"3,000 items from a new address within the hour", with(bind("45.9.148.3", 1500, 0), bind("45.9.148.3", 1500, 20*time.Minute)),
			RuleMailCollection, "3000 items accessed from 45.9.148.3 within 1h0m0s"},
		{"the same from the user's home", with(bind("198.51.100.20", 1500, 0), bind("198.51.100.20", 1500, 20*time.Minute)), nil, ""},
		{"a few items from a new address", with(bind("45.9.148.3", 50, 0)), nil, ""},
		{"below the baseline's threshold", with(bind("45.9.148.3", 400, 0), bind("45.9.148.3", 400, 10*time.Minute)), nil, ""},
		{"no baseline yet: Factor x Floor", []string{bind("45.9.148.3", 700, 0)}, RuleMailCollection, "no baseline yet"},
		{"no baseline yet, below Factor x Floor", []string{bind("45.9.148.3", 500, 0)}, nil, ""},
		{"an earlier access arrives late and completes the later one", with(bind("45.9.148.3", 600, 20*time.Minute), bind("45.9.148.3", 600, 0)),
			RuleMailCollection, "1200 items accessed from 45.9.148.3 within 1h0m0s up to 2026-11-20T08:20:00Z"},
		{"the same access delivered twice is counted once", with(bind("45.9.148.3", 600, 0), bind("45.9.148.3", 600, 0)), nil, ""},
		{"a sync by a new app after a mail consent", with(o365Consent(bob, "198.51.100.20", "Mail Sync Pro", t0, "Mail.ReadWrite"),
			mailItemsAccessed(bob, "198.51.100.20", "Sync", syncApp, "s-x", 12, t0.Add(2*time.Hour))),
			RuleSyncByNewApp, "was synced (12 folders) at 2026-11-20T10:00:00Z from 198.51.100.20 by an application it had not seen, 2h0m0s after consent to Mail Sync Pro"},
		{"the consent arrives after the sync", with(mailItemsAccessed(bob, "198.51.100.20", "Sync", syncApp, "s-x", 12, t0.Add(2*time.Hour)),
			o365Consent(bob, "198.51.100.20", "Mail Sync Pro", t0, "Mail.ReadWrite")), RuleSyncByNewApp, "after consent to Mail Sync Pro"},
		{"Outlook's first sync on a new laptop at home", with(mailItemsAccessed(bob, "198.51.100.20", "Sync", outlook, "s-new", 40, t0)), nil, ""},
		{"a sync by a new app without a consent", with(mailItemsAccessed(bob, "198.51.100.20", "Sync", syncApp, "s-x", 12, t0)), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := run(t, tt.records, detectors()...)
			var got []Finding
			for _, f := range all[len(all)-1] {
				if f.Rule.Category == CategoryMailCollection {
					got = append(got, f)
				}
			}
			if tt.rule == nil {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, tt.rule, got[0].Rule)
				assert.Contains(t, got[0].Reason, tt.reason)
			}
		})
	}
}
