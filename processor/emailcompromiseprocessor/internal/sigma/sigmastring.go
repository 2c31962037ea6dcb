package sigma

import "strings"

type partKind uint8

const (
	partText        partKind = iota
	partStar                 // * : any run of characters
	partOne                  // ? : exactly one character
	partPlaceholder          // %name% under the expand modifier
)

type part struct {
	kind partKind
	// text is the literal text, or the placeholder's name.
	text string
}

// sigmaString is a rule value with its wildcards and placeholders told apart
// from literal text, so that transformations (base64, utf16, windash) act on
// the literal text only.
type sigmaString []part

// parseSigmaString reads a value per the specification's escaping rules: a
// backslash escapes *, ? and itself, and stays a plain backslash before any
// other character. Under expand, %name% is a placeholder and \% a percent.
func parseSigmaString(s string, expand bool) sigmaString {
	var out sigmaString
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, part{kind: partText, text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\' || (expand && s[i+1] == '%')):
			text.WriteByte(s[i+1])
			i++
		case c == '*' || c == '?':
			flush()
			kind := partStar
			if c == '?' {
				kind = partOne
			}
			out = append(out, part{kind: kind})
		case c == '%' && expand:
			end := strings.IndexByte(s[i+1:], '%')
			if end <= 0 {
				text.WriteByte(c)
				continue
			}
			flush()
			out = append(out, part{kind: partPlaceholder, text: s[i+1 : i+1+end]})
			i += end + 1
		default:
			text.WriteByte(c)
		}
	}
	flush()
	return out
}

func (s sigmaString) has(kind partKind) bool {
	for _, p := range s {
		if p.kind == kind {
			return true
		}
	}
	return false
}

func (s sigmaString) hasWildcards() bool { return s.has(partStar) || s.has(partOne) }

// plain returns the literal text of a value without wildcards or placeholders.
func (s sigmaString) plain() string {
	var b strings.Builder
	for _, p := range s {
		b.WriteString(p.text)
	}
	return b.String()
}

// wrap adds a leading and/or trailing * unless one is already there, which is
// what contains, startswith and endswith mean.
func (s sigmaString) wrap(leading, trailing bool) sigmaString {
	out := make(sigmaString, 0, len(s)+2)
	if leading && (len(s) == 0 || s[0].kind != partStar) {
		out = append(out, part{kind: partStar})
	}
	out = append(out, s...)
	if trailing && (len(out) == 0 || out[len(out)-1].kind != partStar) {
		out = append(out, part{kind: partStar})
	}
	return out
}

// mapText rewrites the literal text of s with f, keeping wildcards in place.
func (s sigmaString) mapText(f func(string) string) sigmaString {
	out := make(sigmaString, len(s))
	for i, p := range s {
		if p.kind == partText {
			p.text = f(p.text)
		}
		out[i] = p
	}
	return out
}
