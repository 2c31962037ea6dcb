package state

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"unique"
)

// RecordID is a vendor record's id (audit.record.id) as state keeps it for
// evidence, in 24 bytes: a lower-case canonical GUID (as Office 365 and
// Microsoft Graph write their ids) or a decimal number (Google's
// uniqueQualifier) in 16 bytes without an allocation, any other id as a copy
// of its text.
type RecordID struct {
	guid [16]byte
	// text is the id when it is neither (interned, so that equal ids compare
	// equal); decimal marks a number held in the first 8 bytes of guid. The
	// zero handle with a zero guid: the record had no id.
	text unique.Handle[string]
}

// decimal marks a RecordID holding a decimal number.
var decimal = unique.Make("\x00decimal")

// IDOf converts an id.
func IDOf(s string) RecordID {
	var id RecordID
	switch {
	case parseGUID(s, &id.guid):
	case isDecimal(s):
		n, _ := strconv.ParseInt(s, 10, 64)
		binary.LittleEndian.PutUint64(id.guid[:8], uint64(n))
		id.text = decimal
	case s != "":
		id.text = unique.Make(s)
	}
	return id
}

// isDecimal reports whether s is an int64 written the canonical way.
func isDecimal(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && strconv.FormatInt(n, 10) == s
}

// IsZero reports whether the record had no id.
func (id RecordID) IsZero() bool {
	return id.text == (unique.Handle[string]{}) && id.guid == [16]byte{}
}

// String returns the id as the vendor wrote it.
func (id RecordID) String() string {
	switch {
	case id.text == decimal:
		return strconv.FormatInt(int64(binary.LittleEndian.Uint64(id.guid[:8])), 10)
	case id.text != (unique.Handle[string]{}):
		return id.text.Value()
	case id.guid == [16]byte{}:
		return ""
	}
	var b [36]byte
	hex.Encode(b[0:8], id.guid[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id.guid[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id.guid[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id.guid[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], id.guid[10:16])
	return string(b[:])
}

// MarshalBinary and UnmarshalBinary let the snapshot hold the id's text.
func (id RecordID) MarshalBinary() ([]byte, error) { return []byte(id.String()), nil }

func (id *RecordID) UnmarshalBinary(b []byte) error {
	*id = IDOf(string(b))
	return nil
}

// Hash is a stable 64-bit hash of the id (FNV-1a of its text), for keys
// that are snapshotted.
func (id RecordID) Hash() uint64 { return HashString(id.String()) }

// HashString is FNV-1a of s: stable across restarts, unlike maphash. It is
// written out, not hash/fnv, so that hashing a string allocates nothing.
func HashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
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
		hi, lo := hexValue[s[i]], hexValue[s[i+1]]
		if hi|lo > 0xf {
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

// hexValue maps a lower-case hex digit to its value and any other byte to
// 0xff: one load per digit on the path every record takes.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
	}
	return t
}()
