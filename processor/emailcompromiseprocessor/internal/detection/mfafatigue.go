package detection

import (
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// RuleMFAFatigue is MFAFatigue's detection: a success after a burst of MFA
// prompts the user denied or that were interrupted.
var RuleMFAFatigue = &Rule{
	ID:         CategoryRiskySignIn + "/mfa_fatigue",
	Category:   CategoryRiskySignIn,
	Title:      "Successful sign-in after a burst of MFA denials or prompts",
	Techniques: []string{TechniqueEmailAccounts, "T1621"},
	Reference:  "https://attack.mitre.org/techniques/T1621/",
}

// MFAFatigueOptions tune the MFA-fatigue detector.
type MFAFatigueOptions struct {
	// MinPrompts is how many MFA denials or interrupts before a success
	// make it fatigue; it must be positive.
	MinPrompts int
	// Window is how long before the success the prompts are counted.
	Window time.Duration
}

// MFAFatigue detects the push-bombing pattern: the attacker has the password
// and repeats MFA prompts until the user approves one. One prompt before a
// success is ordinary MFA; a burst of denials and interrupts within the
// window before a successful interactive sign-in is not. As with brute
// force, a prompt arriving after the success completes it late.
type MFAFatigue struct {
	burst successAfterBurst
}

// NewMFAFatigue returns the detector.
func NewMFAFatigue(opts MFAFatigueOptions) *MFAFatigue {
	return &MFAFatigue{burst: successAfterBurst{
		rule: RuleMFAFatigue, kind: state.SignInMFAPrompt, min: opts.MinPrompts, window: opts.Window,
		what: "MFA denials or repeated MFA prompts",
	}}
}

// Rules returns RuleMFAFatigue.
func (d *MFAFatigue) Rules() []*Rule { return []*Rule{RuleMFAFatigue} }

// Reads asks for the sign-in history: the prompts are counted in the
// user's timeline.
func (d *MFAFatigue) Reads() History { return HistorySignIns }

// Detect fires, high, on a successful password sign-in with at least
// MinPrompts MFA denials or interrupts within the window before it: when ev
// is that success, or a prompt that completes it late.
func (d *MFAFatigue) Detect(ev *Event, out []Finding) []Finding { return d.burst.detect(ev, out) }
