package detection

import (
	"fmt"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/internal/asciifold"
	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// Facts about sign-in records that several detectors share, and the
// sign-in history they all read.

// successfulSignIn reports whether r is a sign-in that succeeded.
func successfulSignIn(r *auditrecord.Record) bool {
	return r.Kind == auditrecord.KindSignIn && r.Result == auditrecord.ResultSuccess
}

// passwordFailure reports whether r is a sign-in that failed on the
// credentials: Entra 50126 (bad user name or password), 50053 (locked by
// smart lockout, which attackers trip), 50055 (expired password, which
// proves the password right), O365 UserLoginFailed and Google login_failure.
func passwordFailure(r *auditrecord.Record) bool {
	if r.Kind != auditrecord.KindSignIn || r.Result != auditrecord.ResultFailure {
		return false
	}
	switch r.Source {
	case auditrecord.SourceEntraSignIn:
		switch r.ErrorCode {
		case "50126", lockoutErrorCode, "50055":
			return true
		}
		return false
	case auditrecord.SourceO365:
		return strings.EqualFold(r.Operation, "UserLoginFailed") || strings.HasPrefix(r.Operation, "PasswordLogon")
	case auditrecord.SourceGoogleWorkspace:
		return r.Operation == "login_failure"
	}
	return false
}

// lockoutErrorCode is Entra's "account is locked" (smart lockout) refusal.
const lockoutErrorCode = "50053"

// mfaPrompt reports whether r is an MFA denial or interrupt: Entra 500121
// whose details say the user denied it, or 50074/50076 (strong
// authentication required), which repeat when prompts are pushed in a loop.
func mfaPrompt(r *auditrecord.Record) bool {
	if r.Kind != auditrecord.KindSignIn || r.Result != auditrecord.ResultFailure {
		return false
	}
	switch r.ErrorCode {
	case "50074", "50076":
		return true
	case "500121":
		d := strings.ToLower(r.SignIn.FailureDetail)
		return strings.Contains(d, "denied") || strings.Contains(d, "declined")
	}
	return false
}

// passwordSignIn reports whether a password was checked for the sign-in:
// interactive, over a legacy protocol, or the ROPC flow, which trades a
// password for a token without a person at a browser. Token refreshes are
// not: they are the many non-interactive successes of every client, and
// pair with nothing.
func passwordSignIn(r *auditrecord.Record) bool {
	return r.SignIn.Interactive || defaultLegacyClientApps.Has(r.SignIn.ClientApp) || asciifold.ContainsLower(r.UserAgent, ropcUserAgent)
}

// learnSignIn adds a sign-in to the user's history: every success to the
// baseline (learning period, countries, networks, places), and password
// successes, password failures and MFA prompts to the timeline that travel
// pairs and bursts are made of. Token refreshes are too many to keep and
// pair with nothing.
func learnSignIn(ev *Event, opts SuiteOptions) {
	r, u := ev.Record, ev.User
	if r.Kind != auditrecord.KindSignIn {
		return
	}
	h := &u.SignIns
	at := state.SecOf(r.Time)
	kind := state.SignInKind(0)
	switch {
	case successfulSignIn(r):
		kind = state.SignInSuccess
		h.Successes = h.Successes.Add(at, opts.LearningSignIns)
		if c := state.CountryOf(r.Geo.CountryISO); c != (state.Country{}) {
			h.Sight(state.CountryKnown(c), at)
		}
		if r.SignIn.ASN != 0 {
			h.Sight(state.ASNKnown(r.SignIn.ASN), at)
		}
		if r.ClientIP.IsValid() {
			h.Sight(state.NetworkKnown(r.ClientIP), at)
		}
		if r.SignIn.Interactive && r.Geo.HasCoordinates {
			h.Places = state.SightPlace(h.Places, state.CellOf(r.Geo.Lat, r.Geo.Lon), at, state.MaxPlaces, opts.FamiliarSignIns)
		}
		if r.SignIn.DeviceCode {
			h.Sight(state.FlowDeviceCode, at)
		}
		if !passwordSignIn(r) {
			return
		}
	case passwordFailure(r):
		kind = state.SignInFailure
	case mfaPrompt(r):
		kind = state.SignInMFAPrompt
	default:
		return
	}
	h.ForgetSignInsBefore(u.Newest - state.Instant(opts.Lateness+opts.Retention))
	s := state.SignIn{
		At: state.At(r.Time), ID: ev.RecordID(), Kind: kind, Interactive: r.SignIn.Interactive, Password: passwordSignIn(r),
		HasGeo:  r.Geo.HasCoordinates,
		Country: state.CountryOf(r.Geo.CountryISO), ASN: r.SignIn.ASN, IP: state.AddrOf(r.ClientIP),
		Device: state.Hash32(r.SignIn.DeviceID), Session: state.Hash32(r.SessionID), Token: state.Hash32(r.TokenID),
		Lockout: kind == state.SignInFailure && r.ErrorCode == lockoutErrorCode,
	}
	if s.HasGeo {
		s.Lat, s.Lon = float32(r.Geo.Lat), float32(r.Geo.Lon)
		s.City = state.TextOf(shorten(r.Geo.City, maxKeptName))
	}
	h.AddSignIn(s)
}

// burst counts the user's timeline events of a kind in (t-window, t]: the
// failures or MFA prompts before a success.
func burst(recent []state.SignIn, kind state.SignInKind, t state.Instant, window time.Duration) int {
	from := t - state.Instant(window)
	n := 0
	for i := range recent {
		if e := &recent[i]; e.Kind == kind && e.At > from && e.At <= t {
			n++
		}
	}
	return n
}

// successAfterBurst is what brute force and MFA fatigue share: a
// successful password sign-in (see passwordSignIn) after at least min
// timeline events of one kind (failures, MFA prompts) within the window
// before it. The detection is the success's; an event arriving after the
// success completes it late.
type successAfterBurst struct {
	rule   *Rule
	kind   state.SignInKind
	min    int
	window time.Duration
	// what names the events in the reason.
	what string
	// ignore exempts a success (one from a trusted network).
	ignore func(s *state.SignIn) bool
}

func (b *successAfterBurst) detect(ev *Event, out []Finding) []Finding {
	u := ev.User
	if u == nil {
		return out
	}
	r := ev.Record
	recent := u.SignIns.Recent
	at := state.At(r.Time)
	judge := func(s *state.SignIn) {
		if b.ignore != nil && b.ignore(s) {
			return
		}
		n := burst(recent, b.kind, s.At, b.window)
		if n < b.min {
			return
		}
		out = append(out, Finding{
			Rule:     b.rule,
			Severity: SeverityHigh,
			Reason:   fmt.Sprintf("%s signed in from %s at %s after %d %s within %s.", r.User, s.IP, stamp(s.At.Time()), n, b.what, b.window),
			Evidence: []Evidence{{ID: s.ID, At: s.At.Time()}},
			Anchors:  []state.Stage{signInStage(s)},
		})
	}
	switch {
	case successfulSignIn(r) && passwordSignIn(r):
		if i := state.FindSignIn(recent, at, ev.RecordID()); i >= 0 {
			judge(&recent[i])
		}
	case (b.kind == state.SignInFailure && passwordFailure(r)) || (b.kind == state.SignInMFAPrompt && mfaPrompt(r)):
		for i := range recent {
			if s := &recent[i]; s.Kind == state.SignInSuccess && s.At >= at && s.At-at < state.Instant(b.window) {
				judge(s)
			}
		}
	}
	return out
}

// newAddress reports whether the user had signed in from neither the
// address's network nor its autonomous system before the allowed lateness.
func newAddress(ev *Event, ip state.Addr, asn uint32, at state.Instant) bool {
	h := &ev.User.SignIns
	settled := (at - state.Instant(ev.Lateness)).Sec()
	return !h.KnownBefore(state.NetworkKnown(ip.IP()), settled) && (asn == 0 || !h.KnownBefore(state.ASNKnown(asn), settled))
}

// signInStage is a timeline sign-in as a stage anchor.
func signInStage(s *state.SignIn) state.Stage {
	return state.Stage{At: s.At, ID: s.ID, IP: s.IP, ASN: s.ASN, Session: s.Session}
}

// place names where a sign-in came from, for reasons.
func place(city, country, ip string) string {
	var parts []string
	if city != "" {
		parts = append(parts, city)
	}
	if country != "" {
		parts = append(parts, country)
	}
	where := strings.Join(parts, ", ")
	switch {
	case where == "":
		return ip
	case ip == "":
		return where
	}
	return where + " (" + ip + ")"
}
