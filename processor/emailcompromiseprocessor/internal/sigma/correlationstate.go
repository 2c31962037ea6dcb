package sigma

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/state"
)

// Stats counts what bounded correlation state had to give up.
type Stats struct {
	// GroupsEvicted: groups dropped, least recently seen first, because a
	// correlation held correlation.max_groups groups.
	GroupsEvicted uint64
	// EventsDropped: events dropped, oldest first, because a group held
	// correlation.max_events_per_group events.
	EventsDropped uint64
	// LateEvents: events further behind their group's newest event than the
	// allowed lateness when they arrived (for correlations decided at window
	// end: behind the newest event time of the stream, or without one).
	LateEvents uint64
	// Ungrouped: events of correlated rules that lacked a group-by field.
	Ungrouped uint64
}

// corrState is one correlation rule's state: its groups, in a bounded store
// touched with event times (least recently seen evicted first, idle ones
// expired by event time), each holding its recent events in event-time
// order.
//
// A correlation whose condition can only become true as events are added
// (gt or gte of a count, a sum or the rules matched) is judged in flight,
// on windows that end at each of a group's events: the window of an event
// holds the group's events within the timespan before it. When an event
// arrives, every window that contains it is judged again (its own, and
// those of the later events within a timespan after it), so that what
// fires does not depend on the order events arrive in: an event arriving
// late completes the windows of the events after it.
//
// Any other condition (window.go) is judged once per group and window of
// the timespan, when no record can still fall into the window.
type corrState struct {
	groups *state.Store[corrGroup]
	// latest is the newest event time seen, which idle groups expire against.
	latest               int64
	maxGroups, maxEvents int
	stats                *Stats
	// due holds, for window-end correlations, each group's next window to
	// close (see window.go).
	due deadlines
	// distinct and numbers are reused to count distinct values and to rank
	// the numbers of a window.
	distinct map[string]int
	numbers  []float64
}

type corrGroup struct {
	key    string
	newest int64
	// pending is, for window-end correlations, the end of the group's
	// earliest window not yet decided (noWindow: none).
	pending int64
	events  []corrEvent
}

// corrEvent is one record a correlated rule matched.
type corrEvent struct {
	t      int64
	ref    int
	value  string
	num    float64
	hasNum bool
	// id and user name the record, for the evidence of a window that ends
	// at it.
	id, user string
}

// corrResult is a window that satisfies the correlation: the event it ends
// at and what it found, for the reason. start is where a window-end
// correlation's window starts.
type corrResult struct {
	end    corrEvent
	start  int64
	group  string
	metric float64
	events int
	values []string
	refs   []int
}

func newCorrState(maxGroups, maxEvents int, stats *Stats) *corrState {
	// The store's TTL is unused: groups expire by event time (ExpireBefore).
	return &corrState{groups: state.New[corrGroup](maxGroups, 0), maxGroups: maxGroups, maxEvents: maxEvents, latest: math.MinInt64,
		stats: stats, distinct: map[string]int{}}
}

// observe adds one event of the ref-th rule to the group key and returns
// the windows containing it that satisfy the correlation. lateness is how
// far behind the group's newest event an event may be and still count.
func (c *correlationRule) observe(ev corrEvent, key []byte, lateness time.Duration, out []corrResult) []corrResult {
	s := c.state
	// What a window-end correlation feeds comes once its window has closed,
	// up to its timespan and the lateness after its events: as much later
	// than the events of the group it joins.
	span, late := int64(c.span), int64(lateness+c.fedLate)
	s.latest = max(s.latest, ev.t)
	s.groups.ExpireBefore(time.Unix(0, s.latest-late-span))
	g := s.group(key, ev.t)
	if len(g.events) > 0 && ev.t < g.newest-late {
		s.stats.LateEvents++
		return out
	}
	at, added := g.insert(ev)
	g.newest = max(g.newest, ev.t)
	// Events no window that can still take a record reaches are dropped.
	if n := sort.Search(len(g.events), func(i int) bool { return g.events[i].t >= g.newest-late-span }); n > 0 {
		g.events = slices.Delete(g.events, 0, n)
		at -= n
	}
	if len(g.events) > s.maxEvents {
		n := len(g.events) - s.maxEvents
		g.events = slices.Delete(g.events, 0, n)
		s.stats.EventsDropped += uint64(n)
		at -= n
	}
	if at < 0 || !added {
		// Dropped at once, or delivered before: no window changed, but the
		// record's own window may be asked for again (a retried batch).
		if at >= 0 {
			return c.judge(g, at, out)
		}
		return out
	}
	for i := at; i < len(g.events) && g.events[i].t <= ev.t+span; i++ {
		out = c.judge(g, i, out)
	}
	return out
}

// group returns the group key, created if new, touched with the event time
// t (or its newest, if later): groups are evicted and expired by event time.
func (s *corrState) group(key []byte, t int64) *corrGroup {
	g := s.groups.GetBytes(key)
	if g == nil {
		evictions := s.groups.Evictions()
		g = s.groups.Touch(string(key), time.Unix(0, t))
		*g = corrGroup{key: string(key), newest: math.MinInt64, pending: noWindow}
		s.stats.GroupsEvicted += s.groups.Evictions() - evictions
	} else {
		s.groups.Touch(g.key, time.Unix(0, max(g.newest, t)))
	}
	return g
}

// insert places ev in time order, once per record: it returns its index
// and whether it was new.
func (g *corrGroup) insert(ev corrEvent) (int, bool) {
	i := len(g.events)
	for i > 0 && g.events[i-1].t > ev.t {
		i--
	}
	for j := i - 1; j >= 0 && g.events[j].t == ev.t; j-- {
		if ev.id != "" && g.events[j].id == ev.id && g.events[j].ref == ev.ref {
			return j, false
		}
	}
	g.events = slices.Insert(g.events, i, ev)
	return i, true
}

// judge evaluates the window that ends at the group's i-th event.
func (c *correlationRule) judge(g *corrGroup, i int, out []corrResult) []corrResult {
	end := g.events[i]
	last := i
	for last+1 < len(g.events) && g.events[last+1].t == end.t {
		last++
	}
	first := sort.Search(last+1, func(k int) bool { return g.events[k].t >= end.t-int64(c.span) })
	window := g.events[first : last+1]
	res, ok := c.evaluate(window, end)
	if !ok {
		return out
	}
	res.group = g.key
	return append(out, res)
}

// evaluate computes the correlation's metric over a window that ends at the
// event end and tests the condition on it.
func (c *correlationRule) evaluate(window []corrEvent, end corrEvent) (corrResult, bool) {
	res := corrResult{events: len(window), end: end}
	distinct := c.state.distinct
	clear(distinct)
	switch c.typ {
	case corrEventCount:
		res.metric = float64(res.events)
	case corrValuePercentile:
		if c.hasPercentile {
			nums := c.state.numbers[:0]
			for _, e := range window {
				if e.hasNum {
					nums = append(nums, e.num)
				}
			}
			c.state.numbers = nums
			if len(nums) == 0 {
				return res, false
			}
			res.metric = nearestRank(nums, c.percentile)
			break
		}
		return c.rareValues(window, res)
	case corrValueCount:
		for _, e := range window {
			distinct[e.value]++
		}
		res.metric = float64(len(distinct))
	case corrValueSum, corrValueAvg:
		numbers := 0
		for _, e := range window {
			if e.hasNum {
				res.metric += e.num
				numbers++
			}
		}
		if c.typ == corrValueAvg {
			if numbers == 0 {
				return res, false
			}
			res.metric /= float64(numbers)
		}
	case corrTemporal:
		var seen [maxCorrelatedRules]bool
		for _, e := range window {
			if !seen[e.ref] {
				seen[e.ref] = true
				res.metric++
			}
		}
	case corrTemporalOrdered:
		res.refs = orderedChain(window, len(c.refs))
		res.metric = float64(len(res.refs))
	}
	if !c.cond.holds(res.metric) {
		return res, false
	}
	if c.typ == corrValueCount {
		for v := range distinct {
			res.values = append(res.values, v)
		}
		slices.Sort(res.values)
	}
	return res, true
}

// rareValues judges value_percentile in the specification's form, which
// leaves the metric undefined beyond its example ("a process name that is
// at most 1% of the processes"): each value's share, in percent, of the
// window's events. The window fires when some value's share meets the
// condition; it ends at the last event with such a value, and the reason
// lists them.
func (c *correlationRule) rareValues(window []corrEvent, res corrResult) (corrResult, bool) {
	distinct := c.state.distinct
	for _, e := range window {
		distinct[e.value]++
	}
	found := false
	for i := range window {
		e := &window[i]
		share := 100 * float64(distinct[e.value]) / float64(res.events)
		if !c.cond.holds(share) {
			continue
		}
		if !found || later(*e, res.end) {
			res.end, res.metric = *e, share
		}
		found = true
	}
	if !found {
		return res, false
	}
	for v, n := range distinct {
		if share := 100 * float64(n) / float64(res.events); c.cond.holds(share) {
			res.values = append(res.values, fmt.Sprintf("%s (%s%%)", v, strconv.FormatFloat(share, 'f', -1, 64)))
		}
	}
	slices.Sort(res.values)
	return res, true
}

// later orders events by time, then record id, so that which of a window's
// events is its last does not depend on the order they arrived in.
func later(a, b corrEvent) bool {
	if a.t != b.t {
		return a.t > b.t
	}
	return a.id > b.id
}

// nearestRank returns the p-th percentile of the numbers by the nearest-rank
// method: the smallest of them that at least p percent are at or below, so
// that the metric is a value the window holds (SQL backends of pySigma
// disagree between this and interpolation; nearest rank needs no choice of
// interpolation and equals theirs whenever a value sits at the rank). It
// sorts nums.
func nearestRank(nums []float64, p float64) float64 {
	slices.Sort(nums)
	rank := int(math.Ceil(p / 100 * float64(len(nums))))
	return nums[max(rank, 1)-1]
}

// orderedChain returns the longest prefix of the correlated rules that
// matched in order within the window: rule 0, then rule 1 at the same time
// or later, and so on (equal timestamps count as in order, since vendors
// record seconds). Taking each rule's earliest match after the previous one
// is optimal.
func orderedChain(window []corrEvent, refs int) []int {
	var chain []int
	after := int64(math.MinInt64)
	for ref := 0; ref < refs; ref++ {
		i := slices.IndexFunc(window, func(e corrEvent) bool { return e.ref == ref && e.t >= after })
		if i < 0 {
			break
		}
		chain = append(chain, ref)
		after = window[i].t
	}
	return chain
}

// groupValues splits a group key back into its group-by values.
func groupValues(key string) []string { return strings.Split(key, "\x1f") }
