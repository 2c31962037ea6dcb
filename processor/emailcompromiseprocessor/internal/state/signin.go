package state

import (
	"net/netip"
)

// Caps on what one user's sign-in history may hold. A user signing in from
// a hundred countries keeps the most recently seen few; the rest are
// forgotten.
const (
	// MaxKnown bounds the countries, and apart the ASNs and the networks.
	MaxKnown  = 8
	MaxPlaces = 8
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
	// Known are the countries, autonomous systems and networks signed in
	// from, in one list (one allocation for what most users have one or
	// two of each).
	Known  []Sighting[Known]
	Places []Place
	Recent []SignIn
	// Uses are the recent successes and mailbox operations that carry a
	// session or token: what a session replay is made of.
	Uses []SessionUse
}

// MaxSessionUses bounds the session uses kept.
const MaxSessionUses = 32

// SessionUse is one record that used a session or token, and from where.
type SessionUse struct {
	At             Instant
	ID             RecordID
	Session, Token uint32
	ASN            uint32
	Country        Country
	Interactive    bool
	IP             Addr
}

func (s SessionUse) when() Instant { return s.At }
func (s SessionUse) id() RecordID  { return s.ID }

// ForgetUsesBefore drops session uses older than cutoff.
func (h *SignInHistory) ForgetUsesBefore(cutoff Instant) { h.Uses = dropBefore(h.Uses, cutoff) }

// AddUse keeps a session use, once per record; it reports whether u is new.
func (h *SignInHistory) AddUse(u SessionUse) bool {
	var i int
	h.Uses, i = insert(h.Uses, u, MaxSessionUses)
	return i >= 0
}

// Known is a value of a user's baseline, with its kind in the top byte.
type Known uint64

// Kinds of known values.
const (
	KnownCountry Known = iota + 1
	KnownASN
	// KnownNetwork is an address block (/24, /48), hashed.
	KnownNetwork
	// KnownFlow is an authentication flow the user signed in with (see
	// FlowDeviceCode).
	KnownFlow
	// KnownApp is a client application that accessed the user's mail,
	// hashed.
	KnownApp
)

// FlowDeviceCode is the device code flow, as a KnownFlow value.
const FlowDeviceCode Known = KnownFlow<<knownKindShift | 1

// AppKnown makes the known value of a client application id's hash.
func AppKnown(hash uint32) Known { return KnownApp<<knownKindShift | Known(hash) }

const knownKindShift = 56

// Kind returns the kind of a known value.
func (k Known) Kind() Known { return k >> knownKindShift }

// CountryKnown is the known value of a country.
func CountryKnown(c Country) Known {
	return KnownCountry<<knownKindShift | Known(c[0])<<8 | Known(c[1])
}

// ASNKnown is the known value of an autonomous system.
func ASNKnown(a uint32) Known { return KnownASN<<knownKindShift | Known(a) }

// NetworkKnown is the known value of the network ip is in (see NetworkOf).
func NetworkKnown(ip netip.Addr) Known {
	return KnownNetwork<<knownKindShift | Known(NetworkOf(ip)&(1<<knownKindShift-1))
}

// Country is the country of a KnownCountry value.
func (k Known) Country() Country { return Country{byte(k >> 8), byte(k)} }

// Sight records a known value seen at t, keeping at most MaxKnown of its kind.
func (h *SignInHistory) Sight(k Known, t Sec) {
	h.Known = sightOfKind(h.Known, k, t, MaxKnown)
}

// KnownBefore reports whether k was first seen before t.
func (h *SignInHistory) KnownBefore(k Known, t Sec) bool { return KnownBefore(h.Known, k, t) }

// AnyBefore reports whether a value of a kind was first seen before t.
func (h *SignInHistory) AnyBefore(kind Known, t Sec) bool {
	for _, s := range h.Known {
		if s.Value.Kind() == kind && s.First < t {
			return true
		}
	}
	return false
}

// KindBefore lists the values of a kind first seen before t.
func (h *SignInHistory) KindBefore(kind Known, t Sec) []Known {
	var out []Known
	for _, s := range h.Known {
		if s.Value.Kind() == kind && s.First < t {
			out = append(out, s.Value)
		}
	}
	return out
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
	// Interactive: a person signed in. Password: a password was checked
	// (interactive, legacy protocol or ROPC). Token refreshes, neither, are
	// not kept.
	Interactive, Password bool
	HasGeo                bool
	// Lockout: the failure was a smart-lockout refusal (Entra 50053).
	// (Beside the other flags: the struct's padding holds it.)
	Lockout  bool
	Country  Country
	Lat, Lon float32
	ASN      uint32
	IP       Addr
	// Device, Session and Token are hashes of the vendor's device, session
	// and token ids.
	Device, Session, Token uint32
	City                   Text
}

func (s SignIn) when() Instant { return s.At }
func (s SignIn) id() RecordID  { return s.ID }

// AddSignIn puts s in the timeline, once per record id; it reports whether
// s is new.
func (h *SignInHistory) AddSignIn(s SignIn) bool {
	var i int
	h.Recent, i = insert(h.Recent, s, MaxRecentSignIns)
	return i >= 0
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
	ip = ip.Unmap()
	b := ip.As16()
	n := 6 // the /48 of an IPv6 address
	if ip.Is4() {
		n = 15 // the /24 of an IPv4 address, after the v4-mapped prefix
	}
	// FNV-1a over the prefix's bytes and its length, without an allocation.
	h := uint64(14695981039346656037)
	for _, c := range b[:n] {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return (h ^ uint64(n)) * 1099511628211
}
