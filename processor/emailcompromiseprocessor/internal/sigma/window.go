package sigma

import (
	"cmp"
	"container/heap"
	"math"
	"slices"
	"time"
)

// Window-end correlations. A condition that can turn false as events are
// added — fewer than (lt, lte), exactly (eq), not exactly (neq), a range,
// an average, a percentile — means nothing on a window that may still take
// records: two failures within an hour are "fewer than 3" until the third
// arrives. Such a correlation is decided as a SIEM's scheduled query over
// the window decides it: on windows of the timespan, aligned to the Unix
// epoch (the query running every timespan), once per group and window,
// over the group's events in the window; a group with no event in a window
// does not fire, as a query's GROUP BY has no row for it.
//
// A window is decided once no record can still fall into it: when the
// newest event time the engine has seen, less the allowed lateness, has
// passed the window's end. Any record moves that time on — the group's own,
// or any other's, so a quiet group's window closes by the stream's time —
// and the window is decided on the record that moves it past, which
// carries the detection. An event further behind the newest event time
// than the allowed lateness is late (counted) and left out: it could only
// fall into a window already decided. Since the verdict is taken over every
// event the window will ever hold, it is the same whatever order they
// arrived in; a record delivered again finds its window open (and is
// already in it) or closed (and is late), so a window fires once.
//
// Nothing but records moves event time: without them no window can be
// known complete, so no timer closes one. Event time ahead of the
// processing time (clock skew, a bogus timestamp) moves it only as far as
// the processing time, so that one record dated years ahead cannot close
// every window at once.

// noWindow marks a group with no window waiting.
const noWindow = math.MaxInt64

// windowStart returns the start of the epoch-aligned window holding t.
func windowStart(t int64, span time.Duration) int64 {
	s := int64(span)
	start := t / s * s
	if t < 0 && start != t {
		start -= s // round toward the past before 1970 too
	}
	return start
}

// deadline is a group's next window end, in the heap of its correlation.
type deadline struct {
	end int64
	key string
}

// deadlines is a min-heap by window end. An entry is stale when its group
// is gone or waits for another window; stale entries are skipped when they
// come up, and dropped when they outnumber the live ones.
type deadlines []deadline

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].end < d[j].end }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i] }
func (d *deadlines) Push(x any)        { *d = append(*d, x.(deadline)) }
func (d *deadlines) Pop() any {
	old := *d
	x := old[len(old)-1]
	*d = old[:len(old)-1]
	return x
}

// next returns the earliest deadline, or noWindow.
func (d deadlines) next() int64 {
	if len(d) == 0 {
		return noWindow
	}
	return d[0].end
}

// observeWindowed adds one event of the ref-th rule to the group key of a
// window-end correlation. Events before limit (the newest event time less
// the allowed lateness) are late: every window they could fall into is
// decided.
func (c *correlationRule) observeWindowed(ev corrEvent, key []byte, limit int64) {
	s := c.state
	if ev.t < limit {
		s.stats.LateEvents++
		return
	}
	g := s.group(key, ev.t)
	if _, added := g.insert(ev); !added {
		return
	}
	g.newest = max(g.newest, ev.t)
	if n := len(g.events) - s.maxEvents; n > 0 {
		g.events = slices.Delete(g.events, 0, n)
		s.stats.EventsDropped += uint64(n)
	}
	c.reschedule(g)
}

// reschedule queues the group's earliest window, when it changed.
func (c *correlationRule) reschedule(g *corrGroup) {
	pending := int64(noWindow)
	if len(g.events) > 0 {
		pending = windowStart(g.events[0].t, c.span) + int64(c.span)
	}
	if pending == g.pending {
		return
	}
	g.pending = pending
	if pending == noWindow {
		return
	}
	s := c.state
	if len(s.due) > 2*s.groups.Len()+1024 {
		s.due = s.due[:0]
		s.groups.Each(func(_ string, _ time.Time, g *corrGroup) {
			if g.pending != noWindow {
				s.due = append(s.due, deadline{end: g.pending, key: g.key})
			}
		})
		heap.Init(&s.due)
		return
	}
	heap.Push(&s.due, deadline{end: pending, key: g.key})
}

// closeWindows decides every window of the correlation that ends at or
// before limit, and appends those that satisfy it.
func (c *correlationRule) closeWindows(limit int64, out []corrResult) []corrResult {
	s := c.state
	for len(s.due) > 0 && s.due[0].end <= limit {
		d := heap.Pop(&s.due).(deadline)
		g := s.groups.Get(d.key)
		if g == nil || g.pending != d.end {
			continue
		}
		for len(g.events) > 0 {
			start := windowStart(g.events[0].t, c.span)
			end := start + int64(c.span)
			if end > limit {
				break
			}
			n, _ := slices.BinarySearchFunc(g.events, end, func(e corrEvent, t int64) int { return cmp.Compare(e.t, t) })
			if res, ok := c.evaluate(g.events[:n], lastEvent(g.events[:n])); ok {
				res.start, res.group = start, g.key
				out = append(out, res)
			}
			g.events = slices.Delete(g.events, 0, n)
		}
		c.reschedule(g)
	}
	if limit != noWindow {
		// A group whose newest event is a timespan before limit has no
		// window left to decide.
		s.groups.ExpireBefore(time.Unix(0, limit-int64(c.span)))
	}
	return out
}

// lastEvent returns the window's last event: the latest, and of equal times
// the greatest record id, whatever order they arrived in.
func lastEvent(window []corrEvent) corrEvent {
	last := window[0]
	for _, e := range window[1:] {
		if later(e, last) {
			last = e
		}
	}
	return last
}
