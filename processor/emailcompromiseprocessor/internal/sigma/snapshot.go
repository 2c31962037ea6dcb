package sigma

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Correlation state survives restarts through the processor's snapshot:
// SaveCorrelations writes it in chunks, RestoreCorrelations reads them back
// into an engine compiled from the configured rules. Each correlation's
// state is kept under its rule key with its definition, so that a rule
// changed (or removed) between the two runs starts afresh instead of
// reading groups built for another condition; restored state goes through
// the same caps as live state.

// groupsPerChunk bounds a chunk: a storage value stays a few megabytes at
// most, whatever the number of groups.
const groupsPerChunk = 2048

// groupsPerLock is how many groups SaveCorrelations copies at a time under
// the caller's lock.
const groupsPerLock = 256

type snapshotChunk struct {
	Watermark int64
	Rules     []snapshotRule
}

type snapshotRule struct {
	Key, Definition string
	Latest          int64
	Groups          []snapshotGroup
}

type snapshotGroup struct {
	Key              string
	LastSeen, Newest int64
	Events           []snapshotEvent
}

type snapshotEvent struct {
	T        int64
	Ref      int
	Value    string
	Num      float64
	HasNum   bool
	ID, User string
}

// RestoreReport says what restoring correlation state did.
type RestoreReport struct {
	// Groups counts the groups restored.
	Groups int
	// Changed lists the rules whose state was dropped because the rule is no
	// longer loaded, or its correlation changed.
	Changed []string
}

// definition is what a correlation's state was built for.
func (c *correlationRule) definition() string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%v:%v|%s", c.typ, strings.Join(c.refNames, ","), strings.Join(c.groupBy, ","), c.aliases,
		c.span, c.cond, c.hasPercentile, c.percentile, strings.Join(c.valueFields, ","))
}

// SaveCorrelations encodes the correlation state and passes it to put,
// chunk by chunk. locked runs a function under the lock that guards the
// engine: SaveCorrelations needs it only while it copies groupsPerLock
// groups, never while it encodes or puts, so
// that records are evaluated meanwhile. Each group is saved as it stood
// when copied; the watermark and each correlation's latest time as they
// stood before its groups were copied (a restored engine is then behind by
// at most the snapshot's own duration, and judges late records more
// leniently, not less).
func (e *Engine) SaveCorrelations(put func([]byte) error, locked func(func())) error {
	var chunk snapshotChunk
	locked(func() { chunk.Watermark = e.watermark })
	groups := 0
	flush := func() error {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(&chunk); err != nil {
			return fmt.Errorf("encode Sigma correlation state: %w", err)
		}
		chunk.Rules, groups = nil, 0
		return put(buf.Bytes())
	}
	batch := make([]snapshotGroup, 0, groupsPerLock)
	for _, c := range e.correlations {
		var rule snapshotRule
		locked(func() {
			rule = snapshotRule{Key: c.info.Key, Definition: c.definition(), Latest: c.state.latest}
			c.state.groups.Walk()
		})
		for more := true; more; {
			batch = batch[:0]
			locked(func() {
				more = c.state.groups.WalkStep(groupsPerLock, func(key string, lastSeen time.Time, g *corrGroup) {
					sg := snapshotGroup{Key: key, LastSeen: lastSeen.UnixNano(), Newest: g.newest, Events: make([]snapshotEvent, len(g.events))}
					for i, ev := range g.events {
						sg.Events[i] = snapshotEvent{T: ev.t, Ref: ev.ref, Value: ev.value, Num: ev.num, HasNum: ev.hasNum, ID: ev.id, User: ev.user}
					}
					batch = append(batch, sg)
				})
			})
			for _, sg := range batch {
				rule.Groups = append(rule.Groups, sg)
				if groups++; groups == groupsPerChunk {
					chunk.Rules = append(chunk.Rules, rule)
					rule.Groups = nil
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		if len(rule.Groups) > 0 {
			chunk.Rules = append(chunk.Rules, rule)
		}
	}
	return flush()
}

// RestoreCorrelations reads chunks SaveCorrelations wrote into an engine
// that holds no correlation state yet. Groups go in as least recently used
// first, as they were, through the configured caps.
func (e *Engine) RestoreCorrelations(chunks [][]byte) (RestoreReport, error) {
	var rep RestoreReport
	byKey := map[string]*correlationRule{}
	for _, c := range e.correlations {
		byKey[c.info.Key] = c
	}
	for i, data := range chunks {
		var chunk snapshotChunk
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&chunk); err != nil {
			return rep, fmt.Errorf("decode Sigma correlation state chunk %d: %w", i, err)
		}
		e.watermark = max(e.watermark, chunk.Watermark)
		for _, r := range chunk.Rules {
			c := byKey[r.Key]
			if c == nil || c.definition() != r.Definition {
				if !slices.Contains(rep.Changed, r.Key) {
					rep.Changed = append(rep.Changed, r.Key)
				}
				continue
			}
			c.state.latest = max(c.state.latest, r.Latest)
			for _, sg := range r.Groups {
				c.restoreGroup(sg)
				rep.Groups++
			}
		}
	}
	e.nextDue = noWindow
	for _, c := range e.windowed {
		e.nextDue = min(e.nextDue, c.state.due.next())
	}
	return rep, nil
}

func (c *correlationRule) restoreGroup(sg snapshotGroup) {
	s := c.state
	g := corrGroup{key: sg.Key, newest: sg.Newest, pending: noWindow}
	events := sg.Events
	if n := len(events) - s.maxEvents; n > 0 {
		events = events[n:] // the newest, as the live cap keeps
		s.stats.EventsDropped += uint64(n)
	}
	for _, ev := range events {
		if ev.Ref < 0 || ev.Ref >= len(c.refs) {
			continue // a corrupt snapshot must not index past the rule's references
		}
		g.events = append(g.events, corrEvent{t: ev.T, ref: ev.Ref, value: ev.Value, num: ev.Num, hasNum: ev.HasNum, id: ev.ID, user: ev.User})
	}
	evictions := s.groups.Evictions()
	s.groups.Restore(sg.Key, time.Unix(0, sg.LastSeen), g)
	s.stats.GroupsEvicted += s.groups.Evictions() - evictions
	if c.windowEnd {
		c.reschedule(s.groups.Get(sg.Key))
	}
}
