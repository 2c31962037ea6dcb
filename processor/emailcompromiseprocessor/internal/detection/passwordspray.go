package detection

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var (
	// RulePasswordSpray is PasswordSpray's detection of a success from an
	// address that failed for many users.
	RulePasswordSpray = &Rule{
		ID:         CategoryRiskySignIn + "/password_spray_success",
		Category:   CategoryRiskySignIn,
		Title:      "Successful sign-in from a source that failed for many users",
		Techniques: []string{TechniqueEmailAccounts, "T1110.003"},
		Reference:  "https://attack.mitre.org/techniques/T1110/003/",
	}
	// RulePasswordSprayAttempt is the spray itself, before (or without) a
	// success.
	RulePasswordSprayAttempt = &Rule{
		ID:         CategoryRiskySignIn + "/password_spray_attempt",
		Category:   CategoryRiskySignIn,
		Title:      "Password failures for many users from one source",
		Techniques: []string{TechniqueEmailAccounts, "T1110.003"},
		Reference:  "https://attack.mitre.org/techniques/T1110/003/",
		Attempt:    true,
	}
)

// PasswordSprayOptions tune the password-spray detector.
type PasswordSprayOptions struct {
	// MinUsers is how many distinct users an address must have failed for
	// before a success from it is a spray's; also how many earlier users'
	// successes make it a known shared egress.
	MinUsers int
	// Window is how long before the success the failures are counted.
	Window time.Duration
	// MaxSources caps the addresses remembered, in each of the two stores
	// (failures, successes): the least recently seen are evicted.
	MaxSources int
	// Lateness is allowed_lateness, applied per source address.
	Lateness time.Duration
}

// Caps per source address.
const (
	maxSprayFailures = 256
	// maxSourceUsers bounds the users remembered per address (at least
	// MinUsers are kept).
	maxSourceUsers = 16
)

// sprayFailures are one source's recent password failures, by event time.
type sprayFailures struct {
	newest state.Instant
	list   []sprayFailure
}

type sprayFailure struct {
	at   state.Instant
	user uint64 // hash of the user name, for counting distinct users
	// id and name are the failure's record and user: the attempt
	// detection's evidence and owner.
	id   state.RecordID
	name string
}

// sourceUsers are the users who signed in with a password from one source:
// their successes, kept in their own sign-in timelines, are what a failure
// arriving after them can still reveal as a spray's; and the earliest of
// them tell a known shared egress.
type sourceUsers struct {
	newest state.Instant
	users  []sourceUser
}

type sourceUser struct {
	user        string
	first, last state.Sec
}

// PasswordSpray detects a success from an address that failed for many
// distinct users within the window before it: one of the sprayed passwords
// worked. It also tags the spray itself: each failure with failures for
// MinUsers distinct users from its address within the window ending at it
// (evidence: that failure; a late failure completes those after it). Its state is keyed by SOURCE ADDRESS, not by user, so when
// replicas partition records by user each replica sees only part of a spray
// (see README, scale-out). A failure arriving after the success completes
// the detection late, on the failure's record, for the success's user.
// Busy corporate egress does not fire: trusted networks are skipped, and so
// is an address that at least MinUsers users had signed in from
// successfully before the allowed lateness (a known shared egress, not a
// fresh attacker's address).
type PasswordSpray struct {
	policy   *Policy
	opts     PasswordSprayOptions
	failures *state.Store[sprayFailures]
	users    *state.Store[sourceUsers]
}

// NewPasswordSpray returns the detector; p's trusted networks are skipped.
// Its per-address state lives as long as the allowed lateness and two
// windows; Expire drops it.
func NewPasswordSpray(p *Policy, opts PasswordSprayOptions) *PasswordSpray {
	ttl := opts.Lateness + 2*opts.Window
	return &PasswordSpray{
		policy: p,
		opts:   opts,
		// Two stores, so that the many addresses that only ever succeed
		// (every home and phone) cannot evict an address that is spraying.
		failures: state.New[sprayFailures](opts.MaxSources, ttl),
		users:    state.New[sourceUsers](opts.MaxSources, ttl),
	}
}

// Rules returns the success and the attempt rules.
func (d *PasswordSpray) Rules() []*Rule { return []*Rule{RulePasswordSpray, RulePasswordSprayAttempt} }

// Reads asks for the sign-in history: a success is found in its user's
// timeline, also when a failure arriving later completes it.
func (d *PasswordSpray) Reads() History { return HistorySignIns }

// Learn keeps, per source address, a password failure's time and user, or
// the user of a password success; a record further behind the address's
// newest than the allowed lateness is not learned.
func (d *PasswordSpray) Learn(ev *Event) {
	r := ev.Record
	if !r.ClientIP.IsValid() || d.policy.IsTrustedNetwork(r.ClientIP) {
		return
	}
	at := state.At(r.Time)
	switch {
	case passwordFailure(r):
		src := d.failures.Touch(r.ClientAddress, ev.Now)
		if d.late(&src.newest, at) {
			return
		}
		f := sprayFailure{at: at, user: state.HashString(r.User), id: ev.RecordID()}
		if slices.ContainsFunc(src.list, func(x sprayFailure) bool { return x.at == f.at && x.user == f.user && x.id == f.id }) {
			return // delivered again
		}
		f.name = strings.Clone(r.User)
		src.list = dropFailuresBefore(src.list, src.newest-state.Instant(d.opts.Lateness+d.opts.Window))
		i := len(src.list)
		for i > 0 && src.list[i-1].at > at {
			i--
		}
		if len(src.list) >= maxSprayFailures {
			if i == 0 {
				return
			}
			src.list, i = src.list[1:], i-1
		}
		src.list = slices.Insert(src.list, i, f)
	case successfulSignIn(r) && passwordSignIn(r):
		src := d.users.Touch(r.ClientAddress, ev.Now)
		if d.late(&src.newest, at) {
			return
		}
		src.users = addSourceUser(src.users, r.User, at.Sec(), max(maxSourceUsers, d.opts.MinUsers))
	}
}

// late reports whether a record at at is older than newest by more than the
// allowed lateness, and advances newest.
func (d *PasswordSpray) late(newest *state.Instant, at state.Instant) bool {
	if *newest != 0 && at < *newest-state.Instant(d.opts.Lateness) {
		return true
	}
	*newest = max(*newest, at)
	return false
}

// Detect fires, high, on a successful password sign-in from an address
// that failed for at least MinUsers users within the window before it and
// is no known shared egress: when ev is the success, or a failure that
// completes one late (a success from the address within the window after
// it).
func (d *PasswordSpray) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if !r.ClientIP.IsValid() || d.policy.IsTrustedNetwork(r.ClientIP) {
		return out
	}
	failures := d.failures.Get(r.ClientAddress)
	if failures != nil && passwordFailure(r) {
		out = d.attempts(ev, failures, d.users.Get(r.ClientAddress), out)
	}
	users := d.users.Get(r.ClientAddress)
	if failures == nil || users == nil {
		return out
	}
	at := state.At(r.Time)
	switch {
	case successfulSignIn(r) && passwordSignIn(r) && ev.User != nil:
		if i := state.FindSignIn(ev.User.SignIns.Recent, at, ev.RecordID()); i >= 0 {
			out = d.judge(ev, failures, users, r.User, &ev.User.SignIns.Recent[i], out)
		}
	case passwordFailure(r) && ev.Users != nil:
		// The successes from this address within the window after the
		// failure, in the timelines of the users who signed in from it.
		for _, su := range users.users {
			if su.last < at.Sec() {
				continue
			}
			name := su.user
			u := ev.Users(name)
			if u == nil {
				continue
			}
			for i := range u.SignIns.Recent {
				s := &u.SignIns.Recent[i]
				if s.Kind == state.SignInSuccess && s.Password && s.IP.IP() == r.ClientIP && s.At >= at && s.At-at < state.Instant(d.opts.Window) {
					out = d.judge(ev, failures, users, name, s, out)
				}
			}
		}
	}
	return out
}

// judge fires on a success that follows failures for many users.
func (d *PasswordSpray) judge(ev *Event, failures *sprayFailures, users *sourceUsers, user string, s *state.SignIn, out []Finding) []Finding {
	distinct, n := d.recentFailures(failures, s.At)
	settled := (s.At - state.Instant(d.opts.Lateness)).Sec()
	if distinct < d.opts.MinUsers || knownEgress(users.users, settled, d.opts.MinUsers) {
		return out
	}
	return append(out, Finding{
		Rule:     RulePasswordSpray,
		Severity: SeverityHigh,
		User:     user,
		Reason: fmt.Sprintf("%s signed in from %s at %s, after it failed %d sign-ins for %d distinct users within %s (password spray).",
			user, ev.Record.ClientAddress, stamp(s.At.Time()), n, distinct, d.opts.Window),
		Evidence: []Evidence{{ID: s.ID, At: s.At.Time()}},
		Anchors:  []state.Stage{signInStage(s)},
	})
}

// attempts judges this failure, and the failures within the window after
// it whose count it may complete.
func (d *PasswordSpray) attempts(ev *Event, src *sprayFailures, users *sourceUsers, out []Finding) []Finding {
	at := state.At(ev.Record.Time)
	for i := range src.list {
		f := &src.list[i]
		if f.at < at || f.at-at >= state.Instant(d.opts.Window) {
			continue
		}
		distinct, n := d.recentFailures(src, f.at)
		settled := (f.at - state.Instant(d.opts.Lateness)).Sec()
		if distinct < d.opts.MinUsers || (users != nil && knownEgress(users.users, settled, d.opts.MinUsers)) {
			continue
		}
		out = append(out, Finding{
			Rule:     RulePasswordSprayAttempt,
			Severity: SeverityMedium,
			User:     f.name,
			Reason: fmt.Sprintf("%s failed to sign in from %s at %s, one of %d failures for %d distinct users from that address within %s (password spray).",
				f.name, ev.Record.ClientAddress, stamp(f.at.Time()), n, distinct, d.opts.Window),
			Evidence: []Evidence{{ID: f.id, At: f.at.Time()}},
		})
	}
	return out
}

// recentFailures counts the failures and distinct users within the window
// before t.
func (d *PasswordSpray) recentFailures(src *sprayFailures, t state.Instant) (users, failures int) {
	from := t - state.Instant(d.opts.Window)
	var seen []uint64
	for _, f := range src.list {
		if f.at > from && f.at <= t {
			failures++
			if !slices.Contains(seen, f.user) {
				seen = append(seen, f.user)
			}
		}
	}
	return len(seen), failures
}

// knownEgress reports whether at least n users had signed in successfully
// from the source before settled.
func knownEgress(users []sourceUser, settled state.Sec, n int) bool {
	count := 0
	for _, u := range users {
		if u.first < settled {
			count++
		}
	}
	return count >= n
}

// addSourceUser records a user's success at t, keeping at most n users: when
// full, the one seen last longest ago gives way. A new user's name is copied,
// so that state does not pin the record.
func addSourceUser(list []sourceUser, user string, t state.Sec, n int) []sourceUser {
	stalest := -1
	for i := range list {
		if list[i].user == user {
			list[i].first, list[i].last = min(list[i].first, t), max(list[i].last, t)
			return list
		}
		if stalest < 0 || list[i].last < list[stalest].last {
			stalest = i
		}
	}
	if len(list) < n {
		return append(list, sourceUser{user: strings.Clone(user), first: t, last: t})
	}
	if list[stalest].last < t {
		list[stalest] = sourceUser{user: strings.Clone(user), first: t, last: t}
	}
	return list
}

func dropFailuresBefore(list []sprayFailure, cutoff state.Instant) []sprayFailure {
	n := 0
	for n < len(list) && list[n].at < cutoff {
		n++
	}
	return list[n:]
}

// Expire drops idle sources; the processor calls it with the user store's.
func (d *PasswordSpray) Expire(now time.Time) {
	d.failures.Expire(now)
	d.users.Expire(now)
}
