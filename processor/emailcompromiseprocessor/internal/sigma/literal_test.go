package sigma

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refFold is the text as the prefilter must see it, written independently
// of foldRune: each rune (an invalid byte reads as U+FFFD, as utf8 decodes
// it) becomes its unicode.ToLower when that is ASCII, and otherwise a byte
// no literal holds.
func refFold(s string) string {
	var b strings.Builder
	for _, r := range s {
		if l := unicode.ToLower(r); l < 0x80 {
			b.WriteByte(byte(l))
		} else {
			b.WriteByte(0x80)
		}
	}
	return b.String()
}

// fuzzLiterals splits the fuzzer's bytes into literals as the prefilter
// hands them over: ASCII, folded, non-empty (duplicates allowed).
func fuzzLiterals(data string) []string {
	var out []string
	for _, part := range strings.Split(data, "\xff") {
		var b strings.Builder
		for i := 0; i < len(part) && b.Len() < 24; i++ {
			if c := part[i]; c < 0x80 {
				b.WriteByte(byte(unicode.ToLower(rune(c))))
			}
		}
		if b.Len() > 0 {
			out = append(out, b.String())
		}
		if len(out) == 64 {
			break
		}
	}
	return out
}

// FuzzLitMatcher compares litMatcher with strings.Contains on the folded
// text, literal by literal: the ids it reports are exactly those of the
// literals that occur, each once per generation; scanASCII agrees with scan
// on ASCII text.
//
//	go test -run '^$' -fuzz FuzzLitMatcher ./processor/emailcompromiseprocessor/internal/sigma/
func FuzzLitMatcher(f *testing.F) {
	f.Add("delete\xffnew-inboxrule\xffinbox", "Set-InboxRule New-INBOXRULE SoftDelete")
	f.Add("he\xffshe\xffhis\xffhers", "ushers")
	f.Add("a\xffaa\xffaaa\xffa", "aaaa")
	f.Add("abcd\xffbc\xffc\xffbcx", "xabcx")
	f.Add("kelvin\xffistanbul", "\u212aELV\u0130N \u0130STANBUL") // Kelvin sign and dotted capital I fold to ASCII
	f.Add("caf\xff\xc3\xa9", "CAF\xc3\x89 caf\xe9 \xff\xfe")      // invalid UTF-8, non-ASCII literal bytes dropped
	f.Add("\x00a\x00\xff-e \xff/e ", "p\x00A\x00 -E /e")
	f.Add("1.5\xff-0\xff12", "-0.125")
	f.Add("~\xff\x7f", "~\x7f")
	f.Fuzz(func(t *testing.T, lits, text string) {
		literals := fuzzLiterals(lits)
		if len(literals) == 0 {
			return
		}
		ids := make([]int32, len(literals))
		for i := range ids {
			ids[i] = int32(len(literals) - 1 - i) // ids need not follow positions
		}
		m := newLitMatcher(literals, ids)
		seen := make([]uint32, len(literals))
		folded := refFold(text)
		want := map[int32]bool{}
		for i, l := range literals {
			if strings.Contains(folded, l) {
				want[ids[i]] = true
			}
		}
		found := m.scan(text, seen, 1, nil)
		got := map[int32]bool{}
		for _, id := range found {
			require.False(t, got[id], "literal %d reported twice", id)
			got[id] = true
		}
		require.Equal(t, want, got, "literals %q in %q (folded %q)", literals, text, folded)
		// The same generation reports nothing again; the next one does.
		require.Empty(t, m.scan(text, seen, 1, nil))
		require.Len(t, m.scan(text, seen, 2, nil), len(found))
		if isASCII(text) {
			again := m.scanASCII([]byte(text), seen, 3, nil)
			require.ElementsMatch(t, found, again)
		}
	})
}

// FuzzLiteralImplied checks literalOf's promise, the prefilter's soundness
// at its root: whenever a value compiled with any wildcard, wrap and cased
// combination (or as a regular expression, with or without i) matches a
// text, its literal occurs in the text as the prefilter scans it.
//
//	go test -run '^$' -fuzz FuzzLiteralImplied ./processor/emailcompromiseprocessor/internal/sigma/
func FuzzLiteralImplied(f *testing.F) {
	f.Add("New-InboxRule", uint8(0), "new-inboxrule")
	f.Add("*inbox?ule*", uint8(0), "XX-INBOX-RULE")
	f.Add("k\u212a*\u0130", uint8(1), "KK-i")
	f.Add("\u212aelvin", uint8(0), "kELVIN")
	f.Add("caf\u00e9", uint8(2), "CAF\u00c9 au lait")
	f.Add("Caf\u00e9", uint8(4|2), "a Caf\u00e9")
	f.Add(`\*lit\?eral\\`, uint8(1), "*LIT?ERAL\\")
	f.Add("1.5", uint8(0), "1.5")
	f.Add("abc(?i)def", uint8(8), "abcDEF")
	f.Add("(?i)abc", uint8(8), "ABC")
	f.Add("admin", uint8(8|16), "ADMIN")
	f.Add("12", uint8(0), "12.0")
	f.Add("12", uint8(1), "-120")
	f.Fuzz(func(t *testing.T, value string, mode uint8, text string) {
		if len(value) > 64 || len(text) > 256 {
			return // longer says nothing more, and large regular expressions compile slowly
		}
		var n needle
		if mode&8 != 0 {
			flags := ""
			if mode&16 != 0 {
				flags = "(?i)"
			}
			re, err := regexp.Compile(flags + value)
			if err != nil {
				return
			}
			n = regexNeedle{re: re}
		} else {
			wrap := [4][2]bool{{false, false}, {true, true}, {true, false}, {false, true}}[mode&3]
			sm := compileString(parseSigmaString(value, false).wrap(wrap[0], wrap[1]), mode&4 != 0)
			n = &sm
		}
		lit, ok := literalOf(n)
		if !ok {
			return
		}
		require.True(t, isASCII(lit) && lit == strings.ToLower(lit), "literal %q", lit)
		m := newLitMatcher([]string{lit}, []int32{0})
		// The text as a string, and as a number when it reads as one (a
		// number equal to an exact value matches it numerically).
		values := []scalar{stringScalar(text)}
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			values = append(values, scalar{kind: scalarInt, i: i, num: float64(i)})
		}
		if x, err := strconv.ParseFloat(text, 64); err == nil {
			values = append(values, scalar{kind: scalarFloat, num: x})
		}
		for gen, v := range values {
			if !n.matches(nil, v) {
				continue
			}
			seen := make([]uint32, 1)
			var found []int32
			if v.kind == scalarString {
				found = m.scan(v.str, seen, uint32(gen+1), nil)
			} else {
				found = m.scanASCII(v.appendText(nil), seen, uint32(gen+1), nil)
			}
			assert.Equal(t, []int32{0}, found, "%q (mode %d) matches %q (kind %d) but its literal %q is not found", value, mode, v.text(), v.kind, lit)
		}
	})
}
