package sigma

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxVariants bounds how many alternatives one rule value may expand into
// (windash permutations, base64 offsets, placeholder values), so that a rule
// cannot make loading or matching explode.
const maxVariants = 4096

// transform applies the transformation modifier name to every variant of a
// value. Placeholders holds the configured values of %name% placeholders.
func transform(name string, in []sigmaString, placeholders map[string][]string) ([]sigmaString, error) {
	var out []sigmaString
	for _, s := range in {
		var vs []sigmaString
		var err error
		switch name {
		case "windash":
			vs, err = windash(s)
		case "base64", "base64offset":
			vs, err = encodeBase64(s, name == "base64offset")
		case "utf16le", "wide":
			vs = []sigmaString{s.mapText(func(t string) string { return utf16Bytes(t, false, false) })}
		case "utf16be":
			vs = []sigmaString{s.mapText(func(t string) string { return utf16Bytes(t, true, false) })}
		case "utf16":
			vs = []sigmaString{utf16WithBOM(s)}
		case "expand":
			vs, err = expand(s, placeholders)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
		if len(out) > maxVariants {
			return nil, fmt.Errorf("%s expands a value into more than %d alternatives", name, maxVariants)
		}
	}
	return out, nil
}

// dashes are the characters windash makes interchangeable.
var dashes = []string{"-", "/", "–", "—", "―"}

// windash yields every spelling of s with each command-line flag dash (a
// dash at the start of a word: preceded by a non-word character or nothing,
// followed by a word character) written as any of the dashes.
func windash(s sigmaString) ([]sigmaString, error) {
	type slot struct{ part, at, width int }
	var slots []slot
	for pi, p := range s {
		if p.kind != partText {
			continue
		}
		prevWord := false
		for at, r := range p.text {
			width := utf8.RuneLen(r)
			next, _ := utf8.DecodeRuneInString(p.text[at+width:])
			if isDash(r) && !prevWord && at+width < len(p.text) && isWordRune(next) {
				slots = append(slots, slot{part: pi, at: at, width: width})
			}
			prevWord = isWordRune(r)
		}
	}
	variants := 1
	for range slots {
		if variants *= len(dashes); variants > maxVariants {
			return nil, fmt.Errorf("windash expands a value into more than %d alternatives", maxVariants)
		}
	}
	out := make([]sigmaString, 0, variants)
	for v := 0; v < variants; v++ {
		spelled := append(sigmaString(nil), s...)
		choice := v
		// Rewrite from the last slot back so earlier offsets stay valid.
		for i := len(slots) - 1; i >= 0; i-- {
			sl := slots[i]
			t := spelled[sl.part].text
			spelled[sl.part].text = t[:sl.at] + dashes[choice%len(dashes)] + t[sl.at+sl.width:]
			choice /= len(dashes)
		}
		out = append(out, spelled)
	}
	return out, nil
}

func isDash(r rune) bool {
	for _, d := range dashes {
		if string(r) == d {
			return true
		}
	}
	return false
}

func isWordRune(r rune) bool {
	return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
}

// encodeBase64 encodes a plain value. With offset it yields the three
// encodings of the value at each byte offset modulo three, trimmed of the
// characters that depend on the surrounding bytes, as pySigma does.
func encodeBase64(s sigmaString, offset bool) ([]sigmaString, error) {
	if s.hasWildcards() || s.has(partPlaceholder) {
		return nil, fmt.Errorf("base64 cannot encode a value with wildcards or placeholders")
	}
	plain := []byte(s.plain())
	if !offset {
		return []sigmaString{{{kind: partText, text: base64.StdEncoding.EncodeToString(plain)}}}, nil
	}
	starts := [3]int{0, 2, 3}
	ends := [3]int{0, 3, 2} // characters trimmed from the end, by (len+offset) % 3
	var out []sigmaString
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), plain...))
		end := len(enc) - ends[(len(plain)+i)%3]
		if starts[i] >= end {
			continue
		}
		out = append(out, sigmaString{{kind: partText, text: enc[starts[i]:end]}})
	}
	return out, nil
}

// utf16Bytes renders text as UTF-16 code units, as the bytes a Go string
// can hold.
func utf16Bytes(text string, bigEndian, bom bool) string {
	var b strings.Builder
	write := func(u uint16) {
		if bigEndian {
			b.WriteByte(byte(u >> 8))
			b.WriteByte(byte(u))
		} else {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
	}
	if bom {
		write(0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(text)) {
		write(u)
	}
	return b.String()
}

// utf16WithBOM is utf16le with the byte order mark before the first text.
func utf16WithBOM(s sigmaString) sigmaString {
	out := make(sigmaString, 0, len(s)+1)
	bom := true
	for _, p := range s {
		if p.kind == partText {
			p.text = utf16Bytes(p.text, false, bom)
			bom = false
		}
		out = append(out, p)
	}
	if bom {
		out = append(sigmaString{{kind: partText, text: utf16Bytes("", false, true)}}, out...)
	}
	return out
}

// expand replaces each %name% placeholder with each configured value; a
// value may hold wildcards. A placeholder nobody configured makes the rule
// unusable, which the specification says a tool must report.
func expand(s sigmaString, placeholders map[string][]string) ([]sigmaString, error) {
	out := []sigmaString{nil}
	for _, p := range s {
		if p.kind != partPlaceholder {
			for i := range out {
				out[i] = append(out[i], p)
			}
			continue
		}
		values, ok := placeholders[p.text]
		if !ok {
			return nil, fmt.Errorf("placeholder %%%s%% is not configured; set sigma.placeholders.%s to its values", p.text, p.text)
		}
		var grown []sigmaString
		for _, o := range out {
			for _, v := range values {
				grown = append(grown, append(append(sigmaString(nil), o...), parseSigmaString(v, false)...))
			}
		}
		if len(grown) > maxVariants {
			return nil, fmt.Errorf("placeholder %%%s%% expands into more than %d alternatives", p.text, maxVariants)
		}
		out = grown
	}
	return out, nil
}
