package detection

import (
	"fmt"
	"time"
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
// success is ordinary MFA; a burst of denials and interrupts is not.
type MFAFatigue struct {
	opts MFAFatigueOptions
}

func NewMFAFatigue(opts MFAFatigueOptions) *MFAFatigue { return &MFAFatigue{opts: opts} }

func (d *MFAFatigue) Rules() []*Rule { return []*Rule{RuleMFAFatigue} }

func (d *MFAFatigue) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if ev.User == nil || !successfulSignIn(r) {
		return out
	}
	b := ev.User.SignIns.Bursts
	if b == nil {
		return out
	}
	n := b.MFAPrompts.Within(r.Time, d.opts.Window)
	if n < d.opts.MinPrompts {
		return out
	}
	return append(out, Finding{
		Rule:     RuleMFAFatigue,
		Severity: SeverityHigh,
		Reason:   fmt.Sprintf("%s signed in from %s after %d MFA denials or repeated MFA prompts within %s.", r.User, r.ClientAddress, n, d.opts.Window),
	})
}

// Learn counts prompts; a success ends the burst.
func (d *MFAFatigue) Learn(ev *Event) {
	if ev.User == nil {
		return
	}
	switch r := ev.Record; {
	case mfaPrompt(r):
		bursts(ev.User).MFAPrompts.Add(r.Time)
	case successfulSignIn(r):
		if b := ev.User.SignIns.Bursts; b != nil {
			b.MFAPrompts.Clear()
		}
	}
}
