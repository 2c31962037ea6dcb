package sigma

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Load reads the configured rule files and compiles them.
func Load(cfg Config) (*Engine, *Report, error) {
	cfg = cfg.withDefaults()
	files, errs := ReadFiles(cfg.Rules, cfg.MaxFileBytes)
	return compile(files, errs, cfg, false)
}

// Compile compiles rule files already in memory.
func Compile(files []File, cfg Config) (*Engine, *Report, error) {
	return compile(files, nil, cfg.withDefaults(), false)
}

// loader compiles a set of files: first every document's header, so that
// correlations and filters can refer to rules in any file, then each rule.
type loader struct {
	cfg Config
	// reportAll makes every rule report its own matches, referred to by a
	// correlation or not, as a rule's own tests need.
	reportAll bool
	table     logsourceTable
	known     []string
	comp      *compiler
	engine    *Engine
	report    *Report

	defs         []*ruleDef
	byKey        map[string]*ruleDef
	rejected     map[*ruleDef]bool
	detections   map[*ruleDef]*detectionRule
	correlations map[*ruleDef]*correlationRule
	linking      map[*ruleDef]bool
}

func compile(files []File, fileErrs []*RuleError, cfg Config, reportAll bool) (*Engine, *Report, error) {
	table := newLogsourceTable(cfg.LogsourceMapping)
	known := table.sources()
	l := &loader{
		cfg: cfg, reportAll: reportAll, table: table, known: known,
		comp:         newCompiler(newFieldMapper(cfg.FieldMapping, slices.Clone(known)), cfg.Placeholders),
		engine:       &Engine{bySource: map[string]*sourceIndex{}, watermark: math.MinInt64, nextDue: noWindow},
		report:       &Report{Files: len(files), Errors: fileErrs},
		byKey:        map[string]*ruleDef{},
		rejected:     map[*ruleDef]bool{},
		detections:   map[*ruleDef]*detectionRule{},
		correlations: map[*ruleDef]*correlationRule{},
		linking:      map[*ruleDef]bool{},
	}
	for _, f := range files {
		l.readFile(f)
	}
	l.compileDetections()
	l.applyFilters()
	for _, d := range l.defs {
		if d.kind == kindCorrelation && !l.rejected[d] {
			l.correlation(d)
		}
	}
	l.build()
	if l.cfg.FailOnError && len(l.report.Errors) > 0 {
		errs := make([]error, len(l.report.Errors))
		for i, e := range l.report.Errors {
			errs[i] = e
		}
		return nil, l.report, fmt.Errorf("sigma: %d rule errors and fail_on_error is set: %w", len(errs), errors.Join(errs...))
	}
	return l.engine, l.report, nil
}

func (l *loader) readFile(f File) {
	budget := newFileBudget(len(f.Data))
	w := newWalker(budget)
	var v1 collection
	for i, doc := range splitDocuments(f.Data) {
		inDocument := &RuleError{File: f.Name, Line: doc.line, Rule: fmt.Sprintf("in document %d", i+1)}
		node, err := parseDocument(doc)
		if err != nil {
			l.fail(inDocument, err)
			continue
		}
		if node == nil {
			continue
		}
		node, merged, err := v1.expand(w, node)
		if err != nil {
			l.fail(inDocument, err)
			continue
		}
		if node == nil {
			continue
		}
		d, err := readRuleDef(f.Name, i+1, w, node)
		var translated []*ruleDef
		var note string
		if err == nil && d.kind == kindDetection {
			translated, note, err = translateAggregation(d)
		}
		if err != nil {
			if d != nil && (d.info.Title != "" || d.info.ID != "" || d.info.Name != "") {
				inDocument.Rule = d.describe()
			}
			l.fail(inDocument, err)
			continue
		}
		if translated == nil {
			translated = []*ruleDef{d}
		}
		for _, t := range translated {
			if l.register(t) && t.info.Key == d.info.Key {
				if merged {
					l.note(t, fmt.Sprintf("Sigma v1 collection: merged with the action: global document at line %d", v1.globalLine))
				}
				if note != "" {
					l.note(t, note)
				}
			}
		}
	}
}

// register makes a rule findable by id and name, which must be unique, and
// reports whether it could.
func (l *loader) register(d *ruleDef) bool {
	for _, key := range []string{d.info.ID, d.info.Name} {
		if key == "" {
			continue
		}
		if other, ok := l.byKey[key]; ok && other != d {
			l.reject(d, lineError(d.info.Line, fmt.Sprintf("id or name %q is already used by the rule at %s:%d", key, other.info.File, other.info.Line)))
			return false
		}
	}
	for _, key := range []string{d.info.ID, d.info.Name} {
		if key != "" {
			l.byKey[key] = d
		}
	}
	l.defs = append(l.defs, d)
	return true
}

func (l *loader) fail(e *RuleError, err error) {
	var pe *posError
	if errors.As(err, &pe) && pe.line > 0 {
		e.Line = pe.line
	}
	e.Reason = err.Error()
	l.report.Errors = append(l.report.Errors, e)
}

func (l *loader) reject(d *ruleDef, err error) {
	l.rejected[d] = true
	l.fail(&RuleError{File: d.info.File, Line: d.info.Line, Rule: d.describe()}, err)
}

func (l *loader) compileDetections() {
	for _, d := range l.defs {
		if d.kind != kindDetection {
			continue
		}
		entries := l.table.match(d.logsource)
		r := &detectionRule{ruleNode: ruleNode{info: &d.info, standalone: true}, where: map[string][][]item{}}
		r.anySource = d.logsource == logsource{}
		for _, e := range entries {
			if !slices.Contains(d.info.Sources, e.Source) {
				d.info.Sources = append(d.info.Sources, e.Source)
			}
		}
		if !r.anySource {
			for _, s := range d.info.Sources {
				r.where[s] = l.whereFor(s, entries)
			}
		}
		rc := &ruleCompiler{compiler: l.comp, w: d.w, sources: d.info.Sources}
		logic, err := rc.compileLogic(d.detection, d.sectionLine)
		if err != nil {
			l.reject(d, err)
			continue
		}
		r.logic = logic
		l.detections[d] = r
	}
}

// whereFor returns the narrowing of a source's records for the matching
// logsource entries: nil when any entry takes all of them.
func (l *loader) whereFor(source string, entries []LogsourceMapping) [][]item {
	var where [][]item
	for _, e := range entries {
		if e.Source != source {
			continue
		}
		if len(e.Where) == 0 {
			return nil
		}
		where = append(where, l.comp.compileWhere(e.Where))
	}
	return where
}

// applyFilters compiles each Sigma filter against every rule it names: a
// rule's fields resolve per its own sources.
func (l *loader) applyFilters() {
	for _, d := range l.defs {
		if d.kind != kindFilter || l.rejected[d] {
			continue
		}
		targets, err := l.filterTargets(d)
		logics := make([]*logic, len(targets))
		for i := 0; err == nil && i < len(targets); i++ {
			rc := &ruleCompiler{compiler: l.comp, w: d.w, sources: targets[i].info.Sources}
			logics[i], err = rc.compileLogic(d.detection, d.sectionLine)
		}
		if err != nil {
			l.reject(d, err)
			continue
		}
		for i, t := range targets {
			t.filters = append(t.filters, logics[i])
		}
		if len(targets) > 0 {
			l.report.Filters++
		}
	}
}

// filterTargets returns the detection rules a filter applies to: those it
// names (or every one, for rules: any) whose logsource its own contains. A
// named rule of another logsource is left alone, as pySigma does, and noted.
func (l *loader) filterTargets(d *ruleDef) ([]*detectionRule, error) {
	var targets []*detectionRule
	if d.anyRule {
		for _, t := range l.defs {
			if r := l.detections[t]; r != nil && d.logsource.contains(t.logsource) {
				targets = append(targets, r)
			}
		}
		if len(targets) == 0 {
			l.note(d, fmt.Sprintf("filter for any rule of logsource %s applies to no loaded rule", d.logsource))
		}
		return targets, nil
	}
	for _, ref := range d.refs {
		t, ok := l.byKey[ref]
		switch {
		case !ok:
			return nil, lineError(d.refsLine, fmt.Sprintf("filter refers to unknown rule %q", ref))
		case t.kind != kindDetection:
			return nil, lineError(d.refsLine, fmt.Sprintf("filter refers to %q, which is not a detection rule", ref))
		case l.detections[t] == nil:
			return nil, lineError(d.refsLine, fmt.Sprintf("filter refers to rule %q, which was rejected", ref))
		case !d.logsource.contains(t.logsource):
			l.note(d, fmt.Sprintf("filter does not apply to rule %s: the filter's logsource (%s) does not contain the rule's (%s)",
				t.describe(), d.logsource, t.logsource))
			continue
		}
		targets = append(targets, l.detections[t])
	}
	return targets, nil
}

func (l *loader) note(d *ruleDef, note string) {
	l.report.Notes = append(l.report.Notes, RuleNote{File: d.info.File, Line: d.info.Line, Rule: d.describe(), Note: note})
}

// correlation compiles a correlation rule and, first, the rules it refers
// to; it returns nil when the correlation is rejected.
func (l *loader) correlation(d *ruleDef) *correlationRule {
	if c, ok := l.correlations[d]; ok || l.rejected[d] {
		return c
	}
	if l.linking[d] {
		l.reject(d, lineError(d.info.Line, "correlation refers to itself through its rules (a cycle)"))
		return nil
	}
	l.linking[d] = true
	defer delete(l.linking, d)
	c, err := readCorrelation(d)
	if err != nil {
		l.reject(d, err)
		return nil
	}
	for _, name := range c.refNames {
		n, err := l.referredNode(name)
		if err == nil && c.windowEnd && l.byKey[name].kind == kindCorrelation {
			err = fmt.Errorf("correlation: a %s condition (%s) is decided when its windows close, so it counts detection rules only, not the correlation %q, "+
				"whose windows close later; refer to that correlation's own rules", c.typ, c.cond, name)
		}
		if err != nil {
			if !l.rejected[d] {
				l.reject(d, lineError(c.rulesLine, err.Error()))
			}
			return nil
		}
		c.refs = append(c.refs, n)
	}
	for _, name := range c.refNames {
		if ref := l.correlations[l.byKey[name]]; ref != nil {
			c.fedLate = max(c.fedLate, ref.fedLate)
			if ref.windowEnd {
				c.fedLate = max(c.fedLate, ref.span)
			}
		}
	}
	for i, n := range c.refs {
		n.parents = append(n.parents, parentLink{corr: c, ref: i})
		for _, s := range n.info.Sources {
			if !slices.Contains(d.info.Sources, s) {
				d.info.Sources = append(d.info.Sources, s)
			}
		}
	}
	d.info.Correlation = c.typ.String()
	c.compileFields(l.comp)
	c.state = newCorrState(l.cfg.Correlation.MaxGroups, l.cfg.Correlation.MaxEventsPerGroup, &l.engine.stats)
	l.engine.correlations = append(l.engine.correlations, c)
	if c.windowEnd {
		l.engine.windowed = append(l.engine.windowed, c)
	}
	l.correlations[d] = c
	return c
}

func (l *loader) referredNode(name string) (*ruleNode, error) {
	t, ok := l.byKey[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("correlation refers to unknown rule %q", name)
	case t.kind == kindFilter:
		return nil, fmt.Errorf("correlation refers to %q, which is a filter", name)
	case t.kind == kindDetection:
		if r := l.detections[t]; r != nil {
			return &r.ruleNode, nil
		}
	default:
		if c := l.correlation(t); c != nil {
			return &c.ruleNode, nil
		}
		if l.linking[t] {
			return nil, fmt.Errorf("correlation refers to itself through %q (a cycle)", name)
		}
	}
	return nil, fmt.Errorf("correlation refers to rule %q, which was rejected", name)
}

// build decides which rules are active and which report on their own, and
// indexes the detection rules per source.
func (l *loader) build() {
	referenced, generated := map[*ruleNode]bool{}, map[*ruleNode]bool{}
	for d, c := range l.correlations {
		for _, n := range c.refs {
			referenced[n] = true
			generated[n] = generated[n] || d.generate
		}
	}
	corrOf := map[*ruleNode]*correlationRule{}
	for _, c := range l.correlations {
		corrOf[&c.ruleNode] = c
	}
	active := map[*ruleNode]bool{}
	for _, r := range l.detections {
		active[&r.ruleNode] = r.anySource || len(r.info.Sources) > 0
	}
	var activeCorr func(c *correlationRule) bool
	activeCorr = func(c *correlationRule) bool {
		if a, ok := active[&c.ruleNode]; ok {
			return a
		}
		all, any := true, false
		for _, n := range c.refs {
			a := active[n]
			if cn := corrOf[n]; cn != nil {
				a = activeCorr(cn)
			}
			all, any = all && a, any || a
		}
		active[&c.ruleNode] = any && (all || !c.typ.temporal())
		return active[&c.ruleNode]
	}
	for _, c := range l.correlations {
		activeCorr(c)
	}
	for _, d := range l.defs {
		var n *ruleNode
		switch {
		case l.detections[d] != nil:
			n = &l.detections[d].ruleNode
		case l.correlations[d] != nil:
			n = &l.correlations[d].ruleNode
		default:
			continue
		}
		n.standalone = !referenced[n] || generated[n] || l.reportAll
		n.parents = slices.DeleteFunc(n.parents, func(p parentLink) bool { return !active[&p.corr.ruleNode] })
		if !active[n] {
			ls := d.logsource.String()
			if d.kind == kindCorrelation {
				ls = "refers to rules whose logsource is not received"
			}
			l.report.Inactive = append(l.report.Inactive, InactiveRule{File: d.info.File, Line: d.info.Line, Rule: d.describe(), Logsource: ls})
			continue
		}
		l.report.Loaded++
		if n.standalone {
			l.engine.reportable = append(l.engine.reportable, n.info)
		}
	}
	l.index(active)
}

// index builds the per-source rule indexes of the detection rules worth
// evaluating: active ones that report or feed a correlation.
func (l *loader) index(active map[*ruleNode]bool) {
	perSource := map[string][]sourceRule{}
	var anyRules []sourceRule
	for _, d := range l.defs {
		r := l.detections[d]
		if r == nil || !active[&r.ruleNode] || (!r.standalone && len(r.parents) == 0) {
			continue
		}
		if r.anySource {
			anyRules = append(anyRules, sourceRule{rule: r})
		}
		for _, s := range l.known {
			if where, ok := r.where[s]; ok || r.anySource {
				perSource[s] = append(perSource[s], sourceRule{rule: r, where: where})
			}
		}
	}
	most := len(anyRules)
	l.engine.anySource = buildIndex(anyRules)
	literals := l.engine.anySource.pre.literals()
	for _, s := range l.known {
		idx := buildIndex(perSource[s])
		l.engine.bySource[s] = idx
		most = max(most, len(perSource[s]))
		literals = max(literals, idx.pre.literals())
	}
	l.engine.ctx.slots = make([]fieldSlot, len(l.comp.fieldList))
	l.engine.ctx.prefixes = make([]prefixLookup, len(l.comp.prefixes))
	l.engine.ctx.seen = make([]uint32, most)
	l.engine.ctx.litSeen = make([]uint32, literals)
}
