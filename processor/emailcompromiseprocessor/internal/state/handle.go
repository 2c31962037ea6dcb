package state

import (
	"net/netip"
	"unique"
)

// Text is a string held in state as an 8-byte handle to one shared copy,
// for the values that repeat across users and records (cities, client
// strings): a handle neither pins the record it was read from nor costs a
// copy per use. Values that do not repeat are cheaper as plain copies.
type Text struct{ h unique.Handle[string] }

// TextOf makes the handle of s ("" gives the zero Text).
func TextOf(s string) Text {
	if s == "" {
		return Text{}
	}
	return Text{unique.Make(s)}
}

// String returns the text.
func (t Text) String() string {
	if t == (Text{}) {
		return ""
	}
	return t.h.Value()
}

// MarshalBinary and UnmarshalBinary let the snapshot hold the text itself.
func (t Text) MarshalBinary() ([]byte, error) { return []byte(t.String()), nil }

func (t *Text) UnmarshalBinary(b []byte) error {
	*t = TextOf(string(b))
	return nil
}

// Addr is an IP address in 16 bytes (netip.Addr takes 24): IPv4 as its
// IPv4-mapped IPv6 form. The zero Addr is no address.
type Addr struct{ b [16]byte }

// AddrOf converts ip (an invalid address gives the zero Addr).
func AddrOf(ip netip.Addr) Addr {
	if !ip.IsValid() {
		return Addr{}
	}
	return Addr{ip.As16()}
}

// IP returns the address (invalid for the zero Addr).
func (a Addr) IP() netip.Addr {
	if a == (Addr{}) {
		return netip.Addr{}
	}
	return netip.AddrFrom16(a.b).Unmap()
}

// IsValid reports whether an address is held.
func (a Addr) IsValid() bool { return a != (Addr{}) }

func (a Addr) String() string {
	if !a.IsValid() {
		return ""
	}
	return a.IP().String()
}

// MarshalBinary and UnmarshalBinary let the snapshot hold the address.
func (a Addr) MarshalBinary() ([]byte, error) { return a.b[:], nil }

func (a *Addr) UnmarshalBinary(b []byte) error {
	copy(a.b[:], b)
	return nil
}

// Hash32 is a 4-byte stable hash of a vendor identifier (a device or session
// id), 0 for none: enough to tell one user's few devices and sessions apart.
func Hash32(s string) uint32 {
	if s == "" {
		return 0
	}
	h := HashString(s)
	return uint32(h ^ h>>32)
}
