package sigma

import (
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// needle is one compiled alternative of a rule value, tested against one
// value of the record.
type needle interface {
	matches(c *evalCtx, v scalar) bool
}

func (m *strMatcher) matches(_ *evalCtx, v scalar) bool { return m.match(v) }

// regexNeedle searches the value (unanchored, as Sigma backends do; rules
// anchor with ^ and $ themselves). RE2 guarantees linear time.
type regexNeedle struct{ re *regexp.Regexp }

func (n regexNeedle) matches(_ *evalCtx, v scalar) bool {
	return v.kind != scalarNull && n.re.MatchString(v.text())
}

type cidrNeedle struct{ prefix netip.Prefix }

func (n cidrNeedle) matches(_ *evalCtx, v scalar) bool {
	if v.kind != scalarString {
		return false
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(v.str))
	return err == nil && n.prefix.Contains(ip.Unmap())
}

// cmpNeedle compares numerically (lt, lte, gt, gte, and eq for time parts),
// optionally on a part of a date value (minute, hour, day, week, month, year).
type cmpNeedle struct {
	op       string
	value    float64
	timePart string
}

func (n cmpNeedle) matches(_ *evalCtx, v scalar) bool {
	var x float64
	if n.timePart != "" {
		t, ok := timeOf(v)
		if !ok {
			return false
		}
		x = float64(timePart(t, n.timePart))
	} else {
		var ok bool
		if x, ok = v.number(); !ok {
			return false
		}
	}
	switch n.op {
	case "lt":
		return x < n.value
	case "lte":
		return x <= n.value
	case "gt":
		return x > n.value
	case "gte":
		return x >= n.value
	}
	return x == n.value
}

// timeOf reads a date value the way vendors write them (RFC 3339, the O365
// zone-less form, US locale exports), or a number of Unix seconds.
func timeOf(v scalar) (time.Time, bool) {
	if v.isNumber() {
		return time.Unix(int64(v.num), 0).UTC(), true
	}
	if v.kind != scalarString {
		return time.Time{}, false
	}
	return auditrecord.ParseTime(v.str)
}

func timePart(t time.Time, part string) int {
	switch part {
	case "minute":
		return t.Minute()
	case "hour":
		return t.Hour()
	case "day":
		return t.Day()
	case "week":
		_, w := t.ISOWeek()
		return w
	case "month":
		return int(t.Month())
	}
	return t.Year()
}

// fieldrefNeedle compares the value with the values of another field of the
// same record.
type fieldrefNeedle struct {
	other *field
	op    strOp
	cased bool
}

func (n fieldrefNeedle) matches(c *evalCtx, v scalar) bool {
	if v.kind == scalarNull {
		return false
	}
	s := v.text()
	for _, o := range c.values(n.other) {
		if o.kind != scalarNull && compareText(n.op, s, o.text(), n.cased) {
			return true
		}
	}
	return false
}

// compareText is strMatcher's comparison for a needle known only at match
// time (fieldref); it may allocate, which fieldref's rarity affords.
func compareText(op strOp, s, needle string, cased bool) bool {
	if !cased {
		s, needle = strings.ToLower(s), strings.ToLower(needle)
	}
	switch op {
	case opPrefix:
		return strings.HasPrefix(s, needle)
	case opSuffix:
		return strings.HasSuffix(s, needle)
	case opContains:
		return strings.Contains(s, needle)
	}
	return s == needle
}

type itemKind uint8

const (
	itemValues itemKind = iota
	itemNull
	itemExists
	itemKeywords
)

// item is one "field|modifiers: values" of a selection.
type item struct {
	kind  itemKind
	field *field
	// groups holds one entry per rule value: the alternatives it expanded
	// into (windash spellings, base64 offsets, placeholder values), any of
	// which matches. Groups combine with OR, or AND under "all".
	groups [][]needle
	all    bool
	// neq negates the item, as pySigma's neq modifier does: a field that is
	// absent, or holds none of the values, matches.
	neq    bool
	exists bool
}

func (it *item) eval(c *evalCtx) bool {
	var values []scalar
	switch it.kind {
	case itemExists:
		return (len(c.values(it.field)) > 0) == it.exists
	case itemKeywords:
		values = c.keywordValues()
	default:
		values = c.values(it.field)
	}
	if it.kind == itemNull {
		return !hasValue(values)
	}
	if it.neq {
		return !it.anyGroup(c, values)
	}
	if it.all {
		for _, g := range it.groups {
			if !groupMatches(c, g, values) {
				return false
			}
		}
		return true
	}
	return it.anyGroup(c, values)
}

func (it *item) anyGroup(c *evalCtx, values []scalar) bool {
	for _, g := range it.groups {
		if groupMatches(c, g, values) {
			return true
		}
	}
	return false
}

func groupMatches(c *evalCtx, alternatives []needle, values []scalar) bool {
	for _, v := range values {
		for _, n := range alternatives {
			if n.matches(c, v) {
				return true
			}
		}
	}
	return false
}

func hasValue(values []scalar) bool {
	for _, v := range values {
		if v.kind != scalarNull {
			return true
		}
	}
	return false
}

// selection is a search identifier: a map of items (AND), or a list of maps
// and keywords (OR of its alternatives).
type selection struct {
	name string
	alts [][]item
}

func (s *selection) eval(c *evalCtx) bool { return anyAlternative(s.alts, c) }

// anyAlternative reports whether every item of at least one alternative
// holds: the OR of ANDs that selections and logsource narrowing both are.
func anyAlternative(alts [][]item, c *evalCtx) bool {
	for _, alt := range alts {
		ok := true
		for i := range alt {
			if !alt[i].eval(c) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// logic is a compiled detection (or filter) section.
type logic struct {
	selections []selection
	cond       *condNode
	// positive lists the selections the condition uses outside any "not":
	// the ones a reason can name as having matched.
	positive []int
}

func (l *logic) eval(c *evalCtx) bool { return l.evalNode(c, l.cond) }

func (l *logic) evalNode(c *evalCtx, n *condNode) bool {
	switch n.op {
	case condRef:
		return l.selections[n.ref].eval(c)
	case condNot:
		return !l.evalNode(c, n.kids[0])
	case condAnd:
		for _, k := range n.kids {
			if !l.evalNode(c, k) {
				return false
			}
		}
		return true
	}
	for _, k := range n.kids {
		if l.evalNode(c, k) {
			return true
		}
	}
	return false
}

// matchedSelections names the positive selections that match, for a reason.
func (l *logic) matchedSelections(c *evalCtx) []string {
	var names []string
	for _, i := range l.positive {
		if l.selections[i].eval(c) {
			names = append(names, l.selections[i].name)
		}
	}
	return names
}

func positiveRefs(n *condNode, negated bool, seen map[int]bool, out []int) []int {
	switch n.op {
	case condRef:
		if !negated && !seen[n.ref] {
			seen[n.ref] = true
			out = append(out, n.ref)
		}
	case condNot:
		out = positiveRefs(n.kids[0], !negated, seen, out)
	default:
		for _, k := range n.kids {
			out = positiveRefs(k, negated, seen, out)
		}
	}
	return out
}
