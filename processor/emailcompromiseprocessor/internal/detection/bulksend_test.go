package detection

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// sendsPerHour writes n Send records in each hour from start, spread over the hour.
func sendsPerHour(user string, start time.Time, hours, n int, subject func(h, i int) string) []string {
	var out []string
	for h := 0; h < hours; h++ {
		for i := 0; i < n; i++ {
			at := start.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Hour/time.Duration(n+1))
			out = append(out, o365Send(user, at, subject(h, i), fmt.Sprintf("<%d-%d@contoso.com>", h, i), "198.51.100.7", ""))
		}
	}
	return out
}

func TestBulkSend(t *testing.T) {
	p := NewPolicy(PolicyOptions{
		AuthorizedSenders: []string{"newsletter@contoso.com", "3c1a6f0e-2222-4d4d-8888-000000000001"},
		ServiceAccounts:   []string{"alerts@contoso.com"},
		SharedMailboxes:   []string{"info@contoso.com"},
	})
	newD := func() *BulkSend { return NewBulkSend(p, BulkSendOptions{Factor: 5, Floor: 20, LearningHours: 48}) }
	same := func(int, int) string { return "Urgent: updated payment details" }
	varied := func(h, i int) string { return fmt.Sprintf("Project note %d/%d", h, i) }
	// Three days of 2 sends an hour, then a burst at the same hour of day.
	history := func(user string) []string { return sendsPerHour(user, t0, 72, 2, varied) }
	burstAt := t0.Add(72 * time.Hour)

	t.Run("no baseline: the floor decides", func(t *testing.T) {
		ids := stream(t, sendsPerHour("bob@contoso.com", t0, 1, 25, same), newD())
		for i, rules := range ids {
			if i < 20 {
				assert.Empty(t, rules, "send %d is within the floor", i+1)
			} else {
				assert.Equal(t, []string{"bulk_send/send_rate_anomaly"}, rules, "send %d and every later send of the hour", i+1)
			}
		}
	})
	t.Run("learned baseline: a burst of one campaign", func(t *testing.T) {
		records := append(history("bob@contoso.com"), sendsPerHour("bob@contoso.com", burstAt, 1, 40, same)...)
		all := run(t, records, newD())
		burst := all[len(all)-40:]
		assert.Empty(t, burst[19], "20 sends do not exceed max(floor 20, 5 x baseline)")
		require.Len(t, burst[20], 1)
		assert.Equal(t, SeverityHigh, burst[20][0].Severity, "one subject over and over")
		assert.Regexp(t, `^bob@contoso.com sent 21 messages between 08:00 and 08:\d\d:\d\d \(baseline 2.0/h at this hour, threshold 20\), 1 distinct subjects in the last 21\.$`, burst[20][0].Reason)
		assert.Len(t, burst[39], 1, "every further send of the window is tagged")
	})
	t.Run("a busy mailbox has a higher bar", func(t *testing.T) {
		records := append(sendsPerHour("sales@contoso.com", t0, 72, 10, varied), sendsPerHour("sales@contoso.com", burstAt, 1, 40, varied)...)
		all := run(t, records, newD())
		for _, fs := range all[len(all)-40:] {
			assert.Empty(t, fs, "40 sends is usual-ish for a mailbox sending 10 an hour (threshold 5 x (10 + 2 dev))")
		}
	})
	t.Run("varied subjects: medium", func(t *testing.T) {
		all := run(t, sendsPerHour("bob@contoso.com", t0, 1, 25, varied), newD())
		assert.Equal(t, SeverityMedium, all[24][0].Severity)
		assert.Contains(t, all[24][0].Reason, "25 distinct subjects")
	})
	for _, user := range []string{"newsletter@contoso.com", "alerts@contoso.com", "info@contoso.com"} {
		t.Run("exempt "+user, func(t *testing.T) {
			for _, rules := range stream(t, sendsPerHour(user, t0, 1, 60, same), newD()) {
				assert.Empty(t, rules)
			}
		})
	}
	t.Run("authorised marketing app sending through the mailbox API", func(t *testing.T) {
		var records []string
		for _, r := range sendsPerHour("bob@contoso.com", t0, 1, 60, same) {
			records = append(records, r[:len(r)-1]+`,"AppId":"3c1a6f0e-2222-4d4d-8888-000000000001"}`)
		}
		for _, rules := range stream(t, records, newD()) {
			assert.Empty(t, rules)
		}
	})
	t.Run("the next hour starts a new window", func(t *testing.T) {
		records := append(sendsPerHour("bob@contoso.com", t0, 1, 25, same), o365Send("bob@contoso.com", t0.Add(70*time.Minute), "hello", "<x@contoso.com>", "198.51.100.7", ""))
		ids := stream(t, records, newD())
		assert.Empty(t, ids[len(ids)-1])
	})
}

func TestBulkSendFloodStaysBounded(t *testing.T) {
	d := NewBulkSend(NewPolicy(PolicyOptions{}), BulkSendOptions{Factor: 5, Floor: 50, LearningHours: 48})
	th := NewThreadHijack(ThreadHijackOptions{RiskWindow: 24 * time.Hour, DeleteWindow: 30 * time.Minute, MinKnownIPs: 3})
	suite := NewSuite([]Detector{d, th}, testSuiteOptions)
	users := state.New[state.User](10, time.Hour)
	u := users.Touch("bob@contoso.com", time.Now())
	for i := 0; i < 100_000; i++ {
		r := parseRecord(t, o365Send("bob@contoso.com", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("RE: %d %s", i, string(make([]byte, 100))), fmt.Sprintf("<%d@x>", i), "198.51.100.7", ""))
		suite.Judge(&Event{Record: r, User: u, Now: time.Now(), Users: users.Get}, nil)
	}
	assert.LessOrEqual(t, len(u.Mail.Sends), state.MaxRecentSends)
	assert.LessOrEqual(t, len(u.Mail.Conversations), state.MaxConversations)
	assert.LessOrEqual(t, len(u.Mail.Replies), state.MaxReplies)
	assert.LessOrEqual(t, len(u.Found.Stages.List), state.MaxStages)
	assert.LessOrEqual(t, len(u.Found.Emitted.List), state.MaxEmitted)
}
