package sigma

import (
	"math"
	"slices"
)

// Stats counts what bounded correlation state had to give up.
type Stats struct {
	// GroupsEvicted: groups dropped, least recently seen first, because a
	// correlation held correlation.max_groups groups.
	GroupsEvicted uint64
	// EventsDropped: events dropped, oldest first, because a group held
	// correlation.max_events_per_group events within its timespan.
	EventsDropped uint64
	// LateEvents: events older than their group's window when they arrived.
	LateEvents uint64
	// Ungrouped: events of correlated rules that lacked a group-by field.
	Ungrouped uint64
}

// corrState is one correlation rule's state: its groups, least recently
// seen last, each holding the events of its current window in time order.
type corrState struct {
	groups     map[string]*corrGroup
	head, tail *corrGroup
	// latest is the newest event time seen, which idle groups expire against.
	latest    int64
	maxGroups int
	maxEvents int
	stats     *Stats
}

type corrGroup struct {
	key        string
	newest     int64
	events     []corrEvent
	off        int // events[off:] are live; the prefix awaits compaction
	refCounts  []int
	counts     map[string]int
	sum        float64
	numbers    int
	prev, next *corrGroup
}

type corrEvent struct {
	t      int64
	ref    int
	value  string
	num    float64
	hasNum bool
}

// corrResult is what a firing correlation found, for its reason.
type corrResult struct {
	group  string
	metric float64
	events int
	values []string
	refs   []int
}

func newCorrState(maxGroups, maxEvents int, stats *Stats) *corrState {
	return &corrState{groups: map[string]*corrGroup{}, maxGroups: maxGroups, maxEvents: maxEvents, latest: math.MinInt64, stats: stats}
}

// observe adds one event of the ref-th rule to the group key and reports
// whether the correlation now holds, in which case the group starts afresh.
func (c *correlationRule) observe(ev corrEvent, key []byte) (corrResult, bool) {
	s := c.state
	span := int64(c.span)
	s.latest = max(s.latest, ev.t)
	for s.tail != nil && s.tail.newest < s.latest-span {
		s.remove(s.tail)
	}
	g := s.groups[string(key)]
	if g == nil {
		g = &corrGroup{key: string(key), newest: math.MinInt64, refCounts: make([]int, len(c.refs))}
		if c.typ == corrValueCount || c.typ == corrValuePercentile {
			g.counts = map[string]int{}
		}
		s.groups[g.key] = g
		if len(s.groups) > s.maxGroups {
			s.remove(s.tail)
			s.stats.GroupsEvicted++
		}
	} else {
		s.unlink(g)
	}
	s.pushFront(g)
	if len(g.events) > g.off && ev.t < g.newest-span {
		s.stats.LateEvents++
		return corrResult{}, false
	}
	g.insert(ev)
	g.newest = max(g.newest, ev.t)
	for g.off < len(g.events) && g.events[g.off].t < g.newest-span {
		g.dropOldest()
	}
	for len(g.events)-g.off > s.maxEvents {
		g.dropOldest()
		s.stats.EventsDropped++
	}
	res, ok := c.evaluate(g, ev)
	if ok {
		res.group = g.key
		g.reset()
	}
	return res, ok
}

func (g *corrGroup) insert(ev corrEvent) {
	// Records mostly arrive in time order, so the place is found from the end.
	i := len(g.events)
	for i > g.off && g.events[i-1].t > ev.t {
		i--
	}
	g.events = slices.Insert(g.events, i, ev)
	g.account(ev, 1)
}

func (g *corrGroup) dropOldest() {
	g.account(g.events[g.off], -1)
	g.events[g.off] = corrEvent{}
	g.off++
	if g.off > 64 && g.off*2 > len(g.events) {
		g.events = slices.Delete(g.events, 0, g.off)
		g.off = 0
	}
}

// account keeps the running aggregates as events enter (+1) and leave (-1).
func (g *corrGroup) account(ev corrEvent, sign int) {
	g.refCounts[ev.ref] += sign
	if g.counts != nil {
		g.counts[ev.value] += sign
		if g.counts[ev.value] == 0 {
			delete(g.counts, ev.value)
		}
	}
	if ev.hasNum {
		g.sum += float64(sign) * ev.num
		g.numbers += sign
	}
}

func (g *corrGroup) reset() {
	g.events, g.off, g.sum, g.numbers = g.events[:0], 0, 0, 0
	clear(g.refCounts)
	clear(g.counts)
}

func (g *corrGroup) live() []corrEvent { return g.events[g.off:] }

// evaluate computes the correlation's metric for the group just updated by
// ev and tests the condition on it.
func (c *correlationRule) evaluate(g *corrGroup, ev corrEvent) (corrResult, bool) {
	res := corrResult{events: len(g.live())}
	switch c.typ {
	case corrEventCount:
		res.metric = float64(res.events)
	case corrValueCount:
		res.metric = float64(len(g.counts))
	case corrValueSum:
		res.metric = g.sum
	case corrValueAvg:
		if g.numbers == 0 {
			return res, false
		}
		res.metric = g.sum / float64(g.numbers)
	case corrValuePercentile:
		// The share, in percent, of the group's events whose value is this
		// event's: "lte: 1" finds a value that is at most 1% of the events.
		res.metric = 100 * float64(g.counts[ev.value]) / float64(res.events)
	case corrTemporal:
		for _, n := range g.refCounts {
			if n > 0 {
				res.metric++
			}
		}
	case corrTemporalOrdered:
		res.refs = g.orderedChain(len(c.refs))
		res.metric = float64(len(res.refs))
	}
	if !c.cond.holds(res.metric) {
		return res, false
	}
	if c.typ == corrValueCount {
		for v := range g.counts {
			res.values = append(res.values, v)
		}
		slices.Sort(res.values)
	}
	return res, true
}

// orderedChain returns the longest prefix of the correlated rules that
// matched in order within the window: rule 0, then rule 1 at the same time
// or later, and so on (equal timestamps count as in order, since vendors
// record seconds). Taking each rule's earliest match after the previous one
// is optimal.
func (g *corrGroup) orderedChain(refs int) []int {
	var chain []int
	after := int64(math.MinInt64)
	live := g.live()
	for ref := 0; ref < refs; ref++ {
		if g.refCounts[ref] == 0 {
			break
		}
		i := slices.IndexFunc(live, func(e corrEvent) bool { return e.ref == ref && e.t >= after })
		if i < 0 {
			break
		}
		chain = append(chain, ref)
		after = live[i].t
	}
	return chain
}

func (s *corrState) pushFront(g *corrGroup) {
	g.prev, g.next = nil, s.head
	if s.head != nil {
		s.head.prev = g
	}
	s.head = g
	if s.tail == nil {
		s.tail = g
	}
}

func (s *corrState) unlink(g *corrGroup) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		s.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		s.tail = g.prev
	}
	g.prev, g.next = nil, nil
}

func (s *corrState) remove(g *corrGroup) {
	s.unlink(g)
	delete(s.groups, g.key)
}
