package detection

import (
	"fmt"
	"slices"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var RulePasswordSpray = &Rule{
	ID:         CategoryRiskySignIn + "/password_spray_success",
	Category:   CategoryRiskySignIn,
	Title:      "Successful sign-in from a source that failed for many users",
	Techniques: []string{TechniqueEmailAccounts, "T1110.003"},
	Reference:  "https://attack.mitre.org/techniques/T1110/003/",
}

// PasswordSprayOptions tune the password-spray detector.
type PasswordSprayOptions struct {
	MinUsers   int
	Window     time.Duration
	MaxSources int
	// Lateness is allowed_lateness, applied per source address.
	Lateness time.Duration
}

// Caps per source address.
const (
	maxSprayFailures  = 256
	maxSpraySuccesses = 32
)

// sprayFailures are one source's recent password failures, by event time.
type sprayFailures struct {
	newest state.Instant
	list   []sprayFailure
}

type sprayFailure struct {
	at   state.Instant
	user uint64 // hash of the user name: counting distinct users needs no names
}

// spraySuccesses are one source's recent successful sign-ins, which a
// failure arriving after them can still reveal as a spray's success, and
// the earliest successes of distinct users (a busy known egress).
type spraySuccesses struct {
	newest state.Instant
	list   []spraySuccess
	// earliestUsers are the MinUsers users with the earliest successes
	// from the source.
	earliestUsers []userFirst
}

type spraySuccess struct {
	at   state.Instant
	id   state.RecordID
	user string
}

type userFirst struct {
	user  uint64
	first state.Sec
}

// PasswordSpray detects a success from an address that failed for many
// distinct users within the window before it: one of the sprayed passwords
// worked. Its state is keyed by SOURCE ADDRESS, not by user, so when
// replicas partition records by user each replica sees only part of a spray
// (see README, scale-out). A failure arriving after the success completes
// the detection late, on the failure's record, for the success's user.
// Busy corporate egress does not fire: trusted networks are skipped, and so
// is an address that at least MinUsers users had signed in from
// successfully before the allowed lateness (a known shared egress, not a
// fresh attacker's address).
type PasswordSpray struct {
	policy    *Policy
	opts      PasswordSprayOptions
	failures  *state.Store[sprayFailures]
	successes *state.Store[spraySuccesses]
}

func NewPasswordSpray(p *Policy, opts PasswordSprayOptions) *PasswordSpray {
	ttl := opts.Lateness + 2*opts.Window
	return &PasswordSpray{
		policy: p,
		opts:   opts,
		// Two stores, so that the many addresses that only ever succeed
		// (every home and phone) cannot evict an address that is spraying.
		// Successes are kept only for a failure that may still arrive after
		// them; the busiest quarter of max_sources is enough for that.
		failures:  state.New[sprayFailures](opts.MaxSources, ttl),
		successes: state.New[spraySuccesses](SuccessSources(opts.MaxSources), ttl),
	}
}

// SuccessSources is how many addresses' recent successes are kept for
// failures arriving after them: a quarter of max_sources, at least 1,000.
func SuccessSources(maxSources int) int { return max(1000, maxSources/4) }

func (d *PasswordSpray) Rules() []*Rule { return []*Rule{RulePasswordSpray} }

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
		f := sprayFailure{at: at, user: state.HashString(r.User)}
		if slices.Contains(src.list, f) {
			return // delivered again
		}
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
	case successfulSignIn(r):
		src := d.successes.Touch(r.ClientAddress, ev.Now)
		if d.late(&src.newest, at) {
			return
		}
		src.earliestUsers = addUserFirst(src.earliestUsers, state.HashString(r.User), at.Sec(), d.opts.MinUsers)
		id := ev.RecordID()
		if slices.ContainsFunc(src.list, func(s spraySuccess) bool { return s.id == id && s.at == at }) {
			return
		}
		kept := src.list[:0]
		for _, s := range src.list {
			if s.at >= src.newest-state.Instant(d.opts.Lateness+d.opts.Window) {
				kept = append(kept, s)
			}
		}
		src.list = kept
		if len(src.list) >= maxSpraySuccesses {
			src.list = src.list[1:]
		}
		src.list = append(src.list, spraySuccess{at: at, id: id, user: state.Keep("", r.User)})
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

func (d *PasswordSpray) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if !r.ClientIP.IsValid() || d.policy.IsTrustedNetwork(r.ClientIP) {
		return out
	}
	successes := d.successes.Get(r.ClientAddress)
	failures := d.failures.Get(r.ClientAddress)
	if successes == nil || failures == nil {
		return out
	}
	at := state.At(r.Time)
	for i := range successes.list {
		s := &successes.list[i]
		switch {
		case successfulSignIn(r) && s.at == at && s.id == ev.RecordID():
		case passwordFailure(r) && s.at >= at && s.at-at < state.Instant(d.opts.Window):
		default:
			continue
		}
		out = d.judge(ev, failures, successes, s, out)
	}
	return out
}

// judge fires on a success that follows failures for many users.
func (d *PasswordSpray) judge(ev *Event, failures *sprayFailures, successes *spraySuccesses, s *spraySuccess, out []Finding) []Finding {
	users, n := d.recentFailures(failures, s.at)
	settled := (s.at - state.Instant(d.opts.Lateness)).Sec()
	if users < d.opts.MinUsers || knownEgress(successes.earliestUsers, settled, d.opts.MinUsers) {
		return out
	}
	return append(out, Finding{
		Rule:     RulePasswordSpray,
		Severity: SeverityHigh,
		User:     s.user,
		Reason: fmt.Sprintf("%s signed in from %s at %s, after it failed %d sign-ins for %d distinct users within %s (password spray).",
			s.user, ev.Record.ClientAddress, stamp(s.at.Time()), n, users, d.opts.Window),
		Evidence: []Evidence{{ID: s.id, At: s.at.Time()}},
		// The success came from the same address as the record judged.
		Anchors: []state.Stage{{At: s.at, ID: s.id, IP: ev.Record.ClientIP}},
	})
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
func knownEgress(earliest []userFirst, settled state.Sec, n int) bool {
	count := 0
	for _, u := range earliest {
		if u.first < settled {
			count++
		}
	}
	return count >= n
}

// addUserFirst keeps the n users with the earliest first success.
func addUserFirst(list []userFirst, user uint64, at state.Sec, n int) []userFirst {
	latest := -1
	for i := range list {
		if list[i].user == user {
			list[i].first = min(list[i].first, at)
			return list
		}
		if latest < 0 || list[i].first > list[latest].first {
			latest = i
		}
	}
	if len(list) < n {
		return append(list, userFirst{user: user, first: at})
	}
	if list[latest].first > at {
		list[latest] = userFirst{user: user, first: at}
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
	d.successes.Expire(now)
}
