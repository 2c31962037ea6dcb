package sigma

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/otelsec/emailcompromise/internal/asciifold"
)

// The literal prefilter: the rules of a source that no equality indexes
// (contains, startswith, endswith values, most SigmaHQ rules) meet a record
// only when a literal they need occurs in it. For each such rule, compiling
// derives what any record it matches must hold: a conjunction of clauses,
// each a disjunction of literals, each a literal at a field (or, for
// keywords, anywhere in the body). One clause is enough to exclude a rule,
// so the rule is posted under the literals of its most selective clause; a
// record's values of the fields those literals are at are read once and
// scanned once, all literals of a field together (litMatcher), and the
// rules posted under the literals found are the record's candidates.
//
// Soundness: a rule is left out only when its clause fails, and the clause
// is implied by the rule's condition, by construction:
//
//   - a string matcher's literal is a run of ASCII characters of its value
//     that every value it matches holds, once folded as foldRune folds
//     (literalOf); matchers without one (regular expressions without a
//     literal prefix, cidr, numeric comparisons, fieldref) give none;
//   - an item (a field's values) needs one of its values' literals, or one
//     per value under "all"; a value without a literal makes the item need
//     nothing; neq, null and exists items need nothing;
//   - "and" needs what each operand needs, "or" what every operand needs
//     (the clauses of one, each widened by one of the other's), "not"
//     nothing; filters and logsource narrowing only remove matches, so the
//     rule needs what its detection needs.
//
// Dropping a clause or widening one keeps the implication, which is how the
// sizes are bounded (maxClauses, maxClauseLiterals).

// litKey is a literal at a field: keywords (field nil) read every scalar of
// the body.
type litKey struct {
	field *field
	text  string
}

func (k litKey) compare(o litKey) int {
	return cmp.Or(cmp.Compare(k.fieldID(), o.fieldID()), strings.Compare(k.text, o.text))
}

func (k litKey) fieldID() int {
	if k.field == nil {
		return -1
	}
	return k.field.id
}

// clause holds when any of its literals occurs: sorted, no duplicates.
type clause []litKey

// requirement holds when each of its clauses does; none: nothing is needed
// (the rule is always a candidate).
type requirement []clause

const (
	maxClauses        = 16
	maxClauseLiterals = 512
	// goodLiteral is the length from which literals count as equally
	// selective: choosing between clauses, longer is rarer only up to a
	// point, and fewer literals cost fewer postings.
	goodLiteral = 6
	// maxExactNumber bounds the numbers whose text equality implies: beyond
	// 2^53, two numbers compare equal as float64 that render differently.
	maxExactNumber = 1 << 53
)

// quality orders clauses, better first: the shortest literal longest (up to
// goodLiteral), then fewer literals.
func (c clause) quality() (shortest, count int) {
	shortest = goodLiteral
	for _, k := range c {
		shortest = min(shortest, len(k.text))
	}
	return shortest, len(c)
}

func compareClauses(a, b clause) int {
	as, an := a.quality()
	bs, bn := b.quality()
	if c := cmp.Or(cmp.Compare(bs, as), cmp.Compare(an, bn)); c != 0 {
		return c
	}
	return slices.CompareFunc(a, b, litKey.compare)
}

// best keeps at most n clauses, the best ones, best first.
func (r requirement) best(n int) requirement {
	r = slices.Clone(r)
	slices.SortFunc(r, compareClauses)
	return r[:min(n, len(r))]
}

func andReq(a, b requirement) requirement {
	out := append(slices.Clone(a), b...)
	if len(out) > maxClauses {
		out = out.best(maxClauses)
	}
	return out
}

// orReq needs what both need: each clause of one widened by each of the other.
func orReq(a, b requirement) requirement {
	if len(a) == 0 || len(b) == 0 {
		return nil
	}
	a, b = a.best(4), b.best(4)
	var out requirement
	for _, x := range a {
		for _, y := range b {
			if c := x.union(y); len(c) <= maxClauseLiterals {
				out = append(out, c)
			}
		}
	}
	return out
}

// union is a or b, sorted, without duplicates.
func (a clause) union(b clause) clause {
	out := append(slices.Clone(a), b...)
	slices.SortFunc(out, litKey.compare)
	return slices.CompactFunc(out, func(x, y litKey) bool { return x.compare(y) == 0 })
}

func (l *logic) requirement(n *condNode) requirement {
	switch n.op {
	case condRef:
		return l.selections[n.ref].requirement()
	case condNot:
		return nil
	case condAnd:
		var out requirement
		for _, k := range n.kids {
			out = andReq(out, l.requirement(k))
		}
		return out
	}
	out := l.requirement(n.kids[0])
	for _, k := range n.kids[1:] {
		out = orReq(out, l.requirement(k))
	}
	return out
}

func (s *selection) requirement() requirement {
	var out requirement
	for i, alt := range s.alts {
		var all requirement
		for j := range alt {
			all = andReq(all, alt[j].requirement())
		}
		if i == 0 {
			out = all
		} else {
			out = orReq(out, all)
		}
	}
	return out
}

func (it *item) requirement() requirement {
	if (it.kind != itemValues && it.kind != itemKeywords) || it.neq {
		return nil
	}
	f := it.field
	if it.kind == itemKeywords {
		f = nil
	}
	var out requirement
	var some clause
	for _, g := range it.groups {
		var c clause
		for _, n := range g {
			text, ok := literalOf(n)
			if !ok {
				c = nil
				break
			}
			c = append(c, litKey{field: f, text: text})
		}
		if !it.all {
			if c == nil {
				return nil // this value needs nothing
			}
			some = append(some, c...)
			continue
		}
		if c != nil {
			out = andReq(out, requirement{c.union(nil)})
		}
	}
	if !it.all && len(some) <= maxClauseLiterals {
		out = requirement{some.union(nil)}
	}
	return out
}

// literalOf returns the literal a needle needs: the longest run of ASCII
// characters every value it matches holds, folded.
func literalOf(n needle) (string, bool) {
	switch n := n.(type) {
	case *strMatcher:
		if n.op != opGlob {
			if n.op == opExact && n.isNum && math.Abs(n.num) >= maxExactNumber {
				// The value may be a number equal to it that renders
				// otherwise.
				return "", false
			}
			return longestASCII([]string{n.text})
		}
		// A run of literal runes, each matching a value rune that equals
		// it or whose unicode.ToLower does; for an ASCII rune, foldRune
		// folds either to the rune (lowercased unless cased).
		var runs []string
		for _, seg := range n.glob.segs {
			var run []byte
			for _, g := range seg {
				if g.any || g.r >= 0x80 {
					runs = append(runs, string(run))
					run = run[:0]
					continue
				}
				run = append(run, byte(g.r))
			}
			runs = append(runs, string(run))
		}
		return longestASCII(runs)
	case regexNeedle:
		// Every match begins with the prefix, as the value holds it.
		prefix, _ := n.re.LiteralPrefix()
		return longestASCII([]string{prefix})
	}
	return "", false
}

// longestASCII returns the longest run of ASCII characters in texts, folded.
func longestASCII(texts []string) (string, bool) {
	best := ""
	for _, t := range texts {
		for start := 0; start < len(t); {
			end := start
			for end < len(t) && t[end] < 0x80 {
				end++
			}
			if end-start > len(best) {
				best = t[start:end]
			}
			start = end + 1
		}
	}
	return asciifold.ToLower(best), best != ""
}

// prefilter holds the literal-gated rules of a source index.
type prefilter struct {
	// fields are the fields literals are at, each with its matcher.
	fields []litField
	// posted[id] lists the rules (positions in the index) posted under the
	// literal id.
	posted [][]int32
	// gated lists every rule posted, for evaluating without the prefilter.
	gated []int32
}

type litField struct {
	field *field // nil: keywords
	m     *litMatcher
}

// buildPrefilter posts each rule of scan that needs a literal under its best
// clause, and returns the rules that need none.
func buildPrefilter(refs []sourceRule, scan []int32) (*prefilter, []int32) {
	var rest []int32
	chosen := map[int32]clause{}
	var keys []litKey
	for _, i := range scan {
		req := refs[i].rule.logic.requirement(refs[i].rule.logic.cond)
		if len(req) == 0 {
			rest = append(rest, i)
			continue
		}
		c := req.best(1)[0]
		chosen[i] = c
		keys = append(keys, c...)
	}
	if len(chosen) == 0 {
		return nil, rest
	}
	slices.SortFunc(keys, litKey.compare)
	keys = slices.CompactFunc(keys, func(x, y litKey) bool { return x.compare(y) == 0 })
	p := &prefilter{posted: make([][]int32, len(keys))}
	for start := 0; start < len(keys); {
		end := start
		var texts []string
		var ids []int32
		for ; end < len(keys) && keys[end].field == keys[start].field; end++ {
			texts = append(texts, keys[end].text)
			ids = append(ids, int32(end))
		}
		p.fields = append(p.fields, litField{field: keys[start].field, m: newLitMatcher(texts, ids)})
		start = end
	}
	for _, i := range scan {
		c, ok := chosen[i]
		if !ok {
			continue
		}
		p.gated = append(p.gated, i)
		for _, k := range c {
			id, _ := slices.BinarySearchFunc(keys, k, litKey.compare)
			p.posted[id] = append(p.posted[id], i)
		}
	}
	return p, rest
}

// literals is the number of literal ids.
func (p *prefilter) literals() int {
	if p == nil {
		return 0
	}
	return len(p.posted)
}

// candidates adds the rules posted under the literals that occur in the
// record.
func (p *prefilter) candidates(c *evalCtx, add func(int32)) {
	for f := range p.fields {
		lf := &p.fields[f]
		var values []scalar
		if lf.field == nil {
			values = c.keywordValues()
		} else {
			values = c.values(lf.field)
		}
		for _, v := range values {
			var found []int32
			switch v.kind {
			case scalarNull:
				continue
			case scalarInt, scalarFloat:
				c.keyBuf = v.appendText(c.keyBuf[:0])
				found = lf.m.scanASCII(c.keyBuf, c.litSeen, c.gen, c.lits[:0])
			default:
				found = lf.m.scan(v.str, c.litSeen, c.gen, c.lits[:0])
			}
			c.lits = found
			for _, id := range found {
				for _, i := range p.posted[id] {
					add(i)
				}
			}
		}
	}
}
