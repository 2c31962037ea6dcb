package sigma

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type corrType uint8

const (
	corrEventCount corrType = iota
	corrValueCount
	corrTemporal
	corrTemporalOrdered
	corrValueSum
	corrValueAvg
	corrValuePercentile
)

var corrTypeNames = []string{"event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg", "value_percentile"}

func (t corrType) String() string { return corrTypeNames[t] }

// needsField reports whether the type aggregates a field's values.
func (t corrType) needsField() bool {
	return t == corrValueCount || t == corrValueSum || t == corrValueAvg || t == corrValuePercentile
}

func (t corrType) temporal() bool { return t == corrTemporal || t == corrTemporalOrdered }

// growsOnly reports whether the condition, once true for a window, stays
// true as events are added to it: gt or gte of a count of events, values
// or rules, or of a sum. Such a correlation fires in flight; any other
// waits for its windows to close. (A sum over negative numbers can shrink;
// rules sum sizes and counts, which do not.)
func (c *correlationRule) growsOnly() bool {
	if c.typ == corrValueAvg || c.typ == corrValuePercentile {
		return false
	}
	for _, cmp := range c.cond {
		if cmp.op != "gt" && cmp.op != "gte" {
			return false
		}
	}
	return true
}

// numeric reports whether the correlation aggregates numbers: events whose
// field holds none have nothing to add.
func (c *correlationRule) numeric() bool {
	return c.typ == corrValueSum || c.typ == corrValueAvg || c.typ == corrValuePercentile && c.hasPercentile
}

// maxCorrelatedRules bounds the rules one correlation refers to, so that a
// temporal correlation's bookkeeping stays a small array.
const maxCorrelatedRules = 64

// ruleNode is what detection and correlation rules share as links of a
// correlation chain.
type ruleNode struct {
	info    *RuleInfo
	parents []parentLink
	// standalone: the rule reports its own matches. A rule a correlation
	// refers to does so only if a referring correlation says generate: true.
	standalone bool
}

// parentLink says that a correlation refers to a rule as its ref-th rule.
type parentLink struct {
	corr *correlationRule
	ref  int
}

// correlationRule is a compiled correlation rule.
type correlationRule struct {
	ruleNode
	typ      corrType
	refNames []string
	// rulesLine is where the rules list is, for errors about references.
	rulesLine int
	refs      []*ruleNode
	groupBy   []string
	aliases   map[string]map[string]string
	span      time.Duration
	// spanText is the timespan as the rule writes it, for reasons.
	spanText string
	cond     corrCondition
	// valueFields are the condition's field names (value_* types).
	valueFields []string
	// percentile is pySigma's form of value_percentile ("percentile: 95"
	// beside the comparison): the condition compares the field's 95th
	// percentile in the window. Without it (hasPercentile false),
	// value_percentile has the specification's meaning (see evaluate).
	percentile    float64
	hasPercentile bool
	// windowEnd: the condition can turn false as events are added, so it is
	// decided once per window when the window closes (window.go).
	windowEnd bool
	// fedLate is, for a correlation fed (directly, or through correlations
	// judged in flight) by a window-end one, the longest timespan of those:
	// their windows come the allowed lateness after their end, so their
	// events are that much further behind the group's newest (observe).
	fedLate time.Duration
	// groupFields[ref] and valueFieldsByRef[ref] are the fields compiled
	// for the sources of the ref-th rule (aliases resolved), groupNames[ref]
	// the names they were compiled from.
	groupFields      [][]*field
	groupNames       [][]string
	valueFieldsByRef [][]*field
	state            *corrState
}

// corrCondition is a conjunction of comparisons ("gt: 100, lte: 200").
type corrCondition []corrComparison

type corrComparison struct {
	op    string
	value float64
}

func (c corrCondition) holds(x float64) bool {
	for _, cmp := range c {
		var ok bool
		switch cmp.op {
		case "gt":
			ok = x > cmp.value
		case "gte":
			ok = x >= cmp.value
		case "lt":
			ok = x < cmp.value
		case "lte":
			ok = x <= cmp.value
		case "eq":
			ok = x == cmp.value
		case "neq":
			ok = x != cmp.value
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c corrCondition) String() string {
	parts := make([]string, len(c))
	for i, cmp := range c {
		parts[i] = cmp.op + " " + strconv.FormatFloat(cmp.value, 'f', -1, 64)
	}
	return strings.Join(parts, " and ")
}

var timespanPattern = regexp.MustCompile(`^([0-9]{1,6})([smhdwMy])$`)

// timespanUnits are the specification's s, m, h, d and the w, M and y that
// pySigma also reads (and Sigma v1 timeframes used), with pySigma's lengths:
// a month is a twelfth of the Gregorian year of 365.2425 days.
var timespanUnits = map[string]time.Duration{
	"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "M": 2_629_746 * time.Second, "y": 31_556_952 * time.Second,
}

// parseTimespan reads "number + unit letter": s, m, h, d (the
// specification's), w, M, y (pySigma's).
func parseTimespan(s string) (time.Duration, error) {
	m := timespanPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("timespan %q must be a number and one of s, m, h, d, w, M (month), y (e.g. 90m)", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	if n == 0 {
		return 0, fmt.Errorf("timespan %q must be longer than zero", s)
	}
	unit := timespanUnits[m[2]]
	if n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("timespan %q is longer than the 292 years a duration can hold", s)
	}
	return time.Duration(n) * unit, nil
}

var conditionOps = []string{"gt", "gte", "lt", "lte", "eq", "neq"}

// readCorrelation reads a correlation section. References to other rules
// are resolved later, when every rule is known.
func readCorrelation(d *ruleDef) (*correlationRule, error) {
	w := d.w
	pairs, err := w.mapping(d.correlation, "correlation")
	if err != nil {
		return nil, err
	}
	c := &correlationRule{ruleNode: ruleNode{info: &d.info}}
	seen := map[string]bool{}
	condLine := d.info.Line
	for _, p := range pairs {
		seen[p.key] = true
		switch p.key {
		case "type":
			var t string
			if t, err = w.text(p.value, "correlation type"); err == nil {
				i := slices.Index(corrTypeNames, t)
				if i < 0 {
					err = lineError(p.line, fmt.Sprintf("correlation type %q is not one of %s", t, strings.Join(corrTypeNames, ", ")))
				}
				c.typ = corrType(i)
			}
		case "rules":
			c.rulesLine = p.line
			c.refNames, err = w.texts(p.value, "correlation rules")
		case "group-by":
			c.groupBy, err = w.texts(p.value, "group-by")
		case "timespan":
			if c.spanText, err = w.text(p.value, "timespan"); err == nil {
				if c.span, err = parseTimespan(c.spanText); err != nil {
					err = lineError(p.line, err.Error())
				}
			}
		case "condition":
			condLine = p.line
			err = c.readCondition(w, p)
		case "aliases":
			err = c.readAliases(w, p)
		case "generate":
			err = d.setGenerate(p)
		default:
			err = lineError(p.line, fmt.Sprintf("correlation: unknown key %q (known: type, rules, group-by, timespan, condition, aliases, generate)", p.key))
		}
		if err != nil {
			return nil, err
		}
	}
	for _, required := range []string{"type", "rules", "timespan"} {
		if !seen[required] {
			return nil, lineError(d.info.Line, "correlation: "+required+" is required")
		}
	}
	if len(c.refNames) == 0 || len(c.refNames) > maxCorrelatedRules {
		return nil, lineError(d.info.Line, fmt.Sprintf("correlation: rules must list 1 to %d rules", maxCorrelatedRules))
	}
	switch {
	case !c.typ.temporal() && len(c.cond) == 0:
		return nil, lineError(condLine, fmt.Sprintf("correlation: %s needs a condition such as gte: 10", c.typ))
	case c.typ.needsField() && len(c.valueFields) == 0:
		return nil, lineError(condLine, fmt.Sprintf("correlation: %s needs the field its condition is about (condition.field)", c.typ))
	case !c.typ.needsField() && len(c.valueFields) > 0:
		return nil, lineError(condLine, fmt.Sprintf("correlation: %s takes no condition.field", c.typ))
	case c.hasPercentile && c.typ != corrValuePercentile:
		return nil, lineError(condLine, fmt.Sprintf("correlation: condition.percentile belongs to value_percentile, not %s", c.typ))
	case c.typ == corrTemporal || c.typ == corrTemporalOrdered:
		if len(c.cond) == 0 {
			// By default every referred rule must have matched.
			c.cond = corrCondition{{op: "gte", value: float64(len(c.refNames))}}
		}
	}
	c.windowEnd = !c.growsOnly()
	for alias, byRule := range c.aliases {
		if !slices.Contains(c.groupBy, alias) {
			return nil, lineError(d.info.Line, fmt.Sprintf("correlation: alias %q is not used in group-by", alias))
		}
		for rule := range byRule {
			if !slices.Contains(c.refNames, rule) {
				return nil, lineError(d.info.Line, fmt.Sprintf("correlation: alias %q names rule %q, which is not among the correlated rules", alias, rule))
			}
		}
	}
	return c, nil
}

func (c *correlationRule) readCondition(w *walker, p pair) error {
	pairs, err := w.mapping(p.value, "correlation condition")
	if err != nil {
		return err
	}
	for _, cp := range pairs {
		switch {
		case cp.key == "field":
			if c.valueFields, err = w.texts(cp.value, "condition field"); err != nil {
				return err
			}
			continue
		case cp.key == "percentile":
			if err := c.readPercentile(w, cp); err != nil {
				return err
			}
			continue
		case !slices.Contains(conditionOps, cp.key):
			return lineError(cp.line, fmt.Sprintf("correlation condition: unknown key %q (known: %s, field, percentile)", cp.key, strings.Join(conditionOps, ", ")))
		}
		text, err := w.text(cp.value, "condition "+cp.key)
		if err != nil {
			return err
		}
		n, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return lineError(cp.line, fmt.Sprintf("correlation condition: %s takes a number, not %q", cp.key, text))
		}
		c.cond = append(c.cond, corrComparison{op: cp.key, value: n})
	}
	if len(c.cond) == 0 {
		return lineError(p.line, "correlation condition: give at least one of "+strings.Join(conditionOps, ", "))
	}
	return nil
}

// readPercentile reads pySigma's condition.percentile: a whole number of
// percent, as pySigma's int() takes it.
func (c *correlationRule) readPercentile(w *walker, cp pair) error {
	text, err := w.text(cp.value, "condition percentile")
	if err != nil {
		return err
	}
	p, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || p < 0 || p > 100 {
		return lineError(cp.line, fmt.Sprintf("correlation condition: percentile takes a whole number from 0 to 100, not %q", text))
	}
	c.percentile, c.hasPercentile = float64(p), true
	return nil
}

func (c *correlationRule) readAliases(w *walker, p pair) error {
	aliases, err := w.mapping(p.value, "aliases")
	if err != nil {
		return err
	}
	c.aliases = map[string]map[string]string{}
	for _, a := range aliases {
		byRule, err := w.mapping(a.value, "alias "+a.key)
		if err != nil {
			return err
		}
		c.aliases[a.key] = map[string]string{}
		for _, r := range byRule {
			if c.aliases[a.key][r.key], err = w.text(r.value, "alias field"); err != nil {
				return err
			}
		}
	}
	return nil
}

// compileFields compiles the group-by and value fields for each referred
// rule, against that rule's sources and with the aliases applied.
func (c *correlationRule) compileFields(comp *compiler) {
	c.groupFields = make([][]*field, len(c.refs))
	c.groupNames = make([][]string, len(c.refs))
	c.valueFieldsByRef = make([][]*field, len(c.refs))
	for i, ref := range c.refs {
		for _, g := range c.groupBy {
			name := g
			if byRule, ok := c.aliases[g]; ok {
				if f, ok := byRule[c.refNames[i]]; ok {
					name = f
				}
			}
			c.groupFields[i] = append(c.groupFields[i], comp.field(ref.info.Sources, name))
			c.groupNames[i] = append(c.groupNames[i], name)
		}
		for _, v := range c.valueFields {
			c.valueFieldsByRef[i] = append(c.valueFieldsByRef[i], comp.field(ref.info.Sources, v))
		}
	}
}
