package state

import (
	"hash/maphash"
	"net/netip"
	"strings"
	"sync/atomic"
)

// Text is a string held in state as an 8-byte pointer to a shared copy,
// for the values that repeat across users and records (cities, client
// strings): a Text neither pins the record it was read from nor costs a
// copy per use while its value is among the recently made ones. Values
// that do not repeat are cheaper as plain copies. Texts cannot be compared:
// two Texts of one value may hold different copies.
//
// The copies are shared through a table of recent values, not through
// package unique: unique.Make reads its table through weak pointers, and
// Go parks a goroutine converting a weak pointer from the moment the
// collector first tries to end a mark phase until the phase has ended,
// the whole rest of the phase when that first try finds more to mark; with
// the state of 200,000 users processing stopped for it, the longest pauses
// of BenchmarkSnapshotPause (bench/PROFILING.md).
type Text struct {
	_ [0]func() // not comparable; first, so that it takes no room
	p *string
}

// TextOf returns the Text of s ("" gives the zero Text).
func TextOf(s string) Text {
	if s == "" {
		return Text{}
	}
	slot := &recentTexts[maphash.String(textSeed, s)&uint64(len(recentTexts)-1)]
	if p := slot.Load(); p != nil && *p == s {
		return Text{p: p}
	}
	p := new(string)
	*p = strings.Clone(s)
	slot.Store(p)
	return Text{p: p}
}

// recentTexts holds the copy last made of each value, one per slot of its
// hash: a value that is not overwritten by another is shared by all who
// keep it. The table pins at most its length of values, each at most what
// the callers keep (names are cut to a few hundred bytes).
var (
	recentTexts [1 << 14]atomic.Pointer[string]
	textSeed    = maphash.MakeSeed()
)

// String returns the text.
func (t Text) String() string {
	if t.p == nil {
		return ""
	}
	return *t.p
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
