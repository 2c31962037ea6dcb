package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.yaml.in/yaml/v3"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
)

// differentialRecords is how many generated records the differential test
// feeds to both engines.
const differentialRecords = 10_000

// The prefilter changes which rules are evaluated, never what matches: the
// full SigmaHQ cloud set of the corpus, loaded twice, one engine with the
// prefilter and one without, gives identical matches (rule, reason,
// window) on 10,000 generated records. Few of those rules need the
// prefilter (most have an equality the index keys them by), so the same
// comparison runs again on the set with its plain equalities turned into
// contains, startswith, endswith, cased, all and regular expressions, which
// the prefilter gates nearly all of.
//
// Half of the records are the load generator's as they are; the other
// half are also written to, in the fields one to three of their source's
// rules read, values built from those rules' own values (random case, text
// around, numbers as numbers, arrays, log attributes), so that many rules
// match and many more nearly do; a quarter of those are then handed to the
// rules of another source.
func TestPrefilterDifferential(t *testing.T) {
	dir := filepath.Join(corpus.Dir(t), "sigma")
	files, errs := ReadFiles([]string{
		filepath.Join(dir, "rules"), filepath.Join(dir, "rules-threat-hunting"), filepath.Join(dir, "rules-placeholder"),
		filepath.Join(dir, "deprecated"), filepath.Join(dir, "unsupported"),
	}, Config{}.withDefaults().MaxFileBytes)
	require.Empty(t, errs)
	t.Run("corpus", func(t *testing.T) {
		st := differential(t, files)
		assert.Greater(t, st.matchedRecords, 1000, "records with a match")
		assert.GreaterOrEqual(t, st.gatedMatched, 8, "distinct gated rules matched")
	})
	t.Run("corpus-as-patterns", func(t *testing.T) {
		rnd := rand.New(rand.NewPCG(13, 1))
		patterns := make([]File, len(files))
		for i, f := range files {
			patterns[i] = File{Name: f.Name, Data: asPatterns(t, rnd, f.Data)}
		}
		st := differential(t, patterns)
		assert.Greater(t, st.matchedRecords, 1000, "records with a match")
		assert.Greater(t, st.gatedMatched, 60, "distinct gated rules matched")
		assert.Less(t, st.candOn, st.candOff/2, "the prefilter should leave out most gated rules")
	})
}

type differentialStats struct {
	matchedRecords, gatedMatched, candOn, candOff int
}

// differential loads files into two engines, the prefilter off in one,
// feeds both the same records and requires the same matches.
func differential(t *testing.T, files []File) differentialStats {
	cfg := Config{Placeholders: corpusPlaceholders}
	on, rep, err := Compile(files, cfg)
	require.NoError(t, err)
	off, _, err := Compile(files, cfg)
	require.NoError(t, err)
	gated := 0
	for _, idx := range allIndexes(off) {
		idx.prefilterOff = true
		if idx.pre != nil {
			gated += len(idx.pre.gated)
		}
	}
	require.NotZero(t, gated, "no rule is gated by the prefilter: the test compares nothing")
	t.Logf("%d rules loaded (%d rejected, %d inactive); %d rule-source pairs gated by the prefilter", rep.Loaded, len(rep.Errors), len(rep.Inactive), gated)
	var sources []string
	for s := range on.bySource {
		sources = append(sources, s)
	}
	slices.Sort(sources)

	g, err := loadgen.New(loadgen.Config{Seed: 13, Users: 150, Days: 2})
	require.NoError(t, err)
	gen := &ruleValueGen{rnd: rand.New(rand.NewPCG(13, 2))}
	stop := errors.New("enough")
	var (
		st                  differentialStats
		n, mutated, matches int
		rules               = map[string]bool{}
		outOn, outOff       []Match
	)
	err = g.Each(func(rec *loadgen.Record) error {
		if n == differentialRecords {
			return stop
		}
		n++
		b := pcommon.NewMap()
		require.NoError(t, jsonpdata.DecodeMap(rec.JSON, b, jsonpdata.Limits{}))
		var view auditrecord.Record
		require.NoError(t, auditrecord.Parse(b, &view))
		attrs := pcommon.NewMap()
		if gen.rnd.IntN(2) == 0 {
			mutated++
			if gen.rnd.IntN(4) == 0 {
				view.Source = auditrecord.Source(sources[gen.rnd.IntN(len(sources))])
			}
			idx := on.anySource
			if si, ok := on.bySource[string(view.Source)]; ok {
				idx = si
			}
			for range 1 + gen.rnd.IntN(3) {
				gen.satisfy(idx, b, attrs)
			}
			// The view follows the body where it still parses as before.
			var again auditrecord.Record
			if auditrecord.Parse(b, &again) == nil && again.Source == view.Source {
				view = again
			}
		}
		view.PutAttributes(attrs)
		ev := &Event{Record: &view, Body: b, Attributes: attrs, Now: view.Time, Lateness: testLateness}
		outOn = on.Evaluate(ev, outOn[:0])
		st.candOn += len(on.ctx.cands)
		outOff = off.Evaluate(ev, outOff[:0])
		st.candOff += len(off.ctx.cands)
		require.Equal(t, matchSummary(outOff), matchSummary(outOn), "record %d (%s): matches with the prefilter differ from those without", n, rec.ID)
		if len(outOn) > 0 {
			st.matchedRecords++
		}
		for _, m := range outOn {
			matches++
			rules[m.Rule.Key] = true
		}
		return nil
	})
	if !errors.Is(err, stop) {
		require.NoError(t, err)
	}
	require.Equal(t, differentialRecords, n, "the load generator made fewer records than the test needs")
	gatedMatched := map[string]bool{}
	for _, idx := range allIndexes(on) {
		if idx.pre == nil {
			continue
		}
		for _, i := range idx.pre.gated {
			if key := idx.refs[i].rule.info.Key; rules[key] {
				gatedMatched[key] = true
			}
		}
	}
	st.gatedMatched = len(gatedMatched)
	t.Logf("%d records (%d written to): %d matches on %d records, %d distinct rules of which %d gated; candidates evaluated %d with the prefilter, %d without (%.1f%%)",
		n, mutated, matches, st.matchedRecords, len(rules), st.gatedMatched, st.candOn, st.candOff, 100*float64(st.candOn)/float64(st.candOff))
	return st
}

// asPatterns rewrites a rule file's plain equalities (a field with no
// modifier) into the shapes the prefilter reads: contains, startswith,
// endswith, cased, all, windash, wildcards inside the value, and regular
// expressions of the value (re, re|i).
func asPatterns(t *testing.T, rnd *rand.Rand, data []byte) []byte {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return data // what the loader rejects stays as it is
		}
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
			root := doc.Content[0]
			for i := 0; i+1 < len(root.Content); i += 2 {
				if root.Content[i].Value == "detection" {
					patternSelections(rnd, root.Content[i+1])
				}
			}
		}
		require.NoError(t, enc.Encode(&doc))
	}
	require.NoError(t, enc.Close())
	return out.Bytes()
}

func patternSelections(rnd *rand.Rand, detection *yaml.Node) {
	if detection.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(detection.Content); i += 2 {
		switch sel := detection.Content[i+1]; {
		case detection.Content[i].Value == "condition":
		case sel.Kind == yaml.MappingNode:
			patternMap(rnd, sel)
		case sel.Kind == yaml.SequenceNode:
			for _, e := range sel.Content {
				if e.Kind == yaml.MappingNode {
					patternMap(rnd, e)
				}
			}
		}
	}
}

func patternMap(rnd *rand.Rand, m *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, value := m.Content[i], m.Content[i+1]
		if strings.Contains(key.Value, "|") || value.Tag == "!!null" || value.Kind == yaml.AliasNode {
			continue
		}
		scalars := []*yaml.Node{value}
		if value.Kind == yaml.SequenceNode {
			scalars = value.Content
		}
		plain := true
		for _, s := range scalars {
			plain = plain && s.Kind == yaml.ScalarNode && s.Tag != "!!null" && !strings.ContainsAny(s.Value, `*?\`)
		}
		if !plain || len(scalars) == 0 {
			continue
		}
		mods := [...]string{"|contains", "|startswith", "|endswith", "|contains|cased", "|re", "|re|i", "|contains|all", "|endswith|windash", "?"}
		mod := mods[rnd.IntN(len(mods))]
		if mod == "?" {
			// A wildcard inside: the general (glob) matcher, which folds
			// as unicode.ToLower does.
			for _, s := range scalars {
				if r := []rune(s.Value); len(r) > 2 {
					r[len(r)/2] = []rune("?*")[rnd.IntN(2)]
					s.Value, s.Tag, s.Style = "*"+string(r), "!!str", yaml.SingleQuotedStyle
				}
			}
			continue
		}
		if mod == "|contains|all" && len(scalars) < 2 {
			mod = "|contains"
		}
		if strings.HasPrefix(mod, "|re") {
			for _, s := range scalars {
				s.Value, s.Tag, s.Style = regexp.QuoteMeta(s.Value), "!!str", yaml.SingleQuotedStyle
			}
		}
		key.Value += mod
	}
}

func allIndexes(e *Engine) []*sourceIndex {
	out := []*sourceIndex{e.anySource}
	for _, idx := range e.bySource {
		out = append(out, idx)
	}
	return out
}

func matchSummary(ms []Match) []string {
	out := []string{}
	for _, m := range ms {
		s := m.Rule.Key + " | " + m.Reason
		if m.End != nil {
			s += fmt.Sprintf(" | %+v", *m.End)
		}
		out = append(out, s)
	}
	return out
}

// ruleValueGen writes into records values that the compiled rules' own
// values match (or nearly).
type ruleValueGen struct {
	rnd *rand.Rand
	kw  int
}

// satisfy picks a rule of the index (most often one the prefilter gates)
// and writes what its logsource narrowing and most of its positive
// selections ask for.
func (g *ruleValueGen) satisfy(idx *sourceIndex, b, attrs pcommon.Map) {
	if len(idx.refs) == 0 {
		return
	}
	i := int32(g.rnd.IntN(len(idx.refs)))
	if idx.pre != nil && len(idx.pre.gated) > 0 && g.rnd.IntN(4) != 0 {
		i = idx.pre.gated[g.rnd.IntN(len(idx.pre.gated))]
	}
	sr := &idx.refs[i]
	if len(sr.where) > 0 {
		for _, it := range sr.where[g.rnd.IntN(len(sr.where))] {
			g.item(&it, b, attrs)
		}
	}
	l := sr.rule.logic
	for _, s := range l.positive {
		if g.rnd.IntN(8) == 0 {
			continue // a near miss
		}
		alts := l.selections[s].alts
		for _, it := range alts[g.rnd.IntN(len(alts))] {
			if g.rnd.IntN(16) != 0 {
				g.item(&it, b, attrs)
			}
		}
	}
}

func (g *ruleValueGen) item(it *item, b, attrs pcommon.Map) {
	switch {
	case it.kind == itemExists && it.exists:
		g.set(it.field, b, attrs, []any{g.junk()})
	case it.neq || len(it.groups) == 0:
	case it.kind == itemKeywords:
		if v, ok := g.value(g.pick(it.groups)); ok {
			g.kw++
			m := b.PutEmptyMap(fmt.Sprintf("generated%d", g.kw))
			putRaw(m.PutEmpty("keyword"), v)
		}
	case it.kind == itemValues && it.all:
		var vs []any
		for _, grp := range it.groups {
			if v, ok := g.value(g.pickNeedle(grp)); ok {
				vs = append(vs, v)
			}
		}
		g.set(it.field, b, attrs, vs)
	case it.kind == itemValues:
		if v, ok := g.value(g.pick(it.groups)); ok {
			vs := []any{v}
			if g.rnd.IntN(5) == 0 {
				vs = append([]any{g.junk()}, vs...) // one of several values
			}
			g.set(it.field, b, attrs, vs)
		}
	}
}

func (g *ruleValueGen) pick(groups [][]needle) needle {
	return g.pickNeedle(groups[g.rnd.IntN(len(groups))])
}

func (g *ruleValueGen) pickNeedle(alts []needle) needle {
	if len(alts) == 0 {
		return nil
	}
	return alts[g.rnd.IntN(len(alts))]
}

// set writes vs (one value, or an array of them) at one of f's body paths,
// or now and then among the log attributes under the path's text.
func (g *ruleValueGen) set(f *field, b, attrs pcommon.Map, vs []any) {
	var paths []*bodyPath
	for i := range f.paths {
		if p := &f.paths[i]; p.record == nil && p.virtual == nil {
			paths = append(paths, &p.body)
		}
	}
	if len(paths) == 0 || len(vs) == 0 {
		return
	}
	p := paths[g.rnd.IntN(len(paths))]
	var dst pcommon.Value
	if g.rnd.IntN(8) == 0 {
		dst = attrs.PutEmpty(p.text)
	} else {
		m := b
		for _, seg := range p.segs[:len(p.segs)-1] {
			if v, ok := m.Get(seg); ok && v.Type() == pcommon.ValueTypeMap {
				m = v.Map()
			} else {
				m = m.PutEmptyMap(seg)
			}
		}
		dst = m.PutEmpty(p.segs[len(p.segs)-1])
	}
	if len(vs) == 1 && g.rnd.IntN(6) != 0 {
		putRaw(dst, vs[0])
		return
	}
	s := dst.SetEmptySlice()
	for _, v := range vs {
		putRaw(s.AppendEmpty(), v)
	}
}

func putRaw(dst pcommon.Value, v any) {
	switch v := v.(type) {
	case int64:
		dst.SetInt(v)
	case float64:
		dst.SetDouble(v)
	default:
		dst.SetStr(v.(string))
	}
}

// value returns a value the needle matches, mostly: case and text around
// vary, and now and then a rune folds to the letter only as the wildcard
// matcher folds (Kelvin sign for k), which the plain matchers refuse.
func (g *ruleValueGen) value(n needle) (any, bool) {
	switch n := n.(type) {
	case *strMatcher:
		if n.op == opGlob {
			return g.globValue(&n.glob), true
		}
		if n.op == opExact && n.isNum && g.rnd.IntN(2) == 0 {
			if n.num == float64(int64(n.num)) {
				return int64(n.num), true
			}
			return n.num, true
		}
		text := n.text
		if !n.cased {
			text = g.recase(text)
		}
		switch n.op {
		case opPrefix:
			return text + g.junk(), true
		case opSuffix:
			return g.junk() + text, true
		case opContains:
			return g.junk() + text + g.junk(), true
		}
		return text, true
	case regexNeedle:
		prefix, _ := n.re.LiteralPrefix()
		return prefix + g.junk(), true
	case cidrNeedle:
		return n.prefix.Addr().String(), true
	case cmpNeedle:
		if n.timePart != "" {
			return nil, false
		}
		switch n.op {
		case "lt":
			return int64(n.value) - 1, true
		case "gt":
			return int64(n.value) + 1, true
		}
		return n.value, true
	}
	return nil, false
}

func (g *ruleValueGen) globValue(p *globPattern) string {
	var s strings.Builder
	if p.leading {
		s.WriteString(g.junk())
	}
	for i, seg := range p.segs {
		if i > 0 {
			s.WriteString(g.junk())
		}
		for _, r := range seg {
			switch {
			case r.any:
				s.WriteRune([]rune("x-é?*K")[g.rnd.IntN(6)])
			case p.cased:
				s.WriteRune(r.r)
			default:
				s.WriteString(g.recase(string(r.r)))
			}
		}
	}
	if p.trailing {
		s.WriteString(g.junk())
	}
	return s.String()
}

func (g *ruleValueGen) recase(s string) string {
	var out strings.Builder
	for _, r := range s {
		switch {
		case r == 'k' && g.rnd.IntN(10) == 0:
			r = '\u212a' // Kelvin sign
		case g.rnd.IntN(2) == 0:
			r = unicode.ToUpper(r)
		}
		out.WriteRune(r)
	}
	return out.String()
}

func (g *ruleValueGen) junk() string {
	words := []string{"", "", " ", "x", "Admin", "-", "\\", "é", "ß", "0", "/", "user@contoso.com", "Q"}
	var s strings.Builder
	for range g.rnd.IntN(3) {
		s.WriteString(words[g.rnd.IntN(len(words))])
	}
	return s.String()
}
