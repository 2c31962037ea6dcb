package detection

import (
	"fmt"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// NewLocation's detections; both need history (the user's baseline).
var (
	// RuleNewCountry is a sign-in from a country the user had not signed
	// in from.
	RuleNewCountry = &Rule{
		ID:           CategoryRiskySignIn + "/new_country",
		Category:     CategoryRiskySignIn,
		Title:        "Sign-in from a country new for the user",
		Techniques:   []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts},
		Reference:    "https://learn.microsoft.com/entra/id-protection/concept-identity-protection-risks#unfamiliar-sign-in-properties",
		NeedsHistory: true,
	}
	// RuleNewASN is a sign-in from an autonomous system the user had not
	// signed in from.
	RuleNewASN = &Rule{
		ID:           CategoryRiskySignIn + "/new_asn",
		Category:     CategoryRiskySignIn,
		Title:        "Sign-in from a network (ASN) new for the user",
		Techniques:   []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts},
		Reference:    "https://learn.microsoft.com/entra/id-protection/concept-identity-protection-risks#unfamiliar-sign-in-properties",
		NeedsHistory: true,
	}
)

// NewLocationOptions set the learning period: the user's history counts as
// learned after LearningPeriod since the first success or LearningSignIns
// successes, whichever comes first.
type NewLocationOptions struct {
	LearningPeriod  time.Duration
	LearningSignIns int
}

// NewLocation detects a successful sign-in from a country or ASN the user
// had not used before, once enough history is learned. "Before" is the
// baseline as it stood at the sign-in's time minus the allowed lateness:
// what is known then cannot change with the order records arrive in, so
// the verdict cannot either; the price is that a country first used within
// the allowed lateness before is still new. Alone it is weak (low
// severity); it feeds the chain detector, where it becomes decisive.
type NewLocation struct {
	policy *Policy
	opts   NewLocationOptions
}

// NewNewLocation returns the detector; sign-ins from p's trusted networks
// never fire.
func NewNewLocation(p *Policy, opts NewLocationOptions) *NewLocation {
	return &NewLocation{policy: p, opts: opts}
}

// Rules returns RuleNewCountry and RuleNewASN.
func (d *NewLocation) Rules() []*Rule { return []*Rule{RuleNewCountry, RuleNewASN} }

// Reads asks for the sign-in history: the countries and networks known
// and the successes that measure the learning period.
func (d *NewLocation) Reads() History { return HistorySignIns }

// learned reports whether the history before settled is enough to judge.
func (d *NewLocation) learned(h *state.SignInHistory, settled state.Sec) bool {
	first := h.Successes.First()
	if first == 0 || first >= settled {
		return false
	}
	return h.Successes.CountBefore(settled) >= d.opts.LearningSignIns ||
		settled.Time().Sub(first.Time()) >= d.opts.LearningPeriod
}

// Detect fires, low, on a successful sign-in from a country, and one from
// an ASN, not known before Event.Settled, once the history before then is
// learned.
func (d *NewLocation) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if ev.User == nil || !successfulSignIn(r) || d.policy.IsTrustedNetwork(r.ClientIP) {
		return out
	}
	h := &ev.User.SignIns
	settled := ev.Settled()
	if !d.learned(h, settled) {
		return out
	}
	if c := state.CountryOf(r.Geo.CountryISO); c != (state.Country{}) && !h.KnownBefore(state.CountryKnown(c), settled) {
		out = append(out, Finding{
			Rule:     RuleNewCountry,
			Severity: SeverityLow,
			Reason: fmt.Sprintf("%s signed in from %s, a country not used before %s (known: %s).",
				r.User, place(r.Geo.City, r.Geo.CountryISO, r.ClientAddress), stamp(settled.Time()), knownCountries(h, settled)),
		})
	}
	if a := r.SignIn.ASN; a != 0 && len(h.KindBefore(state.KnownASN, settled)) > 0 && !h.KnownBefore(state.ASNKnown(a), settled) {
		out = append(out, Finding{
			Rule:     RuleNewASN,
			Severity: SeverityLow,
			Reason:   fmt.Sprintf("%s signed in from %s in AS%d, a network not used before %s.", r.User, r.ClientAddress, a, stamp(settled.Time())),
		})
	}
	return out
}

func knownCountries(h *state.SignInHistory, settled state.Sec) string {
	var names []string
	for _, k := range h.KindBefore(state.KnownCountry, settled) {
		names = append(names, k.Country().String())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
