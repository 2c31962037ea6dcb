// Package asciifold compares and searches text ignoring the case of ASCII
// letters, without allocating and without the Unicode tables: vendor field
// names, operation names, client strings and Sigma's values are ASCII, and
// these comparisons run for every record.
package asciifold // import "github.com/otelsec/emailcompromise/internal/asciifold"

import "strings"

// Lower lowercases one ASCII letter; any other byte is returned as is.
func Lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// Equal reports whether a and b are equal, ignoring ASCII case.
func Equal(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && Lower(a[i]) != Lower(b[i]) {
			return false
		}
	}
	return true
}

// HasPrefix reports whether s starts with prefix, ignoring ASCII case.
func HasPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && Equal(s[:len(prefix)], prefix)
}

// HasSuffix reports whether s ends with suffix, ignoring ASCII case.
func HasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && Equal(s[len(s)-len(suffix):], suffix)
}

// EqualLower compares s, folding ASCII letters, with lower, an already
// lowercased needle of the same length.
func EqualLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if Lower(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

// ContainsLower reports whether lower, an already lowercased needle, occurs
// in s, ignoring ASCII case: the first byte, in either case, is searched
// with the vectorised strings.IndexByte, and only where it matches is the
// rest compared.
func ContainsLower(s, lower string) bool {
	if lower == "" {
		return true
	}
	first := lower[0]
	upper := first
	if 'a' <= first && first <= 'z' {
		upper = first - ('a' - 'A')
	}
	for len(s) >= len(lower) {
		i := indexEither(s[:len(s)-len(lower)+1], first, upper)
		if i < 0 {
			return false
		}
		if EqualLower(s[i+1:i+len(lower)], lower[1:]) {
			return true
		}
		s = s[i+1:]
	}
	return false
}

// indexEither returns the index of the first a or b in s, -1 if neither is.
func indexEither(s string, a, b byte) int {
	i := strings.IndexByte(s, a)
	if a == b {
		return i
	}
	if i >= 0 {
		s = s[:i]
	}
	if j := strings.IndexByte(s, b); j >= 0 {
		return j
	}
	return i
}

// Contains reports whether substr occurs in s, ignoring ASCII case.
func Contains(s, substr string) bool {
	if isLower(substr) {
		return ContainsLower(s, substr)
	}
	return ContainsLower(s, strings.ToLower(substr))
}

// ToLower lowercases s, returning s itself (no allocation) when it is
// already lowercase, the common case for addresses.
func ToLower(s string) string {
	if isLower(s) {
		return s
	}
	return strings.ToLower(s)
}

func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return false
		}
	}
	return true
}

// Set is a set of ASCII names matched ignoring case, without an allocation
// per lookup.
type Set map[string]struct{}

// NewSet makes the set of names.
func NewSet(names []string) Set {
	s := Set{}
	for _, n := range names {
		s[strings.ToLower(n)] = struct{}{}
	}
	return s
}

// Has reports whether name is in the set, ignoring ASCII case.
func (s Set) Has(name string) bool {
	var buf [64]byte
	if len(name) > len(buf) {
		_, ok := s[strings.ToLower(name)]
		return ok
	}
	for i := 0; i < len(name); i++ {
		buf[i] = Lower(name[i])
	}
	_, ok := s[string(buf[:len(name)])]
	return ok
}
