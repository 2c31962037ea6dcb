package detection

import (
	"fmt"
	"math"
	"time"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

var RuleImpossibleTravel = &Rule{
	ID:           CategoryImpossibleTravel + "/impossible_travel",
	Category:     CategoryImpossibleTravel,
	Title:        "Consecutive sign-ins from places too far apart to travel between",
	Techniques:   []string{TechniqueEmailAccounts, TechniqueValidCloudAccounts},
	Reference:    "https://learn.microsoft.com/entra/id-protection/concept-identity-protection-risks#atypical-travel",
	NeedsHistory: true,
}

// ImpossibleTravelOptions tune the travel detector.
type ImpossibleTravelOptions struct {
	MaxSpeedKmh   float64
	MinDistanceKm float64
	// VPNASNs and MobileASNs are autonomous systems whose egress is far from
	// the user (VPN providers, mobile carriers routing through one hub).
	VPNASNs    []uint32
	MobileASNs []uint32
	// FamiliarSignIns is how many sign-ins from a place make it familiar.
	FamiliarSignIns uint32
}

// ImpossibleTravel compares each successful interactive sign-in with the
// user's previous one: when the great-circle distance over the elapsed time
// implies a speed no airliner makes, one of them is not the user. The
// legitimate-travel false positives are configuration: trusted networks
// (VPN egress), familiar places, the same device or session, VPN and mobile
// ASNs, shared mailboxes and service accounts, the same address.
type ImpossibleTravel struct {
	policy  *Policy
	opts    ImpossibleTravelOptions
	roaming map[uint32]string
}

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

func (d *ImpossibleTravel) Rules() []*Rule { return []*Rule{RuleImpossibleTravel} }

// travelSignIn reports whether r can start or end a travel pair: failed and
// non-interactive sign-ins (token refreshes from wherever a server runs)
// never do.
func travelSignIn(r *auditrecord.Record) bool {
	return successfulSignIn(r) && r.SignIn.Interactive && r.Geo.HasCoordinates
}

func (d *ImpossibleTravel) Detect(ev *Event, out []Finding) []Finding {
	r := ev.Record
	if ev.User == nil || !travelSignIn(r) {
		return out
	}
	last := &ev.User.SignIns.Last
	if last.Time.IsZero() || !last.HasGeo || state.At(r.Time) < last.Time {
		return out // nothing to compare with, or a late record: never a negative speed
	}
	if d.explained(r, last, &ev.User.SignIns) {
		return out
	}
	km := DistanceKm(last.Lat, last.Lon, r.Geo.Lat, r.Geo.Lon)
	elapsed := r.Time.Sub(last.Time.Time())
	hours := elapsed.Hours()
	speed := math.Inf(1)
	if hours > 0 {
		speed = km / hours
	}
	if km < d.opts.MinDistanceKm || speed <= d.opts.MaxSpeedKmh {
		return out
	}
	speedText := "at once"
	if !math.IsInf(speed, 1) {
		speedText = fmt.Sprintf("%.0f km/h", speed)
	}
	return append(out, Finding{
		Rule:     RuleImpossibleTravel,
		Severity: SeverityHigh,
		Reason: fmt.Sprintf("%s signed in from %s %s after %s: %.0f km apart, %s (threshold %.0f km/h).",
			r.User, place(r.Geo.City, r.Geo.CountryISO, r.ClientAddress), elapsed.Round(time.Second),
			place(last.City, last.Country, last.IP.String()), km, speedText, d.opts.MaxSpeedKmh),
	})
}

// explained reports whether something other than a second person accounts
// for the pair.
func (d *ImpossibleTravel) explained(r *auditrecord.Record, last *state.LastSignIn, h *state.SignInHistory) bool {
	switch {
	case d.policy.IsServiceAccount(r.User), d.policy.IsSharedMailbox(r.User):
		return true
	case r.ClientIP.IsValid() && r.ClientIP == last.IP:
		return true
	case d.policy.IsTrustedNetwork(r.ClientIP), d.policy.IsTrustedNetwork(last.IP):
		return true
	case r.SignIn.DeviceID != "" && r.SignIn.DeviceID == last.DeviceID,
		r.SessionID != "" && r.SessionID == last.SessionID:
		return true
	case d.roaming[r.SignIn.ASN] != "", d.roaming[last.ASN] != "":
		return true
	}
	familiar := func(lat, lon float64) bool {
		return state.Count(h.Places, state.CellOf(lat, lon)) >= d.opts.FamiliarSignIns
	}
	return familiar(r.Geo.Lat, r.Geo.Lon) && familiar(last.Lat, last.Lon)
}

// Learn makes this sign-in the last one (unless it is older) and counts its place.
func (d *ImpossibleTravel) Learn(ev *Event) {
	r := ev.Record
	if ev.User == nil || !travelSignIn(r) {
		return
	}
	h := &ev.User.SignIns
	h.Places = state.Observe(h.Places, state.CellOf(r.Geo.Lat, r.Geo.Lon), state.MaxPlaces)
	if state.At(r.Time) < h.Last.Time {
		return
	}
	prev := h.Last
	h.Last = state.LastSignIn{
		Time: state.At(r.Time), IP: r.ClientIP, HasGeo: true, Lat: r.Geo.Lat, Lon: r.Geo.Lon,
		Country: state.Keep(prev.Country, r.Geo.CountryISO), City: state.Keep(prev.City, r.Geo.City),
		ASN: r.SignIn.ASN, DeviceID: state.Keep(prev.DeviceID, r.SignIn.DeviceID),
		SessionID: state.Keep(prev.SessionID, r.SessionID),
	}
}

// DistanceKm is the great-circle (haversine) distance on a spherical Earth.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const earthRadiusKm = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(math.Min(1, a)))
}
