package detection

import (
	"fmt"
	"hash/maphash"
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
}

// maxSprayFailures caps the failures remembered per source address.
const maxSprayFailures = 256

// sourceActivity is what one source address did recently.
type sourceActivity struct {
	failures  []sprayFailure // newest last
	successes state.Recent
}

type sprayFailure struct {
	user uint64 // hash of the user name: counting distinct users needs no names
	at   time.Time
}

// PasswordSpray detects a success from an address that recently failed for
// many distinct users: one of the sprayed passwords worked. Its state is
// keyed by SOURCE ADDRESS, not by user, so when replicas partition records
// by user each replica sees only part of a spray (see README, scale-out).
// Busy corporate egress does not fire: trusted networks are skipped, and so
// is any address whose successes outnumber its failures.
type PasswordSpray struct {
	policy  *Policy
	opts    PasswordSprayOptions
	sources *state.Store[sourceActivity]
	seed    maphash.Seed
}

func NewPasswordSpray(p *Policy, opts PasswordSprayOptions) *PasswordSpray {
	return &PasswordSpray{
		policy:  p,
		opts:    opts,
		sources: state.New[sourceActivity](opts.MaxSources, 2*opts.Window),
		seed:    maphash.MakeSeed(),
	}
}

func (d *PasswordSpray) Rules() []*Rule { return []*Rule{RulePasswordSpray} }

func (d *PasswordSpray) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if !successfulSignIn(r) || !r.ClientIP.IsValid() || d.policy.IsTrustedNetwork(r.ClientIP) {
		return out
	}
	src := d.sources.Get(r.ClientAddress)
	if src == nil {
		return out
	}
	users, failures := d.recentFailures(src, r.Time)
	successes := src.successes.Within(r.Time, d.opts.Window) + 1
	if users < d.opts.MinUsers || successes > failures {
		return out
	}
	return append(out, Finding{
		Rule:     RulePasswordSpray,
		Severity: SeverityHigh,
		Reason: fmt.Sprintf("%s signed in from %s, which failed %d sign-ins for %d distinct users within %s (password spray).",
			r.User, r.ClientAddress, failures, users, d.opts.Window),
	})
}

// recentFailures counts the failures and distinct users within the window
// before t.
func (d *PasswordSpray) recentFailures(src *sourceActivity, t time.Time) (users, failures int) {
	seen := make(map[uint64]struct{}, len(src.failures))
	for _, f := range src.failures {
		if f.at.After(t.Add(-d.opts.Window)) && !f.at.After(t) {
			failures++
			seen[f.user] = struct{}{}
		}
	}
	return len(seen), failures
}

func (d *PasswordSpray) Learn(ev *Event) {
	r := ev.Record
	if !r.ClientIP.IsValid() {
		return
	}
	switch {
	case passwordFailure(r):
		src := d.sources.Touch(r.ClientAddress, ev.Now)
		if len(src.failures) == maxSprayFailures {
			src.failures = append(src.failures[:0], src.failures[1:]...)
		}
		src.failures = append(src.failures, sprayFailure{user: maphash.String(d.seed, r.User), at: r.Time})
	case successfulSignIn(r):
		if src := d.sources.Get(r.ClientAddress); src != nil {
			src.successes.Add(r.Time)
		}
	}
}

// Expire drops idle sources; the processor calls it with the user store's.
func (d *PasswordSpray) Expire(now time.Time) { d.sources.Expire(now) }
