package sigma

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"strings"
	"unicode"
	"unicode/utf8"
)

type strOp uint8

const (
	opExact strOp = iota
	opPrefix
	opSuffix
	opContains
	opGlob
)

// strMatcher is one value compiled for matching. The common shapes (exact,
// prefix, suffix, contains) of ASCII values compare byte by byte with the
// needle lowercased once at load, which allocates nothing per record; every
// other shape goes through the general wildcard matcher.
type strMatcher struct {
	op    strOp
	cased bool
	// text is the needle without its outer wildcards, lowercased unless cased.
	text string
	// num is the needle as a number, when it is one (exact only).
	num   float64
	isNum bool
	glob  globPattern
}

func compileString(s sigmaString, cased bool) strMatcher {
	m := strMatcher{cased: cased}
	leading := len(s) > 0 && s[0].kind == partStar
	trailing := len(s) > 1 && s[len(s)-1].kind == partStar
	inner := s
	if leading {
		inner = inner[1:]
	}
	if trailing {
		inner = inner[:len(inner)-1]
	}
	text := inner.plain()
	simple := !inner.hasWildcards() && (cased || isASCII(text))
	switch {
	case !simple:
		m.op, m.glob = opGlob, compileGlob(s, cased)
		return m
	case leading && trailing:
		m.op = opContains
	case leading:
		m.op = opSuffix
	case trailing:
		m.op = opPrefix
	default:
		m.op = opExact
		m.num, m.isNum = canonicalNumber(text)
	}
	if !cased {
		text = strings.ToLower(text)
	}
	m.text = text
	return m
}

func (m *strMatcher) match(v scalar) bool {
	switch v.kind {
	case scalarNull:
		return false
	case scalarInt, scalarFloat:
		if m.op == opExact && m.isNum {
			return v.num == m.num
		}
		return m.matchText(v.text())
	}
	return m.matchText(v.str)
}

func (m *strMatcher) matchText(s string) bool {
	if m.cased {
		switch m.op {
		case opExact:
			return s == m.text
		case opPrefix:
			return strings.HasPrefix(s, m.text)
		case opSuffix:
			return strings.HasSuffix(s, m.text)
		case opContains:
			return strings.Contains(s, m.text)
		}
		return m.glob.match(s)
	}
	switch m.op {
	case opExact:
		return len(s) == len(m.text) && asciifold.EqualLower(s, m.text)
	case opPrefix:
		return len(s) >= len(m.text) && asciifold.EqualLower(s[:len(m.text)], m.text)
	case opSuffix:
		return len(s) >= len(m.text) && asciifold.EqualLower(s[len(s)-len(m.text):], m.text)
	case opContains:
		return asciifold.ContainsLower(s, m.text)
	}
	return m.glob.match(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// globPattern is a value with wildcards anywhere: the runs of characters
// between stars, each of fixed length (? is one character), matched leftmost
// first, which is exact for this pattern language.
type globPattern struct {
	segs              [][]globRune
	leading, trailing bool
	cased             bool
}

type globRune struct {
	r   rune
	any bool
}

func compileGlob(s sigmaString, cased bool) globPattern {
	g := globPattern{cased: cased}
	var seg []globRune
	for i, p := range s {
		switch p.kind {
		case partStar:
			if i == 0 {
				g.leading = true
			}
			if len(seg) > 0 {
				g.segs = append(g.segs, seg)
				seg = nil
			}
		case partOne:
			seg = append(seg, globRune{any: true})
		default:
			for _, r := range p.text {
				if !cased {
					r = unicode.ToLower(r)
				}
				seg = append(seg, globRune{r: r})
			}
		}
	}
	if len(seg) > 0 {
		g.segs = append(g.segs, seg)
	} else if len(s) > 0 && s[len(s)-1].kind == partStar {
		g.trailing = true
	}
	return g
}

func (g *globPattern) match(s string) bool {
	segs, pos := g.segs, 0
	if len(segs) == 0 {
		return g.leading || g.trailing || s == ""
	}
	if !g.leading {
		end, ok := g.matchAt(s, 0, segs[0])
		if !ok {
			return false
		}
		if len(segs) == 1 {
			return g.trailing || end == len(s)
		}
		pos, segs = end, segs[1:]
	}
	last := len(segs)
	if !g.trailing {
		last--
	}
	for _, seg := range segs[:last] {
		end, ok := g.find(s, pos, seg)
		if !ok {
			return false
		}
		pos = end
	}
	if g.trailing {
		return true
	}
	seg := segs[last]
	start := len(s)
	for range seg {
		if start <= pos {
			return false
		}
		_, w := utf8.DecodeLastRuneInString(s[:start])
		start -= w
	}
	end, ok := g.matchAt(s, start, seg)
	return ok && end == len(s)
}

func (g *globPattern) matchAt(s string, i int, seg []globRune) (int, bool) {
	for _, want := range seg {
		if i >= len(s) {
			return 0, false
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if !want.any && r != want.r && (g.cased || unicode.ToLower(r) != want.r) {
			return 0, false
		}
		i += w
	}
	return i, true
}

func (g *globPattern) find(s string, from int, seg []globRune) (int, bool) {
	for i := from; i <= len(s); {
		if end, ok := g.matchAt(s, i, seg); ok {
			return end, true
		}
		if i == len(s) {
			break
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return 0, false
}
