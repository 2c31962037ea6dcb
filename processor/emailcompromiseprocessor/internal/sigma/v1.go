package sigma

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Sigma v1 forms that rules still carry (SigmaHQ's unsupported/ folder holds
// dozens), translated to their v2 equivalents when loading, each with a note
// in the load report:
//
//   - collections: a multi-document file whose "action: global" document is
//     merged into every document after it ("action: reset" forgets it,
//     "action: repeat" merges a document over the one before);
//   - aggregations: a condition "selection | count(field) by group > 10"
//     with the detection's timeframe, which Sigma v2 writes as a correlation
//     rule over the rule's selection.

// collection tracks the v1 collection actions of one file.
type collection struct {
	global     *yaml.Node
	globalLine int
	previous   *yaml.Node
}

// expand applies the collection's actions to a document: it returns the
// document to read as a rule (nil when the document was an action only),
// and whether it was merged with a global document.
func (c *collection) expand(w *walker, root *yaml.Node) (*yaml.Node, bool, error) {
	action, rest, err := v1Action(w, root)
	if err != nil {
		return nil, false, err
	}
	merged := false
	switch action {
	case "global":
		c.global, c.globalLine = rest, root.Line
		return nil, false, nil
	case "reset":
		c.global = nil
		return nil, false, nil
	case "repeat":
		if c.previous == nil {
			return nil, false, lineError(root.Line, "action: repeat has no document before it to repeat")
		}
		rest = mergeNodes(c.previous, rest)
	}
	if c.global != nil {
		rest, merged = mergeNodes(c.global, rest), true
	}
	c.previous = rest
	return rest, merged, nil
}

// v1Action returns a document's v1 collection action ("" for none) and the
// document without it.
func v1Action(w *walker, root *yaml.Node) (string, *yaml.Node, error) {
	if root.Kind != yaml.MappingNode {
		return "", root, nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "action" {
			continue
		}
		action, err := w.text(root.Content[i+1], "action")
		if err != nil {
			return "", nil, err
		}
		switch action {
		case "global", "reset", "repeat":
		default:
			return "", nil, lineError(root.Content[i].Line, fmt.Sprintf("action %q is not one of global, reset, repeat (Sigma v1 collections)", action))
		}
		rest := *root
		rest.Content = append(append([]*yaml.Node(nil), root.Content[:i]...), root.Content[i+2:]...)
		return action, &rest, nil
	}
	return "", root, nil
}

// mergeNodes merges over into base as Sigma v1 collections did: maps merge
// key by key, recursively; anything else in over replaces base's. Neither
// input changes, since base serves every document after it.
func mergeNodes(base, over *yaml.Node) *yaml.Node {
	b, o := base, over
	if b.Kind == yaml.AliasNode && b.Alias != nil {
		b = b.Alias
	}
	if o.Kind == yaml.AliasNode && o.Alias != nil {
		o = o.Alias
	}
	if b.Kind != yaml.MappingNode || o.Kind != yaml.MappingNode {
		return over
	}
	out := *o
	out.Content = nil
	taken := map[string]bool{}
	for i := 0; i+1 < len(b.Content); i += 2 {
		key, value := b.Content[i], b.Content[i+1]
		for j := 0; j+1 < len(o.Content); j += 2 {
			if o.Content[j].Value == key.Value {
				value = mergeNodes(value, o.Content[j+1])
				taken[key.Value] = true
				break
			}
		}
		out.Content = append(out.Content, key, value)
	}
	for j := 0; j+1 < len(o.Content); j += 2 {
		if !taken[o.Content[j].Value] {
			out.Content = append(out.Content, o.Content[j], o.Content[j+1])
		}
	}
	return &out
}

// v1Aggregation is "function(field) by group op value".
var v1Aggregation = regexp.MustCompile(`(?i)^(count|min|max|avg|sum)\(\s*([^()\s]*)\s*\)(?:\s+by\s+([^\s<>=!]+))?\s*(<=|>=|==|!=|<|>|=)\s*(-?[0-9]+(?:\.[0-9]+)?)$`)

var v1Ops = map[string]string{">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "==": "eq", "!=": "neq"}

var v1Types = map[string]corrType{"count": corrEventCount, "sum": corrValueSum, "avg": corrValueAvg}

// translateAggregation turns a detection rule whose condition ends in a v1
// aggregation into the detection rule of its selection and, in its place
// (with its id, title, level and tags), a correlation rule over it. It
// returns nil when the condition has no aggregation.
func translateAggregation(d *ruleDef) ([]*ruleDef, string, error) {
	condIdx, timeframe := -1, -1
	for i, p := range d.detection {
		switch p.key {
		case "condition":
			condIdx = i
		case "timeframe":
			timeframe = i
		}
	}
	if condIdx < 0 {
		return nil, "", nil
	}
	cond := d.detection[condIdx]
	texts, err := d.w.texts(cond.value, "condition")
	if err != nil {
		return nil, "", err
	}
	bar := -1
	for _, t := range texts {
		if bar = strings.IndexByte(t, '|'); bar >= 0 {
			break
		}
	}
	if bar < 0 {
		return nil, "", nil
	}
	if len(texts) > 1 {
		return nil, "", lineError(cond.line, "a Sigma v1 aggregation (\"| count() ...\") in a list of conditions cannot be translated; write one condition, or a correlation rule")
	}
	selection, agg := strings.TrimSpace(texts[0][:bar]), strings.TrimSpace(texts[0][bar+1:])
	if strings.HasPrefix(strings.ToLower(agg), "near") {
		return nil, "", lineError(cond.line, "condition: the near operator was removed in Sigma v2; express it as a temporal correlation rule")
	}
	m := v1Aggregation.FindStringSubmatch(agg)
	if m == nil {
		return nil, "", lineError(cond.line, fmt.Sprintf("condition: %q is not a Sigma v1 aggregation (function(field) [by field] op number); Sigma v2 expresses aggregations as correlation rules", agg))
	}
	function, field, group, op, value := strings.ToLower(m[1]), m[2], m[3], v1Ops[m[4]], m[5]
	typ, ok := v1Types[function]
	switch {
	case !ok:
		return nil, "", lineError(cond.line, fmt.Sprintf("condition: the Sigma v1 aggregation %s() has no Sigma v2 correlation type (count, sum and avg do); rewrite the rule", function))
	case typ == corrEventCount && field != "":
		typ = corrValueCount
	case typ != corrEventCount && field == "":
		return nil, "", lineError(cond.line, fmt.Sprintf("condition: %s() needs the field it aggregates", function))
	}
	if timeframe < 0 {
		return nil, "", lineError(cond.line, fmt.Sprintf("condition: the Sigma v1 aggregation %q has no timeframe, which a correlation's timespan needs; add one to the detection (e.g. timeframe: 1h)", agg))
	}
	span, err := d.w.text(d.detection[timeframe].value, "timeframe")
	if err != nil {
		return nil, "", err
	}

	// The selection keeps the rule's logsource and detection, under a name
	// of its own; the correlation takes the rule's identity.
	events := *d
	events.info.ID, events.info.Name = "", d.info.Key+"/v1-events"
	events.info.Key, events.info.Title = events.info.Name, d.info.Title+" (events)"
	events.info.Level, events.info.Tags, events.info.References = "", nil, nil
	events.detection = append([]pair(nil), d.detection...)
	events.detection[condIdx].value = scalarNode(selection, cond.line)
	events.detection = append(events.detection[:timeframe:timeframe], events.detection[timeframe+1:]...)

	corr := *d
	corr.kind, corr.detection, corr.logsource, corr.hasLogsource = kindCorrelation, nil, logsource{}, false
	section := []*yaml.Node{
		scalarNode("type", cond.line), scalarNode(typ.String(), cond.line),
		scalarNode("rules", cond.line), sequenceNode(cond.line, events.info.Name),
		scalarNode("timespan", cond.line), scalarNode(span, cond.line),
	}
	condition := []*yaml.Node{scalarNode(op, cond.line), scalarNode(value, cond.line)}
	if field != "" {
		condition = append(condition, scalarNode("field", cond.line), scalarNode(field, cond.line))
	}
	section = append(section, scalarNode("condition", cond.line), &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: cond.line, Content: condition})
	if group != "" {
		section = append(section, scalarNode("group-by", cond.line), sequenceNode(cond.line, group))
	}
	corr.correlation = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: cond.line, Content: section}

	what := typ.String()
	if group != "" {
		what += ", group-by " + group
	}
	if field != "" {
		what += ", field " + field
	}
	note := fmt.Sprintf("Sigma v1 aggregation %q translated into a correlation: %s, timespan %s, condition %s %s, over the rule's selection %q (named %s)",
		agg, what, span, op, value, selection, events.info.Name)
	return []*ruleDef{&events, &corr}, note, nil
}

func scalarNode(text string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: text, Line: line}
}

func sequenceNode(line int, texts ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
	for _, t := range texts {
		n.Content = append(n.Content, scalarNode(t, line))
	}
	return n
}
