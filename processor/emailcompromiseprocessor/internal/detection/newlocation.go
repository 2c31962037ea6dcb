package detection

import (
	"fmt"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var (
	RuleNewCountry = &Rule{
		ID:           CategoryRiskySignIn + "/new_country",
		Category:     CategoryRiskySignIn,
		Title:        "Sign-in from a country new for the user",
		Techniques:   []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts},
		Reference:    "https://learn.microsoft.com/entra/id-protection/concept-identity-protection-risks#unfamiliar-sign-in-properties",
		NeedsHistory: true,
	}
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
// has not used before, once enough history is learned. Alone it is weak
// (low severity); it feeds the chain detector, where it becomes decisive.
type NewLocation struct {
	policy *Policy
	opts   NewLocationOptions
}

func NewNewLocation(p *Policy, opts NewLocationOptions) *NewLocation {
	return &NewLocation{policy: p, opts: opts}
}

func (d *NewLocation) Rules() []*Rule { return []*Rule{RuleNewCountry, RuleNewASN} }

func (d *NewLocation) learned(h *state.SignInHistory, t time.Time) bool {
	return h.Successes > 0 && (int(h.Successes) >= d.opts.LearningSignIns || t.Sub(h.FirstSuccess.Time()) >= d.opts.LearningPeriod)
}

func (d *NewLocation) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if ev.User == nil || !successfulSignIn(r) || d.policy.IsTrustedNetwork(r.ClientIP) {
		return out
	}
	h := &ev.User.SignIns
	if !d.learned(h, r.Time) {
		return out
	}
	if c := r.Geo.CountryISO; state.CountryOf(c) != (state.Country{}) && state.Count(h.Countries, state.CountryOf(c)) == 0 {
		out = append(out, Finding{
			Rule:     RuleNewCountry,
			Severity: SeverityLow,
			Reason:   fmt.Sprintf("%s signed in from %s, a country not seen in %d earlier sign-ins (known: %s).", r.User, place(r.Geo.City, c, r.ClientAddress), h.Successes, knownValues(h.Countries)),
		})
	}
	if a := r.SignIn.ASN; a != 0 && len(h.ASNs) > 0 && state.Count(h.ASNs, a) == 0 {
		out = append(out, Finding{
			Rule:     RuleNewASN,
			Severity: SeverityLow,
			Reason:   fmt.Sprintf("%s signed in from %s in AS%d, a network not seen in %d earlier sign-ins.", r.User, r.ClientAddress, a, h.Successes),
		})
	}
	return out
}

// Learn adds every successful sign-in's country and ASN to the familiar sets.
func (d *NewLocation) Learn(ev *Event) {
	r := ev.Record
	if ev.User == nil || !successfulSignIn(r) {
		return
	}
	h := &ev.User.SignIns
	if at := state.At(r.Time); h.Successes == 0 || at < h.FirstSuccess {
		h.FirstSuccess = at
	}
	h.Successes++
	if c := state.CountryOf(r.Geo.CountryISO); c != (state.Country{}) {
		h.Countries = state.Observe(h.Countries, c, state.MaxCountries)
	}
	if r.SignIn.ASN != 0 {
		h.ASNs = state.Observe(h.ASNs, r.SignIn.ASN, state.MaxASNs)
	}
	if r.ClientIP.IsValid() {
		h.IPs = state.Observe(h.IPs, r.ClientIP, state.MaxIPs)
	}
}

func knownValues(list []state.Seen[state.Country]) string {
	s := ""
	for i, v := range list {
		if i > 0 {
			s += ", "
		}
		s += v.Value.String()
	}
	if s == "" {
		return "none"
	}
	return s
}
