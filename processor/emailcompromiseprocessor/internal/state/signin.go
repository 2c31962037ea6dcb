package state

import (
	"net/netip"
	"strings"
)

// Caps on what one user's sign-in history may hold. A user signing in from
// a hundred countries keeps the most recently seen few; the rest are
// forgotten.
const (
	MaxCountries = 8
	MaxASNs      = 8
	MaxPlaces    = 8
	MaxNetworks  = 8
	// MaxRecentSignIns bounds the sign-in timeline (interactive successes,
	// failures and MFA prompts of the last hours).
	MaxRecentSignIns = 48
)

// SignInHistory is what the sign-in detectors learn about one user: a
// baseline with the event times of its sightings, and a timeline of the
// recent sign-ins that patterns (travel pairs, bursts) are made of.
type SignInHistory struct {
	// Successes are the earliest successful sign-ins: the learning period.
	Successes Earliest
	Countries []Sighting[Country]
	ASNs      []Sighting[uint32]
	// Networks are the address blocks (/24, /48) signed in from, hashed.
	Networks []Sighting[uint64]
	Places   []Place
	Recent   []SignIn
}

// Country is an ISO 3166-1 alpha-2 code, held without a string header or
// allocation.
type Country [2]byte

// CountryOf converts a code ("DE"); anything else yields the zero Country.
func CountryOf(code string) Country {
	if len(code) != 2 {
		return Country{}
	}
	return Country{code[0], code[1]}
}

func (c Country) String() string { return string(c[:]) }

// SignInKind says what a sign-in in the timeline was.
type SignInKind uint8

const (
	SignInSuccess SignInKind = iota + 1
	// SignInFailure is a failure on the credentials.
	SignInFailure
	// SignInMFAPrompt is an MFA denial or a repeated MFA prompt.
	SignInMFAPrompt
)

// SignIn is one sign-in of the timeline, reduced to what patterns need.
type SignIn struct {
	At   Instant
	ID   RecordID
	Kind SignInKind
	// Interactive: a person signed in (token refreshes are not kept).
	Interactive bool
	HasGeo      bool
	Country     Country
	Lat, Lon    float32
	ASN         uint32
	IP          netip.Addr
	// Device and Session are hashes of the vendor's device and session ids.
	Device, Session uint64
	City            string
}

func (s SignIn) when() Instant { return s.At }
func (s SignIn) id() RecordID  { return s.ID }

// AddSignIn puts s in the timeline, once per record id (its city copied,
// so that state does not pin the record); it reports whether s is new.
func (h *SignInHistory) AddSignIn(s SignIn) bool {
	var i int
	if h.Recent, i = insert(h.Recent, s, MaxRecentSignIns); i < 0 {
		return false
	}
	h.Recent[i].City = strings.Clone(s.City)
	return true
}

// ForgetSignInsBefore drops timeline entries older than cutoff.
func (h *SignInHistory) ForgetSignInsBefore(cutoff Instant) {
	h.Recent = dropBefore(h.Recent, cutoff)
}

// NetworkOf hashes the block an address belongs to: its /24 (IPv4) or /48
// (IPv6), where a home router's or a phone's changing address stays.
func NetworkOf(ip netip.Addr) uint64 {
	if !ip.IsValid() {
		return 0
	}
	bits := 48
	if ip.Unmap().Is4() {
		ip, bits = ip.Unmap(), 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return 0
	}
	return HashString(p.String())
}

// Keep returns a string safe to hold in long-lived state: old when equal
// (no allocation on the common path), else a copy of s, so that state never
// pins the memory of the record s was read from.
func Keep(old, s string) string {
	if old == s {
		return old
	}
	return strings.Clone(s)
}
