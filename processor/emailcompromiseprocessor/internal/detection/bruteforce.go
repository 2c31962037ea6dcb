package detection

import (
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// RuleBruteForce is BruteForce's detection: a success after many failed
// attempts for the same user.
var RuleBruteForce = &Rule{
	ID:         CategoryRiskySignIn + "/brute_force_success",
	Category:   CategoryRiskySignIn,
	Title:      "Successful sign-in after many failed attempts for the user",
	Techniques: []string{TechniqueEmailAccounts, "T1110.001"},
	Reference:  "https://attack.mitre.org/techniques/T1110/001/",
}

// BruteForceOptions tune the per-user brute-force detector.
type BruteForceOptions struct {
	// MinFailures is how many failed password attempts before a success
	// make it a brute force; it must be positive.
	MinFailures int
	// Window is how long before the success the failures are counted.
	Window time.Duration
}

// BruteForce detects a successful interactive sign-in that follows many
// failed password attempts for the same user within the window before it:
// the guessing worked. The detection is the success's (its evidence); a
// failure that arrives after the success completes it late. A success from
// a trusted network (an employee mistyping at the office) does not fire.
type BruteForce struct {
	burst successAfterBurst
}

// NewBruteForce returns the detector; p's trusted networks exempt a
// success.
func NewBruteForce(p *Policy, opts BruteForceOptions) *BruteForce {
	return &BruteForce{burst: successAfterBurst{
		rule: RuleBruteForce, kind: state.SignInFailure, min: opts.MinFailures, window: opts.Window,
		what: "failed password attempts", ignore: func(s *state.SignIn) bool { return p.IsTrustedNetwork(s.IP.IP()) },
	}}
}

// Rules returns RuleBruteForce.
func (d *BruteForce) Rules() []*Rule { return []*Rule{RuleBruteForce} }

// Reads asks for the sign-in history: the failures are counted in the
// user's timeline.
func (d *BruteForce) Reads() History { return HistorySignIns }

// Detect fires, high, on a successful password sign-in with at least
// MinFailures failures within the window before it: when ev is that success,
// or a failure that completes it late.
func (d *BruteForce) Detect(ev *Event, out []Finding) []Finding { return d.burst.detect(ev, out) }
