package sigma

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// Event is what the engine reads of one record: the normalised view, the
// vendor body as already decoded, and the log attributes.
type Event struct {
	Record     *auditrecord.Record
	Body       pcommon.Map
	Attributes pcommon.Map
	// Now is the processing time, used as event time when the record has none.
	Now time.Time
	// Lateness is how far behind a correlation group's newest event a record
	// may be and still count (the processor's allowed_lateness).
	Lateness time.Duration
}

// Match is one rule that fired on a record.
type Match struct {
	Rule *RuleInfo
	// Reason is one sentence: the rule's title and the evidence (matched
	// selections; for correlations the group and the counts).
	Reason string
	// End is, for a correlation, the record its window ends at: the record
	// judged, or a later one whose window the judged record completed late.
	// Nil for a detection rule (the record judged).
	End *WindowEnd
}

// WindowEnd names the record a correlation window ends at.
type WindowEnd struct {
	ID   string
	At   time.Time
	User string
}

// detectionRule is a compiled detection rule.
type detectionRule struct {
	ruleNode
	logic *logic
	// filters are Sigma filters applied to the rule: it matches only when
	// none of them does.
	filters []*logic
	// where holds, per source, the logsource mapping's narrowing conditions
	// (nil: all records of the source). A rule without logsource has none.
	where map[string][][]item
	// anySource: the rule names no logsource and applies to every record.
	anySource bool
}

func (r *detectionRule) matches(c *evalCtx) bool {
	if !r.logic.eval(c) {
		return false
	}
	for _, f := range r.filters {
		if f.eval(c) {
			return false
		}
	}
	return true
}

// Engine evaluates compiled rules on records. See the package comment for
// its semantics; it is not safe for concurrent use.
type Engine struct {
	bySource   map[string]*sourceIndex
	anySource  *sourceIndex
	reportable []*RuleInfo
	ctx        evalCtx
	stats      Stats
	results    []corrResult

	// correlations are all correlation rules, in load order; windowed the
	// window-end ones among them (window.go); watermark is
	// the newest event time seen (math.MinInt64: none yet), nextDue the
	// earliest window end any of them waits for.
	correlations []*correlationRule
	windowed     []*correlationRule
	watermark    int64
	nextDue      int64
}

// Rules lists the rules that can report a match (active detection rules
// that stand alone, and active outermost or generate: true correlations).
func (e *Engine) Rules() []*RuleInfo { return e.reportable }

// Stats returns what bounded correlation state has given up so far.
func (e *Engine) Stats() Stats { return e.stats }

// Evaluate appends the rules that fire on ev to out and returns it. Matches
// come in rule load order, each correlation right after the rule match that
// completed it; windows of window-end correlations that ev's event time
// closes (see window.go) come first.
func (e *Engine) Evaluate(ev *Event, out []Match) []Match {
	c := &e.ctx
	c.reset(ev)
	idx := e.anySource
	if si, ok := e.bySource[string(c.record.Source)]; ok {
		idx = si
	}
	when := c.record.Time
	if when.IsZero() {
		when = ev.Now
	} else if len(e.windowed) > 0 {
		at := when
		if !ev.Now.IsZero() && ev.Now.Before(at) {
			at = ev.Now
		}
		e.watermark = max(e.watermark, at.UnixNano())
		out = e.closeWindows(c, e.watermark-int64(ev.Lateness), ev.Lateness, out)
	}
	for _, i := range idx.candidates(c) {
		sr := &idx.refs[i]
		if !sr.whereHolds(c) || !sr.rule.matches(c) {
			continue
		}
		r := sr.rule
		if r.standalone {
			out = append(out, Match{Rule: r.info, Reason: r.reason(c)})
		}
		self := corrEvent{t: when.UnixNano(), id: strings.Clone(c.record.ID), user: strings.Clone(c.record.User)}
		out = e.propagate(fieldReader{c: c}, &r.ruleNode, self, ev.Lateness, out)
	}
	return out
}

// Flush decides every window that window-end correlations still wait for,
// as at the end of the input: a test run over a finite sample, where no
// later record will move event time past them.
func (e *Engine) Flush(lateness time.Duration, out []Match) []Match {
	return e.closeWindows(&e.ctx, noWindow, lateness, out)
}

// closeWindows decides the windows of window-end correlations that end at
// or before limit and appends the matches, with what they complete in turn.
func (e *Engine) closeWindows(c *evalCtx, limit int64, lateness time.Duration, out []Match) []Match {
	if limit < e.nextDue {
		return out
	}
	e.nextDue = noWindow
	for _, corr := range e.windowed {
		from := len(e.results)
		e.results = corr.closeWindows(limit, e.results)
		for i := from; i < len(e.results); i++ {
			out = e.fired(c, corr, e.results[i], lateness, out)
		}
		e.results = e.results[:from]
		e.nextDue = min(e.nextDue, corr.state.due.next())
	}
	return out
}

// fieldReader reads the fields a correlation groups and aggregates by: from
// the judged record, or, for what the result of a correlation decided at
// window end (without a record of its group) completes, from that result's
// group-by values, by name.
type fieldReader struct {
	c *evalCtx
	// names and values are the group-by of such a result (names nil: read
	// the record).
	names, values []string
}

func (r fieldReader) read(f *field, name string) (scalar, bool) {
	if r.names == nil {
		return firstValue(r.c.values(f))
	}
	for i, n := range r.names {
		if strings.EqualFold(n, name) && i < len(r.values) {
			return stringScalar(r.values[i]), true
		}
	}
	return scalar{}, false
}

// propagate feeds a rule's match, an event ending at the record at, to the
// correlations that refer to it, and their windows that fire to theirs in
// turn. A window that fires may end at a later record than the one judged
// (completed late); its group is the judged record's all the same, so a
// correlation of correlations, grouping by the inner one's fields, reads
// them from the judged record.
func (e *Engine) propagate(r fieldReader, n *ruleNode, at corrEvent, lateness time.Duration, out []Match) []Match {
	for _, link := range n.parents {
		corr := link.corr
		from := len(e.results)
		e.results = e.feed(r, corr, link.ref, at, lateness, e.results)
		for i := from; i < len(e.results); i++ {
			out = e.firedWith(r, corr, e.results[i], lateness, out)
		}
		e.results = e.results[:from]
	}
	return out
}

// fired reports a window-end correlation's window and feeds it on, reading
// the fields of what it completes from its group.
func (e *Engine) fired(c *evalCtx, corr *correlationRule, res corrResult, lateness time.Duration, out []Match) []Match {
	return e.firedWith(fieldReader{c: c, names: corr.groupBy, values: groupValues(res.group)}, corr, res, lateness, out)
}

// firedWith reports a correlation's window (when the correlation reports on
// its own) and feeds it to the correlations that refer to it.
func (e *Engine) firedWith(r fieldReader, corr *correlationRule, res corrResult, lateness time.Duration, out []Match) []Match {
	if corr.standalone {
		out = append(out, Match{Rule: corr.info, Reason: corr.reason(&res),
			End: &WindowEnd{ID: res.end.id, At: time.Unix(0, res.end.t).UTC(), User: res.end.user}})
	}
	if r.names != nil {
		r = fieldReader{c: r.c, names: corr.groupBy, values: groupValues(res.group)}
	}
	return e.propagate(r, &corr.ruleNode, res.end, lateness, out)
}

// feed adds the event at, matched by the ref-th rule of corr, to the
// correlation's group for the group-by values r reads, and appends the
// windows that now fire.
func (e *Engine) feed(r fieldReader, corr *correlationRule, ref int, at corrEvent, lateness time.Duration, out []corrResult) []corrResult {
	c := r.c
	key := c.keyBuf[:0]
	for i, f := range corr.groupFields[ref] {
		v, ok := r.read(f, corr.groupNames[ref][i])
		if !ok {
			e.stats.Ungrouped++
			return out
		}
		if i > 0 {
			key = append(key, 0x1f)
		}
		key = append(key, strings.ToLower(v.text())...)
	}
	c.keyBuf = key
	ev := corrEvent{t: at.t, ref: ref, id: at.id, user: at.user}
	if fields := corr.valueFieldsByRef[ref]; len(fields) > 0 {
		var parts []string
		for i, f := range fields {
			v, ok := r.read(f, corr.valueFields[i])
			if !ok {
				return out // nothing to aggregate
			}
			parts = append(parts, v.text())
			if len(fields) == 1 {
				ev.num, ev.hasNum = v.number()
			}
		}
		// Values compare as Sigma compares strings: case-insensitively. A
		// single lowercase value is the record's own string, a slice of
		// its whole body text: the group keeps a copy, not the record.
		ev.value = strings.Clone(strings.ToLower(strings.Join(parts, ", ")))
		if corr.numeric() && !ev.hasNum {
			return out
		}
	}
	if corr.windowEnd {
		if r.names == nil && c.record.Time.IsZero() {
			// Without an event time there is no window to put it in.
			e.stats.LateEvents++
			return out
		}
		limit := int64(math.MinInt64)
		if e.watermark != math.MinInt64 {
			limit = e.watermark - int64(lateness)
		}
		corr.observeWindowed(ev, key, limit)
		e.nextDue = min(e.nextDue, corr.state.due.next())
		return out
	}
	return corr.observe(ev, key, lateness, out)
}

func firstValue(values []scalar) (scalar, bool) {
	for _, v := range values {
		if v.kind != scalarNull {
			return v, true
		}
	}
	return scalar{}, false
}

func (r *detectionRule) reason(c *evalCtx) string {
	sels := r.logic.matchedSelections(c)
	what := "its condition"
	if len(sels) > 0 {
		what = strings.Join(sels, ", ")
	}
	return fmt.Sprintf("Sigma rule %q matched %s.", r.info.Title, what)
}

func (c *correlationRule) reason(res *corrResult) string {
	var group []string
	values := groupValues(res.group)
	for i, g := range c.groupBy {
		if i < len(values) {
			group = append(group, g+"="+values[i])
		}
	}
	scope := ""
	if len(group) > 0 {
		scope = " for " + strings.Join(group, ", ")
	}
	metric := strconv.FormatFloat(res.metric, 'f', -1, 64)
	field := strings.Join(c.valueFields, ", ")
	var what string
	switch c.typ {
	case corrEventCount:
		what = fmt.Sprintf("%d events of %s", res.events, strings.Join(c.refNames, ", "))
	case corrValueCount:
		shown := res.values
		if len(shown) > 5 {
			shown = append(shown[:5:5], "...")
		}
		what = fmt.Sprintf("%s distinct %s (%s) over %d events", metric, field, strings.Join(shown, "; "), res.events)
	case corrValueSum:
		what = fmt.Sprintf("%s summing to %s over %d events", field, metric, res.events)
	case corrValueAvg:
		what = fmt.Sprintf("%s averaging %s over %d events", field, metric, res.events)
	case corrValuePercentile:
		what = fmt.Sprintf("%s %s of %d events", field, strings.Join(res.values, "; "), res.events)
		if c.hasPercentile {
			what = fmt.Sprintf("the %s percentile of %s is %s over %d events", ordinal(int(c.percentile)), field, metric, res.events)
		}
	case corrTemporal:
		what = fmt.Sprintf("%s of the rules %s all matched", metric, strings.Join(c.refNames, ", "))
	case corrTemporalOrdered:
		var chain []string
		for _, r := range res.refs {
			chain = append(chain, c.refNames[r])
		}
		what = fmt.Sprintf("%s matched in order", strings.Join(chain, " then "))
	}
	if c.windowEnd {
		return fmt.Sprintf("Sigma correlation %q (%s): %s%s in the window %s to %s (%s, condition %s).", c.info.Title, c.typ, what, scope,
			time.Unix(0, res.start).UTC().Format(time.RFC3339), time.Unix(0, res.start+int64(c.span)).UTC().Format(time.RFC3339), c.spanText, c.cond)
	}
	return fmt.Sprintf("Sigma correlation %q (%s): %s%s within %s up to %s (condition %s).", c.info.Title, c.typ, what, scope, c.spanText,
		time.Unix(0, res.end.t).UTC().Format(time.RFC3339), c.cond)
}

// ordinal writes 95 as 95th, 1 as 1st.
func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}
