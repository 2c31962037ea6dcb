package detection

import (
	"fmt"
	"math"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// RuleImpossibleTravel is ImpossibleTravel's detection: two sign-ins of a
// user too far apart for the time between them. It needs history (the
// other sign-in).
var RuleImpossibleTravel = &Rule{
	ID:           CategoryImpossibleTravel + "/impossible_travel",
	Category:     CategoryImpossibleTravel,
	Title:        "Sign-ins from places too far apart to travel between",
	Techniques:   []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts},
	Reference:    "https://learn.microsoft.com/entra/id-protection/concept-identity-protection-risks#atypical-travel",
	NeedsHistory: true,
}

// ImpossibleTravelOptions tune the travel detector.
type ImpossibleTravelOptions struct {
	// MaxSpeedKmh is the fastest travel believed (an airliner's cruise
	// speed); it must be positive.
	MaxSpeedKmh float64
	// MinDistanceKm is the shortest distance judged: IP geolocation is
	// often off by hundreds of kilometres (an address placed at its
	// provider's hub), so closer pairs say nothing.
	MinDistanceKm float64
	// VPNASNs and MobileASNs are autonomous systems whose egress is far from
	// the user (VPN providers, mobile carriers routing through one hub).
	VPNASNs    []uint32
	MobileASNs []uint32
	// FamiliarSignIns is how many sign-ins from a place make it familiar.
	FamiliarSignIns int
}

// halfEarthKm is the longest great-circle distance: no pair of sign-ins
// further apart in time than it takes to cover at the maximum speed can be
// impossible, which bounds how long sign-ins are kept.
const halfEarthKm = math.Pi * earthRadiusKm

// ImpossibleTravel compares each successful interactive sign-in with the
// user's others before and after it in event time: when the great-circle
// distance over the time between them implies a speed no airliner makes,
// one of them is not the user. Every such pair is a detection (evidence:
// both sign-ins), found by whichever of the two arrives last. The
// legitimate-travel false positives are configuration: trusted networks
// (VPN egress), places familiar on both ends, the same device or session,
// VPN and mobile ASNs, shared mailboxes and service accounts, the same
// address. The end of a pair that is the user's own (a network or place
// known before) is not a stage of a compromise: the user's mail from home
// after the attacker's sign-in is not the attacker's.
type ImpossibleTravel struct {
	policy  *Policy
	opts    ImpossibleTravelOptions
	roaming map[uint32]string
}

// NewImpossibleTravel returns the detector; p's trusted networks, service
// accounts and shared mailboxes explain a pair or never fire.
func NewImpossibleTravel(p *Policy, opts ImpossibleTravelOptions) *ImpossibleTravel {
	d := &ImpossibleTravel{policy: p, opts: opts, roaming: map[uint32]string{}}
	for _, a := range opts.VPNASNs {
		d.roaming[a] = "VPN provider"
	}
	for _, a := range opts.MobileASNs {
		d.roaming[a] = "mobile carrier"
	}
	return d
}

// Rules returns RuleImpossibleTravel.
func (d *ImpossibleTravel) Rules() []*Rule { return []*Rule{RuleImpossibleTravel} }

// Reads asks for the sign-in history: the timeline the pairs are made of
// and the places and networks that make an end familiar.
func (d *ImpossibleTravel) Reads() History { return HistorySignIns }

// Horizon is the longest time between two sign-ins that can still be too
// short to travel between them.
func (d *ImpossibleTravel) Horizon() time.Duration {
	return time.Duration(halfEarthKm / d.opts.MaxSpeedKmh * float64(time.Hour))
}

// travelSignIn reports whether a timeline sign-in can be one end of a pair:
// failed and non-interactive sign-ins (token refreshes from wherever a
// server runs) never are.
func travelSignIn(s *state.SignIn) bool {
	return s.Kind == state.SignInSuccess && s.Interactive && s.HasGeo
}

// Detect fires, high, on every unexplained pair that the successful
// interactive sign-in ev makes with the user's others within Horizon,
// before or after it in event time.
func (d *ImpossibleTravel) Detect(ev *Event, out []Finding) []Finding {
	r, u := ev.Record, ev.User
	if u == nil || !successfulSignIn(r) || !r.SignIn.Interactive || !r.Geo.HasCoordinates ||
		d.policy.IsServiceAccount(r.User) || d.policy.IsSharedMailbox(r.User) {
		return out
	}
	recent := u.SignIns.Recent
	self := state.FindSignIn(recent, state.At(r.Time), ev.RecordID())
	if self < 0 {
		return out
	}
	horizon := state.Instant(d.Horizon())
	for i := range recent {
		other := &recent[i]
		if i == self || !travelSignIn(other) || absInstant(other.At-recent[self].At) > horizon {
			continue
		}
		a, b := other, &recent[self]
		if b.At < a.At || (b.At == a.At && i > self) {
			a, b = b, a
		}
		out = d.judgePair(ev, a, b, out)
	}
	return out
}

// judgePair fires on a pair (a before b) that no one could travel.
func (d *ImpossibleTravel) judgePair(ev *Event, a, b *state.SignIn, out []Finding) []Finding {
	km := DistanceKm(float64(a.Lat), float64(a.Lon), float64(b.Lat), float64(b.Lon))
	elapsed := b.At.Time().Sub(a.At.Time())
	speed := math.Inf(1)
	if elapsed > 0 {
		speed = km / elapsed.Hours()
	}
	if km < d.opts.MinDistanceKm || speed <= d.opts.MaxSpeedKmh || d.explained(ev, a, b) {
		return out
	}
	speedText := "at once"
	if !math.IsInf(speed, 1) {
		speedText = fmt.Sprintf("%.0f km/h", speed)
	}
	var anchors []state.Stage
	for _, end := range []*state.SignIn{a, b} {
		if !d.usersOwn(ev, end) {
			anchors = append(anchors, signInStage(end))
		}
	}
	if anchors == nil { // both ends known: which one is not the user cannot be told
		anchors = []state.Stage{signInStage(a), signInStage(b)}
	}
	return append(out, Finding{
		Rule:     RuleImpossibleTravel,
		Severity: SeverityHigh,
		Reason: fmt.Sprintf("%s signed in from %s at %s and from %s at %s: %.0f km apart in %s, %s (threshold %.0f km/h).",
			ev.Record.User, place(a.City.String(), countryText(a.Country), a.IP.String()), stamp(a.At.Time()),
			place(b.City.String(), countryText(b.Country), b.IP.String()), stamp(b.At.Time()), km, elapsed.Round(time.Second), speedText, d.opts.MaxSpeedKmh),
		Evidence: []Evidence{{ID: a.ID, At: a.At.Time()}, {ID: b.ID, At: b.At.Time()}},
		Anchors:  anchors,
	})
}

// explained reports whether something other than a second person accounts
// for the pair.
func (d *ImpossibleTravel) explained(ev *Event, a, b *state.SignIn) bool {
	switch {
	case a.IP.IsValid() && a.IP == b.IP:
		return true
	case d.policy.IsTrustedNetwork(a.IP.IP()), d.policy.IsTrustedNetwork(b.IP.IP()):
		return true
	case a.Device != 0 && a.Device == b.Device, a.Session != 0 && a.Session == b.Session:
		return true
	case d.roaming[a.ASN] != "", d.roaming[b.ASN] != "":
		return true
	}
	return d.familiar(ev, a) && d.familiar(ev, b)
}

// familiar reports whether the sign-in's place had been seen often enough
// before it, as the baseline stood at its time minus the allowed lateness.
func (d *ImpossibleTravel) familiar(ev *Event, s *state.SignIn) bool {
	settled := (s.At - state.Instant(ev.Lateness)).Sec()
	cell := state.CellOf(float64(s.Lat), float64(s.Lon))
	return state.SightingsBefore(ev.User.SignIns.Places, cell, settled) >= d.opts.FamiliarSignIns
}

// usersOwn reports whether one end of a pair is the user's own: a network
// or a place the user had signed in from before.
func (d *ImpossibleTravel) usersOwn(ev *Event, s *state.SignIn) bool {
	settled := (s.At - state.Instant(ev.Lateness)).Sec()
	return d.familiar(ev, s) || ev.User.SignIns.KnownBefore(state.NetworkKnown(s.IP.IP()), settled)
}

func absInstant(d state.Instant) state.Instant {
	if d < 0 {
		return -d
	}
	return d
}

func countryText(c state.Country) string {
	if c == (state.Country{}) {
		return ""
	}
	return c.String()
}

const earthRadiusKm = 6371.0

// DistanceKm is the great-circle (haversine) distance on a spherical Earth.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(math.Min(1, a)))
}
