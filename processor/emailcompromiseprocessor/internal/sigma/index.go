package sigma

import (
	"github.com/otelsec/emailcompromise/internal/asciifold"
	"slices"
	"strings"
)

// sourceIndex holds the rules that apply to one source, indexed by their
// cheapest discriminating equality: for each indexed field, which rules need
// which value. A record meets only the rules its values select, plus the
// rules no equality discriminates whose literals occur in it (pre), plus
// the few that need no literal either (scan).
type sourceIndex struct {
	refs []sourceRule
	keys []indexKey
	scan []int32
	// pre gates the rules no equality indexes that need a literal
	// (prefilter.go); scan keeps the rest.
	pre *prefilter
	// prefilterOff makes every gated rule a candidate, for the tests that
	// compare the engine with and without the prefilter.
	prefilterOff bool
}

// sourceRule is a rule as it applies to one source: where narrows the
// source's records per the logsource mapping (any alternative, all items).
type sourceRule struct {
	rule  *detectionRule
	where [][]item
}

type indexKey struct {
	field   *field
	byValue map[string][]int32
}

func (sr *sourceRule) whereHolds(c *evalCtx) bool {
	return len(sr.where) == 0 || anyAlternative(sr.where, c)
}

// buildIndex chooses each rule's discriminating field: the one whose values
// the fewest other rules share, so that buckets stay small; among equally
// good fields, the one most rules could use, because every indexed field is
// read on every record of the source.
func buildIndex(refs []sourceRule) *sourceIndex {
	idx := &sourceIndex{refs: refs}
	cands := make([]map[*field][]string, len(refs))
	bucket := map[*field]map[string]int{}
	usable := map[*field]int{}
	for i := range refs {
		cands[i] = refs[i].rule.logic.indexCandidates(refs[i].rule.logic.cond)
		for f, keys := range cands[i] {
			usable[f]++
			if bucket[f] == nil {
				bucket[f] = map[string]int{}
			}
			for _, k := range keys {
				bucket[f][k]++
			}
		}
	}
	byField := map[*field]*indexKey{}
	for i := range refs {
		var best *field
		bestCost := 0
		for f, keys := range cands[i] {
			cost := 0
			for _, k := range keys {
				cost = max(cost, bucket[f][k])
			}
			better := best == nil || cost < bestCost
			if !better && cost == bestCost {
				better = usable[f] > usable[best] || usable[f] == usable[best] && f.id < best.id
			}
			if better {
				best, bestCost = f, cost
			}
		}
		if best == nil {
			idx.scan = append(idx.scan, int32(i))
			continue
		}
		k := byField[best]
		if k == nil {
			k = &indexKey{field: best, byValue: map[string][]int32{}}
			byField[best] = k
		}
		for _, key := range cands[i][best] {
			k.byValue[key] = append(k.byValue[key], int32(i))
		}
	}
	for _, k := range byField {
		idx.keys = append(idx.keys, *k)
	}
	idx.pre, idx.scan = buildPrefilter(refs, idx.scan)
	slices.SortFunc(idx.keys, func(a, b indexKey) int { return a.field.id - b.field.id })
	return idx
}

// candidates returns, in load order, the positions of the rules the record
// can match.
func (idx *sourceIndex) candidates(c *evalCtx) []int32 {
	out := c.cands[:0]
	add := func(i int32) {
		if c.seen[i] != c.gen {
			c.seen[i] = c.gen
			out = append(out, i)
		}
	}
	for k := range idx.keys {
		key := &idx.keys[k]
		for _, v := range c.values(key.field) {
			if v.kind == scalarNull {
				continue
			}
			buf := v.appendText(c.keyBuf[:0])
			ascii := true
			for j, b := range buf {
				if b >= 0x80 {
					ascii = false // no ASCII needle equals it, folded or not
					break
				}
				buf[j] = asciifold.Lower(b)
			}
			c.keyBuf = buf
			if !ascii {
				continue
			}
			for _, i := range key.byValue[string(buf)] {
				add(i)
			}
		}
	}
	for _, i := range idx.scan {
		add(i)
	}
	switch {
	case idx.pre == nil:
	case idx.prefilterOff:
		for _, i := range idx.pre.gated {
			add(i)
		}
	default:
		idx.pre.candidates(c, add)
	}
	slices.Sort(out)
	c.cands = out
	return out
}

// indexCandidates returns, for a condition, the equalities any matching
// record must satisfy: field → the values (lowercased) one of which it must
// hold.
func (l *logic) indexCandidates(n *condNode) map[*field][]string {
	switch n.op {
	case condRef:
		return l.selections[n.ref].indexCandidates()
	case condNot:
		return nil
	case condAnd:
		out := map[*field][]string{}
		for _, k := range n.kids {
			for f, keys := range l.indexCandidates(k) {
				if have, ok := out[f]; ok {
					out[f] = intersect(have, keys)
				} else {
					out[f] = keys
				}
			}
		}
		return out
	}
	var out map[*field][]string
	for i, k := range n.kids {
		out = orCandidates(out, l.indexCandidates(k), i == 0)
	}
	return out
}

func (s *selection) indexCandidates() map[*field][]string {
	var out map[*field][]string
	for i, alt := range s.alts {
		and := map[*field][]string{}
		for j := range alt {
			f, keys, ok := alt[j].indexKeys()
			if !ok {
				continue
			}
			if have, ok := and[f]; ok {
				and[f] = intersect(have, keys)
			} else {
				and[f] = keys
			}
		}
		out = orCandidates(out, and, i == 0)
	}
	return out
}

// orCandidates keeps the fields both sides constrain, with either's values.
func orCandidates(acc, next map[*field][]string, first bool) map[*field][]string {
	if first {
		return next
	}
	out := map[*field][]string{}
	for f, keys := range acc {
		if more, ok := next[f]; ok {
			out[f] = union(keys, more)
		}
	}
	return out
}

// indexKeys returns the values an item requires its field to equal, when
// it is a plain equality over ASCII values.
func (it *item) indexKeys() (*field, []string, bool) {
	if it.kind != itemValues || it.neq || it.all {
		return nil, nil, false
	}
	var keys []string
	for _, g := range it.groups {
		for _, n := range g {
			sm, ok := n.(*strMatcher)
			if !ok || sm.op != opExact || !isASCII(sm.text) {
				return nil, nil, false
			}
			keys = append(keys, strings.ToLower(sm.text))
		}
	}
	return it.field, keys, len(keys) > 0
}

func intersect(a, b []string) []string {
	var out []string
	for _, v := range a {
		if slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
