package sigma

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RuleInfo describes a loaded rule: what a detection reports about it.
type RuleInfo struct {
	// Key is the rule's id, else its name, else <file>#<document>: the
	// stable part of the detection id sigma/<Key>.
	Key   string
	ID    string
	Name  string
	Title string
	// Level is informational, low, medium, high or critical ("" if unset).
	Level      string
	Tags       []string
	References []string
	// Correlation is the correlation type; "" for a detection rule.
	Correlation string
	File        string
	Line        int
	// Sources are the audit.source values the rule applies to.
	Sources []string
	// RegressionTests is the rule's regression_tests_path: the info.yml of
	// its own tests (SigmaHQ's regression data), as the rule writes it.
	RegressionTests string
}

type ruleKind uint8

const (
	kindDetection ruleKind = iota
	kindCorrelation
	kindFilter
)

// logsource is a rule's logsource, lowercased as the specification writes it.
type logsource struct {
	category, product, service string
}

func (l logsource) String() string {
	var parts []string
	for _, kv := range [][2]string{{"category", l.category}, {"product", l.product}, {"service", l.service}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

// ruleDef is one document of a rule file, read but not yet compiled.
type ruleDef struct {
	info      RuleInfo
	kind      ruleKind
	w         *walker
	logsource logsource
	// hasLogsource: the document has a logsource section (a filter must).
	hasLogsource bool
	// detection holds the detection section, or a filter's section minus
	// its rules list.
	detection   []pair
	sectionLine int
	correlation *yaml.Node
	// refs are the rules a filter or correlation applies to; anyRule: a
	// filter says "rules: any" (or all, or an empty list), as pySigma reads
	// it: every rule its logsource contains.
	refs     []string
	refsLine int
	anyRule  bool
	// generate: the rules a correlation refers to report on their own too.
	// The JSON schema puts it at the top level, pySigma in the correlation
	// section; generateLine says where it was given first (0: nowhere).
	generate     bool
	generateLine int
}

var levels = []string{"informational", "low", "medium", "high", "critical"}

// readRuleDef reads the header of one document: its kind, identity and
// metadata. Detection and correlation sections are compiled later, once
// every rule's id and name is known.
func readRuleDef(file string, docNumber int, w *walker, root *yaml.Node) (*ruleDef, error) {
	top, err := w.mapping(root, "a Sigma document")
	if err != nil {
		return nil, err
	}
	d := &ruleDef{w: w, info: RuleInfo{File: file, Line: w.line(root)}}
	var kinds []string
	for _, p := range top {
		switch p.key {
		case "title":
			d.info.Title, err = w.text(p.value, "title")
			if err == nil && len(d.info.Title) > 256 {
				err = lineError(p.line, "title is longer than 256 characters")
			}
		case "id":
			d.info.ID, err = w.text(p.value, "id")
		case "name":
			d.info.Name, err = w.text(p.value, "name")
		case "level":
			d.info.Level, err = w.text(p.value, "level")
			d.info.Level = strings.ToLower(d.info.Level)
			if err == nil && !slices.Contains(levels, d.info.Level) {
				err = lineError(p.line, fmt.Sprintf("level %q is not one of %s", d.info.Level, strings.Join(levels, ", ")))
			}
		case "tags":
			d.info.Tags, err = w.texts(p.value, "tags")
		case "references":
			d.info.References, err = w.texts(p.value, "references")
		case "regression_tests_path":
			d.info.RegressionTests, err = w.text(p.value, "regression_tests_path")
		case "generate":
			err = d.setGenerate(p)
		case "logsource":
			d.hasLogsource = true
			d.logsource, err = readLogsource(w, p.value)
		case "detection":
			kinds = append(kinds, "detection")
			d.kind, d.sectionLine = kindDetection, p.line
			d.detection, err = w.mapping(p.value, "detection")
		case "correlation":
			kinds = append(kinds, "correlation")
			d.kind, d.correlation = kindCorrelation, p.value
		case "filter":
			kinds = append(kinds, "filter")
			d.kind, d.sectionLine = kindFilter, p.line
			err = d.readFilter(p.value)
		}
		if err != nil {
			return d, err
		}
	}
	d.info.Key = firstNonEmpty(d.info.ID, d.info.Name, fmt.Sprintf("%s#%d", strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), docNumber))
	switch len(kinds) {
	case 1:
		if d.kind == kindFilter && !d.hasLogsource {
			return d, lineError(d.info.Line, "filter: logsource is required (Sigma filters specification); give the logsource of the rules it filters, e.g. {product: m365, service: audit}")
		}
		return d, nil
	case 0:
		return d, lineError(d.info.Line, "the document has none of detection (a rule), correlation (a correlation rule) or filter (a filter)")
	}
	return d, lineError(d.info.Line, "the document has more than one of "+strings.Join(kinds, ", ")+"; write each in its own document")
}

func readLogsource(w *walker, n *yaml.Node) (logsource, error) {
	pairs, err := w.mapping(n, "logsource")
	if err != nil {
		return logsource{}, err
	}
	var ls logsource
	for _, p := range pairs {
		var dst *string
		switch p.key {
		case "category":
			dst = &ls.category
		case "product":
			dst = &ls.product
		case "service":
			dst = &ls.service
		default:
			continue // definition and custom attributes are for readers
		}
		v, err := w.text(p.value, "logsource "+p.key)
		if err != nil {
			return ls, err
		}
		*dst = strings.ToLower(v)
	}
	return ls, nil
}

// readFilter reads a Sigma filter section: the rules it applies to, its
// search identifiers and its condition.
func (d *ruleDef) readFilter(n *yaml.Node) error {
	pairs, err := d.w.mapping(n, "filter")
	if err != nil {
		return err
	}
	seen := false
	for _, p := range pairs {
		if p.key != "rules" {
			d.detection = append(d.detection, p)
			continue
		}
		seen, d.refsLine = true, p.line
		v, err := d.w.resolve(p.value)
		if err != nil {
			return err
		}
		if v.Kind == yaml.ScalarNode && (strings.EqualFold(v.Value, "any") || strings.EqualFold(v.Value, "all")) {
			d.anyRule = true
			continue
		}
		if d.refs, err = d.w.texts(v, "filter rules"); err != nil {
			return err
		}
		d.anyRule = len(d.refs) == 0
	}
	if !seen {
		return lineError(d.info.Line, "filter: rules is required: the ids or names of the rules it applies to, or any (every rule of its logsource)")
	}
	return nil
}

// contains reports whether a filter of logsource l applies to a rule of
// logsource r: every attribute l names, r names with the same value (as
// pySigma's SigmaLogSource containment).
func (l logsource) contains(r logsource) bool {
	return (l.category == "" || l.category == r.category) &&
		(l.product == "" || l.product == r.product) &&
		(l.service == "" || l.service == r.service)
}

// setGenerate reads generate, at the top level or in the correlation
// section; given in both, it must say the same.
func (d *ruleDef) setGenerate(p pair) error {
	g, err := d.w.boolean(p.value, "generate")
	if err != nil {
		return err
	}
	if d.generateLine != 0 && g != d.generate {
		return lineError(p.line, fmt.Sprintf("generate is given twice with different values (line %d and here); keep one", d.generateLine))
	}
	d.generate, d.generateLine = g, p.line
	return nil
}

func (d *ruleDef) describe() string {
	if d.info.Title != "" {
		return fmt.Sprintf("%q (%s)", d.info.Title, d.info.Key)
	}
	return d.info.Key
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
