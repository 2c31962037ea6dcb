package sigma

import (
	"unicode"
	"unicode/utf8"

	"github.com/otelsec/emailcompromise/internal/asciifold"
)

// litMatcher finds, in one pass over a value, which of a set of ASCII
// literals occur in it: an Aho-Corasick automaton compiled into a DFA over
// byte classes. The text is folded as the matchers fold it (see foldRune),
// so a literal occurs in the folded text whenever a string matcher that
// needs it matches; the literals themselves are folded already.
//
// No served module fits: the Go module proxy's Aho-Corasick (coregx) has no
// case folding and reports overlapping matches only into a new slice per
// call, and the prefilter needs every literal that occurs, folded, without
// allocating.
type litMatcher struct {
	// class maps a byte to its class: 0 for bytes no literal holds (and
	// every byte of 0x80 and above), one class per byte literals hold, an
	// upper-case ASCII letter sharing its lower case's.
	class  [utf8.RuneSelf]uint8
	stride int32
	// next is the DFA: next[s+class] is the state after s on the class,
	// states numbered premultiplied by stride. A state with literals ending
	// at it is stored complemented (negative).
	next []int32
	// outAt[s/stride] .. outAt[s/stride+1] index, in outs, the literal ids
	// ending at state s, suffixes included.
	outAt []int32
	outs  []int32
}

// foldRune is how the prefilter folds text: ASCII letters to lower case,
// and the few other runes whose lower case is ASCII (Kelvin sign, dotted
// capital I) to that lower case, since the wildcard matcher compares
// unicode.ToLower of each rune. ok is false for every other non-ASCII rune,
// which no literal holds.
func foldRune(r rune) (b byte, ok bool) {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return byte(r), true
	}
	if l := unicode.ToLower(r); l < utf8.RuneSelf {
		return byte(l), true
	}
	return 0, false
}

// newLitMatcher compiles literals (non-empty, ASCII) whose ids are ids[i].
// Folded ASCII literals hold at most 102 distinct bytes (128 less the
// upper-case letters), so the classes, with 0 for all others, fit a byte.
func newLitMatcher(literals []string, ids []int32) *litMatcher {
	m := &litMatcher{stride: 1}
	for _, lit := range literals {
		for i := 0; i < len(lit); i++ {
			if b := asciifold.Lower(lit[i]); m.class[b] == 0 {
				m.class[b] = uint8(m.stride)
				m.stride++
			}
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		m.class[b] = m.class[b+'a'-'A']
	}
	stride := int(m.stride)
	// The trie, in states (not premultiplied); -1: no edge yet.
	trie := make([]int32, stride)
	for i := range trie {
		trie[i] = -1
	}
	var own [][]int32
	own = append(own, nil)
	for i, lit := range literals {
		s := 0
		for j := 0; j < len(lit); j++ {
			c := int(m.class[lit[j]]) // lit[j] < 0x80: the caller's promise
			if trie[s*stride+c] < 0 {
				trie[s*stride+c] = int32(len(own))
				own = append(own, nil)
				for range stride {
					trie = append(trie, -1)
				}
			}
			s = int(trie[s*stride+c])
		}
		own[s] = append(own[s], ids[i])
	}
	// Breadth first: each state's failure link, its outputs (its own and
	// its failure's), and the missing edges (its failure's).
	fail := make([]int32, len(own))
	outs := make([][]int32, len(own))
	outs[0] = own[0]
	queue := make([]int32, 0, len(own))
	for c := range stride {
		if t := trie[c]; t > 0 {
			fail[t] = 0
			queue = append(queue, t)
		} else {
			trie[c] = 0
		}
	}
	for len(queue) > 0 {
		s := int(queue[0])
		queue = queue[1:]
		outs[s] = append(append([]int32(nil), own[s]...), outs[fail[s]]...)
		for c := range stride {
			t := trie[s*stride+c]
			if t < 0 {
				trie[s*stride+c] = trie[int(fail[s])*stride+c]
				continue
			}
			fail[t] = trie[int(fail[s])*stride+c]
			queue = append(queue, t)
		}
	}
	m.next = make([]int32, len(trie))
	for i, t := range trie {
		v := t * m.stride
		if len(outs[t]) > 0 {
			v = ^v
		}
		m.next[i] = v
	}
	m.outAt = make([]int32, 0, len(own)+1)
	for _, o := range outs {
		m.outAt = append(m.outAt, int32(len(m.outs)))
		m.outs = append(m.outs, o...)
	}
	m.outAt = append(m.outAt, int32(len(m.outs)))
	return m
}

// scan appends to found the ids of the literals that occur in s (folded)
// and that seen does not already stamp with gen, stamping them.
func (m *litMatcher) scan(s string, seen []uint32, gen uint32, found []int32) []int32 {
	next, class := m.next, &m.class
	var st int32
	for i := 0; i < len(s); {
		var c uint8
		if b := s[i]; b < utf8.RuneSelf {
			c = class[b]
			i++
		} else {
			r, w := utf8.DecodeRuneInString(s[i:])
			i += w
			if l, ok := foldRune(r); ok {
				c = class[l]
			}
		}
		st = next[st+int32(c)]
		if st < 0 {
			st = ^st
			found = m.report(st, seen, gen, found)
		}
	}
	return found
}

// scanASCII is scan for text known to be ASCII (numbers rendered), kept
// apart so that a number's text needs no string.
func (m *litMatcher) scanASCII(s []byte, seen []uint32, gen uint32, found []int32) []int32 {
	var st int32
	for _, b := range s {
		st = m.next[st+int32(m.class[b&0x7f])]
		if st < 0 {
			st = ^st
			found = m.report(st, seen, gen, found)
		}
	}
	return found
}

func (m *litMatcher) report(st int32, seen []uint32, gen uint32, found []int32) []int32 {
	k := st / m.stride
	for _, id := range m.outs[m.outAt[k]:m.outAt[k+1]] {
		if seen[id] != gen {
			seen[id] = gen
			found = append(found, id)
		}
	}
	return found
}
