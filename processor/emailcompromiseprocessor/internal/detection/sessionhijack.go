package detection

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// RuleSessionReplay is a session or token used from a second network.
var RuleSessionReplay = &Rule{
	ID:         CategorySessionHijack + "/session_replay",
	Category:   CategorySessionHijack,
	Title:      "Session or token used from another country or network minutes after its sign-in (adversary-in-the-middle replay)",
	Techniques: []string{TechniqueEmailAccounts, TechniqueWebSessionCookie, "T1557"},
	Reference:  "https://attack.mitre.org/techniques/T1550/004/",
	// The user's own networks silence it: a replica without them would
	// fire on the user's phone.
	NeedsHistory: true,
}

// SessionHijackOptions tune the session-replay detector.
type SessionHijackOptions struct {
	// Window is how long after an interactive sign-in a use of its session
	// from elsewhere counts as a replay.
	Window time.Duration
	// MobileASNs are carriers a phone moves onto and off all day.
	MobileASNs []uint32
}

// SessionHijack detects adversary-in-the-middle session replay: an
// interactive sign-in starts a session (Entra sessionId, or the token it
// issued), and within the window the same session or token is used —
// refreshed by a non-interactive sign-in, or by a mailbox operation whose
// AppAccessContext names it — from another country, or from another
// autonomous system that is neither the user's nor a mobile carrier. Each
// (sign-in, use) pair is a detection (evidence: both records), found by
// whichever arrives last; the use is the stage of the compromise. Silent:
// trusted networks, the user's own networks (known before the allowed
// lateness), a phone moving between Wi-Fi and its carrier in one country,
// IPv4 and IPv6 of one provider (one ASN).
type SessionHijack struct {
	policy *Policy
	opts   SessionHijackOptions
	// this is the judged record's use of a session, set by Learn for
	// Detect (the suite calls both for each record); kept or not, the
	// record is judged as itself.
	this    state.SessionUse
	thisSet bool
}

// NewSessionHijack returns the session-replay detector.
func NewSessionHijack(p *Policy, opts SessionHijackOptions) *SessionHijack {
	return &SessionHijack{policy: p, opts: opts}
}

// Rules returns RuleSessionReplay.
func (d *SessionHijack) Rules() []*Rule { return []*Rule{RuleSessionReplay} }

// Reads asks for the sign-in history: the user's own networks silence it.
func (d *SessionHijack) Reads() History { return HistorySignIns }

// Learn keeps the records that use a session: successful sign-ins (the
// interactive ones start sessions) and mailbox operations, from outside
// the trusted networks unless they start a session.
func (d *SessionHijack) Learn(ev *Event) {
	d.thisSet = false
	r, u := ev.Record, ev.User
	if u == nil || !r.ClientIP.IsValid() || (r.SessionID == "" && r.TokenID == "") || r.Result == auditrecord.ResultFailure {
		return
	}
	origin := successfulSignIn(r) && r.SignIn.Interactive
	at := state.At(r.Time)
	switch {
	case origin:
	case r.Kind == auditrecord.KindSignIn && r.Result != auditrecord.ResultSuccess:
		return
	case d.policy.IsTrustedNetwork(r.ClientIP), !newAddress(ev, state.AddrOf(r.ClientIP), r.SignIn.ASN, at):
		// A use from a trusted network or one of the user's own is never
		// a replay, whatever arrives later (what is known only grows):
		// not kept.
		return
	}
	d.this = state.SessionUse{
		At: at, ID: ev.RecordID(), Session: state.Hash32(r.SessionID), Token: state.Hash32(r.TokenID),
		ASN: r.SignIn.ASN, Country: state.CountryOf(r.Geo.CountryISO), Interactive: origin, IP: state.AddrOf(r.ClientIP),
	}
	d.thisSet = true
	h := &u.SignIns
	h.ForgetUsesBefore(u.Newest - state.Instant(ev.Lateness+d.opts.Window))
	h.AddUse(d.this)
}

// Detect pairs this record's use of a session with the interactive
// sign-ins that started it, and, when it is such a sign-in, with the later
// uses; each pair from elsewhere fires high.
func (d *SessionHijack) Detect(ev *Event, out []Finding) []Finding {
	u := ev.User
	if !d.thisSet || u == nil {
		return out
	}
	d.thisSet = false
	this := &d.this
	window := state.Instant(d.opts.Window)
	for i := range u.SignIns.Uses {
		other := &u.SignIns.Uses[i]
		if (other.At == this.At && other.ID == this.ID) || !sameSession(this, other) {
			continue
		}
		// This record as the use of an earlier sign-in's session, and as
		// the sign-in whose session a later record used.
		if other.Interactive && other.At <= this.At && this.At-other.At <= window {
			out = d.judge(ev, other, this, out)
		}
		if this.Interactive && this.At <= other.At && other.At-this.At <= window {
			out = d.judge(ev, this, other, out)
		}
	}
	return out
}

func sameSession(a, b *state.SessionUse) bool {
	return (a.Session != 0 && a.Session == b.Session) || (a.Token != 0 && a.Token == b.Token)
}

// judge fires when the use came from somewhere the sign-in's user could
// not have carried the session to.
func (d *SessionHijack) judge(ev *Event, signIn, use *state.SessionUse, out []Finding) []Finding {
	why := d.elsewhere(ev, signIn, use)
	if why == "" {
		return out
	}
	how := "the same session"
	if signIn.Session == 0 || signIn.Session != use.Session {
		how = "the token it issued"
	}
	return append(out, Finding{
		Rule:     RuleSessionReplay,
		Severity: SeverityHigh,
		Reason: fmt.Sprintf("%s signed in interactively from %s at %s; %s was used %s later from %s (%s).",
			ev.Record.User, where(signIn), stamp(signIn.At.Time()), how,
			use.At.Time().Sub(signIn.At.Time()).Round(time.Second), where(use), why),
		Evidence: []Evidence{{ID: signIn.ID, At: signIn.At.Time()}, {ID: use.ID, At: use.At.Time()}},
		Anchors:  []state.Stage{{At: use.At, ID: use.ID, IP: use.IP, ASN: use.ASN, Session: use.Session}},
	})
}

// elsewhere says how far the use is from the sign-in, or "" when the user
// could have carried the session there.
func (d *SessionHijack) elsewhere(ev *Event, signIn, use *state.SessionUse) string {
	if use.IP == signIn.IP || d.policy.IsTrustedNetwork(use.IP.IP()) {
		return ""
	}
	if !newAddress(ev, use.IP, use.ASN, use.At) {
		return "" // the user's own network
	}
	if signIn.Country != (state.Country{}) && use.Country != (state.Country{}) && signIn.Country != use.Country {
		return "another country"
	}
	if signIn.ASN == 0 || use.ASN == 0 || signIn.ASN == use.ASN ||
		slices.Contains(d.opts.MobileASNs, signIn.ASN) || slices.Contains(d.opts.MobileASNs, use.ASN) {
		return ""
	}
	return fmt.Sprintf("another network, AS%d after AS%d", use.ASN, signIn.ASN)
}

// where names a use's address with its country and network.
func where(u *state.SessionUse) string {
	var parts []string
	if u.Country != (state.Country{}) {
		parts = append(parts, u.Country.String())
	}
	if u.ASN != 0 {
		parts = append(parts, fmt.Sprintf("AS%d", u.ASN))
	}
	if len(parts) == 0 {
		return u.IP.String()
	}
	return u.IP.String() + " (" + strings.Join(parts, ", ") + ")"
}
