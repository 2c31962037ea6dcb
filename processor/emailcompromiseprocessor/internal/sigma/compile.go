package sigma

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// compiler holds what compiling all rules shares: the field table (one field
// per distinct set of locations, so rules share each read), the field
// mapping and the placeholder values.
type compiler struct {
	mapper       *fieldMapper
	placeholders map[string][]string
	fields       map[string]*field
	fieldList    []*field
	// prefixes numbers the map-chain prefixes of body paths.
	prefixes map[string]int
}

func newCompiler(mapper *fieldMapper, placeholders map[string][]string) *compiler {
	return &compiler{mapper: mapper, placeholders: placeholders, fields: map[string]*field{}, prefixes: map[string]int{}}
}

// fieldAt returns the field reading exactly these record locations.
func (c *compiler) fieldAt(locations []string) *field {
	key := strings.Join(locations, "\x00")
	if f, ok := c.fields[key]; ok {
		return f
	}
	f := &field{id: len(c.fieldList)}
	for _, l := range locations {
		f.paths = append(f.paths, c.compileFieldPath(l))
	}
	c.fields[key] = f
	c.fieldList = append(c.fieldList, f)
	return f
}

// field returns the field a Sigma name denotes in records of the sources.
func (c *compiler) field(sources []string, name string) *field {
	return c.fieldAt(c.mapper.locations(sources, name))
}

// ruleCompiler compiles the detection section of one rule.
type ruleCompiler struct {
	*compiler
	w       *walker
	sources []string
}

// compileLogic compiles a detection (or filter) section.
func (rc *ruleCompiler) compileLogic(section []pair, line int) (*logic, error) {
	l := &logic{}
	var names, conditions []string
	condLine := line
	for _, p := range section {
		switch p.key {
		case "condition":
			var err error
			if conditions, err = rc.w.texts(p.value, "condition"); err != nil {
				return nil, err
			}
			condLine = p.line
		case "timeframe":
			// Sigma v1's aggregation window: meaningless without an
			// aggregation, which the condition parser rejects.
		default:
			sel, err := rc.compileSelection(p)
			if err != nil {
				return nil, err
			}
			l.selections = append(l.selections, sel)
			names = append(names, p.key)
		}
	}
	if len(conditions) == 0 {
		return nil, lineError(line, "detection has no condition")
	}
	var roots []*condNode
	for _, text := range conditions {
		n, err := parseCondition(text, names)
		if err != nil {
			return nil, lineError(condLine, err.Error())
		}
		roots = append(roots, n)
	}
	// A list of conditions means any of them.
	l.cond = roots[0]
	if len(roots) > 1 {
		l.cond = &condNode{op: condOr, kids: roots}
	}
	l.positive = positiveRefs(l.cond, false, map[int]bool{}, nil)
	return l, nil
}

func (rc *ruleCompiler) compileSelection(p pair) (selection, error) {
	sel := selection{name: p.key}
	v, err := rc.w.resolve(p.value)
	if err != nil {
		return sel, err
	}
	switch {
	case v.Kind == yaml.MappingNode:
		items, err := rc.compileMap(v)
		if err != nil {
			return sel, err
		}
		sel.alts = append(sel.alts, items)
	case v.Kind == yaml.SequenceNode:
		elems, err := rc.w.list(v)
		if err != nil {
			return sel, err
		}
		var keywords []*yaml.Node
		for _, e := range elems {
			switch {
			case e.Kind == yaml.MappingNode:
				items, err := rc.compileMap(e)
				if err != nil {
					return sel, err
				}
				sel.alts = append(sel.alts, items)
			case e.Kind == yaml.ScalarNode && e.Tag != "!!null":
				keywords = append(keywords, e)
			default:
				return sel, lineError(rc.w.line(e), fmt.Sprintf("%s: list items must be keywords or field maps", p.key))
			}
		}
		if len(keywords) > 0 {
			it, err := rc.compileItem("", modifiers{}, keywords)
			if err != nil {
				return sel, lineError(p.line, fmt.Sprintf("%s: %v", p.key, unwrapLine(err)))
			}
			sel.alts = append(sel.alts, []item{it})
		}
	case v.Kind == yaml.ScalarNode && v.Tag != "!!null":
		it, err := rc.compileItem("", modifiers{}, []*yaml.Node{v})
		if err != nil {
			return sel, lineError(p.line, fmt.Sprintf("%s: %v", p.key, unwrapLine(err)))
		}
		sel.alts = append(sel.alts, []item{it})
	}
	if len(sel.alts) == 0 {
		return sel, lineError(p.line, fmt.Sprintf("search identifier %q is empty", p.key))
	}
	return sel, nil
}

// compileMap compiles a map of field conditions (all must hold).
func (rc *ruleCompiler) compileMap(n *yaml.Node) ([]item, error) {
	pairs, err := rc.w.mapping(n, "a field map")
	if err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, lineError(rc.w.line(n), "empty field map")
	}
	items := make([]item, 0, len(pairs))
	for _, p := range pairs {
		name, chain, _ := strings.Cut(p.key, "|")
		var mods modifiers
		if chain != "" {
			if mods, err = parseModifiers(strings.Split(chain, "|")); err != nil {
				return nil, lineError(p.line, fmt.Sprintf("%s: %v", p.key, err))
			}
		}
		values, err := rc.w.list(p.value)
		if err != nil {
			return nil, err
		}
		it, err := rc.compileItem(name, mods, values)
		if err != nil {
			return nil, lineError(p.line, fmt.Sprintf("%s: %v", p.key, unwrapLine(err)))
		}
		items = append(items, it)
	}
	return items, nil
}

// compileItem compiles one field (or, with name "", keywords) and its values.
func (rc *ruleCompiler) compileItem(name string, m modifiers, values []*yaml.Node) (item, error) {
	it := item{kind: itemValues, all: m.all, neq: m.neq}
	if name == "" {
		it.kind = itemKeywords
		if m.compare != "" && m.compare != "re" {
			return it, fmt.Errorf("keywords take only string modifiers and re, not %s", m.compare)
		}
	} else {
		it.field = rc.field(rc.sources, name)
	}
	if len(values) == 0 {
		return it, fmt.Errorf("no values")
	}
	for _, v := range values {
		if v.Kind != yaml.ScalarNode {
			return it, lineError(rc.w.line(v), "values must be scalars or a list of scalars")
		}
	}
	if m.compare == "exists" {
		if len(values) != 1 || values[0].Tag == "!!null" {
			return it, fmt.Errorf("exists takes one value, true or false")
		}
		b, err := strconv.ParseBool(values[0].Value)
		if err != nil {
			return it, fmt.Errorf("exists takes true or false, not %q", values[0].Value)
		}
		return item{kind: itemExists, field: it.field, exists: b}, nil
	}
	if m.all && len(values) < 2 {
		return it, fmt.Errorf("all needs a list of two or more values (the specification forbids it on a single value)")
	}
	if values[0].Tag == "!!null" && len(values) == 1 {
		if m.compare != "" || m.wrap != "" || len(m.transforms) > 0 || m.neq || m.all || it.kind == itemKeywords {
			return it, fmt.Errorf("null takes no modifiers and is not a keyword")
		}
		it.kind = itemNull
		return it, nil
	}
	for _, v := range values {
		if v.Tag == "!!null" {
			// Specification v2, "Special Field Values": null "cannot be part
			// of a list of field values as it is its own type".
			return it, lineError(rc.w.line(v), "null cannot be part of a list of field values (Sigma specification v2); "+
				"give it its own selection (sel_null: {field: null}) and combine the two with 'or' or '1 of'")
		}
		alts, err := rc.needles(m, v.Value, it.kind == itemKeywords)
		if err != nil {
			return it, err
		}
		it.groups = append(it.groups, alts)
	}
	return it, nil
}

// needles compiles one rule value into its alternatives.
func (rc *ruleCompiler) needles(m modifiers, value string, keyword bool) ([]needle, error) {
	switch m.compare {
	case "re":
		re, err := regexp.Compile(reFlags(m.reFlags) + value)
		if err != nil {
			return nil, fmt.Errorf("re: %q is not a regular expression RE2 can run: %v", value, err)
		}
		return []needle{regexNeedle{re: re}}, nil
	case "cidr":
		prefix, err := netip.ParsePrefix(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("cidr: %q is not a network such as 10.0.0.0/8 or 2001:db8::/32", value)
		}
		return []needle{cidrNeedle{prefix: prefix.Masked()}}, nil
	case "lt", "lte", "gt", "gte":
		n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("%s compares numbers; %q is not one", m.compare, value)
		}
		return []needle{cmpNeedle{op: m.compare, value: n, timePart: m.timePart}}, nil
	case "fieldref":
		return []needle{fieldrefNeedle{other: rc.field(rc.sources, value), op: wrapOp(m.wrap), cased: m.cased}}, nil
	}
	if m.timePart != "" {
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("%s compares whole numbers; %q is not one", m.timePart, value)
		}
		return []needle{cmpNeedle{op: "eq", value: float64(n), timePart: m.timePart}}, nil
	}
	variants := []sigmaString{parseSigmaString(value, m.expand)}
	for _, t := range m.transforms {
		var err error
		if variants, err = transform(t, variants, rc.placeholders); err != nil {
			return nil, err
		}
	}
	if rc.w.budget.alternatives -= len(variants); rc.w.budget.alternatives < 0 {
		return nil, fmt.Errorf("the file's values expand into more than %d alternatives", maxFileAlternatives)
	}
	leading := keyword || m.wrap == "contains" || m.wrap == "endswith"
	trailing := keyword || m.wrap == "contains" || m.wrap == "startswith"
	out := make([]needle, 0, len(variants))
	for _, s := range variants {
		sm := compileString(s.wrap(leading, trailing), m.cased)
		out = append(out, &sm)
	}
	return out, nil
}

func reFlags(flags string) string {
	if flags == "" {
		return ""
	}
	return "(?" + flags + ")"
}

func wrapOp(wrap string) strOp {
	switch wrap {
	case "contains":
		return opContains
	case "startswith":
		return opPrefix
	case "endswith":
		return opSuffix
	}
	return opExact
}

// unwrapLine drops a posError's line when an outer error gives its own.
func unwrapLine(err error) string {
	if pe, ok := err.(*posError); ok {
		return pe.msg
	}
	return err.Error()
}

// compileWhere compiles a logsource entry's narrowing conditions.
func (c *compiler) compileWhere(where map[string][]string) []item {
	keys := make([]string, 0, len(where))
	for k := range where {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	items := make([]item, 0, len(keys))
	for _, k := range keys {
		it := item{kind: itemValues, field: c.fieldAt([]string{k})}
		for _, v := range where[k] {
			sm := compileString(sigmaString{{kind: partText, text: v}}, false)
			it.groups = append(it.groups, []needle{&sm})
		}
		items = append(items, it)
	}
	return items
}
