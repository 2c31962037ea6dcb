package state

import (
	"encoding/hex"
	"hash/fnv"
	"strings"
)

// RecordID is a vendor record's id (audit.record.id) as state keeps it for
// evidence: a lower-case canonical GUID, as Office 365 and Microsoft Graph
// write their ids, in 16 bytes without an allocation; any other id as text.
type RecordID struct {
	GUID [16]byte
	// Text is the id when it is not a canonical lower-case GUID; "" with a
	// zero GUID means the record had no id.
	Text string
}

// IDOf converts an id; the text is copied so that state never pins the
// record it was read from.
func IDOf(s string) RecordID {
	var id RecordID
	if parseGUID(s, &id.GUID) {
		return id
	}
	id.Text = strings.Clone(s)
	return id
}

// IsZero reports whether the record had no id.
func (id RecordID) IsZero() bool { return id.Text == "" && id.GUID == [16]byte{} }

// String returns the id as the vendor wrote it.
func (id RecordID) String() string {
	if id.Text != "" || id.GUID == [16]byte{} {
		return id.Text
	}
	var b [36]byte
	hex.Encode(b[0:8], id.GUID[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id.GUID[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id.GUID[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id.GUID[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], id.GUID[10:16])
	return string(b[:])
}

// Equal compares an id with a record's id text without converting it.
func (id RecordID) Equal(s string) bool {
	if id.Text != "" || id.GUID == [16]byte{} {
		return id.Text == s
	}
	var g [16]byte
	return parseGUID(s, &g) && g == id.GUID
}

// Hash is a stable 64-bit hash of the id (FNV-1a of its text), for keys
// that are snapshotted.
func (id RecordID) Hash() uint64 { return HashString(id.String()) }

// HashString is FNV-1a of s: stable across restarts, unlike maphash.
func HashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// parseGUID reads "8-4-4-4-12" lower-case hex digits; the all-zero GUID is
// refused so that it stays the "no id" value.
func parseGUID(s string, out *[16]byte) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	var g [16]byte
	j := 0
	for i := 0; i < len(s); {
		if s[i] == '-' { // the dashes are where they belong: checked above
			i++
			continue
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return false
		}
		g[j] = hi<<4 | lo
		i, j = i+2, j+1
	}
	if g == [16]byte{} {
		return false
	}
	*out = g
	return true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
