package detection

import (
	"fmt"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var RuleBruteForce = &Rule{
	ID:         CategoryRiskySignIn + "/brute_force_success",
	Category:   CategoryRiskySignIn,
	Title:      "Successful sign-in after many failed attempts for the user",
	Techniques: []string{TechniqueEmailAccounts, "T1110.001"},
	Reference:  "https://attack.mitre.org/techniques/T1110/001/",
}

// BruteForceOptions tune the per-user brute-force detector.
type BruteForceOptions struct {
	MinFailures int
	Window      time.Duration
}

// BruteForce detects a successful sign-in that follows many failed password
// attempts for the same user: the guessing worked. A success from a trusted
// network (an employee mistyping at the office) does not fire.
type BruteForce struct {
	policy *Policy
	opts   BruteForceOptions
}

func NewBruteForce(p *Policy, opts BruteForceOptions) *BruteForce {
	return &BruteForce{policy: p, opts: opts}
}

func (d *BruteForce) Rules() []*Rule { return []*Rule{RuleBruteForce} }

func (d *BruteForce) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if ev.User == nil || !successfulSignIn(r) || d.policy.IsTrustedNetwork(r.ClientIP) {
		return out
	}
	b := ev.User.SignIns.Bursts
	if b == nil {
		return out
	}
	n := b.Failures.Within(r.Time, d.opts.Window)
	if n < d.opts.MinFailures {
		return out
	}
	return append(out, Finding{
		Rule:     RuleBruteForce,
		Severity: SeverityHigh,
		Reason:   fmt.Sprintf("%s signed in from %s after %d failed password attempts within %s.", r.User, r.ClientAddress, n, d.opts.Window),
	})
}

// Learn counts failures; a success ends the burst.
func (d *BruteForce) Learn(ev *Event) {
	if ev.User == nil {
		return
	}
	switch r := ev.Record; {
	case passwordFailure(r):
		bursts(ev.User).Failures.Add(r.Time)
	case successfulSignIn(r):
		if b := ev.User.SignIns.Bursts; b != nil {
			b.Failures.Clear()
		}
	}
}

// bursts returns the user's failure and MFA-prompt rings, creating them on
// the first event: most users never fail.
func bursts(u *state.User) *state.Bursts {
	if u.SignIns.Bursts == nil {
		u.SignIns.Bursts = &state.Bursts{}
	}
	return u.SignIns.Bursts
}
