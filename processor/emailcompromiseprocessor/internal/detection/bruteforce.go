package detection

import (
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

// BruteForce detects a successful interactive sign-in that follows many
// failed password attempts for the same user within the window before it:
// the guessing worked. The detection is the success's (its evidence); a
// failure that arrives after the success completes it late. A success from
// a trusted network (an employee mistyping at the office) does not fire.
type BruteForce struct {
	burst successAfterBurst
}

func NewBruteForce(p *Policy, opts BruteForceOptions) *BruteForce {
	return &BruteForce{burst: successAfterBurst{
		rule: RuleBruteForce, kind: state.SignInFailure, min: opts.MinFailures, window: opts.Window,
		what: "failed password attempts", ignore: func(s *state.SignIn) bool { return p.IsTrustedNetwork(s.IP.IP()) },
	}}
}

func (d *BruteForce) Rules() []*Rule { return []*Rule{RuleBruteForce} }

func (d *BruteForce) Reads() History { return HistorySignIns }

func (d *BruteForce) Detect(ev *Event, out []Finding) []Finding { return d.burst.detect(ev, out) }
