package detection

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/snapshot"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

func TestPasswordSpray(t *testing.T) {
	p := NewPolicy(PolicyOptions{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	newDetector := func() *PasswordSpray {
		return NewPasswordSpray(p, PasswordSprayOptions{MinUsers: 5, Window: 30 * time.Minute, MaxSources: 100, Lateness: 24 * time.Hour})
	}
	spray := func(ip string, users int, rec func(user, ip string, at time.Time) string) []string {
		var out []string
		for i := 0; i < users; i++ {
			out = append(out, rec(fmt.Sprintf("user%d@contoso.com", i), ip, t0.Add(time.Duration(i)*time.Minute)))
		}
		return out
	}
	graphFail := func(user, ip string, at time.Time) string {
		return graphSignIn{user: user, at: at, ip: ip, errorCode: 50126}.json()
	}
	o365Fail := func(user, ip string, at time.Time) string { return o365SignIn(user, at, ip, true, "") }
	victimOK := func(ip string) string {
		return graphSignIn{user: "victim@contoso.com", at: t0.Add(20 * time.Minute), ip: ip}.json()
	}
	tests := []struct {
		name    string
		records []string
		want    string
	}{
		{"six users fail from one address, then a success there", append(spray("198.51.100.66", 6, graphFail), victimOK("198.51.100.66")),
			"victim@contoso.com signed in from 198.51.100.66 at 2026-11-20T08:20:00Z, after it failed 6 sign-ins for 6 distinct users within 30m0s (password spray)."},
		{"O365 UserLoginFailed spray, Graph success", append(spray("198.51.100.66", 5, o365Fail), victimOK("198.51.100.66")), "for 5 distinct users"},
		{"the address with a port in O365 is the same source", append(spray("198.51.100.66", 5, func(user, ip string, at time.Time) string {
			return o365SignIn(user, at, ip+":51234", true, "")
		}), victimOK("198.51.100.66")), "for 5 distinct users"},
		{"many failures of few users is not a spray", append(spray("198.51.100.66", 4, graphFail), append(spray("198.51.100.66", 4, graphFail), victimOK("198.51.100.66"))...), ""},
		{"success from another address", append(spray("198.51.100.66", 6, graphFail), victimOK("198.51.100.99")), ""},
		{"spray from the office egress (trusted)", append(spray("203.0.113.5", 6, graphFail), victimOK("203.0.113.5")), ""},
		{"busy egress: five users signed in from it the day before", func() []string {
			var recs []string
			for i := 0; i < 5; i++ {
				recs = append(recs, graphSignIn{user: fmt.Sprintf("ok%d@contoso.com", i), at: t0.Add(-30 * time.Hour), ip: "198.51.100.80"}.json())
			}
			return append(append(recs, spray("198.51.100.80", 6, graphFail)...), victimOK("198.51.100.80"))
		}(), ""},
		{"users signing in from it within the day do not make it a known egress", func() []string {
			var recs []string
			for i := 0; i < 5; i++ {
				recs = append(recs, graphSignIn{user: fmt.Sprintf("ok%d@contoso.com", i), at: t0.Add(-3 * time.Hour), ip: "198.51.100.80"}.json())
			}
			return append(append(recs, spray("198.51.100.80", 6, graphFail)...), victimOK("198.51.100.80"))
		}(), "for 6 distinct users"},
		{"failures older than the window", append(spray("198.51.100.66", 6, graphFail), graphSignIn{user: "victim@contoso.com", at: t0.Add(2 * time.Hour), ip: "198.51.100.66"}.json()), ""},
	}
	t.Run("failures arriving after the success complete it, for the success's user", func(t *testing.T) {
		all := run(t, append([]string{victimOK("198.51.100.66")}, spray("198.51.100.66", 6, graphFail)...), newDetector())
		assert.Empty(t, all[0])
		assert.Empty(t, all[4], "four users are not yet a spray")
		success := withRule(all[5], RulePasswordSpray)
		require.Len(t, success, 1, "the fifth user's failure completes it")
		assert.Equal(t, "victim@contoso.com", success[0].User)
		assert.Contains(t, success[0].Reason, "Completed late by Sign-in activity of 2026-11-20T08:04:00Z")
		assert.Empty(t, withRule(all[6], RulePasswordSpray), "found once")
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withRule(lastFindings(t, tt.records, newDetector()), RulePasswordSpray)
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			if assert.Len(t, got, 1) {
				assert.Equal(t, RulePasswordSpray, got[0].Rule)
				assert.Contains(t, got[0].Reason, tt.want)
			}
		})
	}
}

// TestPasswordSprayAttempt checks the spray is tagged without a success:
// each failure with MinUsers distinct users failing from its address within
// the window ending at it.
func TestPasswordSprayAttempt(t *testing.T) {
	p := NewPolicy(PolicyOptions{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	detector := func() *PasswordSpray {
		return NewPasswordSpray(p, PasswordSprayOptions{MinUsers: 5, Window: 30 * time.Minute, MaxSources: 100, Lateness: 24 * time.Hour})
	}
	fail := func(i int, ip string, at time.Time) string {
		return graphSignIn{user: fmt.Sprintf("user%d@contoso.com", i), at: at, ip: ip, errorCode: 50126}.json()
	}
	spray := func(ip string, users int, step time.Duration) []string {
		var out []string
		for i := 0; i < users; i++ {
			out = append(out, fail(i, ip, t0.Add(time.Duration(i)*step)))
		}
		return out
	}
	tests := []struct {
		name    string
		records []string
		// tagged are the indexes of the records carrying an attempt, and
		// users whose failures they are.
		tagged map[int][]string
	}{
		{"five users fail from one address: the fifth and sixth failures", spray("198.51.100.66", 6, time.Minute),
			map[int][]string{4: {"user4@contoso.com"}, 5: {"user5@contoso.com"}}},
		{"four users are no spray", spray("198.51.100.66", 4, time.Minute), nil},
		{"five users over more than the window", spray("198.51.100.66", 5, 10*time.Minute), nil},
		{"the office egress (trusted)", spray("203.0.113.5", 6, time.Minute), nil},
		{"a user mistyping, then succeeding", []string{
			fail(0, "198.51.100.7", t0), fail(0, "198.51.100.7", t0.Add(time.Minute)),
			graphSignIn{user: "user0@contoso.com", at: t0.Add(2 * time.Minute), ip: "198.51.100.7"}.json(),
		}, nil},
		{"the earliest failure arrives last and completes the fifth user's", append(spray("198.51.100.66", 5, time.Minute)[1:], fail(0, "198.51.100.66", t0)),
			map[int][]string{4: {"user4@contoso.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := run(t, tt.records, detector())
			for i, fs := range all {
				var users []string
				for _, f := range withRule(fs, RulePasswordSprayAttempt) {
					users = append(users, f.User)
					assert.Equal(t, SeverityMedium, f.Severity)
				}
				assert.Equal(t, tt.tagged[i], users, "record %d", i)
			}
		})
	}
}

// withRule returns the findings of one rule.
func withRule(fs []Finding, rule *Rule) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func TestPasswordSpraySourcesAreBounded(t *testing.T) {
	d := NewPasswordSpray(NewPolicy(PolicyOptions{}), PasswordSprayOptions{MinUsers: 5, Window: 30 * time.Minute, MaxSources: 50})
	var records []string
	for i := 0; i < 500; i++ {
		records = append(records, graphSignIn{user: "bob@contoso.com", at: t0, ip: fmt.Sprintf("10.0.%d.%d", i/250, i%250), errorCode: 50126}.json())
	}
	run(t, records, d)
	assert.Equal(t, 50, d.failures.Len())
	assert.Equal(t, uint64(450), d.failures.Evictions())
}

// TestPasswordSprayCountersSurviveASnapshot: the failures of a spray and
// the users of an address, taken out with Sources (a few hundred addresses
// per locked step), through gob and put back with RestoreSource into a
// fresh detector, make the success after the restart a spray's, as it is
// without one; the restored detector gives back the same sources.
func TestPasswordSprayCountersSurviveASnapshot(t *testing.T) {
	opts := PasswordSprayOptions{MinUsers: 5, Window: 30 * time.Minute, MaxSources: 1000, Lateness: 24 * time.Hour}
	p := NewPolicy(PolicyOptions{})
	before := NewPasswordSpray(p, opts)
	var records []string
	for i := range 6 {
		records = append(records, graphSignIn{user: fmt.Sprintf("user%d@contoso.com", i), at: t0.Add(time.Duration(i) * time.Minute), ip: "198.51.100.66", errorCode: 50126}.json())
	}
	for i := range 600 { // more addresses than a step copies
		records = append(records, graphSignIn{user: fmt.Sprintf("ok%d@contoso.com", i), at: t0, ip: fmt.Sprintf("10.1.%d.%d", i/250, i%250)}.json())
	}
	run(t, records, before)
	locks := 0
	sources := slices.Collect(before.Sources(func(f func()) { locks++; f() }))
	require.Len(t, sources, 601)
	assert.Greater(t, locks, 3, "copied in steps")

	codec := snapshot.Gob[SpraySource]{}
	data, err := codec.Encode(sources)
	require.NoError(t, err)
	after := NewPasswordSpray(p, opts)
	require.NoError(t, codec.Decode(data, after.RestoreSource))
	again, err := codec.Encode(slices.Collect(after.Sources(func(f func()) { f() })))
	require.NoError(t, err)
	assert.Equal(t, data, again, "the restored detector holds what was saved, in the same order")

	success := graphSignIn{user: "victim@contoso.com", at: t0.Add(20 * time.Minute), ip: "198.51.100.66"}.json()
	assert.Len(t, withRule(lastFindings(t, []string{success}, after), RulePasswordSpray), 1, "restored: the spray is seen")
	assert.Empty(t, withRule(lastFindings(t, []string{success}, NewPasswordSpray(p, opts)), RulePasswordSpray), "without the snapshot it is not")
}

// A restored address holds no more than the live caps allow, whatever the
// snapshot says (written with other caps, or damaged): the newest failures
// and the most recently seen users.
func TestPasswordSprayRestoreKeepsTheCaps(t *testing.T) {
	d := NewPasswordSpray(NewPolicy(PolicyOptions{}), PasswordSprayOptions{MinUsers: 5, Window: 30 * time.Minute, MaxSources: 1000, Lateness: 24 * time.Hour})
	failures := SpraySource{Address: "198.51.100.66", LastSeen: t0}
	for i := range 1000 {
		failures.Failures = append(failures.Failures, SprayFailure{At: state.At(t0.Add(time.Duration(i) * time.Second)), User: uint64(i), Name: fmt.Sprintf("u%d@contoso.com", i)})
	}
	d.RestoreSource(failures)
	users := SpraySource{Address: "198.51.100.67", LastSeen: t0, HasUsers: true}
	for i := range 100 {
		users.Users = append(users.Users, SprayUser{User: fmt.Sprintf("u%d@contoso.com", i), First: state.SecOf(t0), Last: state.SecOf(t0.Add(time.Duration(i) * time.Second))})
	}
	d.RestoreSource(users)

	f := d.failures.Get("198.51.100.66")
	require.NotNil(t, f)
	require.Len(t, f.list, maxSprayFailures)
	assert.Equal(t, state.At(t0.Add(999*time.Second)), f.list[len(f.list)-1].at, "the newest kept")
	u := d.users.Get("198.51.100.67")
	require.NotNil(t, u)
	require.Len(t, u.users, maxSourceUsers)
	assert.Equal(t, "u99@contoso.com", u.users[0].user, "the most recently seen kept")
}
