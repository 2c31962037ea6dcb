package detection

import (
	"fmt"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// RuleAccountLockout is a burst of smart-lockout refusals from an address
// that is not the user's.
var RuleAccountLockout = &Rule{
	ID:         CategoryRiskySignIn + "/account_lockout",
	Category:   CategoryRiskySignIn,
	Title:      "Account locked out by password attempts from an address the user never used",
	Techniques: []string{TechniqueEmailAccounts, TechniqueBruteForce},
	Reference:  "https://learn.microsoft.com/entra/identity/authentication/howto-password-smart-lockout",
	// The user's own networks silence it.
	NeedsHistory: true,
	Attempt:      true,
}

// LockoutOptions tune the lockout detector.
type LockoutOptions struct {
	// MinLockouts is how many lockout refusals within Window make a burst.
	MinLockouts int
	Window      time.Duration
}

// Lockout detects someone hammering an account until smart lockout refuses
// it (Entra 50053), from an address that is not the user's: each lockout
// refusal from outside the trusted networks, from a network and autonomous
// system the user had not signed in from before the allowed lateness, with
// at least MinLockouts lockout refusals for the user within the window
// ending at it. No success is needed: peers alert on the attempt. A lockout
// arriving late completes the bursts after it. Silent: the user mistyping at
// the office or at home (trusted or known networks), then succeeding.
type Lockout struct {
	policy *Policy
	opts   LockoutOptions
}

// NewLockout returns the lockout detector.
func NewLockout(p *Policy, opts LockoutOptions) *Lockout { return &Lockout{policy: p, opts: opts} }

// Rules returns RuleAccountLockout.
func (d *Lockout) Rules() []*Rule { return []*Rule{RuleAccountLockout} }

// Reads asks for the sign-in history: lockouts are kept in the timeline.
func (d *Lockout) Reads() History { return HistorySignIns }

// Detect judges a lockout refusal, and the later ones whose burst it may
// complete; each fires medium.
func (d *Lockout) Detect(ev *Event, out []Finding) []Finding {
	u, r := ev.User, ev.Record
	if u == nil || !passwordFailure(r) || r.ErrorCode != lockoutErrorCode {
		return out
	}
	recent := u.SignIns.Recent
	at := state.At(r.Time)
	window := state.Instant(d.opts.Window)
	// This lockout, and those within the window after it whose burst it
	// may complete.
	for i := range recent {
		if l := &recent[i]; l.Lockout && l.At >= at && l.At-at < window {
			out = d.judge(ev, l, out)
		}
	}
	return out
}

func (d *Lockout) judge(ev *Event, l *state.SignIn, out []Finding) []Finding {
	if d.policy.IsTrustedNetwork(l.IP.IP()) {
		return out
	}
	if !newAddress(ev, l.IP, l.ASN, l.At) {
		return out
	}
	h := &ev.User.SignIns
	n := 0
	for i := range h.Recent {
		if x := &h.Recent[i]; x.Lockout && x.At <= l.At && l.At-x.At < state.Instant(d.opts.Window) {
			n++
		}
	}
	if n < d.opts.MinLockouts {
		return out
	}
	return append(out, Finding{
		Rule:     RuleAccountLockout,
		Severity: SeverityMedium,
		Reason: fmt.Sprintf("%s was locked out from %s at %s, %d lockout refusals within %s, from an address the user had not signed in from.",
			ev.Record.User, l.IP, stamp(l.At.Time()), n, d.opts.Window),
		Evidence: []Evidence{{ID: l.ID, At: l.At.Time()}},
	})
}
