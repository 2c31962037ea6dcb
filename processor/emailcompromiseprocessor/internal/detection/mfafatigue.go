package detection

import (
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var RuleMFAFatigue = &Rule{
	ID:         CategoryRiskySignIn + "/mfa_fatigue",
	Category:   CategoryRiskySignIn,
	Title:      "Successful sign-in after a burst of MFA denials or prompts",
	Techniques: []string{TechniqueEmailAccounts, "T1621"},
	Reference:  "https://attack.mitre.org/techniques/T1621/",
}

// MFAFatigueOptions tune the MFA-fatigue detector.
type MFAFatigueOptions struct {
	MinPrompts int
	Window     time.Duration
}

// MFAFatigue detects the push-bombing pattern: the attacker has the password
// and repeats MFA prompts until the user approves one. One prompt before a
// success is ordinary MFA; a burst of denials and interrupts within the
// window before a successful interactive sign-in is not. As with brute
// force, a prompt arriving after the success completes it late.
type MFAFatigue struct {
	burst successAfterBurst
}

func NewMFAFatigue(opts MFAFatigueOptions) *MFAFatigue {
	return &MFAFatigue{burst: successAfterBurst{
		rule: RuleMFAFatigue, kind: state.SignInMFAPrompt, min: opts.MinPrompts, window: opts.Window,
		what: "MFA denials or repeated MFA prompts",
	}}
}

func (d *MFAFatigue) Rules() []*Rule { return []*Rule{RuleMFAFatigue} }

func (d *MFAFatigue) Reads() History { return HistorySignIns }

func (d *MFAFatigue) Detect(ev *Event, out []Finding) []Finding { return d.burst.detect(ev, out) }
